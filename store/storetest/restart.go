package storetest

import (
	"errors"
	"testing"
	"time"

	"gavel/moderation"
)

// Restart checks that what a store keeps survives Close and a new Open of
// the same database: open opens it (empty at the first call) and the test
// closes what it returns. A worker crashes holding a job; after the
// restart its job comes back when the lease ends, and the results, case,
// mute, ban, lock and warning written before are all there.
func Restart(t *testing.T, open func(t *testing.T) moderation.Store) {
	t.Helper()
	ctx := t.Context()
	chat := moderation.ChatRef{Platform: "test", ID: "c1"}
	step := moderation.ActionStep(moderation.VerbKick)
	ban := moderation.Sanction{Verb: moderation.VerbBan, Chat: chat, UserID: "u3", Until: t0.Add(time.Hour), CaseID: 1}
	lock := moderation.Sanction{Verb: moderation.VerbLock, Chat: chat}
	warning := moderation.Warning{Chat: chat, UserID: "u4", Key: "w1", Actor: "a", Rule: "flood", Reason: "r", At: t0}

	s := open(t)
	for _, d := range []string{"d1", "d2"} {
		enqueue(t, s, message("c1", d), t0)
	}
	jobs := claim(t, s, "w1", 1, time.Minute, t0)
	if len(jobs) != 1 {
		t.Fatalf("Claim = %d jobs, want 1", len(jobs))
	}
	if err := s.RecordResults(ctx, jobs[0].ID, step, []moderation.Result{{UserID: "u1", Status: moderation.StatusDone}}); err != nil {
		t.Fatalf("RecordResults: %v", err)
	}
	c := moderation.Case{DeliveryID: "d1", Platform: "test", ChatID: "c1", Actor: "a", Verb: moderation.VerbKick,
		Targets: []string{"u1"}, Outcome: moderation.OutcomeDone, At: t0}
	if err := s.AddCase(ctx, &c); err != nil {
		t.Fatalf("AddCase: %v", err)
	}
	if err := s.PutMutes(ctx, moderation.Mute{Chat: chat, UserID: "u2", Until: t0.Add(time.Hour)}); err != nil {
		t.Fatalf("PutMutes: %v", err)
	}
	putSanction(t, s, ban)
	putSanction(t, s, lock)
	if _, err := s.AddWarning(ctx, warning, t0); err != nil {
		t.Fatalf("AddWarning: %v", err)
	}
	// The worker crashes: no Finish. Gavel restarts.
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = open(t)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	wantPending(t, s, t0, 2, 0)
	if enqueue(t, s, message("c1", "d1"), t0.Add(time.Minute)) {
		t.Fatal("re-delivery after restart made a second job")
	}
	// The crashed worker's job comes back when its lease ends, first in its chat.
	again := claim(t, s, "w2", 10, time.Minute, t0.Add(time.Minute))
	if len(again) != 1 || again[0].ID != jobs[0].ID || again[0].Attempts != 2 {
		t.Fatalf("Claim after restart = %+v; want job %d, attempt 2", again, jobs[0].ID)
	}
	if res := results(t, s, jobs[0].ID, step); res["u1"].Status != moderation.StatusDone {
		t.Fatalf("Results after restart = %v", res)
	}
	got, err := s.Case(ctx, c.ID)
	if err != nil || got.DeliveryID != "d1" || !got.At.Equal(t0) || got.Outcome != moderation.OutcomeDone {
		t.Fatalf("Case after restart = %+v, %v", got, err)
	}
	// A re-run stores nothing and uses no number.
	rerun := c
	if err := s.AddCase(ctx, &rerun); err != nil || rerun.ID != c.ID {
		t.Fatalf("AddCase re-run after restart: ID %d, %v; want %d", rerun.ID, err, c.ID)
	}
	c2 := moderation.Case{DeliveryID: "d2", Platform: "test", ChatID: "c1", Verb: moderation.VerbKick, Outcome: moderation.OutcomeDone, At: t0}
	if err := s.AddCase(ctx, &c2); err != nil || c2.ID != c.ID+1 {
		t.Fatalf("AddCase after restart: ID %d, %v; want %d", c2.ID, err, c.ID+1)
	}
	if m, ok, err := s.ActiveMute(ctx, chat, "u2", t0); err != nil || !ok || !m.Until.Equal(t0.Add(time.Hour)) {
		t.Fatalf("ActiveMute after restart = %+v, %v, %v", m, ok, err)
	}
	for _, want := range []moderation.Sanction{ban, lock} {
		if got, ok, err := s.ActiveSanction(ctx, want.Verb, chat, want.UserID, t0); err != nil || !ok || !sameSanction(got, want) {
			t.Fatalf("ActiveSanction(%s) after restart = %+v, %v, %v", sanctionKey(want), got, ok, err)
		}
	}
	ws, err := s.Warnings(ctx, chat, "u4", t0)
	if err != nil || len(ws) != 1 || ws[0].Key != "w1" || !ws[0].At.Equal(t0) {
		t.Fatalf("Warnings after restart = %+v, %v", ws, err)
	}
}

// WantBadOutcome checks how s reads the cases good and bad, which a test
// of the store wrote behind its back: good with a valid outcome, bad with
// one no Gavel version writes. Case(bad) and a listing including it fail
// with moderation.ErrBadOutcome; Case(good) succeeds.
func WantBadOutcome(t *testing.T, s moderation.Store, good, bad int64) {
	t.Helper()
	if _, err := s.Case(t.Context(), good); err != nil {
		t.Fatalf("Case(%d) with a good outcome: %v", good, err)
	}
	if c, err := s.Case(t.Context(), bad); !errors.Is(err, moderation.ErrBadOutcome) {
		t.Fatalf("Case(%d) with a bad outcome = %+v, %v; want ErrBadOutcome", bad, c, err)
	}
	if cs, err := s.Cases(t.Context(), moderation.CaseFilter{}); !errors.Is(err, moderation.ErrBadOutcome) {
		t.Fatalf("Cases over a bad outcome = %d cases, %v; want ErrBadOutcome", len(cs), err)
	}
}
