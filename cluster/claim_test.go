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

func TestClaim(t *testing.T) {
	t.Parallel()
	c := open(t)
	ctx := context.Background()
	tests := []struct {
		name      string
		key       string
		ttl       time.Duration
		wantFirst bool
		wantErr   bool
	}{
		{name: "fresh key", key: "a", ttl: time.Minute, wantFirst: true},
		{name: "same key again", key: "a", ttl: time.Minute, wantFirst: false},
		{name: "other key", key: "b", ttl: time.Minute, wantFirst: true},
		{name: "empty key", key: "", ttl: time.Minute, wantErr: true},
		{name: "zero ttl", key: "c", ttl: 0, wantErr: true},
	}
	for _, tt := range tests {
		_, first, err := c.Claim(ctx, tt.key, "v", tt.ttl)
		if (err != nil) != tt.wantErr || first != tt.wantFirst {
			t.Errorf("%s: Claim(%q) = %v, %v; want first=%v err=%v", tt.name, tt.key, first, err, tt.wantFirst, tt.wantErr)
		}
	}
}

// TestClaimExpires: once the ttl passed, the key can be claimed again.
func TestClaimExpires(t *testing.T) {
	t.Parallel()
	c := open(t)
	ctx := context.Background()
	if _, first, err := c.Claim(ctx, "k", "v", 50*time.Millisecond); err != nil || !first {
		t.Fatalf("first claim = %v, %v", first, err)
	}
	time.Sleep(120 * time.Millisecond)
	if _, first, err := c.Claim(ctx, "k", "v", time.Minute); err != nil || !first {
		t.Fatalf("claim after expiry = %v, %v; want first", first, err)
	}
}

// TestClaimOnceAcrossReplicas: 20 concurrent claims of one key through
// two connections (two replicas); exactly one is first.
func TestClaimOnceAcrossReplicas(t *testing.T) {
	t.Parallel()
	a := open(t)
	b := openSamePrefix(t, a)
	var firsts atomic.Int32
	var winner atomic.Value
	helds := make([]string, 20)
	var wg sync.WaitGroup
	for i := range 20 {
		c := a
		if i%2 == 1 {
			c = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			held, first, err := c.Claim(context.Background(), "shared", fmt.Sprint(i), time.Minute)
			if err != nil {
				t.Error(err)
			}
			if first {
				firsts.Add(1)
				winner.Store(held)
			}
			helds[i] = held
		}()
	}
	wg.Wait()
	if n := firsts.Load(); n != 1 {
		t.Fatalf("%d claims were first, want 1", n)
	}
	for i, h := range helds {
		if h != winner.Load() {
			t.Fatalf("claim %d saw %q held, the first claimed %q", i, h, winner.Load())
		}
	}
}

// openSamePrefix opens a second connection (another replica) sharing a's
// prefix.
func openSamePrefix(t *testing.T, a *Cluster) *Cluster {
	t.Helper()
	b, err := Open(context.Background(), Config{Addr: os.Getenv("GAVEL_TEST_REDIS"), Prefix: a.prefix, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}
