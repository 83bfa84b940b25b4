package automod

import "time"

// Windows keeps the flood and raid windows. The default keeps them in this
// process's memory; several replicas share one (in Redis) so that a flood
// or a raid spread over replicas is still seen whole. Times are Unix
// nanoseconds. Implementations must not block for long: they run on the
// webhook path.
type Windows interface {
	// Flood records a message of user in chat sent at t and returns how
	// many of the user's messages fall within per before the newest, and
	// whether this message is a hit: more than limit, and no hit already
	// within per (every: each message over the limit is a hit).
	Flood(platform, chat, user string, t int64, limit int, per int64, every bool) (n int, hit bool)
	// Raid records users joining chat at t and, when more than limit
	// joins fall within per before the newest, returns the joiners of the
	// window not yet hit (each user once per burst); n is the number of
	// joins in the window.
	Raid(platform, chat string, t int64, users []string, limit int, per int64) (n int, hit []string)
}

// MemoryWindows keeps the windows in memory, swept by the clock.
type MemoryWindows struct {
	now   func() time.Time
	flood *shardedMap[floodKey, floodState]
	raid  *shardedMap[chatKey, raidState]
}

// NewMemoryWindows keeps idle flood state for floodTTL and raid state for
// raidTTL.
func NewMemoryWindows(floodTTL, raidTTL time.Duration, now func() time.Time) *MemoryWindows {
	if now == nil {
		now = time.Now
	}
	return &MemoryWindows{
		now:   now,
		flood: newShardedMap[floodKey, floodState](max(floodTTL, minSweep), hashFlood),
		raid:  newShardedMap[chatKey, raidState](max(raidTTL, minSweep), hashChat),
	}
}

// Flood implements Windows.
func (w *MemoryWindows) Flood(platform, chat, user string, t int64, limit int, per int64, every bool) (n int, hit bool) {
	w.flood.with(floodKey{platform, chat, user}, w.now().UnixNano(), func(s *floodState) {
		n = s.add(t, limit, per)
		if n <= limit {
			return
		}
		newest := s.times[len(s.times)-1]
		if every || s.lastHit == 0 || newest-s.lastHit >= per {
			s.lastHit = newest
			hit = true
		}
	})
	return n, hit
}

// Raid implements Windows.
func (w *MemoryWindows) Raid(platform, chat string, t int64, users []string, limit int, per int64) (n int, hit []string) {
	w.raid.with(chatKey{platform, chat}, w.now().UnixNano(), func(s *raidState) {
		for _, u := range users {
			s.add(t, u)
		}
		n, hit = s.burst(limit, per)
	})
	return n, hit
}
