package fakekit

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"
)

type call struct {
	Call
	Extra string
}

func TestRecording(t *testing.T) {
	t.Parallel()
	k := New[call](Window)
	k.Record(call{Call: Call{Op: "a", Status: 200}})
	k.Record(call{Call: Call{Op: "b", Status: 400, Code: 7}, Extra: "x"})
	k.Record(call{Call: Call{Op: "a", Status: 429}})
	if got := k.Calls(); len(got) != 3 || got[1].Extra != "x" || got[1].Code != 7 {
		t.Fatalf("Calls = %+v", got)
	}
	if got := k.CallsTo("a"); len(got) != 2 || got[1].Status != 429 {
		t.Fatalf("CallsTo(a) = %+v", got)
	}
	calls := k.Calls()
	calls[0].Op = "changed"
	if k.Calls()[0].Op != "a" {
		t.Fatal("Calls returned the kit's own slice")
	}
	k.Reset()
	if n := len(k.Calls()); n != 0 {
		t.Fatalf("%d calls after Reset", n)
	}
}

func TestFailNext(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(k *Kit[call])
		want  []int // codes of successive Injected("op"); 0 = no failure
	}{
		{name: "none", setup: func(*Kit[call]) {}, want: []int{0, 0}},
		{name: "n then clear", setup: func(k *Kit[call]) { k.FailNext("op", 2, 503) }, want: []int{503, 503, 0}},
		{name: "queued in order", setup: func(k *Kit[call]) { k.FailNext("op", 1, 429); k.FailNext("op", 2, 500) }, want: []int{429, 500, 500, 0}},
		{name: "zero n is a no-op", setup: func(k *Kit[call]) { k.FailNext("op", 0, 500) }, want: []int{0}},
		{name: "other op untouched", setup: func(k *Kit[call]) { k.FailNext("other", 3, 500) }, want: []int{0}},
		{name: "rate 1 always fails", setup: func(k *Kit[call]) { k.SetFailRate("op", 1, 10002) }, want: []int{10002, 10002}},
		{name: "queue before rate", setup: func(k *Kit[call]) { k.SetFailRate("op", 1, 2); k.FailNext("op", 1, 1) }, want: []int{1, 2}},
		{name: "rate off", setup: func(k *Kit[call]) { k.SetFailRate("op", 1, 2); k.SetFailRate("op", 0, 2) }, want: []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k := New[call](Window)
			tt.setup(k)
			for i, want := range tt.want {
				code, failed := k.Injected("op")
				if failed != (want != 0) || code != want {
					t.Fatalf("call %d: Injected = %d, %v; want %d", i, code, failed, want)
				}
			}
		})
	}
}

func TestRateLimits(t *testing.T) {
	t.Parallel()
	for _, mode := range []Mode{Window, Bucket} {
		tests := []struct {
			name    string
			setup   func(k *Kit[call])
			op      string
			calls   int
			allowed int
		}{
			{name: "no rate", setup: func(*Kit[call]) {}, op: "a", calls: 50, allowed: 50},
			{name: "default", setup: func(k *Kit[call]) { k.SetRate(Every, 10) }, op: "a", calls: 15, allowed: 10},
			{name: "own rate beats default", setup: func(k *Kit[call]) { k.SetRate(Every, 10); k.SetRate("a", 3) }, op: "a", calls: 5, allowed: 3},
			{name: "own zero turns it off", setup: func(k *Kit[call]) { k.SetRate(Every, 10); k.SetRate("a", 0) }, op: "a", calls: 20, allowed: 20},
			{name: "other op keeps default", setup: func(k *Kit[call]) { k.SetRate(Every, 4); k.SetRate("a", 1) }, op: "b", calls: 6, allowed: 4},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				k := New[call](mode)
				tt.setup(k)
				allowed := 0
				for range tt.calls {
					if k.Allow(tt.op) {
						allowed++
					}
				}
				if allowed != tt.allowed {
					t.Errorf("mode %d: %d of %d allowed, want %d", mode, allowed, tt.calls, tt.allowed)
				}
				if th := k.Throttled(tt.op); th != tt.calls-tt.allowed {
					t.Errorf("Throttled = %d, want %d", th, tt.calls-tt.allowed)
				}
			})
		}
	}
}

func TestAllowN(t *testing.T) {
	t.Parallel()
	for _, mode := range []Mode{Window, Bucket} {
		k := New[call](mode)
		if !k.AllowN("msgs", 20, 15) {
			t.Fatal("15 of 20 refused")
		}
		if k.AllowN("msgs", 20, 6) {
			t.Fatal("21 of 20 allowed")
		}
		if !k.AllowN("msgs", 20, 5) {
			t.Fatal("a refused batch was counted")
		}
		if !k.AllowN("other", 20, 20) {
			t.Fatal("keys share a limit")
		}
		if !k.AllowN("off", 0, 1000) {
			t.Fatal("limit 0 refused")
		}
	}
}

func TestWindowRefills(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("waits a second")
	}
	for _, mode := range []Mode{Window, Bucket} {
		k := New[call](mode)
		k.SetRate("a", 2)
		first, second, third := k.Allow("a"), k.Allow("a"), k.Allow("a")
		if !first || !second || third {
			t.Fatalf("mode %d: first second allowed %v %v %v, want true true false", mode, first, second, third)
		}
		time.Sleep(1010 * time.Millisecond)
		if !k.Allow("a") {
			t.Fatalf("mode %d: no refill after a second", mode)
		}
	}
}

func TestWait(t *testing.T) {
	t.Parallel()
	k := New[call](Window)
	start := time.Now()
	k.Wait(context.Background(), "a")
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Fatalf("no delay set, waited %v", d)
	}
	k.SetDelay("a", 80*time.Millisecond)
	start = time.Now()
	k.Wait(context.Background(), "a")
	if d := time.Since(start); d < 80*time.Millisecond {
		t.Fatalf("waited %v, want ≥ 80ms", d)
	}
	k.SetDelay("a", time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start = time.Now()
	k.Wait(ctx, "a")
	if d := time.Since(start); d > time.Second {
		t.Fatalf("cancelled wait took %v", d)
	}
}

// TestNoGoroutines: the kit starts none, and concurrent use leaves none.
func TestNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	k := New[call](Bucket)
	k.SetRate(Every, 100)
	k.SetDelay("a", time.Millisecond)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			k.Wait(context.Background(), "a")
			k.Allow("a")
			k.Injected("a")
			k.Record(call{Call: Call{Op: "a", Status: i}})
		})
	}
	wg.Wait()
	if n := len(k.Calls()); n != 50 {
		t.Fatalf("%d calls recorded, want 50", n)
	}
	deadline := time.Now().Add(time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Fatalf("goroutines: %d before, %d after", before, after)
	}
}
