package cluster

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"
)

// hungRedis is a TCP listener that accepts connections and never answers:
// a Redis that is up but stuck (a full host, a debugger, SIGSTOP).
func hungRedis(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never read or answered
			mu.Unlock()
		}
	}()
	tb.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// TestHungRedisWebhookPath: with Redis accepting connections and never
// answering, the Redis work of one webhook (de-dup check, claim, mark,
// flood window) costs at most one redis.timeout, and only for the first
// delivery of a cool-down; the others fail fast.
func TestHungRedisWebhookPath(t *testing.T) {
	t.Parallel()
	c := newCluster(Config{Addr: hungRedis(t)})
	defer c.Close()
	d := c.Dedup(time.Minute)
	w := c.Windows(localStub{})
	ctx := context.Background()
	const n = 50
	start := time.Now()
	var slowest time.Duration
	for i := range n {
		t0 := time.Now()
		keys := []string{"tim:msg:" + string(rune('a'+i%26))}
		if _, err := d.Seen(ctx, keys); err == nil {
			t.Fatal("Seen on a hung Redis: no error")
		}
		if _, _, err := c.Claim(ctx, "k", "v", time.Minute); !errors.Is(err, ErrCoolingDown) {
			t.Fatalf("Claim after a timeout = %v, want ErrCoolingDown", err)
		}
		if err := d.Mark(ctx, keys); !errors.Is(err, ErrCoolingDown) {
			t.Fatalf("Mark after a timeout = %v, want ErrCoolingDown", err)
		}
		if n, _ := w.Flood("tim", "g", "u", time.Now().UnixNano(), 5, int64(time.Second), false); n != 42 {
			t.Fatalf("Flood did not fall back to the local windows (n=%d)", n)
		}
		slowest = max(slowest, time.Since(t0))
	}
	total := time.Since(start)
	t.Logf("%d webhooks' Redis work against a hung Redis: %v in all, slowest %v", n, total, slowest)
	// One redis.timeout (50ms) at most, plus scheduling on a loaded
	// machine; TIM's deadline for the whole answer is 2 s.
	if slowest > time.Second {
		t.Errorf("slowest webhook spent %v on Redis, want well under TIM's 2 s deadline", slowest)
	}
	if total > 2*time.Second {
		t.Errorf("%d webhooks spent %v on Redis, want the cool-down to make all but the first fail fast", n, total)
	}
}

type localStub struct{}

func (localStub) Flood(string, string, string, int64, int, int64, bool) (int, bool) { return 42, false }
func (localStub) Raid(string, string, int64, []string, int, int64) (int, []string)  { return 42, nil }

// TestGuard: a failure starts the cool-down (calls fail fast without
// running), one call probes when it ends, and a success ends it.
func TestGuard(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	g := newGuard("test", 50*time.Millisecond, 5*time.Second)
	g.now = func() time.Time { return now }
	ctx := context.Background()
	boom := errors.New("boom")
	calls := 0
	fail := func(context.Context) error { calls++; return boom }
	ok := func(context.Context) error { calls++; return nil }
	steps := []struct {
		name      string
		advance   time.Duration
		fn        func(context.Context) error
		want      error
		wantCalls int
	}{
		{name: "up: runs", fn: ok, want: nil, wantCalls: 1},
		{name: "failure", fn: fail, want: boom, wantCalls: 2},
		{name: "cooling down: not run", advance: 4 * time.Second, fn: ok, want: ErrCoolingDown, wantCalls: 2},
		{name: "cool-down over: probe fails", advance: 2 * time.Second, fn: fail, want: boom, wantCalls: 3},
		{name: "cooling down again", advance: time.Second, fn: ok, want: ErrCoolingDown, wantCalls: 3},
		{name: "probe succeeds", advance: 5 * time.Second, fn: ok, want: nil, wantCalls: 4},
		{name: "up again", fn: ok, want: nil, wantCalls: 5},
	}
	for _, s := range steps {
		now = now.Add(s.advance)
		if err := g.do(ctx, s.fn); !errors.Is(err, s.want) && err != s.want {
			t.Fatalf("%s: err = %v, want %v", s.name, err, s.want)
		}
		if calls != s.wantCalls {
			t.Fatalf("%s: %d calls, want %d", s.name, calls, s.wantCalls)
		}
	}
}

// TestGuardDeadline: the call gets the guard's deadline; a call the
// caller cancelled does not start a cool-down.
func TestGuardDeadline(t *testing.T) {
	t.Parallel()
	g := newGuard("test", 20*time.Millisecond, time.Minute)
	wait := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.do(ctx, wait); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled call: %v", err)
	}
	if g.down() {
		t.Fatal("a caller's cancellation started a cool-down")
	}
	t0 := time.Now()
	if err := g.do(context.Background(), wait); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hung call: %v", err)
	}
	if took := time.Since(t0); took > time.Second {
		t.Fatalf("hung call took %v, want about the 20ms deadline", took)
	}
	if !g.down() {
		t.Fatal("a timeout did not start a cool-down")
	}
}

// TestGuardsSeparate: background calls failing do not trip the webhook
// guard.
func TestGuardsSeparate(t *testing.T) {
	t.Parallel()
	c := newCluster(Config{Addr: hungRedis(t)})
	defer c.Close()
	if _, err := c.AllowCommand(context.Background(), "chat:actor", 10); err == nil {
		t.Fatal("AllowCommand on a hung Redis: no error")
	}
	if !c.bg.down() {
		t.Fatal("background guard not cooling down after a timeout")
	}
	if c.web.down() {
		t.Fatal("a background timeout tripped the webhook guard")
	}
}
