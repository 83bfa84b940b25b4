package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Local is what Windows falls back to while Redis cannot be reached:
// automod.MemoryWindows fits.
type Local interface {
	Flood(platform, chat, user string, t int64, limit int, per int64, every bool) (int, bool)
	Raid(platform, chat string, t int64, users []string, limit int, per int64) (int, []string)
}

// Windows keeps the auto-moderation flood and raid windows in Redis, so
// that every replica sees the same flood and the same raid. It fits
// automod.Windows. Each decision is one Lua script (atomic). Scores are
// Unix milliseconds, well inside a Lua number's exact range.
type Windows struct {
	c       *Cluster
	local   Local
	timeout time.Duration
	// id and seq make each recorded message a distinct member, also
	// across replicas and for messages with the same timestamp.
	id  string
	seq atomic.Uint64
	// downUntil (Unix ns) skips Redis for a while after it failed.
	downUntil atomic.Int64
}

// Windows returns the shared windows; local serves while Redis is down.
func (c *Cluster) Windows(local Local) *Windows {
	return &Windows{c: c, local: local, timeout: 200 * time.Millisecond, id: strconv.FormatUint(rand.Uint64(), 36)}
}

// floodScript: KEYS = message times (zset), last hit; ARGV = t, limit,
// per, every, member. Returns {n, hit}.
var floodScript = redis.NewScript(`
local t, limit, per = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], t, ARGV[5])
local newest = tonumber(redis.call('ZREVRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', newest - per)
redis.call('PEXPIRE', KEYS[1], per + 1000)
local n = redis.call('ZCARD', KEYS[1])
if n <= limit then return {n, 0} end
local last = tonumber(redis.call('GET', KEYS[2]) or '-1')
if ARGV[4] == '1' or last < 0 or newest - last >= per then
  redis.call('SET', KEYS[2], newest, 'PX', per * 2 + 1000)
  return {n, 1}
end
return {n, 0}`)

// raidScript: KEYS = joins (zset user → time), hits (hash user → time);
// ARGV = t, limit, per, users…. Returns {n, users hit…}.
var raidScript = redis.NewScript(`
local t, limit, per = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
for i = 4, #ARGV do redis.call('ZADD', KEYS[1], t, ARGV[i]) end
local newest = tonumber(redis.call('ZREVRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', newest - per)
redis.call('PEXPIRE', KEYS[1], per * 2 + 1000)
local n = redis.call('ZCARD', KEYS[1])
local out = {n}
if n <= limit then return out end
for _, u in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local at = tonumber(redis.call('HGET', KEYS[2], u) or '-1')
  if at < 0 or newest - at >= per then
    redis.call('HSET', KEYS[2], u, newest)
    table.insert(out, u)
  end
end
redis.call('PEXPIRE', KEYS[2], per * 2 + 1000)
return out`)

// Flood implements automod.Windows.
func (w *Windows) Flood(platform, chat, user string, t int64, limit int, per int64, every bool) (int, bool) {
	if w.down() {
		return w.local.Flood(platform, chat, user, t, limit, per, every)
	}
	ctx, cancel := context.WithTimeout(context.Background(), w.timeout)
	defer cancel()
	tag := "{" + platform + ":" + chat + ":" + user + "}"
	every01 := "0"
	if every {
		every01 = "1"
	}
	member := strconv.FormatInt(t, 10) + ":" + w.id + ":" + strconv.FormatUint(w.seq.Add(1), 10)
	res, err := floodScript.Run(ctx, w.c.rdb, []string{w.c.prefix + "flood:" + tag, w.c.prefix + "floodhit:" + tag},
		t/1e6, limit, max(per/1e6, 1), every01, member).Int64Slice()
	if err != nil || len(res) != 2 {
		w.fail(err)
		return w.local.Flood(platform, chat, user, t, limit, per, every)
	}
	return int(res[0]), res[1] == 1
}

// Raid implements automod.Windows.
func (w *Windows) Raid(platform, chat string, t int64, users []string, limit int, per int64) (int, []string) {
	if w.down() {
		return w.local.Raid(platform, chat, t, users, limit, per)
	}
	ctx, cancel := context.WithTimeout(context.Background(), w.timeout)
	defer cancel()
	tag := "{" + platform + ":" + chat + "}"
	args := make([]any, 0, 3+len(users))
	args = append(args, t/1e6, limit, max(per/1e6, 1))
	for _, u := range users {
		args = append(args, u)
	}
	res, err := raidScript.Run(ctx, w.c.rdb, []string{w.c.prefix + "raid:" + tag, w.c.prefix + "raidhit:" + tag}, args...).Slice()
	if err != nil || len(res) == 0 {
		w.fail(err)
		return w.local.Raid(platform, chat, t, users, limit, per)
	}
	n, _ := res[0].(int64)
	var hit []string
	for _, v := range res[1:] {
		if u, ok := v.(string); ok {
			hit = append(hit, u)
		}
	}
	return int(n), hit
}

func (w *Windows) down() bool { return time.Now().UnixNano() < w.downUntil.Load() }

func (w *Windows) fail(err error) {
	if err == nil {
		err = fmt.Errorf("unexpected reply")
	}
	w.downUntil.Store(time.Now().Add(redisCoolDown).UnixNano())
	slog.Warn("redis auto-moderation windows unavailable; counting locally", "for", redisCoolDown, "err", err)
}
