package pipeline

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"gavel/moderation"
	"gavel/policy"
)

var sanctionCaps = moderation.Capabilities{
	moderation.VerbKick: moderation.Native, moderation.VerbMute: moderation.Native, moderation.VerbUnmute: moderation.Native,
	moderation.VerbBan: moderation.Native, moderation.VerbUnban: moderation.Native, moderation.VerbLock: moderation.Native,
	moderation.VerbUnlock: moderation.Native, moderation.VerbPurge: moderation.Native,
}

// emulatedBan is sanctionCaps with the ban emulated (Feishu's).
var emulatedBan = func() moderation.Capabilities {
	c := maps.Clone(sanctionCaps)
	c[moderation.VerbBan] = moderation.Emulated
	return c
}()

var chat1 = moderation.ChatRef{Platform: "fake", ID: "c1"}

// TestSanctionCommands: ban, unban, lock, unlock and purge through the
// job path; the chat first holds the messages m1 (a), m2 (b), m3 (a).
func TestSanctionCommands(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		caps      moderation.Capabilities
		text      string
		wantCalls []string
		wantReply string
		sanction  moderation.Verb // a record that must exist afterwards
		user      string
		timed     bool
	}{
		{name: "timed ban", text: "/ban @a 1d spam", wantCalls: []string{"ban a d=24h0m0s"}, wantReply: "Banned for 1d 1: a. Reason: spam", sanction: moderation.VerbBan, user: "a", timed: true},
		{name: "ban until lifted", text: "/ban @a", wantCalls: []string{"ban a d=-1ns"}, wantReply: "Banned until unbanned 1: a", sanction: moderation.VerbBan, user: "a"},
		{name: "emulated ban says so", caps: emulatedBan, text: "/ban @a", wantCalls: []string{"ban a d=-1ns"},
			wantReply: "Banned until unbanned 1: a. fake has no ban: Gavel emulates it", sanction: moderation.VerbBan, user: "a"},
		{name: "ban and purge", text: "/ban -p @a", wantCalls: []string{"ban a d=-1ns", "recall m3,m1"}, wantReply: "Recalled 2 of their recent message(s)."},
		{name: "kick and purge", text: "/kick -p @b", wantCalls: []string{"remove b reason=", "recall m2"}, wantReply: "Recalled 1 of their recent message(s)."},
		{name: "unban", text: "/unban @a", wantCalls: []string{"unban a"}, wantReply: "Unbanned 1: a"},
		{name: "timed lock", text: "/lock 30m raid", wantCalls: []string{"lock "}, wantReply: "Chat locked for 30m: only the owner and admins may speak. Reason: raid", sanction: moderation.VerbLock, timed: true},
		{name: "lock until unlock", text: "/lock", wantCalls: []string{"lock "}, wantReply: "Chat locked until /unlock", sanction: moderation.VerbLock},
		{name: "unlock", text: "/unlock", wantCalls: []string{"unlock "}, wantReply: "Chat unlocked"},
		{name: "purge the last two", text: "/purge 2", wantCalls: []string{"recall m3,m2"}, wantReply: "Recalled 2 message(s)."},
		{name: "purge more than known", text: "/purge 10", wantCalls: []string{"recall m3,m2,m1"}, wantReply: "Only 3 of the 10 asked for were known"},
		{name: "purge one user", text: "/purge @a 5", wantCalls: []string{"recall m3,m1"}, wantReply: "Recalled the recent messages of 1: a"},
		{name: "purge over the maximum refused", text: "/purge 500", wantReply: "at most 200 messages (you asked for 500). Nothing was done."},
		{name: "lock with a target refused", text: "/lock @a", wantReply: "take no @user"},
		{name: "ban not supported here", caps: native, text: "/ban @a", wantReply: "/ban is not supported"},
		{name: "lock not supported here", caps: native, text: "/lock 1h", wantReply: "/lock is not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			caps := tt.caps
			if caps == nil {
				caps = sanctionCaps
			}
			f := newFixture(t, Config{}, policy.Config{}, "en", caps)
			f.say("a", "hello")
			f.say("b", "hi")
			f.say("a", "buy now")
			f.pl.calls = nil
			f.say("mod", tt.text)
			if !slices.Equal(f.pl.calls, tt.wantCalls) {
				t.Errorf("calls = %q, want %q", f.pl.calls, tt.wantCalls)
			}
			if got := f.lastReply(t); !strings.Contains(got, tt.wantReply) {
				t.Errorf("reply = %q, want it to contain %q", got, tt.wantReply)
			}
			if tt.sanction != "" {
				s, ok, err := f.p.store.ActiveSanction(context.Background(), tt.sanction, chat1, tt.user, f.now)
				if err != nil || !ok {
					t.Fatalf("no active %s record for %q: %v", tt.sanction, tt.user, err)
				}
				if s.Until.IsZero() == tt.timed {
					t.Errorf("record until %v, timed = %v", s.Until, tt.timed)
				}
			}
		})
	}
}

// TestReplyTargetsSender: a /kick replying to a message acts on its
// sender, learnt from the messages Gavel saw.
func TestReplyTargetsSender(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{}, policy.Config{}, "en", sanctionCaps)
	f.say("spammer", "spam")
	f.seq++
	deliver(t, f.p, moderation.Event{Kind: moderation.EventMessage, Platform: "fake", DeliveryID: "reply",
		Message: &moderation.Message{Chat: chat1, MessageID: "r1", SenderID: "mod", Text: "/kick", SentAt: f.now,
			ReplyTo: &moderation.MessageRef{ID: "m1"}}})
	if want := []string{"remove spammer reason="}; !slices.Equal(f.pl.calls, want) {
		t.Errorf("calls = %q, want %q", f.pl.calls, want)
	}
}

// TestBanLifecycle: a banned user who rejoins is removed again; the ban
// ends at its expiry through one timer job even when two replicas offer
// it; a second expiry pass does nothing.
func TestBanLifecycle(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{}, policy.Config{}, "en", sanctionCaps)
	ctx := context.Background()
	f.say("mod", "/ban @a 10m")
	f.pl.calls = nil
	deliver(t, f.p, moderation.Event{Kind: moderation.EventJoin, Platform: "fake", DeliveryID: "join1",
		Join: &moderation.Join{Chat: chat1, UserIDs: []string{"a", "b"}}})
	if want := []string{"remove a reason="}; !slices.Equal(f.pl.calls, want) {
		t.Fatalf("rejoin: calls = %q, want %q", f.pl.calls, want)
	}
	if f.p.sanctions.index.MayJoin(chat1, "a") || !f.p.sanctions.index.MayJoin(chat1, "b") {
		t.Error("join gate: a should be refused, b let in")
	}

	f.pl.calls = nil
	f.now = f.now.Add(11 * time.Minute)
	runner := f.p.NewJobs()
	for range 2 { // two replicas' maintenance passes
		if err := f.p.MaintainSanctions(ctx, runner.Submit); err != nil {
			t.Fatal(err)
		}
	}
	if err := runner.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if want := []string{"unban a"}; !slices.Equal(f.pl.calls, want) {
		t.Fatalf("expiry: calls = %q, want %q", f.pl.calls, want)
	}
	if got := f.lastReply(t); !strings.Contains(got, "The ban of a ended") {
		t.Errorf("notice = %q", got)
	}
	if err := f.p.MaintainSanctions(ctx, runner.Submit); err != nil {
		t.Fatal(err)
	}
	runner.Drain(ctx)
	if len(f.pl.calls) != 1 {
		t.Errorf("a second pass acted again: %q", f.pl.calls)
	}
	if !f.p.sanctions.index.MayJoin(chat1, "a") {
		t.Error("a still refused after the ban ended")
	}
}

// TestUnbanCancelsTimer: /unban before the expiry leaves the timer
// nothing to do.
func TestUnbanCancelsTimer(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{}, policy.Config{}, "en", sanctionCaps)
	ctx := context.Background()
	f.say("mod", "/ban @a 10m")
	f.say("mod", "/unban @a")
	f.pl.calls = nil
	f.now = f.now.Add(time.Hour)
	runner := f.p.NewJobs()
	if err := f.p.MaintainSanctions(ctx, runner.Submit); err != nil {
		t.Fatal(err)
	}
	runner.Drain(ctx)
	if len(f.pl.calls) != 0 {
		t.Errorf("calls after an unbanned ban's time = %q, want none", f.pl.calls)
	}
}

// TestScheduledLock: the chat is locked once at the lock time, whatever
// the number of maintenance passes, and unlocked once at the unlock time.
func TestScheduledLock(t *testing.T) {
	t.Parallel()
	// The fixture's clock: 2023-11-14 22:13:20 UTC.
	cfg := Config{ScheduledLocks: []ScheduledLock{{Chat: "fake:c1", Lock: "22:00", Unlock: "23:00"}}}
	f := newFixture(t, cfg, policy.Config{}, "en", sanctionCaps)
	ctx := context.Background()
	runner := f.p.NewJobs()
	pass := func() {
		t.Helper()
		if err := f.p.MaintainSanctions(ctx, runner.Submit); err != nil {
			t.Fatal(err)
		}
		if err := runner.Drain(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		pass()
		f.now = f.now.Add(time.Minute)
	}
	if want := []string{"lock "}; !slices.Equal(f.pl.calls, want) {
		t.Fatalf("calls = %q, want one lock", f.pl.calls)
	}
	if got := f.lastReply(t); !strings.Contains(got, "Scheduled lock") {
		t.Errorf("notice = %q", got)
	}
	f.now = time.Date(2023, 11, 14, 23, 0, 1, 0, time.UTC)
	pass()
	pass()
	if want := []string{"lock ", "unlock "}; !slices.Equal(f.pl.calls, want) {
		t.Errorf("calls = %q, want %q", f.pl.calls, want)
	}
}

// TestRaidLockOnce: two lock hits of one raid lock the chat once.
func TestRaidLockOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{}, policy.Config{}, "en", sanctionCaps)
	for i := range 2 {
		deliver(t, f.p, moderation.Event{Kind: moderation.EventJoin, Platform: "fake", DeliveryID: fmt.Sprint("raid", i),
			Join: &moderation.Join{Chat: chat1, UserIDs: []string{fmt.Sprint("j", i)}},
			Hits: []moderation.RuleHit{{Rule: "raid", Verb: moderation.VerbLock, Duration: 10 * time.Minute, Match: "30 joins in 10s"}}})
	}
	if want := []string{"lock "}; !slices.Equal(f.pl.calls, want) {
		t.Errorf("calls = %q, want one lock", f.pl.calls)
	}
	if got := f.lastReply(t); !strings.Contains(got, "Chat locked (10m) — rule raid") {
		t.Errorf("notice = %q", got)
	}
}

// TestPurgePastLaterMessages: /purge N reads the platform's history
// (newest first); messages sent after the command are in it before the
// job runs, and the purge still recalls the N messages before the
// command, not fewer.
func TestPurgePastLaterMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		n, later  int
		wantCalls []string
	}{
		{name: "none later", n: 3, later: 0, wantCalls: []string{"recall h5,h4,h3"}},
		{name: "two later", n: 3, later: 2, wantCalls: []string{"recall h5,h4,h3"}},
		{name: "more later than asked", n: 2, later: 7, wantCalls: []string{"recall h5,h4"}},
		{name: "fewer before than asked", n: 8, later: 4, wantCalls: []string{"recall h5,h4,h3,h2,h1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, Config{}, policy.Config{}, "en", sanctionCaps)
			// h1…h5 before the command (m1), then the later ones.
			at := func(i int) time.Time { return f.now.Add(time.Duration(i-10) * time.Second) }
			var hist []moderation.MessageRef
			for i := 1; i <= 5; i++ {
				hist = append(hist, moderation.MessageRef{ID: fmt.Sprint("h", i), SenderID: "a", SentAt: at(i)})
			}
			hist = append(hist, moderation.MessageRef{ID: "m1", SenderID: "mod", SentAt: f.now})
			for i := 1; i <= tt.later; i++ {
				hist = append(hist, moderation.MessageRef{ID: fmt.Sprint("l", i), SenderID: "a", SentAt: f.now.Add(time.Duration(i) * time.Second)})
			}
			slices.Reverse(hist)
			f.pl.history = hist
			f.say("mod", fmt.Sprint("/purge ", tt.n))
			if !slices.Equal(f.pl.calls, tt.wantCalls) {
				t.Errorf("calls = %q, want %q", f.pl.calls, tt.wantCalls)
			}
		})
	}
}

// TestLockRefusalText: a platform's refusal, a sentence of its own, is
// quoted without a doubled full stop.
func TestLockRefusalText(t *testing.T) {
	t.Parallel()
	res := moderation.Result{Status: moderation.StatusRefused, Reason: "feishu:232017", Detail: "Gavel's bot must own this chat."}
	for lang, want := range map[string]string{
		"en": "Could not lock the chat: Gavel's bot must own this chat.",
		"zh": "无法锁群：Gavel's bot must own this chat。",
	} {
		if got := textsFor(lang).lockDone(moderation.VerbLock, time.Minute, "", res); got != want {
			t.Errorf("%s: %q, want %q", lang, got, want)
		}
	}
}

// TestReplyToBotRefused: a /kick replying to a bot's message (the
// platform says so) acts on nobody and says why.
func TestReplyToBotRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{}, policy.Config{}, "en", sanctionCaps)
	f.pl.sender = func(string) (string, error) { return "", fmt.Errorf("%w: cli_x", moderation.ErrBotSender) }
	deliver(t, f.p, moderation.Event{Kind: moderation.EventMessage, Platform: "fake", DeliveryID: "reply",
		Message: &moderation.Message{Chat: chat1, MessageID: "r1", SenderID: "mod", Text: "/kick", SentAt: f.now,
			ReplyTo: &moderation.MessageRef{ID: "bm1"}}})
	if len(f.pl.calls) != 0 {
		t.Errorf("calls = %q, want none", f.pl.calls)
	}
	if got := f.lastReply(t); !strings.Contains(got, "You replied to a bot's message") {
		t.Errorf("reply = %q", got)
	}
}

// TestRulePurgeIncludesTheMatch: a rule's purge recalls the offender's
// latest messages, the one that matched included.
func TestRulePurgeIncludesTheMatch(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{}, policy.Config{}, "en", sanctionCaps)
	f.say("a", "hello")
	f.say("b", "hi")
	f.pl.calls = nil
	ev := moderation.Event{Kind: moderation.EventMessage, Platform: "fake", DeliveryID: "spam",
		Message: &moderation.Message{Chat: chat1, MessageID: "m3", SenderID: "a", Text: "buy now", SentAt: f.now},
		Hits:    []moderation.RuleHit{{Rule: "blocklist", Verb: moderation.VerbPurge, Users: []string{"a"}, MessageID: "m3", Match: `word "buy"`}}}
	deliver(t, f.p, ev)
	if want := []string{"recall m3,m1"}; !slices.Equal(f.pl.calls, want) {
		t.Errorf("calls = %q, want %q", f.pl.calls, want)
	}
}

// TestLockKeepsGavelAdminsSpeaking: policy.admins who are plain members
// of the chat are handed to the platform as speakers; those who are its
// admins already, or not in it, are not.
func TestLockKeepsGavelAdminsSpeaking(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Config{}, policy.Config{Admins: []string{"fake:boss", "fake:mod2", "tim:other"}}, "en", sanctionCaps)
	f.say("mod", "/lock 10m")
	if want := []string{"lock speakers=boss"}; !slices.Equal(f.pl.calls, want) {
		t.Errorf("calls = %q, want %q", f.pl.calls, want)
	}
}
