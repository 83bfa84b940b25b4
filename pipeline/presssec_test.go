package pipeline

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"gavel/moderation"
	"gavel/policy"
)

// pressWith delivers a press of a mod-log card's button carrying targets.
func (f *fixture) pressWith(actor string, verb moderation.Verb, caseID int64, targets []string) {
	f.seq++
	deliver(f.t, f.p, moderation.Event{Kind: moderation.EventAction, Platform: "fake", DeliveryID: fmt.Sprint("press", f.seq),
		Action: &moderation.Action{Actor: actor, Verb: verb, CaseID: caseID, Targets: targets,
			Card: &moderation.PostRef{Chat: modlog, MessageID: "post-1"}, At: f.now}})
}

// A press acts only on the case's own targets: a button value naming
// others (forged, or a card edited since) acts on nobody.
func TestPressTargetsAreTheCases(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		targets []string
		want    []string
	}{
		{"the case's", []string{"a"}, []string{"ban a d=-1ns"}},
		{"none named: the case's", nil, []string{"ban a d=-1ns"}},
		{"another user", []string{"z"}, nil},
		{"the case's and another", []string{"a", "z"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newModLogFixture(t, oneAttempt, policy.Config{})
			f.say("mod", "/kick @a")
			f.pressWith("mod", moderation.VerbBan, 1, tc.targets)
			if got := f.callsOf("ban"); !slices.Equal(got, tc.want) {
				t.Fatalf("calls %v, want %v", got, tc.want)
			}
		})
	}
}

// A press in the mod-log chat does not act in a chat where Gavel is
// disabled (policy.chats.<chat>.disabled), as a command typed there would
// not: neither a case's Ban, nor its Undo, nor a held command's Confirm.
func TestPressInDisabledChatRefused(t *testing.T) {
	t.Parallel()
	for _, verb := range []moderation.Verb{moderation.VerbBan, moderation.VerbUndo, moderation.VerbConfirm} {
		t.Run(string(verb), func(t *testing.T) {
			t.Parallel()
			f := newModLogFixture(t, oneAttempt, policy.Config{Chats: map[string]policy.ChatConfig{"fake:c1": {Disabled: true}}})
			c := &moderation.Case{DeliveryID: "old", Platform: "fake", ChatID: "c1", Actor: "mod", Verb: moderation.VerbMute,
				Targets: []string{"a"}, At: f.now, Outcome: moderation.OutcomeDone,
				Results: []moderation.Result{{UserID: "a", Status: moderation.StatusDone}}}
			if verb == moderation.VerbConfirm {
				c.Outcome = moderation.AwaitingOutcome(moderation.Command{Verb: moderation.VerbMute, Targets: []string{"a"}})
				c.Results = nil
			}
			if err := f.p.store.AddCase(context.Background(), c); err != nil {
				t.Fatal(err)
			}
			f.pl.calls = nil
			f.pressWith("mod", verb, c.ID, nil)
			for _, call := range f.pl.calls {
				switch call[:min(len(call), 4)] {
				case "ban ", "unmu", "mute":
					t.Fatalf("a press acted in a disabled chat: %v", f.pl.calls)
				}
			}
		})
	}
}

// The reporters a threshold counts are those who reported the user: the
// user's own reports of someone else do not count as one more.
func TestReportThresholdCountsReportersOfTheTarget(t *testing.T) {
	t.Parallel()
	f := newModLogFixture(t, reportsCfg(ReportsConfig{ActAt: 2}), policy.Config{})
	f.say("x", "/report @y spam")  // x reports someone else
	f.say("r1", "/report @x spam") // one reporter of x
	for _, c := range f.pl.calls {
		if strings.HasPrefix(c, "mute") {
			t.Fatalf("acted at one reporter of x (x's own report counted): %q", f.pl.calls)
		}
	}
	f.say("r2", "/report @x spam") // the second
	if !slices.Contains(f.pl.calls, "mute x d=1h0m0s") {
		t.Fatalf("no mute at two reporters: %q", f.pl.calls)
	}
}

// A report's mod-log entry does not name the reporter when the mod-log
// chat is the chat the report was made in; in a mod-log chat of its own
// it does. The card keeps its buttons either way.
func TestReportModLogInItsOwnChatHidesReporter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		modlog string
		named  bool
	}{{"c1", false}, {"ml", true}} {
		t.Run(tc.modlog, func(t *testing.T) {
			t.Parallel()
			f := newModLogFixture(t, reportsCfg(ReportsConfig{}), policy.Config{})
			f.p.modlog = ModLogConfig{Chats: map[string]string{"fake:c1": tc.modlog}}
			f.say("reporter7", "/report @x spam")
			if len(f.pl.posts) != 1 {
				t.Fatalf("posts %+v, want the report's mod-log entry", f.pl.posts)
			}
			post := f.pl.posts[0]
			if strings.Contains(post.Text, "reporter7") != tc.named || strings.Contains(fmt.Sprint(post.Card.Fields), "reporter7") != tc.named {
				t.Fatalf("mod-log in %s names the reporter: %v, want %v:\n%s", tc.modlog, !tc.named, tc.named, post.Text)
			}
			if !slices.Contains(buttonVerbs(post), moderation.VerbBan) {
				t.Fatalf("buttons %v", buttonVerbs(post))
			}
		})
	}
}

// A verification press passes its presser only by a button of their own
// challenge: Only (when set) must be the presser, and the case must be
// the challenge's; a value naming no case or another Only passes nobody.
func TestVerifyButtonValueChecked(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		caseID  func(real int64) int64
		targets []string
		only    string
		passes  bool
	}{
		{"the real button", func(c int64) int64 { return c }, []string{"b"}, "b", true},
		{"no case", func(int64) int64 { return 0 }, []string{"b"}, "b", false},
		{"another case", func(c int64) int64 { return c + 100 }, []string{"b"}, "b", false},
		{"Only names another", func(c int64) int64 { return c }, []string{"a", "b"}, "a", false},
		{"Only in another spelling", func(c int64) int64 { return c }, []string{"b"}, "B", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, verifyCfg(VerifyConfig{Mode: "button"}), policy.Config{}, "en", native)
			f.join("", "a", "b")
			f.advance(3 * time.Second)
			real := f.pl.posts[0].Card.Buttons[1].CaseID
			f.seq++
			deliver(t, f.p, moderation.Event{Kind: moderation.EventAction, Platform: "fake", DeliveryID: fmt.Sprint("press", f.seq),
				Action: &moderation.Action{Actor: "b", Verb: moderation.VerbVerify, CaseID: tc.caseID(real), Chat: verifyChat,
					Targets: tc.targets, Only: tc.only, At: f.now}})
			if passed := !f.p.sanctions.index.pending(verifyChat, "b"); passed != tc.passes {
				t.Fatalf("b passed: %v, want %v", passed, tc.passes)
			}
		})
	}
}

// A chat member whose platform user id happens to start with "console:"
// is a member, not the console: their /undo is checked like anyone's,
// in the chat they typed it in (an admin of another chat gets "no case").
func TestConsoleLookalikeSenderIsAMember(t *testing.T) {
	t.Parallel()
	f := newModLogFixture(t, oneAttempt, policy.Config{})
	f.say("mod", "/kick @a")
	f.pl.roles["console:evil"] = moderation.RoleAdmin // of c2 (the fake's roles are every chat's)
	f.sayIn(moderation.ChatRef{Platform: "fake", ID: "c2"}, "console:evil", "/undo 1")
	if got := f.callsOf("add"); len(got) != 0 {
		t.Fatalf("an admin of another chat named console:… undid case 1 of c1: %v", f.pl.calls)
	}
	if r := f.pl.replies[len(f.pl.replies)-1]; !strings.Contains(r, "No case #1") {
		t.Fatalf("reply %q, want no case", r)
	}
}

// A press on a card in a chat that is neither the case's nor its mod-log
// (a forwarded card, a value naming another chat's case) acts on nothing
// and does not show that case there: the answer is "no case".
func TestPressFromAnotherChatShowsNoCase(t *testing.T) {
	t.Parallel()
	for _, verb := range []moderation.Verb{moderation.VerbUndo, moderation.VerbBan, moderation.VerbDismiss} {
		t.Run(string(verb), func(t *testing.T) {
			t.Parallel()
			f := newModLogFixture(t, oneAttempt, policy.Config{})
			f.say("mod", "/kick @a secret-reason")
			f.pl.calls = nil
			f.seq++
			other := moderation.ChatRef{Platform: "fake", ID: "c2"}
			deliver(t, f.p, moderation.Event{Kind: moderation.EventAction, Platform: "fake", DeliveryID: fmt.Sprint("press", f.seq),
				Action: &moderation.Action{Actor: "mod", Verb: verb, CaseID: 1, Card: &moderation.PostRef{Chat: other, MessageID: "fwd-1"}, At: f.now}})
			for _, c := range f.pl.calls {
				if !strings.HasPrefix(c, "post ") {
					t.Fatalf("calls %v, want only a post of the answer", f.pl.calls)
				}
			}
			for _, p := range append(f.pl.updates, f.pl.posts[1:]...) {
				if strings.Contains(p.Text, "secret-reason") || !strings.Contains(p.Text, "No case #1") {
					t.Fatalf("answer in another chat %q, want no case and nothing of it", p.Text)
				}
			}
		})
	}
}

// A member pressing a confirmation card's buttons past their command
// rate limit does not wipe the card: it keeps its Confirm and Cancel for
// the admins, and an admin's press still confirms.
func TestRateLimitedPressKeepsConfirmationCard(t *testing.T) {
	t.Parallel()
	pol := confirmPolicy
	pol.CommandsPerMinute = 2
	f := newFixture(t, Config{}, pol, "", confirmCaps)
	f.say("mod", "/kick @a @b @c @d")
	id := f.heldID(t)
	for range 5 {
		f.pressConfirm(t, "a", moderation.VerbConfirm, id)
	}
	if card := f.lastCard(t); len(card.Buttons) != 2 {
		t.Fatalf("card after a member's presses = %+v; want Confirm and Cancel kept", card)
	}
	for _, p := range f.pl.posts[1:] {
		t.Errorf("a member's presses posted %q", p.Text)
	}
	f.pressConfirm(t, "mod2", moderation.VerbConfirm, id)
	if got := f.actions("remove"); fmt.Sprint(got) != "[remove a,b,c,d reason=]" {
		t.Fatalf("removals after the admin's press = %v", got)
	}
}

// Presses of a mod-log card past the presser's rate limit post nothing:
// a member cannot make Gavel flood the chat by pressing.
func TestRateLimitedPressesPostNothing(t *testing.T) {
	t.Parallel()
	f := newModLogFixture(t, oneAttempt, policy.Config{CommandsPerMinute: 2})
	f.say("mod", "/kick @a")
	posts := len(f.pl.posts)
	for range 6 {
		f.press("b", moderation.VerbUndo, 1, "post-1")
	}
	if got := f.pl.posts[posts:]; len(got) != 0 {
		t.Fatalf("rate-limited presses posted %d messages: %+v", len(got), got)
	}
}

// Over the mod-log budget, reports go to the digest, which names no
// reporter where the mod-log chat is the report's own chat either.
func TestReportDigestInItsOwnChatHidesReporters(t *testing.T) {
	t.Parallel()
	f, _ := newDigestFixture(t, 1)
	f.p.modlog = ModLogConfig{Chats: map[string]string{"fake:c1": "c1"}, PerMinute: 1}
	f.p.cfg.Reports.Enabled = true
	for i := range 4 {
		f.say(fmt.Sprint("reporter", i), fmt.Sprintf("/report @x%d spam", i))
	}
	f.now = f.now.Add(3 * time.Minute)
	maintain(t, f.p)
	if len(f.pl.posts) < 2 {
		t.Fatalf("posts %d, want the first report and a digest", len(f.pl.posts))
	}
	for _, p := range f.pl.posts {
		if strings.Contains(p.Text, "reporter") || (p.Card != nil && strings.Contains(fmt.Sprint(p.Card.Fields), "reporter")) {
			t.Fatalf("a post in the reports' own chat names a reporter:\n%s", p.Text)
		}
	}
}
