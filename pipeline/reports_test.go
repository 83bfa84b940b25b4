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

func reportsCfg(r ReportsConfig) Config {
	r.Enabled = true
	return Config{Reports: r}
}

// replyTo delivers text from `from` as a reply to message id of sender.
func (f *fixture) replyTo(from, text, id, sender string) {
	f.t.Helper()
	f.seq++
	deliver(f.t, f.p, moderation.Event{
		Kind: moderation.EventMessage, Platform: "fake", DeliveryID: fmt.Sprint("d", f.seq),
		Message: &moderation.Message{Chat: verifyChat, MessageID: fmt.Sprint("m", f.seq), SenderID: from, Text: text, SentAt: f.now,
			ReplyTo: &moderation.MessageRef{ID: id, SenderID: sender}},
	})
}

func (f *fixture) reportCases() []moderation.Case {
	f.t.Helper()
	cs, err := f.p.store.Cases(context.Background(), moderation.CaseFilter{})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []moderation.Case
	for _, c := range cs {
		if c.Verb == moderation.VerbReport && c.Outcome == moderation.OutcomeDone {
			out = append(out, c)
		}
	}
	return out
}

func TestReportThreshold(t *testing.T) {
	t.Parallel()
	f := newModLogFixture(t, reportsCfg(ReportsConfig{ActAt: 3}), policy.Config{}) // mod-log chat "ml"
	delete(f.pl.refuse, "x")
	f.replyTo("r1", "/report spam", "bad1", "x")
	for range 5 {
		f.replyTo("r2", "/report", "bad1", "x") // counts once
	}
	if got := len(f.reportCases()); got != 2 {
		t.Fatalf("%d report cases after r1 once and r2 five times, want 2", got)
	}
	for _, c := range f.pl.calls {
		if strings.HasPrefix(c, "mute") {
			t.Fatalf("acted at two reporters: %q", f.pl.calls)
		}
	}
	f.say("r3", "/report @x spam") // the third distinct reporter
	f.replyTo("r4", "/举报", "bad2", "x")
	var mutes []string
	for _, c := range f.pl.calls {
		if strings.HasPrefix(c, "mute") {
			mutes = append(mutes, c)
		}
	}
	if want := []string{"mute x d=1h0m0s"}; !slices.Equal(mutes, want) {
		t.Fatalf("mutes = %q, want %q (once)", mutes, want)
	}
	for _, r := range f.pl.replies {
		for _, name := range []string{"r1", "r2", "r3", "r4"} {
			if strings.Contains(r, name) {
				t.Errorf("chat reply %q names reporter %s", r, name)
			}
		}
	}
	// The mod-log got one post per report (r2's five once) and one of the
	// threshold's mute.
	if got := countPrefix(f.pl.calls, "post ml"); got != 5 {
		t.Errorf("%d mod-log posts, want 5 (r1, r2 once, r3, r4, the mute)", got)
	}
	if len(f.pl.posts) > 0 {
		if b := f.pl.posts[0].Card.Buttons; len(b) != 4 || b[3].Verb != moderation.VerbDismiss || b[0].Targets[0] != "x" {
			t.Errorf("report card buttons = %+v, want Mute, Kick, Ban, Dismiss on x", b)
		}
		if txt := f.pl.posts[0].Text; !strings.Contains(txt, "bad1") || !strings.Contains(txt, "r1") || !strings.Contains(txt, "/mute @x") {
			t.Errorf("the mod-log entry %q does not say which message, who reported it and the commands that act on it", txt)
		}
	}
}

func countPrefix(calls []string, prefix string) int {
	n := 0
	for _, c := range calls {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

func TestReportNeverActsOnAdmins(t *testing.T) {
	t.Parallel()
	f := newFixture(t, reportsCfg(ReportsConfig{ActAt: 2}), policy.Config{Protected: []string{"fake:p"}}, "en", native)
	for _, target := range []string{"mod", "p"} {
		f.say("r1", "/report @"+target)
		f.say("r2", "/report @"+target)
	}
	if got := countPrefix(f.pl.calls, "mute"); got != 0 {
		t.Fatalf("reports acted on an admin or a protected user: %q", f.pl.calls)
	}
}

func TestReportNewcomersAndRateLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t, reportsCfg(ReportsConfig{ActAt: 2, NewcomerAge: time.Hour, PerHour: 2}), policy.Config{}, "en", native)
	f.join("", "n1")
	f.say("n1", "/report @x")
	f.say("r1", "/report @x")
	if got := countPrefix(f.pl.calls, "mute"); got != 0 {
		t.Fatalf("a newcomer's report counted: %q", f.pl.calls)
	}
	f.say("r1", "/report @y")
	f.say("r1", "/report @z") // over per_hour
	if got := len(f.reportCases()); got != 3 {
		t.Errorf("%d report cases, want 3 (r1's third was over the reporter's limit)", got)
	}
	f.now = f.now.Add(2 * time.Hour) // n1 no longer a newcomer; the old reports out of the window
	f.say("n1", "/report @x spam")
	if got := countPrefix(f.pl.calls, "mute"); got != 0 {
		t.Fatalf("one reporter in the window acted: %q", f.pl.calls)
	}
	f.say("r2", "/report @x")
	if got := countPrefix(f.pl.calls, "mute x"); got != 1 {
		t.Fatalf("calls = %q, want x muted once n1 is no newcomer", f.pl.calls)
	}
}

func TestReportUsageAndOff(t *testing.T) {
	t.Parallel()
	f := newFixture(t, reportsCfg(ReportsConfig{}), policy.Config{}, "en", native)
	f.say("a", "/report")
	if got := f.lastReply(t); !strings.Contains(got, "/report [reason]") {
		t.Errorf("reply = %q, want the report usage", got)
	}
	off := newFixture(t, Config{}, policy.Config{}, "en", native)
	off.say("a", "/report @x")
	if len(off.reportCases()) != 0 {
		t.Error("a report was recorded with reports off")
	}
}

// TestReportAckSaysWhereItWent: the acknowledgement says the moderators
// were told only when the chat has a mod-log; without one the report is
// recorded (a case) and the reply says so, rather than claim a message
// that was never sent.
func TestReportAckSaysWhereItWent(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		f    *fixture
		want string
	}{
		{"mod-log", newModLogFixture(t, reportsCfg(ReportsConfig{}), policy.Config{}), "the moderators have been told"},
		{"no mod-log", newFixture(t, reportsCfg(ReportsConfig{}), policy.Config{}, "en", native), "recorded for the moderators"},
	} {
		tt.f.say("r1", "/report @x spam")
		if got := tt.f.lastReply(t); !strings.Contains(got, tt.want) || strings.Contains(got, "r1") {
			t.Errorf("%s: ack = %q, want it to contain %q and not name the reporter", tt.name, got, tt.want)
		}
	}
}
