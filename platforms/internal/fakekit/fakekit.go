// Package fakekit is the scaffolding the platform fakes
// (platforms/<name>/<name>test) share, so that every fake offers the same
// test-facing API with the same signatures:
//
//	Calls() / CallsTo(op) / Reset()   call recording
//	FailNext(op, n, code)             the next n calls of op fail
//	SetFailRate(op, p, code)          each call of op fails with probability p
//	SetDelay(op, d)                   each call of op waits d first
//	SetRate(op, perSecond)            the per-operation rate limit ("*": every op without its own)
//	Throttled(op)                     how many calls the rate limit refused
//
// A fake embeds a *Kit[Call] (its Call type embeds fakekit.Call) and keeps
// only its routes, its auth and its documented errors and limits: what a
// failure code means (an HTTP status, a body code) and what a refused call
// answers is the fake's, documented in its package. fakekit knows no
// platform and starts no goroutines.
package fakekit

import (
	"context"
	"math/rand/v2"
	"net/url"
	"slices"
	"sync"
	"time"
)

// Call is what every fake records of a request. A fake's own Call type
// embeds it and adds the platform's fields.
type Call struct {
	// Op is the fake's operation name, the one FailNext, SetRate and
	// CallsTo take.
	Op     string
	Method string
	// Path is the decoded URL path.
	Path  string
	Query url.Values
	// Token is the bearer token presented ("" when none or when the
	// platform authenticates otherwise).
	Token string
	// Body is the decoded JSON body (nil when empty or not a JSON object);
	// Raw the body as received.
	Body map[string]any
	Raw  []byte
	// Status is the HTTP status answered; Code the platform's code in the
	// body (0 when it has none or on success).
	Status int
	Code   int
	Time   time.Time
}

// Core returns the shared part of a recorded call.
func (c Call) Core() Call { return c }

// Recorded is a fake's call type: one that embeds Call.
type Recorded interface{ Core() Call }

// Every is the op SetRate takes to set the limit of every operation that
// has none of its own.
const Every = "*"

// Mode is how a rate limit counts.
type Mode int

const (
	// Window allows perSecond calls in any one-second sliding window (the
	// stricter reading of "N calls per second").
	Window Mode = iota
	// Bucket is a token bucket holding one second's worth of calls,
	// refilled continuously.
	Bucket
)

// Kit is the shared scaffolding of one fake. Its methods are safe for
// concurrent use; it holds its own lock, never the fake's.
type Kit[C Recorded] struct {
	mode Mode

	mu       sync.Mutex
	calls    []C
	fails    map[string][]*failure
	failRate map[string]failRate
	delay    map[string]time.Duration
	rates    map[string]int // op → per second; Every the default
	windows  map[string][]time.Time
	buckets  map[string]*bucket
	refused  map[string]int
}

type failure struct {
	code int
	left int
}

type failRate struct {
	p    float64
	code int
}

// New returns a Kit whose rate limits count in mode.
func New[C Recorded](mode Mode) *Kit[C] {
	return &Kit[C]{
		mode:     mode,
		fails:    map[string][]*failure{},
		failRate: map[string]failRate{},
		delay:    map[string]time.Duration{},
		rates:    map[string]int{},
		windows:  map[string][]time.Time{},
		buckets:  map[string]*bucket{},
		refused:  map[string]int{},
	}
}

// --- recording ---------------------------------------------------------------

// Record appends one answered call.
func (k *Kit[C]) Record(c C) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.calls = append(k.calls, c)
}

// Calls returns every recorded call, in the order they were answered.
func (k *Kit[C]) Calls() []C {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.calls)
}

// CallsTo returns the recorded calls of one operation.
func (k *Kit[C]) CallsTo(op string) []C {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []C
	for _, c := range k.calls {
		if c.Core().Op == op {
			out = append(out, c)
		}
	}
	return out
}

// Reset forgets the recorded calls and the refusal counts; injected
// failures, delays and rates stay.
func (k *Kit[C]) Reset() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.calls = nil
	clear(k.refused)
}

// --- failure injection -------------------------------------------------------

// FailNext makes the next n calls of op fail with code, after the failures
// already queued for op. What code means (an HTTP status, a platform error
// code) and where in the request's handling the failure is taken is the
// fake's, documented on its package.
func (k *Kit[C]) FailNext(op string, n int, code int) {
	if n <= 0 {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.fails[op] = append(k.fails[op], &failure{code: code, left: n})
}

// SetFailRate makes each call of op fail with code with probability p, as
// a platform having a bad day does; p ≤ 0 turns it off.
func (k *Kit[C]) SetFailRate(op string, p float64, code int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if p <= 0 {
		delete(k.failRate, op)
		return
	}
	k.failRate[op] = failRate{p: p, code: code}
}

// Injected takes one injected failure of op, if any: the queued ones
// first, then the failure rate. The fake answers its documented error for
// code.
func (k *Kit[C]) Injected(op string) (code int, failed bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if q := k.fails[op]; len(q) > 0 {
		f := q[0]
		if f.left--; f.left <= 0 {
			k.fails[op] = q[1:]
		}
		return f.code, true
	}
	if fr, ok := k.failRate[op]; ok && rand.Float64() < fr.p {
		return fr.code, true
	}
	return 0, false
}

// --- delays ------------------------------------------------------------------

// SetDelay makes every call of op wait d before it is handled, as a slow
// platform does; 0 removes it.
func (k *Kit[C]) SetDelay(op string, d time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if d <= 0 {
		delete(k.delay, op)
		return
	}
	k.delay[op] = d
}

// Wait sleeps op's delay, returning early when ctx (the request's) ends.
func (k *Kit[C]) Wait(ctx context.Context, op string) {
	k.mu.Lock()
	d := k.delay[op]
	k.mu.Unlock()
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// --- rate limits -------------------------------------------------------------

// SetRate sets op's limit in calls per second (0 = none); op Every sets the
// limit of every operation without one of its own. Counting restarts.
func (k *Kit[C]) SetRate(op string, perSecond int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.rates[op] = max(perSecond, 0)
	clear(k.windows)
	clear(k.buckets)
}

// Rate returns op's limit in calls per second (0 = none).
func (k *Kit[C]) Rate(op string) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.rateLocked(op)
}

func (k *Kit[C]) rateLocked(op string) int {
	if r, ok := k.rates[op]; ok {
		return r
	}
	return k.rates[Every]
}

// Allow counts one call of op against op's rate (wall clock) and reports
// whether it stays within it; refusals are counted for Throttled.
func (k *Kit[C]) Allow(op string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.takeLocked(op, k.rateLocked(op), 1) {
		return true
	}
	k.refused[op]++
	return false
}

// AllowN counts n events under key against a fixed limit of perSecond
// (per chat, per message: limits a test does not set) and reports whether
// they all fit; none are counted when they do not. perSecond ≤ 0 allows
// everything.
func (k *Kit[C]) AllowN(key string, perSecond, n int) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.takeLocked(key, perSecond, n)
}

// Throttled returns how many calls of op its rate limit refused.
func (k *Kit[C]) Throttled(op string) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.refused[op]
}

func (k *Kit[C]) takeLocked(key string, limit, n int) bool {
	if limit <= 0 {
		return true
	}
	now := time.Now()
	if k.mode == Bucket {
		b := k.buckets[key]
		if b == nil || b.rate != float64(limit) {
			b = &bucket{rate: float64(limit), tokens: float64(limit), last: now}
			k.buckets[key] = b
		}
		return b.take(now, n)
	}
	w := k.windows[key]
	i := 0
	for i < len(w) && now.Sub(w[i]) >= time.Second {
		i++
	}
	w = w[i:]
	if len(w)+n > limit {
		k.windows[key] = w
		return false
	}
	for range n {
		w = append(w, now)
	}
	k.windows[key] = w
	return true
}

// bucket is a token bucket holding one second's worth of calls.
type bucket struct {
	rate   float64
	tokens float64
	last   time.Time
}

func (b *bucket) take(now time.Time, n int) bool {
	b.tokens = min(b.rate, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	if b.tokens < float64(n) {
		return false
	}
	b.tokens -= float64(n)
	return true
}
