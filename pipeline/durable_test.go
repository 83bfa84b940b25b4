package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"gavel/commands"
	"gavel/moderation"
	"gavel/policy"
	"gavel/store/sqlite"
)

func durableFixture(t testing.TB) (*Pipeline, *recorder, moderation.Store) {
	t.Helper()
	st := newTestStore(t)
	pl := &recorder{caps: native, roles: map[string]moderation.Role{"mod": moderation.RoleAdmin}, refuse: map[string]bool{}}
	eng, err := policy.New(policy.Config{MaxTargets: 200}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Config{}, Deps{Platforms: []moderation.Platform{pl}, Parser: commands.New(commands.Config{}), Policy: eng,
		Store: st, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return p, pl, st
}

func message(id, from, text string) moderation.Event {
	return moderation.Event{Kind: moderation.EventMessage, Platform: "fake", DeliveryID: id, DedupKeys: []string{id},
		Message: &moderation.Message{Chat: moderation.ChatRef{Platform: "fake", ID: "c1"}, MessageID: id, SenderID: from, Text: text}}
}

func claimOne(t *testing.T, st moderation.Store, ev moderation.Event) moderation.Job {
	t.Helper()
	ctx := context.Background()
	if _, err := st.Enqueue(ctx, ev, time.Now()); err != nil {
		t.Fatal(err)
	}
	jobs, err := st.Claim(ctx, "w", 1, time.Minute, time.Now())
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim: %v %v", jobs, err)
	}
	return jobs[0]
}

// TestJobReRunSkipsSettledTargets: a job whose first run recorded the
// first batch (then crashed) acts only on the rest when run again, and a
// third run acts on nobody and does not reply again.
func TestJobReRunSkipsSettledTargets(t *testing.T) {
	t.Parallel()
	p, pl, st := durableFixture(t)
	var targets []string
	for i := range 120 {
		targets = append(targets, fmt.Sprintf("u%03d", i))
	}
	job := claimOne(t, st, message("d1", "mod", "/kick @"+strings.Join(targets, " @")))
	var first []moderation.Result
	for _, u := range targets[:50] {
		first = append(first, moderation.Result{UserID: u, Status: moderation.StatusDone})
	}
	if err := st.RecordResults(context.Background(), job.ID, moderation.ActionStep(moderation.VerbKick), first); err != nil {
		t.Fatal(err)
	}
	// The worker that recorded those died; the store hands the job out
	// again as its second attempt.
	job.Attempts++

	if err := handleJob(p, job); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"remove " + strings.Join(targets[50:100], ",") + " reason=",
		"remove " + strings.Join(targets[100:], ",") + " reason=",
	}
	if fmt.Sprint(pl.calls) != fmt.Sprint(want) {
		t.Fatalf("calls = %v\nwant %v", pl.calls, want)
	}
	if len(pl.replies) != 1 || !strings.Contains(pl.replies[0], "Removed 120") {
		t.Fatalf("replies = %q", pl.replies)
	}
	if err := handleJob(p, job); err != nil {
		t.Fatal(err)
	}
	if len(pl.calls) != 2 || len(pl.replies) != 1 {
		t.Fatalf("third run acted again: calls %d, replies %d", len(pl.calls), len(pl.replies))
	}
	cases, _ := st.Cases(context.Background(), moderation.CaseFilter{})
	if len(cases) != 1 {
		t.Fatalf("%d cases, want 1", len(cases))
	}
}

// TestTransientFailuresRetryTheJob: targets that failed transiently make
// the job return ErrIncomplete (so it runs again) until its last attempt,
// which reports them.
func TestTransientFailuresRetryTheJob(t *testing.T) {
	t.Parallel()
	p, pl, st := durableFixture(t)
	pl.fail = map[string]bool{"b": true}
	job := claimOne(t, st, message("d1", "mod", "/kick @a @b"))
	if err := handleJob(p, job); err == nil || !strings.Contains(err.Error(), ErrIncomplete.Error()) {
		t.Fatalf("err = %v, want ErrIncomplete", err)
	}
	if len(pl.replies) != 0 {
		t.Fatalf("replied before the job was complete: %q", pl.replies)
	}
	job.Attempts = p.cfg.Jobs.MaxAttempts
	if err := handleJob(p, job); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(pl.calls) != "[remove a,b reason= remove b reason=]" {
		t.Fatalf("calls = %v", pl.calls)
	}
	if len(pl.replies) != 1 || !strings.Contains(pl.replies[0], "failed 1") {
		t.Fatalf("replies = %q", pl.replies)
	}
}

func TestCaseCommand(t *testing.T) {
	t.Parallel()
	p, pl, _ := durableFixture(t)
	deliver(t, p, message("d1", "mod", "/kick @spam ads"))
	for i, tt := range []struct{ from, text, want string }{
		{"mod", "/case 1", "Case #1"},
		{"mod", "/case 1", "kick by mod → done"},
		{"mod", "/case 99", "No case #99"},
		{"member", "/case 1", "Refused"},
	} {
		pl.replies = nil
		deliver(t, p, message(fmt.Sprint("x", i), tt.from, tt.text))
		if len(pl.replies) != 1 || !strings.Contains(pl.replies[0], tt.want) {
			t.Errorf("%s %q: replies %q, want %q", tt.from, tt.text, pl.replies, tt.want)
		}
	}
}

// TestCommandWriteTransactions pins how many write transactions a
// command's job commits on the happy path, from the webhook's enqueue to
// the job's finish (#15 item 7: adjacent writes commit together; an idle
// worker takes the job in the enqueue's transaction). The count is taken
// where it is paid, in the SQLite store's commit.
func TestCommandWriteTransactions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text  string
		calls string
		want  int
		why   string
	}{
		{"/kick @spam ads", "[remove spam reason=ads]", 3, "enqueue+claim; results+case; reply record+finish"},
		{"/mute @spam 10m", "[mute spam d=10m0s]", 4, "enqueue+claim; the mute's record; results+case; reply record+finish"},
		{"/help", "[]", 2, "enqueue+claim; reply record+finish"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			t.Parallel()
			p, pl, st := durableFixture(t)
			sq := st.(*sqlite.Store)
			jobs := p.NewJobs()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { defer close(done); jobs.Run(runCtx) }()
			defer func() { stop(); <-done }()
			// Let the workers' first look for work pass: claims racing the
			// enqueue would count, and they are not the job's.
			time.Sleep(50 * time.Millisecond)

			before := sq.WriteCommits()
			if stored, err := jobs.Submit(ctx, message("d1", "mod", tt.text)); err != nil || !stored {
				t.Fatalf("submit: stored %v, err %v", stored, err)
			}
			if err := jobs.Wait(ctx); err != nil {
				t.Fatal(err)
			}
			got := sq.WriteCommits() - before
			pl.mu.Lock()
			calls, replies := fmt.Sprint(pl.calls), len(pl.replies)
			pl.mu.Unlock()
			if calls != tt.calls || replies != 1 {
				t.Fatalf("calls %s, replies %d: not the happy path", calls, replies)
			}
			if got > int64(tt.want) {
				t.Errorf("%s committed %d write transactions, want at most %d (%s)", tt.text, got, tt.want, tt.why)
			}
			t.Logf("%s committed %d write transactions", tt.text, got)
		})
	}
}

// TestCrashBeforeLastCommit: a worker that dies after its reply but
// before the job's last unit of work (the reply's record and the finish)
// commits leaves the kick and the case committed — the unit before the
// reply — so the re-run acts on nobody, stores no second case, and only
// the reply, which nothing recorded, is posted again (as when a crash
// fell between the reply and its separate record).
func TestCrashBeforeLastCommit(t *testing.T) {
	t.Parallel()
	p, pl, st := durableFixture(t)
	ctx := context.Background()
	job := claimOne(t, st, message("d1", "mod", "/kick @a @b"))
	w, err := p.HandleJob(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Results) != 1 || w.Results[0].Step != moderation.ReplyStep(1) || len(w.Cases) != 0 {
		t.Fatalf("last unit of work = %+v, want the reply's record only", w)
	}
	// The worker dies here: w is never committed.
	if got, _ := st.Results(ctx, job.ID, moderation.ActionStep(moderation.VerbKick)); len(got) != 2 {
		t.Fatalf("kick results before the reply: %+v", got)
	}
	job.Attempts++
	if err := handleJob(p, job); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(pl.calls) != "[remove a,b reason=]" {
		t.Fatalf("calls = %v: the re-run acted again", pl.calls)
	}
	if len(pl.replies) != 2 {
		t.Fatalf("replies = %q, want the reply again", pl.replies)
	}
	if cases, _ := st.Cases(ctx, moderation.CaseFilter{}); len(cases) != 1 {
		t.Fatalf("%d cases, want 1", len(cases))
	}
	// The re-run's reply is recorded now: a third run posts nothing.
	if err := handleJob(p, job); err != nil {
		t.Fatal(err)
	}
	if len(pl.calls) != 1 || len(pl.replies) != 2 {
		t.Fatalf("third run: calls %v, replies %d", pl.calls, len(pl.replies))
	}
}

// TestJobFromEarlierVersionResumes: results an earlier version recorded
// (under the verb and "reply#n" strings it passed as a Verb) are found by
// this one, so a job half-done across an upgrade neither acts nor replies
// twice.
func TestJobFromEarlierVersionResumes(t *testing.T) {
	t.Parallel()
	p, pl, st := durableFixture(t)
	ctx := context.Background()
	job := claimOne(t, st, message("d1", "mod", "/kick @a @b @c"))
	done := []moderation.Result{{UserID: "a", Status: moderation.StatusDone}, {UserID: "b", Status: moderation.StatusDone}}
	if err := st.RecordResults(ctx, job.ID, "kick", done); err != nil {
		t.Fatal(err)
	}
	job.Attempts++
	if err := handleJob(p, job); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(pl.calls) != "[remove c reason=]" || len(pl.replies) != 1 {
		t.Fatalf("calls %v, replies %q; want c only and one reply", pl.calls, pl.replies)
	}

	ev := message("d2", "mod", "/kick @x")
	ev.Message.Chat.ID = "c2" // job d1 of c1 is unfinished and would hold c2's turn otherwise
	job2 := claimOne(t, st, ev)
	if err := st.RecordResults(ctx, job2.ID, "kick", []moderation.Result{{UserID: "x", Status: moderation.StatusDone}}); err != nil {
		t.Fatal(err)
	}
	if err := st.RecordResults(ctx, job2.ID, "reply#1", []moderation.Result{{UserID: "-", Status: moderation.StatusDone}}); err != nil {
		t.Fatal(err)
	}
	job2.Attempts++
	if err := handleJob(p, job2); err != nil {
		t.Fatal(err)
	}
	if len(pl.calls) != 1 || len(pl.replies) != 1 {
		t.Fatalf("the finished job acted again: calls %v, replies %q", pl.calls, pl.replies)
	}
}
