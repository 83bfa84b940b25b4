// Package storetest is the conformance suite every moderation.Store
// implementation must pass:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) moderation.Store { … a fresh, empty store … })
//	}
//
// The suite drives time itself through the now arguments; it assumes the
// store's dedup TTL is at least a minute and shorter than 30 days.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"gavel/moderation"
)

// t0 is the suite's clock origin.
var t0 = time.Date(2026, 3, 4, 5, 6, 7, 890_000_000, time.UTC)

// Run runs the suite. open must return a fresh, empty store for each call;
// the suite closes it when the sub-test ends. Sub-tests run in parallel.
func Run(t *testing.T, open func(t *testing.T) moderation.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s moderation.Store)
	}{
		{"EnqueueDedup", testEnqueueDedup},
		{"EnqueueRoundTrip", testEnqueueRoundTrip},
		{"ClaimFinish", testClaimFinish},
		{"ClaimLimit", testClaimLimit},
		{"Retry", testRetry},
		{"Extend", testExtend},
		{"LeaseExpiry", testLeaseExpiry},
		{"WrongWorker", testWrongWorker},
		{"MissingJob", testMissingJob},
		{"ChatOrder", testChatOrder},
		{"ConcurrentWorkers", testConcurrentWorkers},
		{"Pending", testPending},
		{"Results", testResults},
		{"EnqueueClaim", testEnqueueClaim},
		{"EnqueueClaimChatOrder", testEnqueueClaimChatOrder},
		{"Commit", testCommit},
		{"CommitAllOrNothing", testCommitAllOrNothing},
		{"CommitLeaseLost", testCommitLeaseLost},
		{"CommitCrashReRun", testCommitCrashReRun},
		{"CaseNumbering", testCaseNumbering},
		{"CaseIdempotent", testCaseIdempotent},
		{"CaseFilter", testCaseFilter},
		{"CaseBadOutcome", testCaseBadOutcome},
		{"Claims", testClaims},
		{"ClaimsConcurrent", testClaimsConcurrent},
		{"CaseFilterOutcome", testCaseFilterOutcome},
		{"Mutes", testMutes},
		{"ExpiredMutes", testExpiredMutes},
		{"Purge", testPurge},
		{"Warnings", testWarnings},
		{"ActiveMutes", testActiveMutes},
		{"Sanctions", testSanctions},
		{"SanctionsRefused", testSanctionsRefused},
		{"VerifySanctions", testVerifySanctions},
		{"ActiveSanctions", testActiveSanctions},
		{"ExpiredSanctions", testExpiredSanctions},
		{"Ping", testPing},
		{"Related", testRelated},
		{"CaseLinks", testCaseLinks},
		{"CaseLinkRace", testCaseLinkRace},
		{"CasePost", testCasePost},
		{"RemoveWarning", testRemoveWarning},
		{"ConsoleUsers", testConsoleUsers},
		{"SearchCases", testSearchCases},
		{"Stats", testStats},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tt.fn(t, s)
		})
	}
}

// message returns a message event in chat (platform "test") with the
// given delivery id and extra dedup keys.
func message(chat, delivery string, keys ...string) moderation.Event {
	return moderation.Event{
		Kind:       moderation.EventMessage,
		Platform:   "test",
		DeliveryID: delivery,
		DedupKeys:  append([]string{delivery}, keys...),
		Message: &moderation.Message{
			Chat:      moderation.ChatRef{Platform: "test", ID: chat, Kind: "group"},
			MessageID: "m-" + delivery,
			SenderID:  "u-sender",
			Text:      "/kick @bob spam",
			Mentions:  []moderation.Mention{{Token: "@bob", UserID: "u-bob", Name: "Bob"}},
			SentAt:    t0.Add(-time.Second),
		},
	}
}

func enqueue(t testing.TB, s moderation.Store, ev moderation.Event, now time.Time) bool {
	t.Helper()
	created, err := s.Enqueue(t.Context(), ev, now)
	if err != nil {
		t.Fatalf("Enqueue(%s): %v", ev.DeliveryID, err)
	}
	return created
}

func claim(t testing.TB, s moderation.Store, worker string, n int, lease time.Duration, now time.Time) []moderation.Job {
	t.Helper()
	jobs, err := s.Claim(t.Context(), worker, n, lease, now)
	if err != nil {
		t.Fatalf("Claim(%s, %d): %v", worker, n, err)
	}
	return jobs
}

// deliveries returns the delivery ids of jobs, in order.
func deliveries(jobs []moderation.Job) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = j.Event.DeliveryID
	}
	return out
}

func wantDeliveries(t testing.TB, what string, jobs []moderation.Job, want ...string) {
	t.Helper()
	got := deliveries(jobs)
	if want == nil {
		want = []string{}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s: claimed %q, want %q", what, got, want)
	}
}

func wantPending(t testing.TB, s moderation.Store, now time.Time, n int, oldest time.Duration) {
	t.Helper()
	gotN, gotOldest, err := s.Pending(t.Context(), now)
	if err != nil {
		t.Fatalf("Pending: %v", err)
	}
	if gotN != n || gotOldest != oldest {
		t.Fatalf("Pending = %d, %s; want %d, %s", gotN, gotOldest, n, oldest)
	}
}

func wantErr(t testing.TB, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: error %v, want %v", what, err, want)
	}
}

func testEnqueueDedup(t *testing.T, s moderation.Store) {
	// Same delivery five times → one job.
	for i := range 5 {
		if got := enqueue(t, s, message("c1", "d1"), t0.Add(time.Duration(i)*time.Second)); got != (i == 0) {
			t.Fatalf("Enqueue #%d of d1: created = %v", i+1, got)
		}
	}
	// A different delivery sharing any key is a duplicate.
	if !enqueue(t, s, message("c1", "d2", "shared"), t0) {
		t.Fatal("d2: not created")
	}
	if enqueue(t, s, message("c1", "d3", "other", "shared"), t0) {
		t.Fatal("d3 shares key \"shared\" with d2 but was created")
	}
	// An event whose only key is its delivery id (DedupKeys empty).
	noKeys := message("c1", "d4")
	noKeys.DedupKeys = nil
	if !enqueue(t, s, noKeys, t0) || enqueue(t, s, noKeys, t0) {
		t.Fatal("d4 (no DedupKeys, DeliveryID only): want created once")
	}
	// An event without any key is always stored.
	anon := message("c1", "")
	anon.DedupKeys = nil
	firstAnon := enqueue(t, s, anon, t0)
	secondAnon := enqueue(t, s, anon, t0)
	if !firstAnon || !secondAnon {
		t.Fatal("event without keys: want created each time")
	}
	wantPending(t, s, t0, 5, 0)

	// Keys still block a minute later, and no longer after 30 days.
	if enqueue(t, s, message("c1", "d1"), t0.Add(time.Minute)) {
		t.Fatal("d1 a minute later: created")
	}
	if !enqueue(t, s, message("c1", "d1"), t0.Add(30*24*time.Hour)) {
		t.Fatal("d1 after its key expired: not created")
	}
	if enqueue(t, s, message("c1", "d1"), t0.Add(30*24*time.Hour+time.Minute)) {
		t.Fatal("d1 re-enqueued after expiry did not renew its key")
	}
	wantPending(t, s, t0, 6, 0)
}

func testEnqueueRoundTrip(t *testing.T, s moderation.Store) {
	msg := message("c1", "d1", "k2")
	join := moderation.Event{
		Kind: moderation.EventJoin, Platform: "test", DeliveryID: "j1", DedupKeys: []string{"j1"},
		Join: &moderation.Join{
			Chat:    moderation.ChatRef{Platform: "test", ID: "c2"},
			UserIDs: []string{"u1", "u2"}, Operator: "u0", At: t0,
		},
	}
	enqueue(t, s, msg, t0)
	enqueue(t, s, join, t0.Add(time.Second))
	jobs := claim(t, s, "w1", 10, time.Minute, t0.Add(time.Second))
	if len(jobs) != 2 {
		t.Fatalf("claimed %d jobs, want 2", len(jobs))
	}
	for i, want := range []struct {
		ev      moderation.Event
		created time.Time
	}{{msg, t0}, {join, t0.Add(time.Second)}} {
		got := jobs[i]
		if !reflect.DeepEqual(normEvent(got.Event), normEvent(want.ev)) {
			t.Errorf("job %d event = %+v, want %+v", i, got.Event, want.ev)
		}
		if !got.CreatedAt.Equal(want.created) {
			t.Errorf("job %d CreatedAt = %s, want %s", i, got.CreatedAt, want.created)
		}
		if got.Attempts != 1 {
			t.Errorf("job %d Attempts = %d, want 1", i, got.Attempts)
		}
	}
	if jobs[0].ID >= jobs[1].ID {
		t.Errorf("job IDs %d, %d: want increasing in enqueue order", jobs[0].ID, jobs[1].ID)
	}
}

// normEvent strips what a JSON round trip may change (time location).
func normEvent(ev moderation.Event) moderation.Event {
	if ev.Message != nil {
		m := *ev.Message
		m.SentAt = m.SentAt.UTC()
		ev.Message = &m
	}
	if ev.Join != nil {
		j := *ev.Join
		j.At = j.At.UTC()
		ev.Join = &j
	}
	return ev
}

func testClaimFinish(t *testing.T, s moderation.Store) {
	ctx := t.Context()
	for i, chat := range []string{"a", "b", "c"} {
		enqueue(t, s, message(chat, "d-"+chat), t0.Add(time.Duration(i)*time.Millisecond))
	}
	jobs := claim(t, s, "w1", 10, time.Minute, t0)
	wantDeliveries(t, "first claim", jobs, "d-a", "d-b", "d-c")
	wantDeliveries(t, "claim while leased", claim(t, s, "w2", 10, time.Minute, t0.Add(30*time.Second)))
	wantPending(t, s, t0.Add(time.Second), 3, time.Second)

	if err := s.Finish(ctx, jobs[0].ID, "w1"); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	wantPending(t, s, t0.Add(time.Second), 2, time.Second-time.Millisecond)
	for _, j := range jobs[1:] {
		if err := s.Finish(ctx, j.ID, "w1"); err != nil {
			t.Fatalf("Finish: %v", err)
		}
	}
	wantPending(t, s, t0.Add(time.Second), 0, 0)
	// Finished jobs are never claimed again, even after their lease.
	wantDeliveries(t, "claim after finish", claim(t, s, "w2", 10, time.Minute, t0.Add(time.Hour)))
}

func testClaimLimit(t *testing.T, s moderation.Store) {
	for i := range 5 {
		enqueue(t, s, message(fmt.Sprint("chat", i), fmt.Sprint("d", i)), t0)
	}
	wantDeliveries(t, "claim 2", claim(t, s, "w1", 2, time.Minute, t0), "d0", "d1")
	wantDeliveries(t, "claim 0", claim(t, s, "w1", 0, time.Minute, t0))
	wantDeliveries(t, "claim rest", claim(t, s, "w2", 10, time.Minute, t0), "d2", "d3", "d4")
}

func testRetry(t *testing.T, s moderation.Store) {
	ctx := t.Context()
	enqueue(t, s, message("a", "d1"), t0)
	j := claim(t, s, "w1", 1, time.Minute, t0)[0]
	if err := s.Retry(ctx, j.ID, "w1", t0.Add(time.Minute), "platform down"); err != nil {
		t.Fatalf("Retry: %v", err)
	}
	// The worker gave the job up.
	wantErr(t, "Finish after Retry", s.Finish(ctx, j.ID, "w1"), moderation.ErrLeaseLost)
	wantDeliveries(t, "claim before notBefore", claim(t, s, "w1", 1, time.Hour, t0.Add(time.Minute-time.Nanosecond)))
	wantPending(t, s, t0.Add(30*time.Second), 1, 30*time.Second)
	again := claim(t, s, "w2", 1, time.Minute, t0.Add(time.Minute))
	wantDeliveries(t, "claim at notBefore", again, "d1")
	if again[0].ID != j.ID || again[0].Attempts != 2 {
		t.Fatalf("re-claimed job %d attempts %d, want job %d attempts 2", again[0].ID, again[0].Attempts, j.ID)
	}
	if err := s.Finish(ctx, j.ID, "w2"); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	wantPending(t, s, t0.Add(time.Minute), 0, 0)
}

func testExtend(t *testing.T, s moderation.Store) {
	ctx := t.Context()
	enqueue(t, s, message("a", "d1"), t0)
	j := claim(t, s, "w1", 1, time.Minute, t0)[0]
	if err := s.Extend(ctx, j.ID, "w1", t0.Add(5*time.Minute)); err != nil {
		t.Fatalf("Extend: %v", err)
	}
	wantDeliveries(t, "claim after the first lease", claim(t, s, "w2", 1, time.Minute, t0.Add(2*time.Minute)))
	if err := s.Finish(ctx, j.ID, "w1"); err != nil {
		t.Fatalf("Finish after Extend: %v", err)
	}
}

func testLeaseExpiry(t *testing.T, s moderation.Store) {
	ctx := t.Context()
	enqueue(t, s, message("a", "d1"), t0)
	enqueue(t, s, message("a", "d2"), t0)
	j := claim(t, s, "w1", 10, time.Minute, t0)
	wantDeliveries(t, "first claim", j, "d1")
	wantDeliveries(t, "claim within the lease", claim(t, s, "w2", 10, time.Minute, t0.Add(59*time.Second)))

	// w1 crashed: at the end of its lease the job is claimable again.
	again := claim(t, s, "w2", 10, time.Minute, t0.Add(time.Minute))
	wantDeliveries(t, "claim at lease end", again, "d1")
	if again[0].Attempts != 2 {
		t.Fatalf("Attempts = %d, want 2", again[0].Attempts)
	}
	wantErr(t, "Extend by the old worker", s.Extend(ctx, j[0].ID, "w1", t0.Add(time.Hour)), moderation.ErrLeaseLost)
	wantErr(t, "Finish by the old worker", s.Finish(ctx, j[0].ID, "w1"), moderation.ErrLeaseLost)
	wantErr(t, "Retry by the old worker", s.Retry(ctx, j[0].ID, "w1", t0, "x"), moderation.ErrLeaseLost)
	if err := s.Finish(ctx, j[0].ID, "w2"); err != nil {
		t.Fatalf("Finish by the new worker: %v", err)
	}
	wantDeliveries(t, "next job of the chat", claim(t, s, "w1", 10, time.Minute, t0.Add(time.Minute)), "d2")
}

func testWrongWorker(t *testing.T, s moderation.Store) {
	ctx := t.Context()
	enqueue(t, s, message("a", "d1"), t0)
	enqueue(t, s, message("b", "d2"), t0)
	j := claim(t, s, "w1", 1, time.Minute, t0)[0]
	tests := []struct {
		name string
		err  error
	}{
		{"Extend", s.Extend(ctx, j.ID, "w2", t0.Add(time.Hour))},
		{"Finish", s.Finish(ctx, j.ID, "w2")},
		{"Retry", s.Retry(ctx, j.ID, "w2", t0, "x")},
		{"Finish empty worker", s.Finish(ctx, j.ID, "")},
	}
	for _, tt := range tests {
		wantErr(t, tt.name, tt.err, moderation.ErrLeaseLost)
	}
	if j.Event.DeliveryID != "d1" {
		t.Fatalf("claimed %s, want d1", j.Event.DeliveryID)
	}
	// A released job is held by nobody, not even by the empty name.
	released := claim(t, s, "w3", 1, time.Minute, t0)[0]
	if err := s.Retry(ctx, released.ID, "w3", t0, "x"); err != nil {
		t.Fatalf("Retry: %v", err)
	}
	wantErr(t, "Finish released job, empty worker", s.Finish(ctx, released.ID, ""), moderation.ErrLeaseLost)
	wantErr(t, "Finish released job, its last worker", s.Finish(ctx, released.ID, "w3"), moderation.ErrLeaseLost)
	wantErr(t, "Extend released job, empty worker", s.Extend(ctx, released.ID, "", t0.Add(time.Hour)), moderation.ErrLeaseLost)
	// The rightful worker still holds it.
	if err := s.Finish(ctx, j.ID, "w1"); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	wantErr(t, "Finish twice", s.Finish(ctx, j.ID, "w1"), moderation.ErrLeaseLost)
}

func testMissingJob(t *testing.T, s moderation.Store) {
	ctx := t.Context()
	const id = 424242
	wantErr(t, "Extend", s.Extend(ctx, id, "w1", t0), moderation.ErrNotFound)
	wantErr(t, "Finish", s.Finish(ctx, id, "w1"), moderation.ErrNotFound)
	wantErr(t, "Retry", s.Retry(ctx, id, "w1", t0, "x"), moderation.ErrNotFound)
	wantErr(t, "RecordResults", s.RecordResults(ctx, id, moderation.ActionStep(moderation.VerbKick),
		[]moderation.Result{{UserID: "u1", Status: moderation.StatusDone}}), moderation.ErrNotFound)
	got, err := s.Results(ctx, id, moderation.ActionStep(moderation.VerbKick))
	if err != nil || len(got) != 0 {
		t.Fatalf("Results of a missing job = %v, %v; want empty, nil", got, err)
	}
}

func testChatOrder(t *testing.T, s moderation.Store) {
	ctx := t.Context()
	enqueue(t, s, message("A", "a1"), t0)
	enqueue(t, s, message("A", "a2"), t0)
	enqueue(t, s, message("B", "b1"), t0)
	noChat := moderation.Event{Kind: moderation.EventMessage, Platform: "test", DeliveryID: "x1",
		Message: &moderation.Message{Text: "no chat"}}
	enqueue(t, s, noChat, t0)
	noChat.DeliveryID = "x2"
	enqueue(t, s, noChat, t0)
	// Same chat id on another platform is another chat.
	other := message("A", "o1")
	other.Platform, other.Message.Chat.Platform = "other", "other"
	enqueue(t, s, other, t0)

	jobs := claim(t, s, "w1", 10, 24*time.Hour, t0)
	wantDeliveries(t, "first claim", jobs, "a1", "b1", "x1", "x2", "o1")
	wantDeliveries(t, "a2 waits for leased a1", claim(t, s, "w2", 10, time.Minute, t0))

	// a1 waiting for a retry still holds a2 back.
	if err := s.Retry(ctx, jobs[0].ID, "w1", t0.Add(time.Hour), "later"); err != nil {
		t.Fatalf("Retry: %v", err)
	}
	wantDeliveries(t, "a2 waits for a1's retry", claim(t, s, "w2", 10, time.Minute, t0.Add(time.Minute)))
	a1 := claim(t, s, "w2", 10, time.Minute, t0.Add(time.Hour))
	wantDeliveries(t, "a1 again", a1, "a1")
	if err := s.Finish(ctx, a1[0].ID, "w2"); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	wantDeliveries(t, "a2 after a1", claim(t, s, "w3", 10, time.Minute, t0.Add(time.Hour)), "a2")
}

func testConcurrentWorkers(t *testing.T, s moderation.Store) {
	const (
		workers = 8
		jobs    = 500
		chats   = 25
	)
	ctx := t.Context()
	for i := range jobs {
		enqueue(t, s, message(fmt.Sprint("chat", i%chats), fmt.Sprint("d", i)), t0.Add(time.Duration(i)))
	}
	now := t0.Add(time.Second)

	var (
		mu       sync.Mutex
		held     = map[int64]string{} // job → worker holding it
		finished = map[int64]int{}
		order    = map[string][]int64{} // chat → job ids in claim order
	)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			name := fmt.Sprint("worker-", w)
			for idle := 0; idle < 10_000; {
				got, err := s.Claim(ctx, name, 4, time.Hour, now)
				if err != nil {
					errs <- fmt.Errorf("%s: Claim: %w", name, err)
					return
				}
				if len(got) == 0 {
					n, _, err := s.Pending(ctx, now)
					if err != nil {
						errs <- fmt.Errorf("%s: Pending: %w", name, err)
						return
					}
					if n == 0 {
						return
					}
					idle++
					time.Sleep(100 * time.Microsecond)
					continue
				}
				mu.Lock()
				for _, j := range got {
					if other, ok := held[j.ID]; ok {
						mu.Unlock()
						errs <- fmt.Errorf("job %d claimed by %s while %s held it", j.ID, name, other)
						return
					}
					held[j.ID] = name
					chat := j.Event.Message.Chat.ID
					order[chat] = append(order[chat], j.ID)
				}
				mu.Unlock()
				for _, j := range got {
					if err := s.Finish(ctx, j.ID, name); err != nil {
						errs <- fmt.Errorf("%s: Finish %d: %w", name, j.ID, err)
						return
					}
					mu.Lock()
					finished[j.ID]++
					mu.Unlock()
				}
			}
			errs <- fmt.Errorf("%s: gave up waiting for runnable jobs", name)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	if len(finished) != jobs {
		t.Fatalf("%d jobs finished, want %d", len(finished), jobs)
	}
	for id, n := range finished {
		if n != 1 {
			t.Errorf("job %d finished %d times", id, n)
		}
	}
	for chat, ids := range order {
		if !slices.IsSorted(ids) {
			t.Errorf("chat %s: jobs claimed in order %v, want increasing", chat, ids)
		}
	}
	wantPending(t, s, now, 0, 0)
}

func testPending(t *testing.T, s moderation.Store) {
	ctx := t.Context()
	wantPending(t, s, t0, 0, 0)
	enqueue(t, s, message("a", "d1"), t0)
	enqueue(t, s, message("b", "d2"), t0.Add(time.Minute))
	wantPending(t, s, t0.Add(5*time.Minute), 2, 5*time.Minute)
	// Leased jobs are still pending.
	jobs := claim(t, s, "w1", 1, time.Minute, t0.Add(5*time.Minute))
	wantPending(t, s, t0.Add(5*time.Minute), 2, 5*time.Minute)
	if err := s.Finish(ctx, jobs[0].ID, "w1"); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	wantPending(t, s, t0.Add(5*time.Minute), 1, 4*time.Minute)
	// A clock behind the job's creation gives no negative age.
	wantPending(t, s, t0, 1, 0)
}

func testResults(t *testing.T, s moderation.Store) {
	ctx := t.Context()
	enqueue(t, s, message("a", "d1"), t0)
	enqueue(t, s, message("b", "d2"), t0)
	jobs := claim(t, s, "w1", 2, time.Minute, t0)
	id := jobs[0].ID
	first := []moderation.Result{
		{UserID: "u1", Status: moderation.StatusDone},
		{UserID: "u2", Status: moderation.StatusFailed, Reason: "test:500", Detail: "server error"},
	}
	if err := s.RecordResults(ctx, id, moderation.ActionStep(moderation.VerbKick), first); err != nil {
		t.Fatalf("RecordResults: %v", err)
	}
	retried := []moderation.Result{{UserID: "u2", Status: moderation.StatusNoop, Reason: "not_member"}}
	if err := s.RecordResults(ctx, id, moderation.ActionStep(moderation.VerbKick), retried); err != nil {
		t.Fatalf("RecordResults again: %v", err)
	}
	if err := s.RecordResults(ctx, id, moderation.ActionStep(moderation.VerbMute), nil); err != nil {
		t.Fatalf("RecordResults of nothing: %v", err)
	}
	tests := []struct {
		name string
		job  int64
		verb moderation.Verb
		want map[string]moderation.Result
	}{
		{"replaced", id, moderation.VerbKick, map[string]moderation.Result{
			"u1": first[0],
			"u2": retried[0],
		}},
		{"other verb", id, moderation.VerbMute, map[string]moderation.Result{}},
		{"other job", jobs[1].ID, moderation.VerbKick, map[string]moderation.Result{}},
	}
	for _, tt := range tests {
		got, err := s.Results(ctx, tt.job, moderation.ActionStep(tt.verb))
		if err != nil {
			t.Fatalf("%s: Results: %v", tt.name, err)
		}
		if !maps.Equal(got, tt.want) {
			t.Errorf("%s: Results = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

// sampleCase returns a fully populated case.
func sampleCase(delivery, chat, actor string, at time.Time, targets ...string) moderation.Case {
	c := moderation.Case{
		DeliveryID: delivery,
		Platform:   "test",
		ChatID:     chat,
		Actor:      actor,
		Verb:       moderation.VerbMute,
		Targets:    targets,
		Reason:     "spam",
		Duration:   10 * time.Minute,
		Outcome:    "partial",
		At:         at,
	}
	for i, u := range targets {
		c.Decisions = append(c.Decisions, moderation.Decision{Target: u, Allowed: i == 0, Reason: "ok"})
		c.Results = append(c.Results, moderation.Result{UserID: u, Status: moderation.StatusDone, Detail: "muted"})
	}
	return c
}

func addCase(t testing.TB, s moderation.Store, c moderation.Case) int64 {
	t.Helper()
	if err := s.AddCase(t.Context(), &c); err != nil {
		t.Fatalf("AddCase(%s): %v", c.DeliveryID, err)
	}
	return c.ID
}

func testCaseNumbering(t *testing.T, s moderation.Store) {
	ctx := t.Context()
	want := sampleCase("d1", "c1", "alice", t0, "bob", "carol")
	want.DryRun = true
	want.ID = addCase(t, s, want)
	if want.ID != 1 {
		t.Fatalf("first case ID = %d, want 1", want.ID)
	}
	rule := moderation.Case{DeliveryID: "d2", Platform: "test", ChatID: "c1", Rule: "flood",
		Verb: moderation.VerbKick, Targets: []string{"dave"}, Outcome: "done", At: t0.Add(time.Second)}
	if id := addCase(t, s, rule); id <= want.ID {
		t.Fatalf("second case ID = %d, want > %d", id, want.ID)
	}

	got, err := s.Case(ctx, want.ID)
	if err != nil {
		t.Fatalf("Case(%d): %v", want.ID, err)
	}
	if !got.At.Equal(want.At) {
		t.Errorf("At = %s, want %s", got.At, want.At)
	}
	got.At = want.At
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Case(%d) =\n%+v\nwant\n%+v", want.ID, got, want)
	}
	_, err = s.Case(ctx, 999)
	wantErr(t, "Case(999)", err, moderation.ErrNotFound)
}

func testCaseIdempotent(t *testing.T, s moderation.Store) {
	first := addCase(t, s, sampleCase("d1", "c1", "alice", t0, "bob"))
	// A re-run of the same delivery (crash before the job finished).
	rerun := sampleCase("d1", "c1", "alice", t0.Add(time.Minute), "bob")
	rerun.Outcome = "done"
	if id := addCase(t, s, rerun); id != first {
		t.Fatalf("re-run AddCase ID = %d, want the stored %d", id, first)
	}
	got, err := s.Case(t.Context(), first)
	if err != nil {
		t.Fatalf("Case: %v", err)
	}
	if got.Outcome != "partial" {
		t.Fatalf("re-run replaced the stored case: outcome %q", got.Outcome)
	}
	// Another verb or rule from the same delivery is another case.
	unmute := sampleCase("d1", "c1", "alice", t0, "bob")
	unmute.Verb = moderation.VerbUnmute
	second := addCase(t, s, unmute)
	ruled := sampleCase("d1", "c1", "", t0, "bob")
	ruled.Rule = "flood"
	third := addCase(t, s, ruled)
	if second == first || third == first || second == third {
		t.Fatalf("case IDs %d, %d, %d: want distinct", first, second, third)
	}
	// Cases without a delivery id are never merged.
	idA := addCase(t, s, sampleCase("", "c1", "alice", t0, "bob"))
	idB := addCase(t, s, sampleCase("", "c1", "alice", t0, "bob"))
	if idA == idB {
		t.Fatal("two cases without DeliveryID got one ID")
	}
	all, err := s.Cases(t.Context(), moderation.CaseFilter{})
	if err != nil {
		t.Fatalf("Cases: %v", err)
	}
	if len(all) != 5 {
		t.Fatalf("%d cases stored, want 5", len(all))
	}
}

func testCaseFilter(t *testing.T, s moderation.Store) {
	ids := map[string]int64{}
	for _, c := range []moderation.Case{
		sampleCase("d1", "c1", "alice", t0, "bob"),
		sampleCase("d2", "c1", "bob", t0.Add(time.Hour), "carol", "dave"),
		sampleCase("d3", "c2", "alice", t0.Add(2*time.Hour), "carol"),
		{DeliveryID: "d4", Platform: "other", ChatID: "c1", Rule: "flood", Verb: moderation.VerbKick,
			Targets: []string{"bob"}, Outcome: "done", At: t0.Add(3 * time.Hour)},
	} {
		ids[c.DeliveryID] = addCase(t, s, c)
	}
	tests := []struct {
		name string
		f    moderation.CaseFilter
		want []string // delivery ids, newest first
	}{
		{"all", moderation.CaseFilter{}, []string{"d4", "d3", "d2", "d1"}},
		{"platform", moderation.CaseFilter{Platform: "test"}, []string{"d3", "d2", "d1"}},
		{"chat", moderation.CaseFilter{Platform: "test", ChatID: "c1"}, []string{"d2", "d1"}},
		{"chat id on any platform", moderation.CaseFilter{ChatID: "c1"}, []string{"d4", "d2", "d1"}},
		{"user as actor or target", moderation.CaseFilter{UserID: "bob"}, []string{"d4", "d2", "d1"}},
		{"user as target only", moderation.CaseFilter{UserID: "carol"}, []string{"d3", "d2"}},
		{"user in chat", moderation.CaseFilter{Platform: "test", ChatID: "c1", UserID: "alice"}, []string{"d1"}},
		{"unknown user", moderation.CaseFilter{UserID: "zed"}, nil},
		{"since inclusive", moderation.CaseFilter{Since: t0.Add(time.Hour)}, []string{"d4", "d3", "d2"}},
		{"limit", moderation.CaseFilter{Limit: 2}, []string{"d4", "d3"}},
		{"all filters", moderation.CaseFilter{Platform: "test", UserID: "carol", Since: t0.Add(90 * time.Minute), Limit: 5}, []string{"d3"}},
	}
	for _, tt := range tests {
		got, err := s.Cases(t.Context(), tt.f)
		if err != nil {
			t.Fatalf("%s: Cases: %v", tt.name, err)
		}
		var gotIDs []string
		for _, c := range got {
			gotIDs = append(gotIDs, c.DeliveryID)
			if c.ID != ids[c.DeliveryID] {
				t.Errorf("%s: case %s has ID %d, want %d", tt.name, c.DeliveryID, c.ID, ids[c.DeliveryID])
			}
		}
		if !slices.Equal(gotIDs, tt.want) {
			t.Errorf("%s: Cases = %q, want %q", tt.name, gotIDs, tt.want)
		}
	}
}

func activeMute(t testing.TB, s moderation.Store, chat moderation.ChatRef, user string, now time.Time) (moderation.Mute, bool) {
	t.Helper()
	m, ok, err := s.ActiveMute(t.Context(), chat, user, now)
	if err != nil {
		t.Fatalf("ActiveMute(%s, %s): %v", chat, user, err)
	}
	return m, ok
}

func testMutes(t *testing.T, s moderation.Store) {
	ctx := t.Context()
	chat := moderation.ChatRef{Platform: "test", ID: "c1", Kind: "group"}
	put := func(m moderation.Mute) {
		t.Helper()
		if err := s.PutMutes(ctx, m); err != nil {
			t.Fatalf("PutMutes: %v", err)
		}
	}
	m := moderation.Mute{Chat: chat, UserID: "bob", Until: t0.Add(10 * time.Minute), Emulated: true, CaseID: 7}
	put(m)

	got, ok := activeMute(t, s, chat, "bob", t0)
	if !ok || !got.Until.Equal(m.Until) || got.Chat != chat || got.UserID != "bob" || !got.Emulated || got.CaseID != 7 {
		t.Fatalf("ActiveMute = %+v, %v; want %+v", got, ok, m)
	}
	if _, ok := activeMute(t, s, chat, "bob", m.Until); ok {
		t.Fatal("mute still active at its Until")
	}
	if _, ok := activeMute(t, s, chat, "alice", t0); ok {
		t.Fatal("alice is muted but was never muted")
	}
	if _, ok := activeMute(t, s, moderation.ChatRef{Platform: "other", ID: "c1"}, "bob", t0); ok {
		t.Fatal("mute leaked to the same chat id on another platform")
	}

	// Replace with a mute until /unmute.
	put(moderation.Mute{Chat: chat, UserID: "bob", CaseID: 8})
	got, ok = activeMute(t, s, chat, "bob", t0.Add(100*365*24*time.Hour))
	if !ok || !got.Until.IsZero() || got.Emulated || got.CaseID != 8 {
		t.Fatalf("forever mute: ActiveMute = %+v, %v", got, ok)
	}
	expired, err := s.ExpiredMutes(ctx, t0.Add(100*365*24*time.Hour), 0)
	if err != nil {
		t.Fatalf("ExpiredMutes: %v", err)
	}
	if len(expired) != 0 {
		t.Fatalf("ExpiredMutes lists a mute without end: %+v", expired)
	}

	if err := s.DeleteMutes(ctx, chat, "bob"); err != nil {
		t.Fatalf("DeleteMutes: %v", err)
	}
	if _, ok := activeMute(t, s, chat, "bob", t0); ok {
		t.Fatal("mute active after DeleteMutes")
	}
	if err := s.DeleteMutes(ctx, chat, "bob"); err != nil {
		t.Fatalf("DeleteMutes of no mute: %v", err)
	}

	// A batch: one write for many users, in two chats.
	other := moderation.ChatRef{Platform: "test", ID: "c2"}
	var batch []moderation.Mute
	for i := range 120 {
		batch = append(batch, moderation.Mute{Chat: chat, UserID: fmt.Sprint("u", i), Until: t0.Add(time.Hour)})
	}
	batch = append(batch, moderation.Mute{Chat: other, UserID: "u0", Until: t0.Add(time.Hour)})
	if err := s.PutMutes(ctx, batch...); err != nil {
		t.Fatalf("PutMutes of %d: %v", len(batch), err)
	}
	if err := s.PutMutes(ctx); err != nil {
		t.Fatalf("PutMutes of none: %v", err)
	}
	active, err := s.ActiveMutes(ctx, t0, false)
	if err != nil || len(active) != 121 {
		t.Fatalf("ActiveMutes after a batch = %d mutes, %v; want 121", len(active), err)
	}
	if err := s.DeleteMutes(ctx, chat, "u0", "u1", "nobody"); err != nil {
		t.Fatalf("DeleteMutes: %v", err)
	}
	for _, c := range []struct {
		chat moderation.ChatRef
		user string
		want bool
	}{{chat, "u0", false}, {chat, "u1", false}, {chat, "u2", true}, {other, "u0", true}} {
		if _, ok := activeMute(t, s, c.chat, c.user, t0); ok != c.want {
			t.Errorf("after DeleteMutes: %s %s muted = %v, want %v", c.chat, c.user, ok, c.want)
		}
	}
}

func testExpiredMutes(t *testing.T, s moderation.Store) {
	ctx := t.Context()
	chat := moderation.ChatRef{Platform: "test", ID: "c1"}
	for _, m := range []moderation.Mute{
		{Chat: chat, UserID: "u3", Until: t0.Add(3 * time.Minute)},
		{Chat: chat, UserID: "u1", Until: t0.Add(1 * time.Minute)},
		{Chat: chat, UserID: "u2", Until: t0.Add(2 * time.Minute)},
		{Chat: chat, UserID: "forever"},
	} {
		if err := s.PutMutes(ctx, m); err != nil {
			t.Fatalf("PutMutes: %v", err)
		}
	}
	tests := []struct {
		name  string
		now   time.Time
		limit int
		want  []string
	}{
		{"none yet", t0, 10, nil},
		{"until is inclusive", t0.Add(2 * time.Minute), 10, []string{"u1", "u2"}},
		{"limit", t0.Add(time.Hour), 2, []string{"u1", "u2"}},
		{"no limit", t0.Add(time.Hour), 0, []string{"u1", "u2", "u3"}},
	}
	for _, tt := range tests {
		got, err := s.ExpiredMutes(ctx, tt.now, tt.limit)
		if err != nil {
			t.Fatalf("%s: ExpiredMutes: %v", tt.name, err)
		}
		var users []string
		for _, m := range got {
			users = append(users, m.UserID)
		}
		slices.Sort(users)
		if !slices.Equal(users, tt.want) {
			t.Errorf("%s: ExpiredMutes = %q, want %q", tt.name, users, tt.want)
		}
	}
}

func testPurge(t *testing.T, s moderation.Store) {
	ctx := t.Context()
	day := 24 * time.Hour
	old1 := addCase(t, s, sampleCase("d1", "c1", "alice", t0.Add(-3*day), "bob"))
	// A ban imposed by a case that is purged outlives the case.
	ban := moderation.Sanction{Verb: moderation.VerbBan, Chat: moderation.ChatRef{Platform: "test", ID: "c1"}, UserID: "bob", CaseID: old1}
	putSanction(t, s, ban)
	old2 := addCase(t, s, sampleCase("d2", "c1", "alice", t0.Add(-2*day), "carol"))
	keep := addCase(t, s, sampleCase("d3", "c1", "alice", t0, "bob"))

	// One job finished long ago, with results; one unfinished.
	enqueue(t, s, message("a", "j1"), t0.Add(-3*day))
	enqueue(t, s, message("b", "j2"), t0.Add(-3*day))
	jobs := claim(t, s, "w1", 2, time.Minute, t0.Add(-3*day))
	if err := s.RecordResults(ctx, jobs[0].ID, moderation.ActionStep(moderation.VerbKick),
		[]moderation.Result{{UserID: "u1", Status: moderation.StatusDone}}); err != nil {
		t.Fatalf("RecordResults: %v", err)
	}
	if err := s.Finish(ctx, jobs[0].ID, "w1"); err != nil {
		t.Fatalf("Finish: %v", err)
	}

	n, err := s.PurgeCases(ctx, t0.Add(-day))
	if err != nil {
		t.Fatalf("PurgeCases: %v", err)
	}
	if n != 2 {
		t.Fatalf("PurgeCases = %d, want 2", n)
	}
	for _, id := range []int64{old1, old2} {
		_, err := s.Case(ctx, id)
		wantErr(t, fmt.Sprint("Case(", id, ") after purge"), err, moderation.ErrNotFound)
	}
	if _, err := s.Case(ctx, keep); err != nil {
		t.Fatalf("kept case: %v", err)
	}
	for user, want := range map[string]int{"bob": 1, "carol": 0, "alice": 1} {
		got, err := s.Cases(ctx, moderation.CaseFilter{UserID: user})
		if err != nil {
			t.Fatalf("Cases: %v", err)
		}
		if len(got) != want {
			t.Errorf("Cases(user %s) after purge: %d, want %d", user, len(got), want)
		}
	}
	res, err := s.Results(ctx, jobs[0].ID, moderation.ActionStep(moderation.VerbKick))
	if err != nil {
		t.Fatalf("Results: %v", err)
	}
	if len(res) != 0 {
		t.Errorf("results of a purged job survived: %+v", res)
	}
	// The unfinished job stays.
	wantPending(t, s, t0.Add(-3*day), 1, 0)
	if err := s.Finish(ctx, jobs[1].ID, "w1"); err != nil {
		t.Fatalf("Finish of the unfinished job after purge: %v", err)
	}
	// The long-expired dedup keys are gone or harmless either way.
	if !enqueue(t, s, message("a", "j1"), t0) {
		t.Fatal("j1 after purge and key expiry: not created")
	}
	// Case IDs are never reused.
	if id := addCase(t, s, sampleCase("d4", "c1", "alice", t0, "bob")); id <= keep {
		t.Fatalf("case added after purge got ID %d, want > %d", id, keep)
	}
	if n, err := s.PurgeCases(ctx, t0.Add(-day)); err != nil || n != 0 {
		t.Fatalf("second PurgeCases = %d, %v; want 0, nil", n, err)
	}
	if got, ok, err := s.ActiveSanction(ctx, ban.Verb, ban.Chat, ban.UserID, t0); err != nil || !ok || !sameSanction(got, ban) {
		t.Fatalf("ban of a purged case: ActiveSanction = %+v, %v, %v; want %+v", got, ok, err, ban)
	}
}

func testPing(t *testing.T, s moderation.Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func testWarnings(t *testing.T, s moderation.Store) {
	ctx := t.Context()
	chat := moderation.ChatRef{Platform: "tim", ID: "g1"}
	other := moderation.ChatRef{Platform: "tim", ID: "g2"}
	base := time.Unix(1_700_000_000, 0)
	add := func(key string, c moderation.ChatRef, user string, at time.Time, since time.Time) int {
		t.Helper()
		n, err := s.AddWarning(ctx, moderation.Warning{Chat: c, UserID: user, Key: key, Actor: "mod", Rule: "flood", Reason: "r " + key, At: at}, since)
		if err != nil {
			t.Fatalf("AddWarning(%s): %v", key, err)
		}
		return n
	}
	if n := add("k1", chat, "u", base, base.Add(-time.Hour)); n != 1 {
		t.Fatalf("first warning count = %d, want 1", n)
	}
	if n := add("k1", chat, "u", base, base.Add(-time.Hour)); n != 1 {
		t.Fatalf("same key again count = %d, want 1 (idempotent)", n)
	}
	if n := add("k2", chat, "u", base.Add(time.Minute), base.Add(-time.Hour)); n != 2 {
		t.Fatalf("second warning count = %d, want 2", n)
	}
	add("k3", other, "u", base, base) // another chat
	add("k4", chat, "v", base, base)  // another user
	if n := add("k5", chat, "u", base.Add(2*time.Hour), base.Add(time.Hour)); n != 1 {
		t.Fatalf("count since 1h later = %d, want 1 (older ones expired)", n)
	}
	ws, err := s.Warnings(ctx, chat, "u", base.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 3 || ws[0].Key != "k1" || ws[2].Key != "k5" || ws[0].Reason != "r k1" || ws[0].Rule != "flood" || !ws[1].At.Equal(base.Add(time.Minute)) {
		t.Fatalf("Warnings = %+v", ws)
	}
	removed, err := s.RemoveLastWarning(ctx, chat, "u", base.Add(-time.Hour))
	if err != nil || !removed {
		t.Fatalf("RemoveLastWarning = %v, %v", removed, err)
	}
	ws, _ = s.Warnings(ctx, chat, "u", base.Add(-time.Hour))
	if len(ws) != 2 || ws[1].Key != "k2" {
		t.Fatalf("after removing the newest: %+v", ws)
	}
	if removed, _ := s.RemoveLastWarning(ctx, chat, "nobody", base); removed {
		t.Fatal("removed a warning of a user who had none")
	}
}

func testActiveMutes(t *testing.T, s moderation.Store) {
	ctx := t.Context()
	now := time.Unix(1_700_000_000, 0)
	chat := moderation.ChatRef{Platform: "feishu", ID: "oc_1"}
	for _, m := range []moderation.Mute{
		{Chat: chat, UserID: "a", Until: now.Add(time.Minute), Emulated: true},
		{Chat: chat, UserID: "b", Emulated: true}, // until /unmute
		{Chat: chat, UserID: "c", Until: now.Add(-time.Second), Emulated: true},
		{Chat: moderation.ChatRef{Platform: "tim", ID: "g"}, UserID: "d", Until: now.Add(time.Hour)},
	} {
		if err := s.PutMutes(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	users := func(ms []moderation.Mute) (out []string) {
		for _, m := range ms {
			out = append(out, m.UserID)
		}
		slices.Sort(out)
		return out
	}
	em, err := s.ActiveMutes(ctx, now, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := users(em); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("active emulated mutes = %v, want [a b]", got)
	}
	all, err := s.ActiveMutes(ctx, now, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := users(all); !slices.Equal(got, []string{"a", "b", "d"}) {
		t.Fatalf("active mutes = %v, want [a b d]", got)
	}
}

// results returns the job's recorded results for verb.
func results(t testing.TB, s moderation.Store, job int64, verb moderation.StepKey) map[string]moderation.Result {
	t.Helper()
	got, err := s.Results(t.Context(), job, verb)
	if err != nil {
		t.Fatalf("Results(%d, %s): %v", job, verb, err)
	}
	return got
}

func cases(t testing.TB, s moderation.Store) []moderation.Case {
	t.Helper()
	got, err := s.Cases(t.Context(), moderation.CaseFilter{})
	if err != nil {
		t.Fatalf("Cases: %v", err)
	}
	return got
}

// testCommit: a unit of work stores results of several verbs and cases
// (setting their IDs) and, when asked, finishes the job, as the separate
// calls would.
func testCommit(t *testing.T, s moderation.Store) {
	ctx := t.Context()
	enqueue(t, s, message("a", "d1"), t0)
	job := claim(t, s, "w1", 1, time.Minute, t0)[0]
	if err := s.Commit(ctx, job.ID, "w1", moderation.Work{}); err != nil {
		t.Fatalf("Commit of nothing: %v", err)
	}
	kicked := []moderation.Result{{UserID: "u1", Status: moderation.StatusDone}, {UserID: "u2", Status: moderation.StatusRefused, Reason: "target_admin"}}
	c := sampleCase("d1", "a", "mod", t0, "u1", "u2")
	if err := s.Commit(ctx, job.ID, "w1", moderation.Work{
		Results: []moderation.JobResults{{Step: moderation.ActionStep(moderation.VerbKick), Results: kicked}, {Step: moderation.ActionStep(moderation.VerbMute)}},
		Cases:   []*moderation.Case{&c},
	}); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if c.ID != 1 {
		t.Fatalf("committed case ID = %d, want 1", c.ID)
	}
	if got, err := s.Case(ctx, c.ID); err != nil || got.DeliveryID != "d1" || len(got.Results) != 2 {
		t.Fatalf("Case(%d) = %+v, %v", c.ID, got, err)
	}
	if got := results(t, s, job.ID, moderation.ActionStep(moderation.VerbKick)); len(got) != 2 || got["u1"] != kicked[0] || got["u2"] != kicked[1] {
		t.Fatalf("results = %+v", got)
	}
	// Without Finish the job stays leased and pending.
	wantPending(t, s, t0, 1, 0)
	if err := s.Commit(ctx, job.ID, "w1", moderation.Work{
		Results: []moderation.JobResults{{Step: moderation.ReplyStep(1), Results: []moderation.Result{{UserID: "-", Status: moderation.StatusDone}}}},
		Finish:  true,
	}); err != nil {
		t.Fatalf("Commit with Finish: %v", err)
	}
	wantPending(t, s, t0, 0, 0)
	if got := results(t, s, job.ID, "reply#1"); len(got) != 1 {
		t.Fatalf("reply results = %+v", got)
	}
	wantDeliveries(t, "claim after a finishing commit", claim(t, s, "w2", 10, time.Minute, t0.Add(time.Hour)))
	// Finishing twice is a lost lease, as with Finish.
	wantErr(t, "second finishing Commit", s.Commit(ctx, job.ID, "w1", moderation.Work{Finish: true}), moderation.ErrLeaseLost)
	wantErr(t, "Commit with Finish and no worker", s.Commit(ctx, job.ID, "", moderation.Work{Finish: true}), moderation.ErrLeaseLost)
}

// testCommitAllOrNothing: a unit of work that fails stores nothing of
// itself — not the results, not the case, not the finish.
func testCommitAllOrNothing(t *testing.T, s moderation.Store) {
	ctx := t.Context()
	enqueue(t, s, message("a", "d1"), t0)
	job := claim(t, s, "w1", 1, time.Minute, t0)[0]
	c := sampleCase("d1", "a", "mod", t0, "u1")
	w := moderation.Work{
		Results: []moderation.JobResults{{Step: moderation.ActionStep(moderation.VerbKick), Results: []moderation.Result{{UserID: "u1", Status: moderation.StatusDone}}}},
		Cases:   []*moderation.Case{&c},
		Finish:  true,
	}
	wantErr(t, "Commit for a missing job", s.Commit(ctx, job.ID+1000, "w1", w), moderation.ErrNotFound)
	if got := cases(t, s); len(got) != 0 {
		t.Fatalf("a failed Commit stored cases: %+v", got)
	}
	if c.ID != 0 {
		t.Fatalf("a failed Commit set the case ID to %d", c.ID)
	}
	wantPending(t, s, t0, 1, 0)

	// A cancelled context commits nothing either.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Commit(cctx, job.ID, "w1", w); err == nil {
		t.Fatal("Commit with a cancelled context succeeded")
	}
	if got := cases(t, s); len(got) != 0 {
		t.Fatalf("a cancelled Commit stored cases: %+v", got)
	}
	if got := results(t, s, job.ID, moderation.ActionStep(moderation.VerbKick)); len(got) != 0 {
		t.Fatalf("a cancelled Commit stored results: %+v", got)
	}
	wantPending(t, s, t0, 1, 0)
}

// testCommitLeaseLost: a worker whose lease another took over still
// records what it did (the new holder must skip it), but cannot finish
// the job.
func testCommitLeaseLost(t *testing.T, s moderation.Store) {
	ctx := t.Context()
	enqueue(t, s, message("a", "d1"), t0)
	job := claim(t, s, "w1", 1, time.Minute, t0)[0]
	again := claim(t, s, "w2", 1, time.Minute, t0.Add(2*time.Minute))
	wantDeliveries(t, "claim after the lease ran out", again, "d1")
	c := sampleCase("d1", "a", "mod", t0, "u1")
	err := s.Commit(ctx, job.ID, "w1", moderation.Work{
		Results: []moderation.JobResults{{Step: moderation.ActionStep(moderation.VerbKick), Results: []moderation.Result{{UserID: "u1", Status: moderation.StatusDone}}}},
		Cases:   []*moderation.Case{&c},
		Finish:  true,
	})
	wantErr(t, "finishing Commit by the old holder", err, moderation.ErrLeaseLost)
	if got := results(t, s, job.ID, moderation.ActionStep(moderation.VerbKick)); got["u1"].Status != moderation.StatusDone {
		t.Fatalf("the old holder's results were not kept: %+v", got)
	}
	if c.ID == 0 || len(cases(t, s)) != 1 {
		t.Fatalf("the old holder's case was not kept: ID %d", c.ID)
	}
	wantPending(t, s, t0.Add(2*time.Minute), 1, 2*time.Minute)
	if err := s.Commit(ctx, job.ID, "w2", moderation.Work{Finish: true}); err != nil {
		t.Fatalf("finishing Commit by the new holder: %v", err)
	}
	wantPending(t, s, t0.Add(2*time.Minute), 0, 0)
}

// testCommitCrashReRun walks a job through a crash at each point between
// its units of work and checks that what a unit committed is what a
// re-run sees: a target recorded done is not acted on again, the case is
// not stored twice, the reply is not posted twice.
func testCommitCrashReRun(t *testing.T, s moderation.Store) {
	ctx := t.Context()
	enqueue(t, s, message("a", "d1"), t0)
	first := claim(t, s, "w1", 1, time.Minute, t0)[0]
	// Run 1 acts on u1 and u2, commits results and case, then dies
	// before its reply.
	c1 := sampleCase("d1", "a", "mod", t0, "u1", "u2")
	done := []moderation.Result{{UserID: "u1", Status: moderation.StatusDone}, {UserID: "u2", Status: moderation.StatusDone}}
	if err := s.Commit(ctx, first.ID, "w1", moderation.Work{
		Results: []moderation.JobResults{{Step: moderation.ActionStep(moderation.VerbKick), Results: done}},
		Cases:   []*moderation.Case{&c1},
	}); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	// Run 2, after the lease ran out: both targets are settled, the case
	// is the stored one; it replies, then dies before its last commit.
	second := claim(t, s, "w2", 1, time.Minute, t0.Add(2*time.Minute))
	if len(second) != 1 || second[0].Attempts != 2 {
		t.Fatalf("re-claim = %+v, want the job's second attempt", second)
	}
	if got := results(t, s, first.ID, moderation.ActionStep(moderation.VerbKick)); len(got) != 2 || !got["u1"].Status.Succeeded() || !got["u2"].Status.Succeeded() {
		t.Fatalf("a re-run sees results %+v; it would act again", got)
	}
	if got := results(t, s, first.ID, "reply#1"); len(got) != 0 {
		t.Fatalf("reply recorded before it was posted: %+v", got)
	}
	c2 := sampleCase("d1", "a", "mod", t0.Add(2*time.Minute), "u1", "u2")
	if err := s.Commit(ctx, first.ID, "w2", moderation.Work{Cases: []*moderation.Case{&c2}}); err != nil {
		t.Fatalf("Commit of the re-run's case: %v", err)
	}
	if c2.ID != c1.ID || len(cases(t, s)) != 1 {
		t.Fatalf("re-run's case got ID %d, want the stored %d (one case)", c2.ID, c1.ID)
	}
	// Run 3 posts the reply (run 2's reply record was lost with it: the
	// one case a reply may repeat) and commits record and finish together.
	third := claim(t, s, "w3", 1, time.Minute, t0.Add(4*time.Minute))
	wantDeliveries(t, "third claim", third, "d1")
	if err := s.Commit(ctx, first.ID, "w3", moderation.Work{
		Results: []moderation.JobResults{{Step: moderation.ReplyStep(1), Results: []moderation.Result{{UserID: "-", Status: moderation.StatusDone}}}},
		Finish:  true,
	}); err != nil {
		t.Fatalf("finishing Commit: %v", err)
	}
	wantPending(t, s, t0.Add(4*time.Minute), 0, 0)
	wantDeliveries(t, "claim after finish", claim(t, s, "w4", 1, time.Minute, t0.Add(time.Hour)))
}

// testEnqueueClaim: a job enqueued and claimed in one transaction is
// leased to the worker as Claim would lease it, is Claim's to give again
// when its lease runs out (the worker crashed), and is de-duplicated as
// Enqueue de-duplicates.
func testEnqueueClaim(t *testing.T, s moderation.Store) {
	ctx := t.Context()
	for _, tt := range []struct {
		name   string
		worker string
		lease  time.Duration
	}{{"no worker", "", time.Minute}, {"no lease", "w1", 0}} {
		if _, _, err := s.EnqueueClaim(ctx, message("a", "bad"), tt.worker, tt.lease, t0); err == nil {
			t.Errorf("EnqueueClaim with %s: no error", tt.name)
		}
	}
	wantPending(t, s, t0, 0, 0)

	ev := message("a", "d1", "k1")
	created, job, err := s.EnqueueClaim(ctx, ev, "w1", time.Minute, t0)
	if err != nil || !created || job == nil {
		t.Fatalf("EnqueueClaim = %v, %+v, %v; want a created, leased job", created, job, err)
	}
	if job.Attempts != 1 || !job.CreatedAt.Equal(t0) || !reflect.DeepEqual(normEvent(job.Event), normEvent(ev)) {
		t.Fatalf("EnqueueClaim job = %+v, want attempt 1 of %+v at %s", job, ev, t0)
	}
	wantPending(t, s, t0, 1, 0)
	wantDeliveries(t, "claim while leased", claim(t, s, "w2", 10, time.Minute, t0.Add(30*time.Second)))
	// A re-delivery, by any of its keys, is neither stored nor leased.
	for _, again := range []moderation.Event{ev, message("a", "d1-other", "k1")} {
		created, dup, err := s.EnqueueClaim(ctx, again, "w2", time.Minute, t0.Add(time.Second))
		if err != nil || created || dup != nil {
			t.Fatalf("EnqueueClaim of a re-delivery = %v, %+v, %v; want nothing", created, dup, err)
		}
	}
	if err := s.Extend(ctx, job.ID, "w1", t0.Add(2*time.Minute)); err != nil {
		t.Fatalf("Extend by the enqueuing worker: %v", err)
	}
	// w1 crashes: at the end of its lease the job is claimed again, as
	// its second attempt.
	again := claim(t, s, "w2", 10, time.Minute, t0.Add(3*time.Minute))
	if len(again) != 1 || again[0].ID != job.ID || again[0].Attempts != 2 {
		t.Fatalf("claim after the lease = %+v, want job %d, attempt 2", again, job.ID)
	}
	wantErr(t, "Finish by the crashed worker", s.Finish(ctx, job.ID, "w1"), moderation.ErrLeaseLost)
	if err := s.Commit(ctx, job.ID, "w2", moderation.Work{Finish: true}); err != nil {
		t.Fatalf("Commit with Finish: %v", err)
	}
	wantPending(t, s, t0.Add(3*time.Minute), 0, 0)

	// An event naming no chat waits for nothing.
	join := moderation.Event{Kind: moderation.EventJoin, Platform: "test", DeliveryID: "j1", Join: &moderation.Join{UserIDs: []string{"u1"}}}
	if created, job, err := s.EnqueueClaim(ctx, join, "w1", time.Minute, t0); err != nil || !created || job == nil {
		t.Fatalf("EnqueueClaim of a chatless event = %v, %+v, %v", created, job, err)
	}
}

// testEnqueueClaimChatOrder: a job whose chat has an unfinished earlier
// job is stored but not leased: jobs of one chat still run in order.
func testEnqueueClaimChatOrder(t *testing.T, s moderation.Store) {
	ctx := t.Context()
	enqueue(t, s, message("a", "d1"), t0)
	created, job, err := s.EnqueueClaim(ctx, message("a", "d2"), "w1", time.Minute, t0.Add(time.Millisecond))
	if err != nil || !created || job != nil {
		t.Fatalf("EnqueueClaim behind an unfinished job = %v, %+v, %v; want stored, not leased", created, job, err)
	}
	// Another chat is not held up.
	if _, job, err := s.EnqueueClaim(ctx, message("b", "d3"), "w1", time.Minute, t0.Add(2*time.Millisecond)); err != nil || job == nil {
		t.Fatalf("EnqueueClaim in another chat = %+v, %v; want leased", job, err)
	}
	first := claim(t, s, "w2", 10, time.Minute, t0.Add(time.Second))
	wantDeliveries(t, "claim", first, "d1")
	if err := s.Finish(ctx, first[0].ID, "w2"); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	next := claim(t, s, "w2", 10, time.Minute, t0.Add(time.Second))
	wantDeliveries(t, "claim after the earlier job finished", next, "d2")
	if next[0].Attempts != 1 {
		t.Fatalf("d2 attempt %d, want 1", next[0].Attempts)
	}
	// A job leased at enqueue holds its chat like a claimed one.
	_, held, err := s.EnqueueClaim(ctx, message("c", "d4"), "w1", time.Minute, t0.Add(time.Second))
	if err != nil || held == nil {
		t.Fatalf("EnqueueClaim in chat c = %+v, %v", held, err)
	}
	enqueue(t, s, message("c", "d5"), t0.Add(time.Second))
	wantDeliveries(t, "claim behind a job leased at enqueue", claim(t, s, "w2", 10, time.Minute, t0.Add(30*time.Second)))
	// Its lease run out, it is claimed again; d5 still waits for it.
	wantDeliveries(t, "claim after the leases", claim(t, s, "w2", 10, time.Minute, t0.Add(2*time.Minute)), "d2", "d3", "d4")
}

// testCaseBadOutcome: a case whose outcome could not be read back is
// refused, by AddCase and by Commit, and nothing of it is stored.
func testCaseBadOutcome(t *testing.T, s moderation.Store) {
	ctx := t.Context()
	for _, outcome := range []moderation.Outcome{"", "bogus", "done:detail", moderation.OutcomeRefused} {
		c := sampleCase("d-"+string(outcome), "c1", "alice", t0, "bob")
		c.Outcome = outcome
		if err := s.AddCase(ctx, &c); !errors.Is(err, moderation.ErrBadOutcome) {
			t.Errorf("AddCase with outcome %q = %v, want ErrBadOutcome", outcome, err)
		}
	}
	enqueue(t, s, message("c1", "j1"), t0)
	jobs := claim(t, s, "w1", 1, time.Minute, t0)
	bad := sampleCase("j1", "c1", "alice", t0, "bob")
	bad.Outcome = "bogus"
	err := s.Commit(ctx, jobs[0].ID, "w1", moderation.Work{Cases: []*moderation.Case{&bad}, Finish: true})
	if !errors.Is(err, moderation.ErrBadOutcome) {
		t.Errorf("Commit of a case with outcome %q = %v, want ErrBadOutcome", bad.Outcome, err)
	}
	if got := cases(t, s); len(got) != 0 {
		t.Fatalf("refused cases were stored: %+v", got)
	}
	wantPending(t, s, t0, 1, 0)
}
