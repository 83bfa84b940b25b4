package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// loader is the one HTTP client that measures every target: keep-alive
// connections, enough idle connections per host for every worker.
type loader struct {
	client *http.Client
}

func newLoader(conns int) *loader {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        2 * conns,
		MaxIdleConnsPerHost: 2 * conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &loader{client: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
}

func (l *loader) close() { l.client.CloseIdleConnections() }

// send posts d to base and returns the status.
func (l *loader) send(ctx context.Context, base *url.URL, d *delivery) (int, error) {
	u := *base
	u.Path, u.RawQuery = d.path, d.query
	req := (&http.Request{
		Method: http.MethodPost, URL: &u, Host: u.Host,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: d.header, Body: io.NopCloser(bytes.NewReader(d.body)), ContentLength: int64(len(d.body)),
	}).WithContext(ctx)
	resp, err := l.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// errSamples keeps the first few distinct failures for the report.
type errSamples struct {
	mu   sync.Mutex
	list []string
}

func (e *errSamples) add(status int, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.list) >= 5 {
		return
	}
	s := fmt.Sprintf("HTTP %d", status)
	if err != nil {
		s = err.Error()
	}
	if !slices.Contains(e.list, s) {
		e.list = append(e.list, s)
	}
}

// satResult is a closed-loop run.
type satResult struct {
	requests  int           // completed inside the measured window
	errors    int           // of those, not HTTP 200
	window    time.Duration // measured window
	exhausted bool          // the pool ran out before the duration
	commands  int           // command deliveries answered 200 (whole run)
	total     int           // completed in the whole run, warm-up included
	samples   []string
}

// add sums another round into r.
func (r *satResult) add(o satResult) {
	r.requests += o.requests
	r.errors += o.errors
	r.window += o.window
	r.exhausted = r.exhausted || o.exhausted
	r.commands += o.commands
	r.total += o.total
	for _, s := range o.samples {
		if !slices.Contains(r.samples, s) {
			r.samples = append(r.samples, s)
		}
	}
}

func (r satResult) rps() float64 {
	if r.window <= 0 {
		return 0
	}
	return float64(r.requests) / r.window.Seconds()
}

// saturate runs concurrency workers back to back for warmup+dur; only
// completions after the warm-up count. With cycle false every delivery is
// sent once and the run ends early when the pool runs out.
func (l *loader) saturate(ctx context.Context, base *url.URL, pool []delivery, cycle bool, concurrency int, warmup, dur time.Duration) satResult {
	defer pauseGC()()
	start := time.Now()
	from, until := start.Add(warmup), start.Add(warmup+dur)
	var next atomic.Int64
	var exhaustedAt atomic.Int64 // unix nanos, 0 = not exhausted
	type local struct {
		n, errs, cmds, all int
		last               time.Time
	}
	locals := make([]local, concurrency)
	var samples errSamples
	var wg sync.WaitGroup
	for w := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := &locals[w]
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if !cycle && i >= len(pool) {
					exhaustedAt.CompareAndSwap(0, time.Now().UnixNano())
					return
				}
				d := &pool[i%len(pool)]
				status, err := l.send(ctx, base, d)
				now := time.Now()
				st.all++
				if status == http.StatusOK && d.command {
					st.cmds++
				}
				if now.After(until) {
					return
				}
				if now.Before(from) {
					continue
				}
				st.n++
				st.last = now
				if status != http.StatusOK {
					st.errs++
					samples.add(status, err)
				}
			}
		}()
	}
	wg.Wait()
	var r satResult
	var last time.Time
	for _, st := range locals {
		r.requests += st.n
		r.errors += st.errs
		r.commands += st.cmds
		r.total += st.all
		if st.last.After(last) {
			last = st.last
		}
	}
	r.window = dur
	if at := exhaustedAt.Load(); at != 0 && time.Unix(0, at).Before(until) {
		r.exhausted = true
		r.window = last.Sub(from)
	}
	r.samples = samples.list
	return r
}

// rateResult is an open-loop run.
type rateResult struct {
	sent     int
	errors   int
	achieved float64 // completed per second
	p50, p90 time.Duration
	p99      time.Duration
	p999     time.Duration
	max      time.Duration
	// service is the p99 from the actual send (not the schedule): the
	// difference to p99 is time spent waiting in the client.
	serviceP99 time.Duration
	// ordinaryP99 and commandP99 split p99 by traffic class.
	ordinaryP99, commandP99 time.Duration
	// stalls describes the 100 ms windows with the most requests over
	// 10 ms: clustered slow requests mean a stall, spread ones a cost.
	stalls string
	// lateP99 and lateMax are how late the load generator itself handed
	// requests out (its dispatcher's delay past their due time).
	lateP99, lateMax time.Duration
	commands         int
	samples          []string
}

// fixedRate sends pool at rate per second: request i is due at start +
// i/rate whatever happened to earlier ones, and its latency runs from
// that scheduled time to the end of its response (so a stall of the
// target counts for every request it delayed: no coordinated omission).
// The first warmup worth of requests are not measured.
func (l *loader) fixedRate(ctx context.Context, base *url.URL, pool []delivery, rate int, workers int, warmup time.Duration) rateResult {
	defer pauseGC()()
	n := len(pool)
	skip := min(n, int(float64(rate)*warmup.Seconds()))
	interval := time.Second / time.Duration(rate)
	lat := make([]time.Duration, n)
	svc := make([]time.Duration, n)
	status := make([]int, n)
	type job struct {
		i   int
		due time.Time
	}
	jobs := make(chan job, n)
	var samples errSamples
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if ctx.Err() != nil {
					continue
				}
				sent := time.Now()
				st, err := l.send(ctx, base, &pool[j.i])
				done := time.Now()
				lat[j.i], svc[j.i] = done.Sub(j.due), done.Sub(sent)
				status[j.i] = st
				if st != http.StatusOK {
					samples.add(st, err)
				}
			}
		}()
	}
	// late is how long after its due time each request was handed to a
	// worker: the load generator's own delay. Where it is large the
	// generator (or the machine under it) stalled, not the target.
	late := make([]time.Duration, n)
	start := time.Now()
	for i := 0; i < n && ctx.Err() == nil; i++ {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		jobs <- job{i, due}
		late[i] = time.Since(due)
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start.Add(time.Duration(skip) * interval))

	var r rateResult
	measured := make([]time.Duration, 0, n-skip)
	service := make([]time.Duration, 0, n-skip)
	var ordinary, commands []time.Duration
	slowPerWindow := map[int]int{}          // 100 ms window → requests over 10 ms
	lateInWindow := map[int]time.Duration{} // 100 ms window → the generator's longest delay
	for i := range n {
		if status[i] == http.StatusOK && pool[i].command {
			r.commands++
		}
		if i < skip {
			continue
		}
		r.sent++
		if status[i] != http.StatusOK {
			r.errors++
		}
		measured = append(measured, lat[i])
		service = append(service, svc[i])
		if pool[i].command {
			commands = append(commands, lat[i])
		} else {
			ordinary = append(ordinary, lat[i])
		}
		w := int(time.Duration(i) * interval / (100 * time.Millisecond))
		if lat[i] > 10*time.Millisecond {
			slowPerWindow[w]++
		}
		lateInWindow[w] = max(lateInWindow[w], late[i])
	}
	slices.Sort(ordinary)
	slices.Sort(commands)
	r.ordinaryP99, r.commandP99 = pct(ordinary, 0.99), pct(commands, 0.99)
	r.stalls = describeStalls(slowPerWindow, lateInWindow, rate)
	lateness := slices.Clone(late[skip:])
	slices.Sort(lateness)
	r.lateP99 = pct(lateness, 0.99)
	if len(lateness) > 0 {
		r.lateMax = lateness[len(lateness)-1]
	}
	r.achieved = float64(r.sent) / elapsed.Seconds()
	slices.Sort(measured)
	slices.Sort(service)
	r.p50, r.p90, r.p99, r.p999 = pct(measured, 0.50), pct(measured, 0.90), pct(measured, 0.99), pct(measured, 0.999)
	r.serviceP99 = pct(service, 0.99)
	if len(measured) > 0 {
		r.max = measured[len(measured)-1]
	}
	r.samples = samples.list
	return r
}

// describeStalls names the three 100 ms windows with most slow requests
// and, for each, how late the load generator itself sent in it.
func describeStalls(slow map[int]int, late map[int]time.Duration, rate int) string {
	if len(slow) == 0 {
		return "no request over 10ms"
	}
	total := 0
	windows := make([]int, 0, len(slow))
	for w, c := range slow {
		windows = append(windows, w)
		total += c
	}
	slices.SortFunc(windows, func(a, b int) int { return slow[b] - slow[a] })
	var parts []string
	for _, w := range windows[:min(3, len(windows))] {
		parts = append(parts, fmt.Sprintf("%d of %d at %.1fs (sent up to %s late)", slow[w], rate/10, float64(w)/10, late[w].Round(100*time.Microsecond)))
	}
	return fmt.Sprintf("%d requests over 10ms in %d of the 100ms windows; most in %s", total, len(slow), strings.Join(parts, ", "))
}

// pauseGC turns the load generator's garbage collector off for a
// measured phase and returns the function that turns it back on and
// collects. With the prepared deliveries live (hundreds of MB), each of
// its GC cycles took the CPUs from the target for tens of milliseconds:
// stalls that showed up in the target's tail latency, bare gin's too. A
// phase allocates well under a GB, so the pause is safe.
func pauseGC() (resume func()) {
	old := debug.SetGCPercent(-1)
	return func() {
		debug.SetGCPercent(old)
		runtime.GC()
	}
}

// pct returns the p-quantile of sorted.
func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}
