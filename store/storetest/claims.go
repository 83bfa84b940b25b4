package storetest

import (
	"sync"
	"testing"
	"time"

	"gavel/moderation"
)

// testClaims: a claim is first-writer-wins: the first job's commit adds
// the case and records its Won results; a later job's commit adds nothing,
// records no Won results, and learns the stored case's ID; a re-run of
// the winner finds its Won results.
func testClaims(t *testing.T, s moderation.Store) {
	ctx := t.Context()
	enqueue(t, s, message("a", "d1"), t0)
	enqueue(t, s, message("b", "d2"), t0)
	jobs := claim(t, s, "w1", 2, time.Minute, t0)
	if len(jobs) != 2 {
		t.Fatalf("claimed %d jobs, want 2", len(jobs))
	}
	step := moderation.ClaimStep("confirmation:7")
	won := []moderation.Result{{UserID: "-", Status: moderation.StatusDone}}
	answer := func(actor string, o moderation.Outcome) *moderation.Claim {
		c := sampleCase("confirmation:7", "a", actor, t0)
		c.Verb, c.Outcome = moderation.VerbConfirm, o
		return &moderation.Claim{Case: &c, Won: moderation.JobResults{Step: step, Results: won}}
	}
	first := answer("alice", moderation.OutcomeDone)
	if err := s.Commit(ctx, jobs[0].ID, "w1", moderation.Work{Claim: first}); err != nil {
		t.Fatalf("first claim: %v", err)
	}
	if !first.Added || first.Case.ID == 0 {
		t.Fatalf("first claim: added %v, id %d; want added with an id", first.Added, first.Case.ID)
	}
	second := answer("bob", moderation.OutcomeCancelled)
	if err := s.Commit(ctx, jobs[1].ID, "w1", moderation.Work{Claim: second}); err != nil {
		t.Fatalf("second claim: %v", err)
	}
	if second.Added || second.Case.ID != first.Case.ID {
		t.Fatalf("second claim: added %v, id %d; want not added, id %d", second.Added, second.Case.ID, first.Case.ID)
	}
	if got := results(t, s, jobs[1].ID, step); len(got) != 0 {
		t.Fatalf("the loser's Won results were recorded: %+v", got)
	}
	if got := results(t, s, jobs[0].ID, step); len(got) != 1 {
		t.Fatalf("the winner's Won results = %+v, want one", got)
	}
	if got, err := s.Case(ctx, first.Case.ID); err != nil || got.Actor != "alice" || got.Outcome != moderation.OutcomeDone {
		t.Fatalf("stored claim = %+v, %v; want alice's", got, err)
	}
	// The winner again (a re-run after a crash): nothing added, same ID.
	again := answer("alice", moderation.OutcomeDone)
	if err := s.Commit(ctx, jobs[0].ID, "w1", moderation.Work{Claim: again}); err != nil || again.Added || again.Case.ID != first.Case.ID {
		t.Fatalf("re-run claim: added %v, id %d, %v", again.Added, again.Case.ID, err)
	}
	// A claim needs a key.
	keyless := answer("carol", moderation.OutcomeDone)
	keyless.Case.DeliveryID = ""
	if err := s.Commit(ctx, jobs[0].ID, "w1", moderation.Work{Claim: keyless}); err == nil {
		t.Fatal("a claim without a delivery id was accepted")
	}
}

// testClaimsConcurrent: of many jobs claiming at once, exactly one wins.
func testClaimsConcurrent(t *testing.T, s moderation.Store) {
	ctx := t.Context()
	const n = 8
	for i := range n {
		enqueue(t, s, message(string(rune('a'+i)), "d"+string(rune('a'+i))), t0)
	}
	jobs := claim(t, s, "w1", n, time.Minute, t0)
	if len(jobs) != n {
		t.Fatalf("claimed %d jobs, want %d", len(jobs), n)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins int
		ids  = map[int64]bool{}
	)
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := sampleCase("confirmation:9", "a", "alice", t0)
			c.Verb, c.Outcome = moderation.VerbConfirm, moderation.OutcomeDone
			cl := &moderation.Claim{Case: &c, Won: moderation.JobResults{Step: moderation.ClaimStep("x"), Results: []moderation.Result{{UserID: "-", Status: moderation.StatusDone}}}}
			if err := s.Commit(ctx, j.ID, "w1", moderation.Work{Claim: cl}); err != nil {
				t.Errorf("claim of job %d: %v", j.ID, err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if cl.Added {
				wins++
			}
			ids[cl.Case.ID] = true
		}()
	}
	wg.Wait()
	if wins != 1 || len(ids) != 1 {
		t.Fatalf("%d claims won, %d distinct case ids; want exactly one of each", wins, len(ids))
	}
}

// testCaseFilterOutcome: Outcome matches the kind with or without its
// detail; Until excludes cases at or after it.
func testCaseFilterOutcome(t *testing.T, s moderation.Store) {
	ctx := t.Context()
	add := func(delivery string, at time.Time, o moderation.Outcome) {
		t.Helper()
		c := sampleCase(delivery, "a", "mod", at, "u1")
		c.Outcome = o
		if err := s.AddCase(ctx, &c); err != nil {
			t.Fatalf("AddCase %s: %v", delivery, err)
		}
	}
	add("d1", t0, moderation.OutcomeAwaiting)
	add("d2", t0.Add(time.Minute), moderation.AwaitingOutcome(moderation.Command{Purge: true, Count: 5}))
	add("d3", t0.Add(2*time.Minute), moderation.OutcomeDone)
	add("d4", t0.Add(3*time.Minute), moderation.OutcomeAwaiting)
	got, err := s.Cases(ctx, moderation.CaseFilter{Outcome: moderation.OutcomeAwaiting, Since: t0, Until: t0.Add(3 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	var ds []string
	for _, c := range got {
		ds = append(ds, c.DeliveryID)
	}
	if len(ds) != 2 || ds[0] != "d2" || ds[1] != "d1" {
		t.Fatalf("awaiting cases before t0+3m = %v, want [d2 d1]", ds)
	}
}
