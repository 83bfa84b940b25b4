package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"gavel/commands"
	"gavel/moderation"
	"gavel/policy"
)

// all verbs natively supported: every case kind /undo reverses.
var allNative = moderation.Capabilities{
	moderation.VerbKick: moderation.Native, moderation.VerbMute: moderation.Native, moderation.VerbUnmute: moderation.Native,
	moderation.VerbBan: moderation.Native, moderation.VerbUnban: moderation.Native, moderation.VerbLock: moderation.Native,
	moderation.VerbUnlock: moderation.Native, moderation.VerbPurge: moderation.Native,
}

var (
	c1     = moderation.ChatRef{Platform: "fake", ID: "c1"}
	modlog = moderation.ChatRef{Platform: "fake", ID: "ml"}
)

// newModLogFixture is newFixture with chat c1's mod-log in chat "ml".
func newModLogFixture(t *testing.T, cfg Config, pol policy.Config) *fixture {
	t.Helper()
	f := &fixture{t: t, now: time.Unix(1_700_000_000, 0)}
	f.pl = &recorder{caps: allNative, roles: map[string]moderation.Role{
		"owner": moderation.RoleOwner, "mod": moderation.RoleAdmin, "mod2": moderation.RoleAdmin,
	}, refuse: map[string]bool{"x": true}}
	clock := func() time.Time { return f.now }
	eng, err := policy.New(pol, clock)
	if err != nil {
		t.Fatal(err)
	}
	f.p, err = New(cfg, Deps{Store: newTestStore(t), Platforms: []moderation.Platform{f.pl},
		Parser: commands.New(commands.Config{}), Policy: eng, ModLog: ModLogConfig{Chats: map[string]string{"fake:c1": "ml"}},
		Logger: slog.New(slog.DiscardHandler), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// sayIn delivers a message of from in chat.
func (f *fixture) sayIn(chat moderation.ChatRef, from, text string) {
	f.seq++
	deliver(f.t, f.p, moderation.Event{
		Kind: moderation.EventMessage, Platform: "fake", DeliveryID: fmt.Sprint("d", f.seq),
		Message: &moderation.Message{Chat: chat, MessageID: fmt.Sprint("m", f.seq), SenderID: from, Text: text, SentAt: f.now},
	})
}

// press delivers a press of a mod-log card's button.
func (f *fixture) press(actor string, verb moderation.Verb, caseID int64, card string) {
	f.seq++
	deliver(f.t, f.p, moderation.Event{Kind: moderation.EventAction, Platform: "fake", DeliveryID: fmt.Sprint("press", f.seq),
		Action: &moderation.Action{Actor: actor, Verb: verb, CaseID: caseID, Card: &moderation.PostRef{Chat: modlog, MessageID: card}, At: f.now}})
}

func (f *fixture) kase(id int64) moderation.Case {
	f.t.Helper()
	c, err := f.p.store.Case(context.Background(), id)
	if err != nil {
		f.t.Fatalf("case %d: %v", id, err)
	}
	return c
}

// callsOf are the recorded calls starting with verb+" ".
func (f *fixture) callsOf(verb string) []string {
	f.pl.mu.Lock()
	defer f.pl.mu.Unlock()
	var out []string
	for _, c := range f.pl.calls {
		if strings.HasPrefix(c, verb+" ") {
			out = append(out, c)
		}
	}
	return out
}

func TestUndoReversesEachVerb(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, cmd string
		wantCall  string // the reversing call; "" for none
		wantReply string
	}{
		{name: "kick adds back exactly the removed", cmd: "/kick @a @x @owner spam", wantCall: "add a", wantReply: "added back 1: a"},
		{name: "mute unmutes", cmd: "/mute @a @b 1h", wantCall: "unmute a,b", wantReply: "unmuted 2: a, b"},
		{name: "ban unbans", cmd: "/ban @a", wantCall: "unban a", wantReply: "unbanned 1: a"},
		{name: "lock unlocks", cmd: "/lock 1h", wantCall: "unlock ", wantReply: "the chat is unlocked"},
		{name: "warn removes that warning", cmd: "/warn @a rude", wantReply: "removed the warning of 1: a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newModLogFixture(t, oneAttempt, policy.Config{})
			ctx := context.Background()
			// An earlier warning of a's that the undo must leave alone.
			if _, err := f.p.store.AddWarning(ctx, moderation.Warning{Chat: c1, UserID: "a", Key: "earlier", At: f.now}, f.now.Add(-time.Hour)); err != nil {
				t.Fatal(err)
			}
			f.say("mod", tt.cmd)
			orig := f.kase(1)
			f.pl.calls = nil
			f.now = f.now.Add(time.Minute)
			f.say("mod2", "/undo 1 my mistake")
			reply := f.lastReply(t)
			if !strings.Contains(reply, "Undid case #1") || !strings.Contains(reply, tt.wantReply) || !strings.Contains(reply, "Case #2.") {
				t.Fatalf("reply %q, want it to say %q and name case #2", reply, tt.wantReply)
			}
			verb := strings.Fields(tt.wantCall + " x")[0]
			if got := f.callsOf(verb); tt.wantCall != "" && !slices.Equal(got, []string{tt.wantCall}) {
				t.Fatalf("calls %v, want exactly %q", f.pl.calls, tt.wantCall)
			}
			u := f.kase(2)
			if u.Verb != moderation.VerbUndo || u.Related != 1 || u.Actor != "mod2" || u.Reason != "my mistake" || u.Outcome != moderation.OutcomeDone {
				t.Fatalf("undo case %+v", u)
			}
			if orig.Verb == moderation.VerbWarn {
				ws, _ := f.p.store.Warnings(ctx, c1, "a", f.now.Add(-time.Hour))
				if len(ws) != 1 || ws[0].Key != "earlier" {
					t.Fatalf("warnings after the undo: %+v, want only the earlier one", ws)
				}
			}
			// Undoing twice does nothing the second time.
			f.pl.calls = nil
			f.say("mod", "/undo 1")
			if r := f.lastReply(t); !strings.Contains(r, "undone already (case #2)") {
				t.Fatalf("second undo replied %q", r)
			}
			for _, c := range f.pl.calls {
				if !strings.HasPrefix(c, "post ") {
					t.Fatalf("second undo called %v", f.pl.calls)
				}
			}
		})
	}
}

func TestUndoRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup []string // commands of "mod" in c1 first
		from  string
		chat  moderation.ChatRef
		text  string
		want  string
		// disable turns Gavel off in c1 after the setup.
		disable bool
	}{
		{name: "purge cannot be reversed", setup: []string{"/purge @a"}, from: "mod", chat: c1, text: "/undo 1", want: "cannot be reversed"},
		{name: "refused case", setup: []string{"/kick @owner"}, from: "mod", chat: c1, text: "/undo 1", want: "was not carried out"},
		{name: "platform-refused case", setup: []string{"/kick @x"}, from: "mod", chat: c1, text: "/undo 1", want: "was not carried out"},
		{name: "undo of an undo", setup: []string{"/kick @a", "/undo 1"}, from: "mod", chat: c1, text: "/undo 2", want: "is itself an undo"},
		{name: "unmute has no undo", setup: []string{"/unmute @a"}, from: "mod", chat: c1, text: "/undo 1", want: "cannot be undone with /undo"},
		{name: "missing case", from: "mod", chat: c1, text: "/undo 9", want: "No case #9"},
		{name: "another chat", setup: []string{"/kick @a"}, from: "mod", chat: moderation.ChatRef{Platform: "fake", ID: "c2"}, text: "/undo 1", want: "No case #1"},
		{name: "member", setup: []string{"/kick @a"}, from: "b", chat: c1, text: "/undo 1", want: "Refused: only the chat owner"},
		{name: "usage", from: "mod", chat: c1, text: "/undo", want: "Send /help"},
		{name: "from the mod-log chat of a disabled chat", setup: []string{"/kick @a"}, from: "mod", chat: modlog, text: "/undo 1", want: "Gavel is disabled in this chat", disable: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newModLogFixture(t, oneAttempt, policy.Config{})
			f.pl.history = []moderation.MessageRef{{ID: "h1", SenderID: "a", SentAt: f.now.Add(-time.Second)}}
			for _, s := range tt.setup {
				f.say("mod", s)
			}
			if tt.disable {
				eng, err := policy.New(policy.Config{Chats: map[string]policy.ChatConfig{"fake:c1": {Disabled: true}}}, func() time.Time { return f.now })
				if err != nil {
					t.Fatal(err)
				}
				f.p.policy = eng
			}
			f.pl.calls = nil
			f.sayIn(tt.chat, tt.from, tt.text)
			if r := f.lastReply(t); !strings.Contains(r, tt.want) {
				t.Fatalf("reply %q, want %q", r, tt.want)
			}
			for _, c := range f.pl.calls {
				if !strings.HasPrefix(c, "post ") && !strings.HasPrefix(c, "update ") {
					t.Fatalf("refused undo acted: %v", f.pl.calls)
				}
			}
		})
	}
}

// An undo typed in the mod-log chat acts in the case's chat.
func TestUndoFromTheModLogChat(t *testing.T) {
	t.Parallel()
	f := newModLogFixture(t, oneAttempt, policy.Config{Admins: []string{"fake:boss"}})
	f.say("mod", "/kick @a @b")
	f.pl.calls = nil
	f.sayIn(modlog, "boss", "/undo 1")
	if got := f.callsOf("add"); !slices.Equal(got, []string{"add a,b"}) {
		t.Fatalf("calls %v", f.pl.calls)
	}
	if u := f.kase(2); u.ChatID != "c1" || u.Related != 1 {
		t.Fatalf("undo case %+v: want it in c1, following case 1", u)
	}
	// The case's card shows the undo.
	if n := len(f.pl.updates); n != 1 || !strings.Contains(f.pl.updates[0].Card.Note, "Undone by boss (case #2)") || len(f.pl.updates[0].Card.Buttons) != 0 {
		t.Fatalf("card updates %+v", f.pl.updates)
	}
}

// Undo's policy is the policy at undo time: a target protected since is
// not re-added.
func TestUndoPolicyAtUndoTime(t *testing.T) {
	t.Parallel()
	f := newModLogFixture(t, oneAttempt, policy.Config{})
	f.say("mod", "/mute @a @b")
	f.pl.roles["b"] = moderation.RoleAdmin // b became an admin since
	f.p.roleCache.ForgetChat(context.Background(), c1)
	f.pl.calls = nil
	f.say("mod", "/undo 1")
	if got := f.callsOf("unmute"); !slices.Equal(got, []string{"unmute a"}) {
		t.Fatalf("calls %v, want only a unmuted", f.pl.calls)
	}
	if r := f.lastReply(t); !strings.Contains(r, "Not done 1: b (a manager cannot act on another manager)") {
		t.Fatalf("reply %q", r)
	}
}
