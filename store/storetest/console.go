package storetest

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"gavel/moderation"
)

// testConsoleUsers: users and sessions round-trip; removing a user ends
// its sessions.
func testConsoleUsers(t *testing.T, s moderation.Store) {
	ctx := t.Context()
	u := moderation.ConsoleUser{Name: "ann", Hash: "$argon2id$x", Grants: []string{"tim:g1", "feishu:*"}, CreatedAt: t0}
	if err := s.PutConsoleUser(ctx, u); err != nil {
		t.Fatalf("PutConsoleUser: %v", err)
	}
	u.Grants = []string{"*"}
	if err := s.PutConsoleUser(ctx, u); err != nil {
		t.Fatalf("PutConsoleUser again: %v", err)
	}
	got, err := s.ConsoleUser(ctx, "ann")
	if err != nil || got.Hash != u.Hash || !slices.Equal(got.Grants, u.Grants) || !got.CreatedAt.Equal(t0) {
		t.Fatalf("ConsoleUser = %+v, %v; want %+v", got, err, u)
	}
	if _, err := s.ConsoleUser(ctx, "bob"); !errors.Is(err, moderation.ErrNotFound) {
		t.Fatalf("ConsoleUser(bob) error = %v, want ErrNotFound", err)
	}
	sess := moderation.ConsoleSession{ID: "h1", User: "ann", CSRF: "tok", Created: t0, Seen: t0}
	if err := s.PutConsoleSession(ctx, sess); err != nil {
		t.Fatalf("PutConsoleSession: %v", err)
	}
	if err := s.TouchConsoleSession(ctx, "h1", t0.Add(time.Minute)); err != nil {
		t.Fatalf("TouchConsoleSession: %v", err)
	}
	gs, err := s.ConsoleSession(ctx, "h1")
	if err != nil || gs.User != "ann" || gs.CSRF != "tok" || !gs.Seen.Equal(t0.Add(time.Minute)) {
		t.Fatalf("ConsoleSession = %+v, %v", gs, err)
	}
	if err := s.PutConsoleSession(ctx, moderation.ConsoleSession{ID: "h2", User: "ann", CSRF: "t2", Created: t0, Seen: t0}); err != nil {
		t.Fatalf("PutConsoleSession h2: %v", err)
	}
	n, err := s.PurgeConsoleSessions(ctx, t0.Add(30*time.Second), t0.Add(-time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("PurgeConsoleSessions = %d, %v; want 1 (h2 idle)", n, err)
	}
	if users, err := s.ConsoleUsers(ctx); err != nil || len(users) != 1 {
		t.Fatalf("ConsoleUsers = %v, %v", users, err)
	}
	if ok, err := s.DeleteConsoleUser(ctx, "ann"); err != nil || !ok {
		t.Fatalf("DeleteConsoleUser = %v, %v", ok, err)
	}
	if _, err := s.ConsoleSession(ctx, "h1"); !errors.Is(err, moderation.ErrNotFound) {
		t.Fatalf("session of a removed user: error = %v, want ErrNotFound", err)
	}
	if ok, err := s.DeleteConsoleUser(ctx, "ann"); err != nil || ok {
		t.Fatalf("DeleteConsoleUser again = %v, %v; want false", ok, err)
	}
}

// testSearchCases: every console filter, scopes and paging.
func testSearchCases(t *testing.T, s moderation.Store) {
	ctx := t.Context()
	for _, c := range []moderation.Case{
		sampleCase("d1", "c1", "alice", t0, "bob"),
		sampleCase("d2", "c1", "bob", t0.Add(time.Hour), "carol", "dave"),
		sampleCase("d3", "c2", "alice", t0.Add(2*time.Hour), "carol"),
		{DeliveryID: "d4", Platform: "other", ChatID: "c1", Rule: "flood", Verb: moderation.VerbKick,
			Targets: []string{"bob"}, Outcome: moderation.RefusedOutcome(moderation.ReasonTargetAdmin), At: t0.Add(3 * time.Hour)},
	} {
		addCase(t, s, c)
	}
	all := []string{"*"}
	tests := []struct {
		name string
		q    moderation.CaseQuery
		want []string
	}{
		{"all", moderation.CaseQuery{Scope: all}, []string{"d4", "d3", "d2", "d1"}},
		{"no scope", moderation.CaseQuery{}, nil},
		{"bad grant", moderation.CaseQuery{Scope: []string{"nochat"}}, nil},
		{"one chat", moderation.CaseQuery{Scope: []string{"test:c1"}}, []string{"d2", "d1"}},
		{"platform grant", moderation.CaseQuery{Scope: []string{"other:*", "test:c2"}}, []string{"d4", "d3"}},
		{"filter outside scope", moderation.CaseQuery{Scope: []string{"test:c1"}, ChatID: "c2"}, nil},
		{"actor", moderation.CaseQuery{Scope: all, Actor: "alice"}, []string{"d3", "d1"}},
		{"target", moderation.CaseQuery{Scope: all, Target: "bob"}, []string{"d4", "d1"}},
		{"rule", moderation.CaseQuery{Scope: all, Rule: "flood"}, []string{"d4"}},
		{"verb", moderation.CaseQuery{Scope: all, Verb: moderation.VerbKick}, []string{"d4"}},
		{"outcome kind", moderation.CaseQuery{Scope: all, Outcome: "refused"}, []string{"d4"}},
		{"outcome exact", moderation.CaseQuery{Scope: all, Outcome: "partial"}, []string{"d3", "d2", "d1"}},
		{"time range", moderation.CaseQuery{Scope: all, Since: t0.Add(time.Hour), Until: t0.Add(3 * time.Hour)}, []string{"d3", "d2"}},
		{"page", moderation.CaseQuery{Scope: all, Limit: 2}, []string{"d4", "d3"}},
	}
	ids := map[string]int64{}
	for _, tt := range tests {
		got, err := s.SearchCases(ctx, tt.q)
		if err != nil {
			t.Fatalf("%s: SearchCases: %v", tt.name, err)
		}
		var dels []string
		for _, c := range got {
			dels = append(dels, c.DeliveryID)
			ids[c.DeliveryID] = c.ID
		}
		if !slices.Equal(dels, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, dels, tt.want)
		}
	}
	undo := sampleCase("d5", "c1", "alice", t0.Add(4*time.Hour), "bob")
	undo.Verb, undo.Related = moderation.VerbUnmute, ids["d1"]
	addCase(t, s, undo)
	if got, err := s.SearchCases(ctx, moderation.CaseQuery{Scope: all, Related: ids["d1"]}); err != nil || len(got) != 1 || got[0].DeliveryID != "d5" {
		t.Errorf("cases following d1 = %v, %v; want d5", got, err)
	}
	next, err := s.SearchCases(ctx, moderation.CaseQuery{Scope: all, Before: ids["d3"], Limit: 2})
	if err != nil || len(next) != 2 || next[0].DeliveryID != "d2" || next[1].DeliveryID != "d1" {
		t.Errorf("second page = %v, %v; want d2, d1", next, err)
	}

	// Counted from the cases before any rollup, after one, and with a
	// case added since: the same figures.
	total := func(scope []string, by string) int64 {
		t.Helper()
		counts, err := s.CountCases(ctx, scope, t0.Add(time.Hour), by)
		if err != nil {
			t.Fatalf("CountCases: %v", err)
		}
		var n int64
		for _, c := range counts {
			n += c.N
			if c.Hour.Before(t0.Add(time.Hour).Truncate(time.Hour)) {
				t.Errorf("count %+v before since", c)
			}
		}
		return n
	}
	check := func(when string, want map[string]int64) {
		t.Helper()
		for scope, n := range want {
			if got := total(strings.Split(scope, ","), "verb"); got != n {
				t.Errorf("%s: CountCases(%s) since t0+1h = %d, want %d", when, scope, got, n)
			}
		}
		if got := total(all, "rule"); got != 1 {
			t.Errorf("%s: rule hits = %d, want 1 (d4)", when, got)
		}
	}
	want := map[string]int64{"*": 4, "test:*": 3, "test:*,test:c1": 3, "test:c1": 2, "other:c1,test:c2": 2, "nochat": 0}
	check("before a rollup", want)
	if n, err := s.RollupCases(ctx, t0.Add(30*time.Minute)); err != nil || n != 1 {
		t.Fatalf("RollupCases at t0+30m = %d, %v; want 1 settled case (d1)", n, err)
	}
	check("after a partial rollup", want)
	if n, err := s.RollupCases(ctx, t0.Add(10*time.Hour)); err != nil || n != 4 {
		t.Fatalf("RollupCases = %d, %v; want 4", n, err)
	}
	if n, err := s.RollupCases(ctx, t0.Add(10*time.Hour)); err != nil || n != 0 {
		t.Fatalf("RollupCases again = %d, %v; want 0", n, err)
	}
	check("after the rollup", want)
	late := sampleCase("d6", "c1", "carol", t0.Add(5*time.Hour), "bob")
	addCase(t, s, late)
	want["*"], want["test:*"], want["test:*,test:c1"], want["test:c1"] = 5, 4, 4, 3
	check("with a case since", want)
	if _, err := s.CountCases(ctx, all, t0, "outcome; DROP TABLE cases"); err == nil {
		t.Error("CountCases by an unknown column: no error")
	}

	if err := s.PutMutes(ctx, moderation.Mute{Chat: moderation.ChatRef{Platform: "test", ID: "c9"}, UserID: "u"}); err != nil {
		t.Fatal(err)
	}
	chats, err := s.ChatsSeen(ctx, all)
	if err != nil {
		t.Fatalf("ChatsSeen: %v", err)
	}
	var names []string
	for _, c := range chats {
		names = append(names, c.Chat.String())
	}
	if want := []string{"other:c1", "test:c1", "test:c2", "test:c9"}; !slices.Equal(names, want) {
		t.Errorf("ChatsSeen = %v, want %v", names, want)
	}
	if mine, err := s.ChatsSeen(ctx, []string{"test:c2"}); err != nil || len(mine) != 1 || mine[0].LastCase != ids["d3"] {
		t.Errorf("ChatsSeen(test:c2) = %+v, %v; want c2 with case %d", mine, err, ids["d3"])
	}
}

// testStats: counters add up, gauges keep the largest sample.
func testStats(t *testing.T, s moderation.Store) {
	ctx := t.Context()
	h := t0.Truncate(time.Hour)
	pts := []moderation.StatPoint{
		{Series: "webhooks", Key: "tim/accepted", Hour: h.Add(5 * time.Minute), N: 3},
		{Series: "webhooks", Key: "tim/accepted", Hour: h.Add(50 * time.Minute), N: 4},
		{Series: "webhooks", Key: "tim/rejected", Hour: h.Add(time.Hour), N: 1},
	}
	if err := s.AddStats(ctx, false, pts...); err != nil {
		t.Fatalf("AddStats: %v", err)
	}
	for _, n := range []int64{5, 9, 2} {
		if err := s.AddStats(ctx, true, moderation.StatPoint{Series: "queue", Key: "depth", Hour: h, N: n}); err != nil {
			t.Fatalf("AddStats gauge: %v", err)
		}
	}
	got, err := s.Stats(ctx, "webhooks", h)
	if err != nil || len(got) != 2 || got[0].N != 7 || !got[0].Hour.Equal(h) || got[1].Key != "tim/rejected" {
		t.Fatalf("Stats(webhooks) = %+v, %v; want tim/accepted 7 then tim/rejected 1", got, err)
	}
	if got, err := s.Stats(ctx, "queue", h); err != nil || len(got) != 1 || got[0].N != 9 {
		t.Fatalf("Stats(queue) = %+v, %v; want the largest sample 9", got, err)
	}
	if got, err := s.Stats(ctx, "webhooks", h.Add(time.Hour)); err != nil || len(got) != 1 {
		t.Fatalf("Stats since the next hour = %+v, %v; want 1 point", got, err)
	}
}
