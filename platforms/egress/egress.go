// Package egress paces, retries and batches the calls platform adapters make
// to their platforms' APIs. Every adapter builds one Caller per rate-limited
// API and runs each HTTP call through Caller.Do, so pacing and retry rules
// live in one place.
package egress

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"gavel/moderation"
)

// Limits configure one Caller.
type Limits struct {
	// PerSecond is the sustained call rate; zero means unlimited.
	PerSecond float64 `yaml:"per_second"`
	// Burst is how many calls may go at once; defaults to 1.
	Burst int `yaml:"burst"`
	// MaxAttempts bounds tries per call, the first included; defaults to 5.
	MaxAttempts int `yaml:"max_attempts"`
	// BaseDelay is the first backoff; doubled each retry up to MaxDelay.
	BaseDelay time.Duration `yaml:"base_delay"`
	MaxDelay  time.Duration `yaml:"max_delay"`
}

func (l Limits) withDefaults() Limits {
	if l.Burst <= 0 {
		l.Burst = 1
	}
	if l.MaxAttempts <= 0 {
		l.MaxAttempts = 5
	}
	if l.BaseDelay <= 0 {
		l.BaseDelay = 200 * time.Millisecond
	}
	if l.MaxDelay <= 0 {
		l.MaxDelay = 10 * time.Second
	}
	return l
}

// Limiter paces calls: Wait blocks until one call may go. The default is
// a local token bucket; several replicas share one (Redis GCRA) so that
// together they stay under the platform's limit.
type Limiter interface {
	Wait(ctx context.Context) error
}

// Observer sees every attempt of every call, for metrics and readiness.
type Observer interface {
	// Attempt reports one attempt of api on platform: how long it took and
	// how it ended (nil on success).
	Attempt(platform, api string, took time.Duration, err error)
	// Waited reports time spent waiting for the limiter or a rate-limit
	// pause before an attempt.
	Waited(platform, api string, waited time.Duration)
}

// Shared is what an adapter's callers have in common: who observes them
// and where their limiters come from. The zero value observes nothing and
// paces locally.
type Shared struct {
	Observer Observer
	// NewLimiter, when set, returns the limiter for one API at the given
	// rate (e.g. shared through Redis by every replica).
	NewLimiter func(platform, api string, perSecond float64, burst int) Limiter
}

// New returns a Caller for one API of platform.
func (s Shared) New(platform, api string, l Limits) *Caller {
	c := New(l)
	c.platform, c.api, c.obs = platform, api, s.Observer
	if s.NewLimiter != nil && c.limits.PerSecond > 0 {
		c.limiter = s.NewLimiter(platform, api, c.limits.PerSecond, c.limits.Burst)
	}
	return c
}

// Caller paces and retries calls to one platform API.
type Caller struct {
	limits   Limits
	limiter  Limiter
	platform string
	api      string
	obs      Observer
	// Renew, when set, is called once per Do after an AuthExpired error
	// (regenerate a UserSig, refresh a token) before the call is retried.
	Renew func(ctx context.Context) error
	// Sleep waits d or until ctx is done; tests may replace it.
	Sleep func(ctx context.Context, d time.Duration) error

	mu          sync.Mutex
	pausedUntil time.Time
}

// New returns a Caller enforcing l.
func New(l Limits) *Caller {
	l = l.withDefaults()
	lim := rate.NewLimiter(rate.Inf, l.Burst)
	if l.PerSecond > 0 {
		lim = rate.NewLimiter(rate.Limit(l.PerSecond), l.Burst)
	}
	return &Caller{limits: l, limiter: lim, Sleep: sleep}
}

// Limits returns the Caller's effective limits (defaults applied).
func (c *Caller) Limits() Limits { return c.limits }

func (c *Caller) observe(start time.Time, err error) {
	if c.obs != nil {
		c.obs.Attempt(c.platform, c.api, time.Since(start), err)
	}
}

// Do runs call, waiting for the rate limiter before every attempt and
// retrying Transient, RateLimited and network errors with jittered
// exponential backoff. A RateLimited error's RetryAfter pauses every caller
// sharing c, so one throttle answer slows the whole API down instead of
// sending more calls into it. Permanent errors return at once.
func (c *Caller) Do(ctx context.Context, call func(ctx context.Context) error) error {
	renewed := false
	var err error
	for attempt := 1; ; attempt++ {
		if err := c.wait(ctx); err != nil {
			return err
		}
		start := time.Now()
		err = call(ctx)
		c.observe(start, err)
		if err == nil {
			return nil
		}
		if attempt >= c.limits.MaxAttempts {
			return &moderation.GaveUpError{Platform: c.platform, Op: c.api, Tries: attempt, Err: err}
		}
		var apiErr *moderation.APIError
		isAPI := errors.As(err, &apiErr)
		switch {
		case isAPI && apiErr.Kind == moderation.AuthExpired:
			if renewed || c.Renew == nil {
				return err
			}
			renewed = true
			if rerr := c.Renew(ctx); rerr != nil {
				return fmt.Errorf("renewing credentials: %w (after %w)", rerr, err)
			}
			continue
		case isAPI && apiErr.Kind == moderation.RateLimited:
			d := apiErr.RetryAfter
			if d <= 0 {
				d = c.backoff(attempt)
			}
			c.pause(d)
			continue
		case isAPI && apiErr.Kind == moderation.Transient, !isAPI && retryableNetErr(err):
			if err := c.Sleep(ctx, c.backoff(attempt)); err != nil {
				return err
			}
			continue
		default:
			return err
		}
	}
}

// backoff returns the delay before retry n (n ≥ 1): exponential from
// BaseDelay, capped at MaxDelay, with jitter in [d/2, d) so that the floor
// is never below half the base delay.
func (c *Caller) backoff(n int) time.Duration {
	d := c.limits.BaseDelay << min(n-1, 20)
	if d > c.limits.MaxDelay || d <= 0 {
		d = c.limits.MaxDelay
	}
	return d/2 + rand.N(d/2+1)
}

func (c *Caller) pause(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if until := time.Now().Add(d); until.After(c.pausedUntil) {
		c.pausedUntil = until
	}
}

func (c *Caller) wait(ctx context.Context) error {
	start := time.Now()
	c.mu.Lock()
	until := c.pausedUntil
	c.mu.Unlock()
	if d := time.Until(until); d > 0 {
		if err := c.Sleep(ctx, d); err != nil {
			return err
		}
	}
	err := c.limiter.Wait(ctx)
	if c.obs != nil {
		c.obs.Waited(c.platform, c.api, time.Since(start))
	}
	return err
}

func retryableNetErr(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var netErr net.Error
	return errors.As(err, &netErr)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Chunk splits s into consecutive batches of at most n elements.
func Chunk[T any](s []T, n int) [][]T {
	if n <= 0 {
		panic("egress.Chunk: n must be positive")
	}
	var out [][]T
	for len(s) > n {
		out = append(out, s[:n:n])
		s = s[n:]
	}
	if len(s) > 0 {
		out = append(out, s)
	}
	return out
}
