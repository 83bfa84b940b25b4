package cluster

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// open connects to the Redis named by GAVEL_TEST_REDIS under a prefix of
// its own, so parallel tests and runs do not meet.
func open(t *testing.T) *Cluster {
	t.Helper()
	addr := os.Getenv("GAVEL_TEST_REDIS")
	if addr == "" {
		t.Skip("GAVEL_TEST_REDIS not set: skipping Redis tests (e.g. GAVEL_TEST_REDIS=127.0.0.1:6379)")
	}
	c, err := Open(context.Background(), Config{Addr: addr, Prefix: fmt.Sprintf("gaveltest:%s:%d:", t.Name(), time.Now().UnixNano())})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		keys, _ := c.rdb.Keys(ctx, c.prefix+"*").Result()
		if len(keys) > 0 {
			c.rdb.Del(ctx, keys...)
		}
		c.Close()
	})
	return c
}

func TestDedup(t *testing.T) {
	t.Parallel()
	c := open(t)
	ctx := context.Background()
	d := c.Dedup(time.Minute)
	steps := []struct {
		keys []string
		want bool
	}{
		{[]string{"ev:1", "msg:1"}, true},
		{[]string{"ev:1", "msg:1"}, false},
		{[]string{"ev:2", "msg:1"}, false}, // same message, new event id
		{[]string{"ev:2", "msg:2"}, true},  // ev:2 was rolled back above
		{nil, true},
	}
	for i, s := range steps {
		got, err := d.FirstSeen(ctx, s.keys)
		if err != nil {
			t.Fatal(err)
		}
		if got != s.want {
			t.Fatalf("step %d FirstSeen(%v) = %v, want %v", i, s.keys, got, s.want)
		}
	}
	d.Forget(ctx, []string{"ev:1", "msg:1"})
	if got, _ := d.FirstSeen(ctx, []string{"ev:1", "msg:1"}); !got {
		t.Fatal("forgotten keys still known")
	}
}

// TestDedupSharedByReplicas: two connections (two replicas) racing on the
// same deliveries accept each exactly once.
func TestDedupSharedByReplicas(t *testing.T) {
	t.Parallel()
	a := open(t)
	b, err := Open(context.Background(), Config{Addr: os.Getenv("GAVEL_TEST_REDIS"), Prefix: a.prefix})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var accepted atomic.Int64
	var wg sync.WaitGroup
	for _, c := range []*Cluster{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := c.Dedup(time.Minute)
			for i := range 200 {
				if ok, err := d.FirstSeen(context.Background(), []string{fmt.Sprint("ev:", i), fmt.Sprint("msg:", i)}); err == nil && ok {
					accepted.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if accepted.Load() != 200 {
		t.Fatalf("accepted %d of 200 deliveries sent 4 times, want 200", accepted.Load())
	}
}

// TestSharedLimiter: three replicas sharing a 50/s limit together make at
// most about 50 calls a second.
func TestSharedLimiter(t *testing.T) {
	t.Parallel()
	c := open(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var calls atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range 3 {
		l := c.NewLimiter("tim", "delete_group_member", 50, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for l.Wait(ctx) == nil {
				calls.Add(1)
			}
		}()
	}
	wg.Wait()
	rate := float64(calls.Load()) / time.Since(start).Seconds()
	if rate > 55 || rate < 40 {
		t.Fatalf("3 replicas together made %.1f calls/s, want about 50", rate)
	}
}

func TestFractionalRate(t *testing.T) {
	t.Parallel()
	c := &Cluster{prefix: "x:"}
	l := c.NewLimiter("p", "a", 0.5, 1).(*limiter)
	if l.limit.Rate != 5 || l.limit.Period != 10*time.Second {
		t.Fatalf("0.5/s = %d per %v, want 5 per 10s", l.limit.Rate, l.limit.Period)
	}
}
