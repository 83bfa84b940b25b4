package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gavel/jobs"
	"gavel/moderation"
	"gavel/store/sqlite"
)

// handler is a jobs.Handler that takes every message starting with "!"
// and answers each job with what its script says: fail n times, panic
// once, or succeed, recording a result in the returned Work.
type handler struct {
	mu       sync.Mutex
	attempts map[string][]int // delivery id → the attempts it saw
	fails    map[string]int   // delivery id → attempts that fail
	panics   map[string]bool  // delivery id → first attempt panics
}

func (h *handler) Triage(_ context.Context, ev moderation.Event) (moderation.Event, bool) {
	return ev, ev.Message != nil && strings.HasPrefix(ev.Message.Text, "!")
}

func (h *handler) HandleJob(_ context.Context, job moderation.Job) (moderation.Work, error) {
	id := job.Event.DeliveryID
	h.mu.Lock()
	h.attempts[id] = append(h.attempts[id], job.Attempts)
	fail, panics := job.Attempts <= h.fails[id], h.panics[id] && job.Attempts == 1
	h.mu.Unlock()
	if panics {
		panic("handler bug")
	}
	if fail {
		return moderation.Work{}, errors.New("platform busy")
	}
	return moderation.Work{Results: []moderation.JobResults{{Step: moderation.ReplyStep(1),
		Results: []moderation.Result{{UserID: "-", Status: moderation.StatusDone}}}}}, nil
}

func setup(t *testing.T) (*jobs.Runner, *handler, moderation.Store, *time.Time) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "gavel.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Unix(1_700_000_000, 0)
	h := &handler{attempts: map[string][]int{}, fails: map[string]int{}, panics: map[string]bool{}}
	r := jobs.New(jobs.Config{MaxAttempts: 3}, st, h, jobs.Options{Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }})
	return r, h, st, &now
}

func message(id, chat, text string) moderation.Event {
	return moderation.Event{Kind: moderation.EventMessage, Platform: "fake", DeliveryID: id, DedupKeys: []string{id},
		Message: &moderation.Message{Chat: moderation.ChatRef{Platform: "fake", ID: chat}, MessageID: id, SenderID: "u", Text: text}}
}

func TestSubmitStoresOnlyWhatTriagePasses(t *testing.T) {
	t.Parallel()
	r, h, st, now := setup(t)
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		ev   moderation.Event
		want bool
	}{
		{"ordinary chat", message("d1", "c1", "hello"), false},
		{"actionable", message("d2", "c1", "!do"), true},
		{"re-delivery: stored already", message("d2", "c1", "!do"), true},
	} {
		stored, err := r.Submit(ctx, tt.ev)
		if err != nil || stored != tt.want {
			t.Errorf("%s: stored %v (%v), want %v", tt.name, stored, err, tt.want)
		}
	}
	if n, _, err := st.Pending(ctx, *now); err != nil || n != 1 {
		t.Fatalf("pending %d (%v), want 1", n, err)
	}
	if err := r.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := st.Pending(ctx, *now); n != 0 {
		t.Fatalf("pending %d after Drain, want 0", n)
	}
	if len(h.attempts) != 1 || len(h.attempts["d2"]) != 1 {
		t.Fatalf("attempts %v, want d2 once", h.attempts)
	}
}

// TestRetryAndFinish: a failing job is released to run again a second
// per attempt later, a panic counts as a failure, and the last attempt
// finishes the job whatever it returns; the Work of a finished job is
// committed with it.
func TestRetryAndFinish(t *testing.T) {
	t.Parallel()
	r, h, st, now := setup(t)
	ctx := context.Background()
	h.fails["always"] = 99
	h.fails["once"] = 1
	h.panics["panics"] = true
	for i, id := range []string{"always", "once", "panics"} {
		// One chat each: the jobs of a chat run in order.
		if _, err := r.Submit(ctx, message(id, string(rune('a'+i)), "!x")); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		if err := r.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		*now = now.Add(time.Hour) // past every retry delay
	}
	want := map[string]string{"always": "[1 2 3]", "once": "[1 2]", "panics": "[1 2]"}
	for id, w := range want {
		if got := fmt.Sprint(h.attempts[id]); got != w {
			t.Errorf("%s: attempts %s, want %s", id, got, w)
		}
	}
	if n, _, _ := st.Pending(ctx, *now); n != 0 {
		t.Fatalf("pending %d, want 0: every job finished", n)
	}
	res, err := st.Results(ctx, 2, moderation.ReplyStep(1)) // "once"
	if err != nil || len(res) != 1 {
		t.Fatalf("the finished job's work: %v (%v), want its record", res, err)
	}
}

// TestRunAndStop: Run's workers take submitted jobs (woken at once, not
// at the next poll) until Stop.
func TestRunAndStop(t *testing.T) {
	t.Parallel()
	r, h, _, _ := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	for i := range 5 {
		if _, err := r.Submit(ctx, message(string(rune('a'+i)), "c1", "!x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	r.Stop()
	<-done
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.attempts) != 5 {
		t.Fatalf("%d jobs handled, want 5", len(h.attempts))
	}
}

// claimCounter counts the store's claims, to tell a job handed to an
// idle worker (stored leased to it: no claim) from one claimed.
type claimCounter struct {
	moderation.Store
	claimed, handed atomic.Int32
}

func (c *claimCounter) Claim(ctx context.Context, worker string, n int, lease time.Duration, now time.Time) ([]moderation.Job, error) {
	js, err := c.Store.Claim(ctx, worker, n, lease, now)
	c.claimed.Add(int32(len(js)))
	return js, err
}

func (c *claimCounter) EnqueueClaim(ctx context.Context, ev moderation.Event, worker string, lease time.Duration, now time.Time) (bool, *moderation.Job, error) {
	created, job, err := c.Store.EnqueueClaim(ctx, ev, worker, lease, now)
	if job != nil {
		c.handed.Add(1)
	}
	return created, job, err
}

// TestSubmitHandsToAnIdleWorker: with a worker idle, a job of a quiet
// chat is stored leased to it (one transaction) and run without a claim.
func TestSubmitHandsToAnIdleWorker(t *testing.T) {
	t.Parallel()
	_, h, st, now := setup(t)
	q := &claimCounter{Store: st}
	r := jobs.New(jobs.Config{Workers: 1, MaxAttempts: 3}, q, h, jobs.Options{Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return *now }})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); r.Run(runCtx) }()
	defer func() { stop(); <-done }()
	time.Sleep(50 * time.Millisecond) // the worker's first look for work

	if _, err := r.Submit(ctx, message("d1", "c1", "!x")); err != nil {
		t.Fatal(err)
	}
	if err := r.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if q.handed.Load() != 1 || q.claimed.Load() != 0 {
		t.Fatalf("handed %d, claimed %d: want the job handed over, no claim", q.handed.Load(), q.claimed.Load())
	}
	if got := fmt.Sprint(h.attempts["d1"]); got != "[1]" {
		t.Fatalf("d1 attempts %s, want [1]", got)
	}
	if n, _, _ := st.Pending(ctx, *now); n != 0 {
		t.Fatalf("pending %d, want 0", n)
	}
}
