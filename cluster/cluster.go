// Package cluster holds the state several Gavel replicas share through
// Redis: the de-duplication front (so a webhook re-delivered to another
// replica is recognised before it costs a store write) and the platforms'
// rate limits (so all replicas together stay under each platform's limit).
// Durable state — jobs, cases, mutes — stays in the store (PostgreSQL when
// several replicas run); Redis only holds what may be lost.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"gavel/platforms/egress"
)

// Config is the `redis:` block of config.yaml. Without an address Gavel
// keeps this state in memory (one replica).
type Config struct {
	Addr     string `yaml:"addr"`
	Password string `yaml:"password"`
	DB       int    `yaml:"db"`
	// Prefix starts every key; default "gavel:". Replicas of one
	// deployment share it; another deployment on the same Redis must not.
	Prefix string `yaml:"prefix"`
}

// Enabled reports whether Redis is configured.
func (c Config) Enabled() bool { return c.Addr != "" }

// Validate reports the first bad key.
func (c Config) Validate() error {
	if c.DB < 0 {
		return errors.New("redis.db: must not be negative")
	}
	if c.Addr != "" && !strings.Contains(c.Addr, ":") {
		return fmt.Errorf("redis.addr: %q is not host:port", c.Addr)
	}
	return nil
}

// Cluster is a connection to the shared Redis.
type Cluster struct {
	rdb     *redis.Client
	limiter *redis_rate.Limiter
	prefix  string
}

// Open connects and pings Redis.
func Open(ctx context.Context, cfg Config) (*Cluster, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "gavel:"
	}
	rdb := redis.NewClient(&redis.Options{Addr: cfg.Addr, Password: cfg.Password, DB: cfg.DB})
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("redis %s: %w", cfg.Addr, err)
	}
	return &Cluster{rdb: rdb, limiter: redis_rate.NewLimiter(rdb), prefix: cfg.Prefix}, nil
}

// Close closes the connection.
func (c *Cluster) Close() error { return c.rdb.Close() }

// Ping checks Redis answers.
func (c *Cluster) Ping(ctx context.Context) error { return c.rdb.Ping(ctx).Err() }

// Dedup returns the shared de-duplication front, remembering keys for ttl.
func (c *Cluster) Dedup(ttl time.Duration) *Dedup { return &Dedup{c: c, ttl: ttl} }

// Dedup is a de-duplication front shared by every replica.
type Dedup struct {
	c   *Cluster
	ttl time.Duration
}

// firstSeen sets every key with NX and the TTL; if any key existed it
// removes the ones it set and answers 0. One script, so it is atomic.
var firstSeen = redis.NewScript(`
for i, k in ipairs(KEYS) do
  if not redis.call('SET', k, '1', 'NX', 'PX', ARGV[1]) then
    for j = 1, i - 1 do redis.call('DEL', KEYS[j]) end
    return 0
  end
end
return 1`)

// FirstSeen records keys and reports whether none was known.
func (d *Dedup) FirstSeen(ctx context.Context, keys []string) (bool, error) {
	ks := d.keys(keys)
	if len(ks) == 0 {
		return true, nil
	}
	n, err := firstSeen.Run(ctx, d.c.rdb, ks, d.ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("redis dedup: %w", err)
	}
	return n == 1, nil
}

// Forget drops keys.
func (d *Dedup) Forget(ctx context.Context, keys []string) {
	if ks := d.keys(keys); len(ks) > 0 {
		d.c.rdb.Del(ctx, ks...)
	}
}

func (d *Dedup) keys(keys []string) []string {
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		if k != "" {
			out = append(out, d.c.prefix+"dedup:"+k)
		}
	}
	return out
}

// NewLimiter returns a rate limiter for one platform API shared by every
// replica: GCRA (redis_rate) keyed by platform and API. It fits
// egress.Shared.NewLimiter.
func (c *Cluster) NewLimiter(platform, api string, perSecond float64, burst int) egress.Limiter {
	if burst <= 0 {
		burst = 1
	}
	// redis_rate counts whole requests per period; express fractional
	// rates over a longer period.
	period, rate := time.Second, perSecond
	for rate < 1 || rate != float64(int(rate)) && period < time.Minute {
		rate *= 10
		period *= 10
	}
	return &limiter{c: c, key: c.prefix + "rate:" + platform + ":" + api,
		limit: redis_rate.Limit{Rate: int(rate), Burst: burst, Period: period}}
}

type limiter struct {
	c     *Cluster
	key   string
	limit redis_rate.Limit
}

// Wait blocks until the shared limit lets one call go.
func (l *limiter) Wait(ctx context.Context) error {
	for {
		res, err := l.c.limiter.Allow(ctx, l.key, l.limit)
		if err != nil {
			return fmt.Errorf("redis rate limiter: %w", err)
		}
		if res.Allowed > 0 {
			return nil
		}
		t := time.NewTimer(max(res.RetryAfter, time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
