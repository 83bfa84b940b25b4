package automod

import (
	"hash/maphash"
	"slices"
	"sync"
	"time"
)

// Windowed state (flood per user, raid and notices per chat) lives in
// sharded maps. Every entry remembers when it was last touched by the
// engine's clock; a shard sweeps out entries idle for longer than its TTL
// whenever it is used and its last sweep is older than the TTL (at least
// minSweep, at most maxSweep). So memory is bounded by the activity of
// the last two TTLs, with no background goroutine and no dependence on
// the wall clock. A flood window of 10 s keeps 20 s of senders, not the
// minutes a fixed sweep would.

const (
	shardCount = 64
	minSweep   = time.Second
	maxSweep   = time.Minute
	// maxRaidEntries bounds one chat's join window; the oldest joins (long
	// since hit, since the window then far exceeds any limit) go first.
	maxRaidEntries = 2 * MaxRaidJoins
)

type entry[V any] struct {
	touched int64 // engine clock, unix nanoseconds
	v       V
}

type shard[K comparable, V any] struct {
	mu        sync.Mutex
	m         map[K]*entry[V]
	lastSweep int64
}

type shardedMap[K comparable, V any] struct {
	seed   maphash.Seed
	hash   func(maphash.Seed, K) uint64
	ttl    int64
	sweep  int64 // interval between a shard's sweeps
	shards [shardCount]shard[K, V]
}

func newShardedMap[K comparable, V any](ttl time.Duration, hash func(maphash.Seed, K) uint64) *shardedMap[K, V] {
	m := &shardedMap[K, V]{seed: maphash.MakeSeed(), hash: hash, ttl: int64(ttl), sweep: int64(min(max(ttl, minSweep), maxSweep))}
	for i := range m.shards {
		m.shards[i].m = map[K]*entry[V]{}
	}
	return m
}

// with runs f on k's value (a zero V when new) under the shard's lock.
func (m *shardedMap[K, V]) with(k K, now int64, f func(v *V)) {
	sh := &m.shards[m.hash(m.seed, k)%shardCount]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if now-sh.lastSweep > m.sweep {
		sh.lastSweep = now
		for key, e := range sh.m {
			if now-e.touched > m.ttl {
				delete(sh.m, key)
			}
		}
	}
	e := sh.m[k]
	if e == nil {
		e = &entry[V]{}
		sh.m[k] = e
	}
	e.touched = now
	f(&e.v)
}

// size counts entries (tests).
func (m *shardedMap[K, V]) size() int {
	n := 0
	for i := range m.shards {
		m.shards[i].mu.Lock()
		n += len(m.shards[i].m)
		m.shards[i].mu.Unlock()
	}
	return n
}

type chatKey struct{ platform, chat string }

type userKey struct{ platform, user string }

type floodKey struct{ platform, chat, user string }

func hashChat(s maphash.Seed, k chatKey) uint64 {
	return maphash.String(s, k.platform) ^ maphash.String(s, k.chat)*31
}

func hashFlood(s maphash.Seed, k floodKey) uint64 {
	return maphash.String(s, k.platform) ^ maphash.String(s, k.chat)*31 ^ maphash.String(s, k.user)*1009
}

// floodState keeps the newest messages+1 send times of one user in one
// chat, oldest first.
type floodState struct {
	times   []int64
	lastHit int64
}

// add records a message at t and returns how many of the kept messages
// fall within per before the newest, which exceeds limit exactly when the
// user sent more than limit messages within per.
func (f *floodState) add(t int64, limit int, per int64) int {
	if len(f.times) == limit+1 {
		if t < f.times[0] {
			t = f.times[0] // older than everything kept: counts as the oldest
		}
		copy(f.times, f.times[1:])
		f.times = f.times[:limit]
	}
	i := len(f.times)
	for i > 0 && f.times[i-1] > t {
		i-- // out of order: keep sorted
	}
	f.times = slices.Insert(f.times, i, t)
	newest := f.times[len(f.times)-1]
	n := 0
	for _, ts := range f.times {
		if newest-ts < per {
			n++
		}
	}
	return n
}

type joinEntry struct {
	at   int64
	user string
	hit  bool
}

// raidState is one chat's joins within the raid window, oldest first.
type raidState struct {
	joins []joinEntry
	// hitUsers remembers when each user was last hit, so a user who
	// leaves and re-joins during the burst is not hit twice.
	hitUsers map[string]int64
}

// noticeState is one chat's notice send times within the last minute.
type noticeState struct {
	times []int64
}

// add records that user joined at t.
func (s *raidState) add(t int64, user string) {
	i := len(s.joins)
	for i > 0 && s.joins[i-1].at > t {
		i--
	}
	s.joins = slices.Insert(s.joins, i, joinEntry{at: t, user: user})
	if over := len(s.joins) - maxRaidEntries; over > 0 {
		n := copy(s.joins, s.joins[over:])
		clear(s.joins[n:])
		s.joins = s.joins[:n]
	}
}

// burst drops joins older than per before the newest and, when more than
// limit remain, marks the ones not yet hit and returns their users (each
// user once, and not a user already hit within per). n is the number of
// joins in the window.
func (s *raidState) burst(limit int, per int64) (n int, users []string) {
	if len(s.joins) == 0 {
		return 0, nil
	}
	newest := s.joins[len(s.joins)-1].at
	i := 0
	for i < len(s.joins) && newest-s.joins[i].at >= per {
		i++
	}
	if i > 0 {
		k := copy(s.joins, s.joins[i:])
		clear(s.joins[k:])
		s.joins = s.joins[:k]
	}
	if len(s.hitUsers) > 2*len(s.joins)+64 {
		for u, at := range s.hitUsers {
			if newest-at >= per {
				delete(s.hitUsers, u)
			}
		}
	}
	if len(s.joins) <= limit {
		return len(s.joins), nil
	}
	if s.hitUsers == nil {
		s.hitUsers = map[string]int64{}
	}
	for k := range s.joins {
		j := &s.joins[k]
		if j.hit {
			continue
		}
		j.hit = true
		if at, ok := s.hitUsers[j.user]; ok && newest-at < per {
			continue
		}
		s.hitUsers[j.user] = newest
		users = append(users, j.user)
	}
	return len(s.joins), users
}
