package pipeline

import (
	"context"
	"path/filepath"
	"testing"

	"gavel/jobs"
	"gavel/moderation"
	"gavel/store/sqlite"
)

// newTestStore opens a SQLite store in a temporary directory, closed when
// the test ends.
func newTestStore(tb testing.TB) moderation.Store {
	tb.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "gavel.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// deliver takes ev the way a webhook delivery does: Submit (triage,
// enqueue), then the job runner's turn, in this goroutine, for every job
// that is due.
func deliver(tb testing.TB, p *Pipeline, ev moderation.Event) {
	tb.Helper()
	ctx := context.Background()
	jobs := p.NewJobs()
	if _, err := jobs.Submit(ctx, ev); err != nil {
		tb.Fatalf("submit %s: %v", ev.DeliveryID, err)
	}
	if err := jobs.Drain(ctx); err != nil {
		tb.Fatalf("drain: %v", err)
	}
}

// oneAttempt makes every job's first attempt its last: a transient
// failure is reported in the chat at once instead of being retried, so a
// test sees the final answer after one deliver.
var oneAttempt = Config{Jobs: jobs.Config{MaxAttempts: 1}}

// handleJob runs job as a worker that crashed before finishing it would:
// HandleJob, then its last unit of work committed, the job left
// unfinished.
func handleJob(p *Pipeline, job moderation.Job) error {
	ctx := context.Background()
	w, err := p.HandleJob(ctx, job)
	if err == nil && !w.Empty() {
		err = p.store.Commit(ctx, job.ID, "", w)
	}
	return err
}
