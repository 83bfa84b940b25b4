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
	"log/slog"
	"strings"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"

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
	// Timeout bounds each Redis call on the webhook path (de-dup front,
	// claims, auto-moderation windows); default 50ms. Background calls
	// (rate limits, role cache, command limits) get BackgroundTimeout.
	Timeout time.Duration `yaml:"timeout"`
	// CoolDown is how long calls fail fast (ErrCoolingDown) after Redis
	// failed or timed out, before one call tries again; default 5s.
	CoolDown time.Duration `yaml:"cool_down"`
}

// BackgroundTimeout bounds each Redis call of the background workers
// (or Timeout, if larger).
const BackgroundTimeout = time.Second

// WithDefaults fills unset fields.
func (c Config) WithDefaults() Config {
	if c.Prefix == "" {
		c.Prefix = "gavel:"
	}
	if c.Timeout == 0 {
		c.Timeout = 50 * time.Millisecond
	}
	if c.CoolDown == 0 {
		c.CoolDown = 5 * time.Second
	}
	return c
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
	if c.Timeout < 0 {
		return errors.New("redis.timeout: must not be negative")
	}
	if c.CoolDown < 0 {
		return errors.New("redis.cool_down: must not be negative")
	}
	return nil
}

// Cluster is a connection to the shared Redis.
type Cluster struct {
	rdb     *redis.Client
	limiter *redis_rate.Limiter
	prefix  string
	// web guards the calls made while a platform waits for the webhook's
	// answer; bg those of the background workers.
	web, bg *guard
}

// Open connects and pings Redis.
func Open(ctx context.Context, cfg Config) (*Cluster, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := newCluster(cfg)
	if err := c.rdb.Ping(ctx).Err(); err != nil {
		c.rdb.Close()
		return nil, fmt.Errorf("redis %s: %w", cfg.Addr, err)
	}
	return c, nil
}

// newCluster connects lazily (without a ping).
func newCluster(cfg Config) *Cluster {
	cfg = cfg.WithDefaults()
	// ContextTimeoutEnabled makes go-redis honour the guards' deadlines
	// on the socket; without it a call waits for ReadTimeout (3 s). One
	// dial attempt: the guards decide when to try again.
	rdb := redis.NewClient(&redis.Options{Addr: cfg.Addr, Password: cfg.Password, DB: cfg.DB,
		ContextTimeoutEnabled: true, DialerRetries: 1})
	return &Cluster{rdb: rdb, limiter: redis_rate.NewLimiter(rdb), prefix: cfg.Prefix,
		web: newGuard("webhook", cfg.Timeout, cfg.CoolDown),
		bg:  newGuard("background", max(cfg.Timeout, BackgroundTimeout), cfg.CoolDown)}
}

// Close closes the connection.
func (c *Cluster) Close() error { return c.rdb.Close() }

// Ping checks Redis answers within BackgroundTimeout. It does not go
// through the guards: readiness reports what Redis does now.
func (c *Cluster) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, BackgroundTimeout)
	defer cancel()
	return c.rdb.Ping(ctx).Err()
}

// Dedup returns the shared de-duplication front, remembering keys for ttl.
func (c *Cluster) Dedup(ttl time.Duration) *Dedup { return &Dedup{c: c, ttl: ttl} }

// Dedup is a de-duplication front shared by every replica.
type Dedup struct {
	c   *Cluster
	ttl time.Duration
}

// Seen reports whether any key is known to any replica.
func (d *Dedup) Seen(ctx context.Context, keys []string) (bool, error) {
	ks := d.keys(keys)
	if len(ks) == 0 {
		return false, nil
	}
	var n int64
	err := d.c.web.do(ctx, func(ctx context.Context) (err error) {
		n, err = d.c.rdb.Exists(ctx, ks...).Result()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("redis dedup: %w", err)
	}
	return n > 0, nil
}

// Mark records keys for the TTL; called once the event is stored.
func (d *Dedup) Mark(ctx context.Context, keys []string) error {
	ks := d.keys(keys)
	if len(ks) == 0 {
		return nil
	}
	err := d.c.web.do(ctx, func(ctx context.Context) error {
		_, err := d.c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range ks {
				p.Set(ctx, k, "1", d.ttl)
			}
			return nil
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("redis dedup: %w", err)
	}
	return nil
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
	period, n := time.Second, perSecond
	for n < 1 || n != float64(int(n)) && period < time.Minute {
		n *= 10
		period *= 10
	}
	return &limiter{c: c, key: c.prefix + "rate:" + platform + ":" + api,
		limit: redis_rate.Limit{Rate: int(n), Burst: burst, Period: period},
		local: rate.NewLimiter(rate.Limit(perSecond), burst)}
}

type limiter struct {
	c     *Cluster
	key   string
	limit redis_rate.Limit
	// local paces this replica alone while Redis cannot be reached, so a
	// Redis outage slows Gavel to one replica's share instead of stopping
	// it (each replica then keeps the whole limit: N replicas may exceed
	// it N-fold until Redis is back; the platforms' rate-limit answers
	// are then retried).
	local *rate.Limiter
}

// Wait blocks until the shared limit lets one call go.
func (l *limiter) Wait(ctx context.Context) error {
	for {
		// The background guard makes an outage cost one failed attempt
		// per cool-down, not one per call.
		var res *redis_rate.Result
		err := l.c.bg.do(ctx, func(ctx context.Context) (err error) {
			res, err = l.c.limiter.Allow(ctx, l.key, l.limit)
			return err
		})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !errors.Is(err, ErrCoolingDown) {
				slog.Warn("redis rate limiter unavailable; pacing locally", "key", l.key, "err", err)
			}
			return l.local.Wait(ctx)
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
