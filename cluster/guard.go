package cluster

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrCoolingDown is returned without asking Redis while a guard is
// cooling down after Redis failed or did not answer in time; callers fall
// back as they do when Redis refuses connections.
var ErrCoolingDown = errors.New("redis cooling down after a failure")

// guard bounds every Redis call of one kind of caller: each call gets a
// deadline, and after a failure calls fail fast with ErrCoolingDown for
// the cool-down. When it is over, one call probes Redis (the others keep
// failing fast until that call ends); its success ends the cool-down.
//
// A Redis that accepts connections but never answers would otherwise hold
// every caller for go-redis's own timeouts (seconds), far past a
// platform's webhook deadline (TIM 2 s, Feishu 3 s). The webhook path and
// the background workers have a guard each, so a slow background call
// never trips the webhook path and the other way round.
type guard struct {
	name     string
	timeout  time.Duration
	coolDown time.Duration
	now      func() time.Time
	// downUntil is the Unix ns until which calls fail fast; 0: Redis up.
	downUntil atomic.Int64
}

func newGuard(name string, timeout, coolDown time.Duration) *guard {
	return &guard{name: name, timeout: timeout, coolDown: coolDown, now: time.Now}
}

// do runs fn under the guard's deadline, or returns ErrCoolingDown.
func (g *guard) do(ctx context.Context, fn func(ctx context.Context) error) error {
	now := g.now().UnixNano()
	if until := g.downUntil.Load(); until != 0 {
		if now < until {
			return ErrCoolingDown
		}
		// Cool-down over: this call probes; others keep failing fast.
		if !g.downUntil.CompareAndSwap(until, now+int64(g.coolDown)) {
			return ErrCoolingDown
		}
	}
	cctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	err := fn(cctx)
	switch {
	case err == nil || errors.Is(err, redis.Nil):
		if g.downUntil.Swap(0) != 0 {
			slog.Info("redis answers again", "guard", g.name)
		}
	case ctx.Err() != nil:
		// The caller gave up; that says nothing about Redis.
	default:
		if g.downUntil.Swap(g.now().UnixNano()+int64(g.coolDown)) == 0 {
			slog.Warn("redis failed; calls fail fast during the cool-down", "guard", g.name, "timeout", g.timeout, "cool_down", g.coolDown, "err", err)
		}
	}
	return err
}

// down reports whether the guard is cooling down.
func (g *guard) down() bool {
	until := g.downUntil.Load()
	return until != 0 && g.now().UnixNano() < until
}
