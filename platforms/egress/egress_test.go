package egress

import (
	"context"
	"errors"
	"net"
	"reflect"
	"testing"
	"time"

	"gavel/moderation"
)

func fastCaller(l Limits) (*Caller, *[]time.Duration) {
	c := New(l)
	var slept []time.Duration
	c.Sleep = func(ctx context.Context, d time.Duration) error {
		slept = append(slept, d)
		return ctx.Err()
	}
	return c, &slept
}

func TestDoRetries(t *testing.T) {
	t.Parallel()
	transient := &moderation.APIError{Kind: moderation.Transient, Message: "busy"}
	limited := &moderation.APIError{Kind: moderation.RateLimited, RetryAfter: 3 * time.Second}
	permanent := &moderation.APIError{Kind: moderation.Permanent, Message: "owner"}
	expired := &moderation.APIError{Kind: moderation.AuthExpired}
	netErr := &net.OpError{Op: "dial", Err: errors.New("connection refused")}

	tests := []struct {
		name      string
		errs      []error // returned by successive attempts; nil after
		renew     bool
		wantCalls int
		wantErr   error
	}{
		{name: "success first try", errs: nil, wantCalls: 1},
		{name: "transient then success", errs: []error{transient, transient}, wantCalls: 3},
		{name: "rate limited then success", errs: []error{limited}, wantCalls: 2},
		{name: "network error retried", errs: []error{netErr}, wantCalls: 2},
		{name: "permanent not retried", errs: []error{permanent}, wantCalls: 1, wantErr: permanent},
		{name: "auth expired renewed once", errs: []error{expired}, renew: true, wantCalls: 2},
		{name: "auth expired twice fails", errs: []error{expired, expired}, renew: true, wantCalls: 2, wantErr: expired},
		{name: "auth expired without renew fails", errs: []error{expired}, wantCalls: 1, wantErr: expired},
		{name: "gives up after max attempts", errs: []error{transient, transient, transient, transient, transient, transient}, wantCalls: 5, wantErr: transient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, _ := fastCaller(Limits{})
			renews := 0
			if tt.renew {
				c.Renew = func(context.Context) error { renews++; return nil }
			}
			calls := 0
			err := c.Do(context.Background(), func(context.Context) error {
				calls++
				if calls <= len(tt.errs) {
					return tt.errs[calls-1]
				}
				return nil
			})
			if calls != tt.wantCalls {
				t.Errorf("calls = %d, want %d", calls, tt.wantCalls)
			}
			if !errors.Is(err, tt.wantErr) && !(tt.wantErr == nil && err == nil) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.renew && renews > 1 {
				t.Errorf("renewed %d times, want at most 1", renews)
			}
		})
	}
}

func TestRateLimitedHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	c, slept := fastCaller(Limits{})
	c.pause(0)
	calls := 0
	_ = c.Do(context.Background(), func(context.Context) error {
		calls++
		if calls == 1 {
			return &moderation.APIError{Kind: moderation.RateLimited, RetryAfter: 2 * time.Second}
		}
		return nil
	})
	if len(*slept) != 1 || (*slept)[0] < time.Second || (*slept)[0] > 2*time.Second {
		t.Fatalf("slept %v, want one pause of about 2s", *slept)
	}
}

func TestBackoffBounds(t *testing.T) {
	t.Parallel()
	c := New(Limits{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second})
	for n := 1; n < 40; n++ {
		d := c.backoff(n)
		want := min(100*time.Millisecond<<min(n-1, 20), time.Second)
		if d < want/2 || d > want {
			t.Fatalf("backoff(%d) = %v, want within [%v, %v]", n, d, want/2, want)
		}
	}
}

func TestDoStopsOnCancel(t *testing.T) {
	t.Parallel()
	c := New(Limits{BaseDelay: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	errc := make(chan error, 1)
	go func() {
		errc <- c.Do(ctx, func(context.Context) error {
			calls++
			return &moderation.APIError{Kind: moderation.Transient}
		})
	}()
	time.Sleep(10 * time.Millisecond)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestChunk(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n    int
		size int
		want []int
	}{
		{n: 0, size: 50, want: nil},
		{n: 50, size: 50, want: []int{50}},
		{n: 51, size: 50, want: []int{50, 1}},
		{n: 150, size: 100, want: []int{100, 50}},
		{n: 121, size: 60, want: []int{60, 60, 1}},
	}
	for _, tt := range tests {
		s := make([]int, tt.n)
		var got []int
		for _, b := range Chunk(s, tt.size) {
			got = append(got, len(b))
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Chunk(%d, %d) sizes = %v, want %v", tt.n, tt.size, got, tt.want)
		}
	}
}
