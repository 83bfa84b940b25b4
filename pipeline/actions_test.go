package pipeline

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gavel/moderation"
	"gavel/policy"
)

// A card press is decided when its job runs: a member's press is refused,
// recorded, and the card says so, its buttons still there.
func TestPressByNonAdminRefused(t *testing.T) {
	t.Parallel()
	f := newModLogFixture(t, oneAttempt, policy.Config{})
	f.say("mod", "/kick @a")
	f.pl.calls = nil
	f.press("b", moderation.VerbUndo, 1, "post-1")
	if got := f.callsOf("add"); len(got) != 0 {
		t.Fatalf("a member's press acted: %v", f.pl.calls)
	}
	if len(f.pl.updates) != 1 {
		t.Fatalf("updates %+v, want the card updated once", f.pl.updates)
	}
	card := f.pl.updates[0].Card
	if !strings.Contains(card.Note, "b pressed Undo: Refused") || len(card.Buttons) == 0 {
		t.Fatalf("card after a refused press: %+v", card)
	}
	c := f.kase(2)
	if c.Actor != "b" || c.Verb != moderation.VerbUndo || c.Related != 1 || c.Outcome.Reason() != policy.ActorNotAdmin {
		t.Fatalf("refusal case %+v", c)
	}
	// Roles are asked at press time: b is an admin now.
	f.pl.roles["b"] = moderation.RoleAdmin
	f.p.roleCache.ForgetChat(t.Context(), c1)
	f.press("b", moderation.VerbUndo, 1, "post-1")
	if got := f.callsOf("add"); !slices.Equal(got, []string{"add a"}) {
		t.Fatalf("calls %v", f.pl.calls)
	}
}

// A pressed Undo reverses the case and updates the card; pressed again it
// does nothing.
func TestPressUndoUpdatesCard(t *testing.T) {
	t.Parallel()
	f := newModLogFixture(t, oneAttempt, policy.Config{})
	f.say("mod", "/mute @a @b 1h")
	f.press("mod2", moderation.VerbUndo, 1, "post-1")
	if got := f.callsOf("unmute"); !slices.Equal(got, []string{"unmute a,b"}) {
		t.Fatalf("calls %v", f.pl.calls)
	}
	if got := f.callsOf("update"); !slices.Equal(got, []string{"update post-1"}) {
		t.Fatalf("updates %v, want the pressed card once", got)
	}
	card := f.pl.updates[0].Card
	if !strings.HasPrefix(card.Note, "Undone by mod2 (case #2)") || len(card.Buttons) != 0 || !strings.Contains(card.Title, "Case #1") {
		t.Fatalf("card %+v", card)
	}
	// The undo is a case of its own in the mod-log, with no Undo button.
	if len(f.pl.posts) != 2 || slices.Contains(buttonVerbs(f.pl.posts[1]), moderation.VerbUndo) || !strings.Contains(f.pl.posts[1].Text, "Follows: case #1") {
		t.Fatalf("posts %+v", f.pl.posts)
	}
	f.press("mod", moderation.VerbUndo, 1, "post-1")
	if got := f.callsOf("unmute"); len(got) != 1 {
		t.Fatalf("second press acted: %v", f.pl.calls)
	}
	if got := f.callsOf("update"); len(got) != 1 {
		t.Fatalf("the second press updated the card (%v): the first undo's note stands", got)
	}
}

// Ban from a card acts on the case's targets as the presser's /ban;
// Dismiss closes the card. Where cards cannot be edited the answer is a
// follow-up post.
func TestPressBanAndDismiss(t *testing.T) {
	t.Parallel()
	f := newModLogFixture(t, oneAttempt, policy.Config{})
	f.say("mod", "/kick @a @x") // x refused by the platform
	f.press("mod", moderation.VerbBan, 1, "post-1")
	if got := f.callsOf("ban"); !slices.Equal(got, []string{"ban a d=-1ns"}) {
		t.Fatalf("calls %v, want a ban of a only", f.pl.calls)
	}
	c := f.kase(2)
	if c.Verb != moderation.VerbBan || c.Actor != "mod" || c.Related != 1 || c.Outcome != moderation.OutcomeDone {
		t.Fatalf("ban case %+v", c)
	}
	if n := f.pl.updates[0].Card.Note; !strings.Contains(n, "mod pressed Ban: Banned") {
		t.Fatalf("note %q", n)
	}
	if len(f.pl.replies) != 1 {
		t.Fatalf("a press replied in the chat: %v", f.pl.replies)
	}

	f.pl.noUpdate = true
	f.press("mod2", moderation.VerbDismiss, 1, "post-1")
	last := f.pl.posts[len(f.pl.posts)-1]
	if last.Card != nil || !strings.Contains(last.Text, "Dismissed by mod2") {
		t.Fatalf("follow-up %+v", last)
	}
	if c := f.kase(3); c.Verb != moderation.VerbDismiss || c.Related != 1 {
		t.Fatalf("dismiss case %+v", c)
	}
}

// The console's lifts: its grants were checked by the console, the
// targets go through policy.
func TestConsoleActions(t *testing.T) {
	t.Parallel()
	f := newModLogFixture(t, oneAttempt, policy.Config{Protected: []string{"fake:vip"}})
	f.say("mod", "/mute @a")
	deliver(t, f.p, moderation.Event{Kind: moderation.EventAction, Platform: "fake", DeliveryID: "console-1",
		Action: &moderation.Action{Actor: "console:alice", Verb: moderation.VerbUnmute, Chat: c1, Targets: []string{"A", "vip", "owner"}, At: f.now}})
	if got := f.callsOf("unmute"); !slices.Equal(got, []string{"unmute a"}) {
		t.Fatalf("calls %v, want a unmuted (canonical), vip and owner refused by policy", f.pl.calls)
	}
	c := f.kase(2)
	if c.Actor != "console:alice" || c.Verb != moderation.VerbUnmute || c.Outcome != moderation.OutcomePartial {
		t.Fatalf("console case %+v", c)
	}
	deliver(t, f.p, moderation.Event{Kind: moderation.EventAction, Platform: "fake", DeliveryID: "console-2",
		Action: &moderation.Action{Actor: "console:alice", Verb: moderation.VerbUnlock, Chat: c1, At: f.now}})
	if got := f.callsOf("unlock"); len(got) != 1 {
		t.Fatalf("calls %v", f.pl.calls)
	}
	// The console may undo a case (its grants were checked there).
	f.say("mod", "/ban @b")
	banCase := int64(len(f.pl.posts)) // one post per case so far
	deliver(t, f.p, moderation.Event{Kind: moderation.EventAction, Platform: "fake", DeliveryID: "console-3",
		Action: &moderation.Action{Actor: "console:alice", Verb: moderation.VerbUndo, CaseID: banCase, Chat: c1, At: f.now}})
	if got := f.callsOf("unban"); !slices.Equal(got, []string{"unban b"}) {
		t.Fatalf("calls %v, want b unbanned by the console's undo", f.pl.calls)
	}
	// A lift from a card (not the console) is refused.
	deliver(t, f.p, moderation.Event{Kind: moderation.EventAction, Platform: "fake", DeliveryID: "card-lift",
		Action: &moderation.Action{Actor: "mod", Verb: moderation.VerbUnban, Chat: c1, Targets: []string{"a"}, At: f.now}})
	if got := f.callsOf("unban"); len(got) != 1 {
		t.Fatalf("a card's lift acted: %v", f.pl.calls)
	}
}

// EventAction is triaged into a job.
func TestTriageAction(t *testing.T) {
	t.Parallel()
	f := newModLogFixture(t, oneAttempt, policy.Config{})
	if _, ok := f.p.Triage(t.Context(), moderation.Event{Kind: moderation.EventAction, Platform: "fake", Action: &moderation.Action{Verb: moderation.VerbUndo}}); !ok {
		t.Fatal("a press makes no job")
	}
	if _, ok := f.p.Triage(t.Context(), moderation.Event{Kind: moderation.EventAction, Platform: "fake"}); ok {
		t.Fatal("an action without payload makes a job")
	}
}

// Two presses of Undo running at once (two workers or replicas on one
// store) reverse the case once.
func TestConcurrentUndoPressesActOnce(t *testing.T) {
	t.Parallel()
	f := newModLogFixture(t, oneAttempt, policy.Config{})
	f.say("mod", "/kick @a @b")
	ctx := t.Context()
	for i, who := range []string{"mod", "mod2", "owner"} {
		ev := moderation.Event{Kind: moderation.EventAction, Platform: "fake", DeliveryID: fmt.Sprint("race", i),
			Action: &moderation.Action{Actor: who, Verb: moderation.VerbUndo, CaseID: 1, Card: &moderation.PostRef{Chat: modlog, MessageID: "post-1"}, At: f.now}}
		if _, err := f.p.store.Enqueue(ctx, ev, f.now); err != nil {
			t.Fatal(err)
		}
	}
	jobs, err := f.p.store.Claim(ctx, "w", 3, time.Minute, f.now)
	if err != nil || len(jobs) != 3 {
		t.Fatalf("claimed %d jobs: %v", len(jobs), err)
	}
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Go(func() {
			if err := handleJob(f.p, j); err != nil {
				t.Errorf("job %d: %v", j.ID, err)
			}
		})
	}
	wg.Wait()
	if got := f.callsOf("add"); len(got) != 1 {
		t.Fatalf("adds %v, want one", got)
	}
	undos, err := f.p.store.Cases(ctx, moderation.CaseFilter{Related: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(undos) != 1 || undos[0].Verb != moderation.VerbUndo {
		t.Fatalf("cases following case 1: %+v, want one undo", undos)
	}
}
