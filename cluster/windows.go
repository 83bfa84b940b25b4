package cluster

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"sync/atomic"

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
	c     *Cluster
	local Local
	// id and seq make each recorded message a distinct member, also
	// across replicas and for messages with the same timestamp.
	id  string
	seq atomic.Uint64
}

// Windows returns the shared windows; local serves while Redis is down.
// They are consulted while the platform waits for the webhook's answer,
// so they run under the webhook guard (redis.timeout, redis.cool_down).
func (c *Cluster) Windows(local Local) *Windows {
	return &Windows{c: c, local: local, id: strconv.FormatUint(rand.Uint64(), 36)}
}

var errUnexpectedReply = errors.New("unexpected reply from a windows script")

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
	tag := "{" + platform + ":" + chat + ":" + user + "}"
	every01 := "0"
	if every {
		every01 = "1"
	}
	member := strconv.FormatInt(t, 10) + ":" + w.id + ":" + strconv.FormatUint(w.seq.Add(1), 10)
	var res []int64
	err := w.c.web.do(context.Background(), func(ctx context.Context) (err error) {
		res, err = floodScript.Run(ctx, w.c.rdb, []string{w.c.prefix + "flood:" + tag, w.c.prefix + "floodhit:" + tag},
			t/1e6, limit, max(per/1e6, 1), every01, member).Int64Slice()
		if err == nil && len(res) != 2 {
			err = errUnexpectedReply
		}
		return err
	})
	if err != nil {
		return w.local.Flood(platform, chat, user, t, limit, per, every)
	}
	return int(res[0]), res[1] == 1
}

// Raid implements automod.Windows.
func (w *Windows) Raid(platform, chat string, t int64, users []string, limit int, per int64) (int, []string) {
	tag := "{" + platform + ":" + chat + "}"
	args := make([]any, 0, 3+len(users))
	args = append(args, t/1e6, limit, max(per/1e6, 1))
	for _, u := range users {
		args = append(args, u)
	}
	var res []any
	err := w.c.web.do(context.Background(), func(ctx context.Context) (err error) {
		res, err = raidScript.Run(ctx, w.c.rdb, []string{w.c.prefix + "raid:" + tag, w.c.prefix + "raidhit:" + tag}, args...).Slice()
		if err == nil && len(res) == 0 {
			err = errUnexpectedReply
		}
		return err
	})
	if err != nil {
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
