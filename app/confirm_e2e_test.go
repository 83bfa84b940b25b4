package app_test

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gavel/app/apptest"
	"gavel/platforms/tim/timtest"
)

// confirmRequest finds the case number a confirmation request asks
// about in the group's messages.
var confirmRequest = regexp.MustCompile(`/confirm (\d+)`)

// TestTIMConfirmedMassKick (#17.4 on TIM, end to end): a /kick of 150
// with policy.confirm_above 50 does nothing but ask; a member's /confirm
// is refused; the owner's removes every target exactly once, in
// delete_group_member calls of at most TIM's documented 100 accounts; a
// second /confirm does nothing.
func TestTIMConfirmedMassKick(t *testing.T) {
	t.Parallel()
	const n, group = 150, "@TGS#confirm"
	ts := timtest.NewServer()
	defer ts.Close()
	members := make([]string, n)
	var text strings.Builder
	text.WriteString("/kick")
	for i := range members {
		members[i] = fmt.Sprintf("m%04d", i)
		text.WriteString(" @" + members[i])
	}
	text.WriteString(" raid")
	ts.AddGroup(timtest.Group{ID: group, Owner: "owner", Admins: []string{"mod"}, Members: append([]string{"alice"}, members...)})

	cfg := timConfig(ts, filepath.Join(t.TempDir(), "gavel.db"), 200)
	cfg.Policy.ConfirmAbove = 50
	h := apptest.New(t, cfg)
	say := func(from, text string) {
		t.Helper()
		post(t, h, ts.MessageDelivery(timToken, time.Now(), timtest.Message{GroupID: group, From: from, Text: text}))
		h.Wait()
	}
	last := func() string {
		rs := ts.Replies()
		if len(rs) == 0 {
			return ""
		}
		return rs[len(rs)-1].Text
	}

	say("mod", text.String())
	if calls := ts.CallsTo("delete_group_member"); len(calls) != 0 {
		t.Fatalf("a held kick made %d removal calls", len(calls))
	}
	m := confirmRequest.FindStringSubmatch(last())
	if m == nil || !strings.Contains(last(), "/cancel "+m[1]) {
		t.Fatalf("no confirmation request in %q", last())
	}
	id := m[1]

	say("alice", "/confirm "+id)
	if calls := ts.CallsTo("delete_group_member"); len(calls) != 0 {
		t.Fatalf("a member's /confirm made %d removal calls", len(calls))
	}

	say("owner", "/confirm "+id)
	removals := ts.Removals()
	for _, u := range members {
		if removals[u] != 1 {
			t.Fatalf("%s removed %d times, want exactly 1", u, removals[u])
		}
	}
	if removals["alice"] != 0 {
		t.Fatal("alice, no target, was removed")
	}
	calls := ts.CallsTo("delete_group_member")
	for _, c := range calls {
		if k := len(bodyStrings(c, "MemberToDel_Account")); k > 100 || c.Code != 0 {
			t.Fatalf("a delete_group_member call named %d accounts (code %d); TIM takes at most 100", k, c.Code)
		}
	}
	if len(calls) != 2 {
		t.Fatalf("%d delete_group_member calls, want 2 (100 + 50)", len(calls))
	}
	if r := last(); !strings.Contains(r, "Removed 150") {
		t.Fatalf("reply to /confirm = %q", r)
	}

	say("mod", "/confirm "+id)
	if r := last(); !strings.Contains(r, "already confirmed by owner") {
		t.Fatalf("reply to the second /confirm = %q", r)
	}
	if k := len(ts.CallsTo("delete_group_member")); k != 2 {
		t.Fatalf("the second /confirm made removal calls: %d in all", k)
	}
}

// TestTIMHeldKickExpiresAcrossARestart: a held kick whose Gavel restarts
// before confirm_timeout is expired by the new one (its maintenance finds
// the request in the store), once; a later /confirm is told so and
// removes nobody.
func TestTIMHeldKickExpiresAcrossARestart(t *testing.T) {
	t.Parallel()
	const group = "@TGS#expire"
	ts := timtest.NewServer()
	defer ts.Close()
	ts.AddGroup(timtest.Group{ID: group, Owner: "owner", Admins: []string{"mod"}, Members: []string{"m1", "m2", "m3"}})
	cfg := timConfig(ts, filepath.Join(t.TempDir(), "gavel.db"), 20)
	cfg.Policy.ConfirmAbove, cfg.Policy.ConfirmTimeout = 2, 2*time.Second
	say := func(h *apptest.Harness, from, text string) {
		t.Helper()
		post(t, h, ts.MessageDelivery(timToken, time.Now(), timtest.Message{GroupID: group, From: from, Text: text}))
		h.Wait()
	}
	said := func(s string) int {
		n := 0
		for _, r := range ts.Replies() {
			if strings.Contains(r.Text, s) {
				n++
			}
		}
		return n
	}

	h := apptest.New(t, cfg)
	say(h, "mod", "/kick @m1 @m2 @m3 spam")
	rs := ts.Replies()
	m := confirmRequest.FindStringSubmatch(rs[len(rs)-1].Text)
	if m == nil {
		t.Fatalf("no confirmation request in %q", rs[len(rs)-1].Text)
	}
	h.Close() // a restart: the request waits in the store

	h = apptest.New(t, cfg)
	deadline := time.Now().Add(20 * time.Second)
	for said("expired: nobody confirmed it") == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	h.Wait()
	time.Sleep(1500 * time.Millisecond) // more maintenance ticks: the expiry is not told twice
	h.Wait()
	if n := said("expired: nobody confirmed it"); n != 1 {
		t.Fatalf("the expiry was told %d times, want 1; replies %+v", n, ts.Replies())
	}
	say(h, "mod", "/confirm "+m[1])
	if n := said("expired unconfirmed"); n != 1 {
		t.Fatalf("a late /confirm was not told the request expired: %+v", ts.Replies())
	}
	if calls := ts.CallsTo("delete_group_member"); len(calls) != 0 {
		t.Fatalf("an expired request removed: %d calls", len(calls))
	}
}
