package storetest

import (
	"slices"
	"testing"
	"time"

	"gavel/moderation"
)

// sanctionKey names a sanction in test output and comparisons.
func sanctionKey(s moderation.Sanction) string {
	return string(s.Verb) + " " + s.Chat.Platform + ":" + s.Chat.ID + " " + s.UserID
}

func sanctionKeys(ss []moderation.Sanction) []string {
	out := []string{}
	for _, s := range ss {
		out = append(out, sanctionKey(s))
	}
	return out
}

func putSanction(t testing.TB, s moderation.Store, sn moderation.Sanction) {
	t.Helper()
	if err := s.PutSanction(t.Context(), sn); err != nil {
		t.Fatalf("PutSanction(%s): %v", sanctionKey(sn), err)
	}
}

func testSanctions(t *testing.T, s moderation.Store) {
	ctx := t.Context()
	chat := moderation.ChatRef{Platform: "test", ID: "c1", Kind: "group"}
	other := moderation.ChatRef{Platform: "other", ID: "c1"}
	ban := moderation.Sanction{Verb: moderation.VerbBan, Chat: chat, UserID: "bob", Until: t0.Add(10 * time.Minute), CaseID: 7}
	lock := moderation.Sanction{Verb: moderation.VerbLock, Chat: chat, CaseID: 8} // until /unlock
	putSanction(t, s, ban)
	putSanction(t, s, lock)

	tests := []struct {
		name   string
		verb   moderation.Verb
		chat   moderation.ChatRef
		user   string
		now    time.Time
		want   moderation.Sanction
		wantOK bool
	}{
		{"ban round trip", moderation.VerbBan, chat, "bob", t0, ban, true},
		{"ban just before its end", moderation.VerbBan, chat, "bob", ban.Until.Add(-time.Nanosecond), ban, true},
		{"ban ends at Until", moderation.VerbBan, chat, "bob", ban.Until, moderation.Sanction{}, false},
		{"another user", moderation.VerbBan, chat, "alice", t0, moderation.Sanction{}, false},
		{"same chat id on another platform", moderation.VerbBan, other, "bob", t0, moderation.Sanction{}, false},
		{"a ban is not a lock", moderation.VerbLock, chat, "bob", t0, moderation.Sanction{}, false},
		{"lock forever", moderation.VerbLock, chat, "", t0.Add(100 * 365 * 24 * time.Hour), lock, true},
		{"a lock bans nobody", moderation.VerbBan, chat, "", t0, moderation.Sanction{}, false},
	}
	for _, tt := range tests {
		got, ok, err := s.ActiveSanction(ctx, tt.verb, tt.chat, tt.user, tt.now)
		if err != nil {
			t.Fatalf("%s: ActiveSanction: %v", tt.name, err)
		}
		if ok != tt.wantOK || !sameSanction(got, tt.want) {
			t.Errorf("%s: ActiveSanction = %+v, %v; want %+v, %v", tt.name, got, ok, tt.want, tt.wantOK)
		}
	}

	// Replacing: the ban becomes one until /unban, from another case.
	forever := moderation.Sanction{Verb: moderation.VerbBan, Chat: chat, UserID: "bob", CaseID: 9}
	putSanction(t, s, forever)
	if got, ok, err := s.ActiveSanction(ctx, moderation.VerbBan, chat, "bob", t0.Add(100*365*24*time.Hour)); err != nil || !ok || !sameSanction(got, forever) {
		t.Fatalf("replaced ban: ActiveSanction = %+v, %v, %v; want %+v", got, ok, err, forever)
	}
	if exp, err := s.ExpiredSanctions(ctx, t0.Add(100*365*24*time.Hour), 0); err != nil || len(exp) != 0 {
		t.Fatalf("ExpiredSanctions lists sanctions without end: %v, %v", sanctionKeys(exp), err)
	}

	for _, del := range []struct {
		verb moderation.Verb
		user string
	}{{moderation.VerbBan, "bob"}, {moderation.VerbLock, ""}} {
		if err := s.DeleteSanction(ctx, del.verb, chat, del.user); err != nil {
			t.Fatalf("DeleteSanction(%s %q): %v", del.verb, del.user, err)
		}
		if _, ok, err := s.ActiveSanction(ctx, del.verb, chat, del.user, t0); err != nil || ok {
			t.Fatalf("after DeleteSanction(%s %q): active = %v, %v", del.verb, del.user, ok, err)
		}
		if err := s.DeleteSanction(ctx, del.verb, chat, del.user); err != nil {
			t.Fatalf("DeleteSanction(%s %q) of none: %v", del.verb, del.user, err)
		}
	}
	if all, err := s.ActiveSanctions(ctx, t0); err != nil || len(all) != 0 {
		t.Fatalf("ActiveSanctions after deleting all = %v, %v", sanctionKeys(all), err)
	}
}

// sameSanction compares sanctions with time.Time.Equal.
func sameSanction(a, b moderation.Sanction) bool {
	return a.Verb == b.Verb && a.Chat == b.Chat && a.UserID == b.UserID && a.Until.Equal(b.Until) && a.CaseID == b.CaseID
}

func testSanctionsRefused(t *testing.T, s moderation.Store) {
	chat := moderation.ChatRef{Platform: "test", ID: "c1"}
	for _, sn := range []moderation.Sanction{
		{Verb: moderation.VerbBan, Chat: chat},                              // a ban of nobody
		{Verb: moderation.VerbLock, Chat: chat, UserID: "bob"},              // a lock of one user
		{Verb: moderation.VerbMute, Chat: chat, UserID: "bob"},              // mutes have their own table
		{Verb: moderation.VerbBan, Chat: moderation.ChatRef{}, UserID: "b"}, // no chat
		{Verb: moderation.VerbNewcomer, Chat: chat},                         // a newcomer mark of nobody
	} {
		if err := s.PutSanction(t.Context(), sn); err == nil {
			t.Errorf("PutSanction(%+v) = nil, want an error", sn)
		}
	}
	if all, err := s.ActiveSanctions(t.Context(), t0); err != nil || len(all) != 0 {
		t.Fatalf("refused sanctions were stored: %v, %v", sanctionKeys(all), err)
	}
}

func testActiveSanctions(t *testing.T, s moderation.Store) {
	now := t0
	c1 := moderation.ChatRef{Platform: "feishu", ID: "oc_1"}
	c2 := moderation.ChatRef{Platform: "tim", ID: "g", Kind: "Public"}
	for _, sn := range []moderation.Sanction{
		{Verb: moderation.VerbBan, Chat: c1, UserID: "a", Until: now.Add(time.Minute)},
		{Verb: moderation.VerbBan, Chat: c1, UserID: "b"}, // until /unban
		{Verb: moderation.VerbBan, Chat: c1, UserID: "c", Until: now.Add(-time.Second)},
		{Verb: moderation.VerbBan, Chat: c1, UserID: "d", Until: now}, // ends now
		{Verb: moderation.VerbLock, Chat: c1, Until: now.Add(-time.Hour)},
		{Verb: moderation.VerbLock, Chat: c2, Until: now.Add(time.Hour)},
		{Verb: moderation.VerbBan, Chat: c2, UserID: "a", Until: now.Add(time.Hour)},
	} {
		putSanction(t, s, sn)
	}
	got, err := s.ActiveSanctions(t.Context(), now)
	if err != nil {
		t.Fatalf("ActiveSanctions: %v", err)
	}
	keys := sanctionKeys(got)
	slices.Sort(keys)
	want := []string{"ban feishu:oc_1 a", "ban feishu:oc_1 b", "ban tim:g a", "lock tim:g "}
	if !slices.Equal(keys, want) {
		t.Fatalf("ActiveSanctions = %q, want %q", keys, want)
	}
	for _, sn := range got {
		if sn.Chat.Platform == "tim" && sn.Chat.Kind != "Public" {
			t.Errorf("ActiveSanctions lost the chat kind: %+v", sn)
		}
	}
}

func testExpiredSanctions(t *testing.T, s moderation.Store) {
	chat := moderation.ChatRef{Platform: "test", ID: "c1"}
	for _, sn := range []moderation.Sanction{
		{Verb: moderation.VerbBan, Chat: chat, UserID: "u3", Until: t0.Add(3 * time.Minute)},
		{Verb: moderation.VerbLock, Chat: chat, Until: t0.Add(1 * time.Minute)},
		{Verb: moderation.VerbBan, Chat: chat, UserID: "u2", Until: t0.Add(2 * time.Minute)},
		{Verb: moderation.VerbBan, Chat: chat, UserID: "forever"},
	} {
		putSanction(t, s, sn)
	}
	tests := []struct {
		name  string
		now   time.Time
		limit int
		want  []string // oldest first
	}{
		{"none yet", t0, 10, []string{}},
		{"until is inclusive", t0.Add(2 * time.Minute), 10, []string{"lock test:c1 ", "ban test:c1 u2"}},
		{"limit keeps the oldest", t0.Add(time.Hour), 2, []string{"lock test:c1 ", "ban test:c1 u2"}},
		{"limit 1", t0.Add(time.Hour), 1, []string{"lock test:c1 "}},
		{"no limit", t0.Add(time.Hour), 0, []string{"lock test:c1 ", "ban test:c1 u2", "ban test:c1 u3"}},
	}
	for _, tt := range tests {
		got, err := s.ExpiredSanctions(t.Context(), tt.now, tt.limit)
		if err != nil {
			t.Fatalf("%s: ExpiredSanctions: %v", tt.name, err)
		}
		if keys := sanctionKeys(got); !slices.Equal(keys, tt.want) {
			t.Errorf("%s: ExpiredSanctions = %q, want %q", tt.name, keys, tt.want)
		}
	}
}

// testVerifySanctions: a joiner's pending verification, the chat's
// gathering of joiners (no user) and a newcomer mark are kept like bans:
// each replaces its earlier self, ends, and expires.
func testVerifySanctions(t *testing.T, s moderation.Store) {
	chat := moderation.ChatRef{Platform: "test", ID: "v1"}
	for _, sn := range []moderation.Sanction{
		{Verb: moderation.VerbVerify, Chat: chat, UserID: "j1", Until: t0.Add(time.Minute)},
		{Verb: moderation.VerbVerify, Chat: chat, Until: t0.Add(3 * time.Second)},
		{Verb: moderation.VerbVerify, Chat: chat, UserID: moderation.VerifyPostPrefix + "m1", Until: t0.Add(2 * time.Minute), CaseID: 7},
		{Verb: moderation.VerbNewcomer, Chat: chat, UserID: "j1", Until: t0.Add(time.Hour)},
	} {
		putSanction(t, s, sn)
	}
	putSanction(t, s, moderation.Sanction{Verb: moderation.VerbVerify, Chat: chat, UserID: "j1", Until: t0.Add(2 * time.Minute), CaseID: 7})
	got, ok, err := s.ActiveSanction(t.Context(), moderation.VerbVerify, chat, "j1", t0)
	if err != nil || !ok || got.CaseID != 7 || !got.Until.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("the replaced verification = %+v, %v, %v; want case 7 until t0+2m", got, ok, err)
	}
	if _, ok, _ := s.ActiveSanction(t.Context(), moderation.VerbBan, chat, "j1", t0); ok {
		t.Fatal("a pending verification reads as a ban")
	}
	exp, err := s.ExpiredSanctions(t.Context(), t0.Add(5*time.Second), 0)
	if err != nil || len(exp) != 1 || exp[0].UserID != "" || exp[0].Verb != moderation.VerbVerify {
		t.Fatalf("expired at t0+5s = %v, %v; want the gathering alone", sanctionKeys(exp), err)
	}
	if err := s.DeleteSanction(t.Context(), moderation.VerbVerify, chat, "j1"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.ActiveSanction(t.Context(), moderation.VerbNewcomer, chat, "j1", t0); !ok {
		t.Fatal("ending the verification ended the newcomer mark")
	}
}
