package easemob_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"gavel/moderation"
	"gavel/platforms/easemob"
	"gavel/platforms/easemob/easemobtest"
	"gavel/platforms/egress"
)

// clock is a settable clock shared by the adapter and the fake.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func testConfig(srv *easemobtest.Server) easemob.Config {
	return easemob.Config{
		BaseURL:        srv.URL,
		OrgName:        srv.Org,
		AppName:        srv.App,
		ClientID:       srv.ClientID,
		ClientSecret:   srv.ClientSecret,
		CallbackSecret: srv.CallbackSecret,
		PreSendSecret:  srv.PreSendSecret,
		BotUser:        easemobtest.DefaultBotUser,
		Rate:           egress.Limits{PerSecond: 100, Burst: 10, BaseDelay: 5 * time.Millisecond, MaxDelay: 50 * time.Millisecond},
	}
}

// env is one fake server plus an adapter talking to it.
type env struct {
	srv   *easemobtest.Server
	clock *clock
	c     *easemob.Client
}

func newEnv(tb testing.TB, mutate ...func(*easemob.Config)) *env {
	tb.Helper()
	srv := easemobtest.NewServer()
	tb.Cleanup(srv.Close)
	clk := newClock()
	srv.SetNow(clk.Now)
	cfg := testConfig(srv)
	for _, m := range mutate {
		m(&cfg)
	}
	c, err := easemob.New(cfg, easemob.Options{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:    clk.Now,
	})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return &env{srv: srv, clock: clk, c: c}
}

func room(id string) moderation.ChatRef {
	return moderation.ChatRef{Platform: easemob.Name, ID: id, Kind: easemob.KindChatRoom}
}

func group(id string) moderation.ChatRef {
	return moderation.ChatRef{Platform: easemob.Name, ID: id, Kind: easemob.KindGroup}
}

func users(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%03d", prefix, i)
	}
	return out
}

func statuses(rs []moderation.Result) map[moderation.Status]int {
	out := map[moderation.Status]int{}
	for _, r := range rs {
		out[r.Status]++
	}
	return out
}

func checkOrder(tb testing.TB, rs []moderation.Result, want []string) {
	tb.Helper()
	if len(rs) != len(want) {
		tb.Fatalf("got %d results, want %d", len(rs), len(want))
	}
	for i := range want {
		if rs[i].UserID != want[i] {
			tb.Fatalf("result %d is for %q, want %q", i, rs[i].UserID, want[i])
		}
	}
}

var ctx = context.Background()
