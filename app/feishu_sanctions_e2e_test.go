package app_test

// End-to-end tests of issue #16 on Feishu: bans (emulated by removal and
// removal again on rejoin), timed bans and locks that end once, also
// across a restart, purges from the chat's history and reply-targeted
// commands — signed, encrypted deliveries into the real app, the Feishu
// fake behind it.

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gavel/app/apptest"
	"gavel/config"
	"gavel/moderation"
	"gavel/platforms/feishu"
	"gavel/platforms/feishu/feishutest"
	"gavel/store"
)

const fsChat = "oc_sanctions"

// fsWorld is one Feishu fake with one chat and the Gavel in front of it.
type fsWorld struct {
	fs  *feishutest.Server
	dsn string
	h   *apptest.Harness
}

// newFSWorld seeds chat fsChat (owner ou_owner unless the bot owns it,
// manager ou_mod, members ou_spam, ou_alice) and starts Gavel on an
// SQLite file that restart reuses.
func newFSWorld(t *testing.T, chat feishutest.Chat) *fsWorld {
	t.Helper()
	fs := feishutest.NewServer()
	t.Cleanup(fs.Close)
	chat.ID = fsChat
	if !chat.BotIsOwner {
		chat.OwnerID = "ou_owner"
	}
	chat.Managers = []string{"ou_mod"}
	chat.Members = []string{"ou_spam", "ou_alice"}
	fs.AddChat(chat)
	w := &fsWorld{fs: fs, dsn: filepath.Join(t.TempDir(), "gavel.db")}
	w.restart(t)
	return w
}

// restart stops the running Gavel (if any) and starts a new one on the
// same store.
func (w *fsWorld) restart(t *testing.T) {
	t.Helper()
	if w.h != nil {
		w.h.Close()
	}
	w.h = apptest.New(t, config.Config{
		Platforms: config.Platforms{Feishu: &feishu.Config{BaseURL: w.fs.URL, AppID: w.fs.AppID, AppSecret: w.fs.AppSecret,
			VerificationToken: w.fs.VerificationToken, EncryptKey: w.fs.EncryptKey}},
		Storage: store.Config{Driver: store.DriverSQLite, DSN: w.dsn},
	})
}

// post delivers a Feishu event to Gavel, signed and encrypted, and waits
// until its job (if any) is done.
func (w *fsWorld) post(t *testing.T, event []byte) {
	t.Helper()
	req, err := feishutest.Request("http://gavel/webhook/feishu", w.fs.Delivery(event, time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if status, body := w.h.Do(t, req); status != http.StatusOK {
		t.Fatalf("webhook answered %d: %s", status, body)
	}
	w.h.Wait()
}

// say has from send text in the chat from the Feishu client (so it is in
// the chat's history) and delivers the event; mentioned are the users
// @_user_2, @_user_3 … of text (@_user_1 is the bot). It returns the
// message id.
func (w *fsWorld) say(t *testing.T, from, text string, mentioned ...string) string {
	t.Helper()
	return w.sayMsg(t, w.message(from, text, mentioned...))
}

func (w *fsWorld) message(from, text string, mentioned ...string) feishutest.TextMessage {
	ms := []feishutest.Mention{{Key: "@_user_1", OpenID: w.fs.BotOpenID, Name: "Gavel"}}
	for i, u := range mentioned {
		ms = append(ms, feishutest.Mention{Key: fmt.Sprintf("@_user_%d", i+2), OpenID: u, Name: strings.TrimPrefix(u, "ou_")})
	}
	return feishutest.TextMessage{ChatID: fsChat, SenderID: from, Text: text, Mentions: ms}
}

func (w *fsWorld) sayMsg(t *testing.T, m feishutest.TextMessage) string {
	t.Helper()
	id, event, err := w.fs.Send(m)
	if err != nil {
		t.Fatalf("%s cannot send %q: %v", m.SenderID, m.Text, err)
	}
	w.post(t, event)
	return id
}

// rejoin has users join the chat again (invited by ou_alice) and
// delivers Feishu's im.chat.member.user.added_v1.
func (w *fsWorld) rejoin(t *testing.T, users ...string) {
	t.Helper()
	event, err := w.fs.AddMembers(fsChat, "ou_alice", users...)
	if err != nil {
		t.Fatal(err)
	}
	w.post(t, event)
}

// replies returns the texts of the bot's messages in the chat.
func (w *fsWorld) replies() []string {
	var out []string
	for _, m := range w.fs.Replies() {
		out = append(out, m.Text())
	}
	return out
}

// lastReply is the bot's latest message, failing the test without one.
func (w *fsWorld) lastReply(t *testing.T) string {
	t.Helper()
	r := w.replies()
	if len(r) == 0 {
		t.Fatal("the bot said nothing")
	}
	return r[len(r)-1]
}

func (w *fsWorld) member(u string) bool { return slices.Contains(w.fs.Members(fsChat), u) }

// recalled returns the message ids of the DELETE /im/v1/messages calls
// that succeeded, in order.
func (w *fsWorld) recalled() []string {
	var out []string
	for _, c := range w.fs.CallsTo(feishutest.OpMessageDelete) {
		if c.Code == 0 {
			out = append(out, c.Path[strings.LastIndex(c.Path, "/")+1:])
		}
	}
	return out
}

// cases returns the chat's cases of rule (any rule when empty).
func (w *fsWorld) cases(t *testing.T, rule string) []moderation.Case {
	t.Helper()
	all, err := w.h.App.Store.Cases(context.Background(), moderation.CaseFilter{Platform: "feishu", ChatID: fsChat})
	if err != nil {
		t.Fatal(err)
	}
	var out []moderation.Case
	for _, c := range all {
		if rule == "" || c.Rule == rule {
			out = append(out, c)
		}
	}
	return out
}

// count returns how many of the bot's messages contain s.
func (w *fsWorld) count(s string) int {
	n := 0
	for _, r := range w.replies() {
		if strings.Contains(r, s) {
			n++
		}
	}
	return n
}

// eventually polls cond every 100 ms for up to d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// settle lets the maintenance loop tick a few more times (it runs every
// second), then waits for the jobs it made: what should happen once has
// had the chance to happen twice.
func (w *fsWorld) settle() {
	time.Sleep(2500 * time.Millisecond)
	w.h.Wait()
}

// expires checks that a sanction of length d imposed at since ends once:
// one notice containing notice, one expiry case of verb, not before d.
// With restart, Gavel is down at the expiry and a new one starts on the
// same store a second after it.
func (w *fsWorld) expires(t *testing.T, since time.Time, d time.Duration, restart bool, notice string, verb moderation.Verb) {
	t.Helper()
	if restart {
		w.h.Close()
		time.Sleep(time.Until(since.Add(d + time.Second)))
		w.restart(t)
	}
	eventually(t, 10*time.Second, "no notice "+notice, func() bool { return w.count(notice) > 0 })
	// since is taken after the reply: the record is a little older.
	if ended := time.Since(since); ended < d-500*time.Millisecond {
		t.Errorf("the %s %s ended after %s", d, verb, ended)
	} else {
		t.Logf("%s: ended %s after it began (length %s)", verb, ended.Round(10*time.Millisecond), d)
	}
	w.settle()
	if n := w.count(notice); n != 1 {
		t.Errorf("%d notices %q, want 1: %q", n, notice, w.replies())
	}
	if cs := w.cases(t, "expiry"); len(cs) != 1 || cs[0].Verb != verb || cs[0].Outcome != moderation.OutcomeDone {
		t.Errorf("expiry cases = %+v, want one done %s", cs, verb)
	}
	// The record is gone, not merely past: no timer is offered again.
	if left, err := w.h.App.Store.ExpiredSanctions(context.Background(), time.Now(), 10); err != nil || len(left) != 0 {
		t.Errorf("expired sanctions still stored: %+v, %v", left, err)
	}
}

// TestFeishuBanEmulatedThroughHTTP: /ban removes the user and says the
// ban is emulated; the user's rejoin is undone by a second removal and a
// case of rule "ban"; after /unban a rejoin stays.
func TestFeishuBanEmulatedThroughHTTP(t *testing.T) {
	t.Parallel()
	w := newFSWorld(t, feishutest.Chat{BotIsManager: true})

	w.say(t, "ou_mod", "@_user_1 /ban @_user_2 spam", "ou_spam")
	if got := w.fs.RemoveBatches(); fmt.Sprint(got) != "[[ou_spam]]" {
		t.Fatalf("removal calls after /ban = %v, want [[ou_spam]]", got)
	}
	if w.member("ou_spam") {
		t.Fatal("ou_spam still in the chat after /ban")
	}
	if r := w.lastReply(t); !strings.Contains(r, "Banned until unbanned") || !strings.Contains(r, "Feishu has no ban") {
		t.Errorf("reply to /ban = %q, want it to say the ban is emulated", r)
	}

	start := time.Now()
	w.rejoin(t, "ou_spam")
	took := time.Since(start)
	if got := w.fs.RemoveBatches(); fmt.Sprint(got) != "[[ou_spam] [ou_spam]]" {
		t.Fatalf("removal calls after the rejoin = %v, want a second [ou_spam]", got)
	}
	if w.member("ou_spam") {
		t.Fatal("the banned user rejoined and stayed")
	}
	if cs := w.cases(t, "ban"); len(cs) != 1 || cs[0].Verb != moderation.VerbKick || !slices.Equal(cs[0].Targets, []string{"ou_spam"}) || cs[0].Outcome != moderation.OutcomeDone {
		t.Errorf("ban-rule cases = %+v, want one done kick of ou_spam", cs)
	}
	t.Logf("rejoin undone %s after the event was delivered", took.Round(time.Millisecond))

	w.say(t, "ou_mod", "@_user_1 /unban @_user_2", "ou_spam")
	if r := w.lastReply(t); !strings.Contains(r, "Unbanned") {
		t.Errorf("reply to /unban = %q", r)
	}
	w.rejoin(t, "ou_spam")
	if n := len(w.fs.RemoveBatches()); n != 2 {
		t.Errorf("%d removal calls after /unban and a rejoin, want still 2", n)
	}
	if !w.member("ou_spam") {
		t.Error("the unbanned user was removed on rejoining")
	}
	if n := len(w.cases(t, "ban")); n != 1 {
		t.Errorf("%d ban-rule cases, want still 1", n)
	}
}

// TestFeishuTempBanEndsOnceThroughHTTP: /ban @u 4s ends at expiry once —
// one notice, one expiry case — and the user may then rejoin; also when
// Gavel was down at the expiry and a new Gavel starts on the same store.
func TestFeishuTempBanEndsOnceThroughHTTP(t *testing.T) {
	t.Parallel()
	for _, restart := range []bool{false, true} {
		t.Run(fmt.Sprintf("restart=%v", restart), func(t *testing.T) {
			t.Parallel()
			w := newFSWorld(t, feishutest.Chat{BotIsManager: true})
			w.say(t, "ou_mod", "@_user_1 /ban @_user_2 4s", "ou_spam")
			if r := w.lastReply(t); !strings.Contains(r, "Banned for 4s") {
				t.Fatalf("reply to /ban 4s = %q", r)
			}
			banned := time.Now()
			// Within the ban, a rejoin is undone.
			w.rejoin(t, "ou_spam")
			if w.member("ou_spam") || len(w.fs.RemoveBatches()) != 2 {
				t.Fatalf("rejoin within the ban: member=%v removals=%v", w.member("ou_spam"), w.fs.RemoveBatches())
			}
			w.expires(t, banned, 4*time.Second, restart, "The ban of ou_spam ended", moderation.VerbUnban)
			w.rejoin(t, "ou_spam")
			if !w.member("ou_spam") || len(w.fs.RemoveBatches()) != 2 {
				t.Errorf("rejoin after the ban ended: member=%v removals=%v", w.member("ou_spam"), w.fs.RemoveBatches())
			}
		})
	}
}

// TestFeishuLockThroughHTTP: /lock 3s by a bot that owns the chat (or
// created it and operates as its owner) sets only_owner (members
// silenced, the owner and managers not), then all_members at expiry,
// once — also across a restart. A manager bot's /lock is refused
// with Feishu's 232017 and the reply says the bot must own the chat.
func TestFeishuLockThroughHTTP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		chat     feishutest.Chat
		speakers []string // may speak while locked
		restart  bool
	}{
		{name: "owner bot", chat: feishutest.Chat{BotIsOwner: true}, speakers: []string{"ou_mod"}},
		{name: "owner bot, restart", chat: feishutest.Chat{BotIsOwner: true}, speakers: []string{"ou_mod"}, restart: true},
		// The bot created the chat, handed it to ou_owner and holds
		// im:chat:operate_as_owner (and manages it, to speak while locked).
		{name: "creator bot operating as owner", chat: feishutest.Chat{BotIsCreator: true, CreatorOperateAsOwner: true, BotIsManager: true},
			speakers: []string{"ou_owner", "ou_mod"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newFSWorld(t, tt.chat)
			w.say(t, "ou_mod", "@_user_1 /lock 3s raid")
			locked := time.Now()
			if r := w.lastReply(t); !strings.Contains(r, "Chat locked for 3s") {
				t.Fatalf("reply to /lock 3s = %q", r)
			}
			if c, _ := w.fs.Chat(fsChat); c.Moderation != "only_owner" {
				t.Fatalf("speech mode after /lock = %q, want only_owner", c.Moderation)
			}
			if _, _, err := w.fs.Send(w.message("ou_alice", "hello?")); err != feishutest.ErrMayNotSpeak {
				t.Errorf("a member sending while locked: %v, want ErrMayNotSpeak", err)
			}
			for _, u := range tt.speakers {
				if _, _, err := w.fs.Send(w.message(u, "calm down")); err != nil {
					t.Errorf("%s sending while locked: %v", u, err)
				}
			}
			w.expires(t, locked, 3*time.Second, tt.restart, "The lock ended", moderation.VerbUnlock)
			var settings []string
			for _, c := range w.fs.CallsTo(feishutest.OpModerationUpdate) {
				settings = append(settings, fmt.Sprint(c.Body["moderation_setting"]))
			}
			if fmt.Sprint(settings) != "[only_owner all_members]" {
				t.Errorf("speech-mode changes = %v, want [only_owner all_members]", settings)
			}
			if _, _, err := w.fs.Send(w.message("ou_alice", "hello again")); err != nil {
				t.Errorf("a member sending after the lock ended: %v", err)
			}
		})
	}
	t.Run("manager bot refused", func(t *testing.T) {
		t.Parallel()
		w := newFSWorld(t, feishutest.Chat{BotIsManager: true})
		w.say(t, "ou_mod", "@_user_1 /lock 10m")
		r := w.lastReply(t)
		if !strings.Contains(r, "Could not lock the chat: Gavel's bot must own this chat") || !strings.Contains(r, "being a chat manager is not enough.") || strings.Contains(r, "..") {
			t.Errorf("reply to /lock by a manager bot = %q, want a refusal saying the bot must own the chat", r)
		}
		if n := len(w.fs.CallsTo(feishutest.OpModerationUpdate)); n != 1 || w.fs.CallsTo(feishutest.OpModerationUpdate)[0].Code != 232017 {
			t.Errorf("speech-mode changes: %+v, want one answered 232017", w.fs.CallsTo(feishutest.OpModerationUpdate))
		}
		if c, _ := w.fs.Chat(fsChat); c.Moderation != "all_members" {
			t.Errorf("speech mode = %q, want all_members", c.Moderation)
		}
		if _, _, err := w.fs.Send(w.message("ou_alice", "still here")); err != nil {
			t.Errorf("a member sending after a refused lock: %v", err)
		}
		if cs := w.cases(t, ""); len(cs) != 1 || cs[0].Verb != moderation.VerbLock || len(cs[0].Results) != 1 || cs[0].Results[0].Reason != "feishu:232017" {
			t.Errorf("cases = %+v, want one lock case refused with feishu:232017", cs)
		}
	})
}

// TestFeishuPurgeThroughHTTP: /purge N recalls exactly the N messages
// before the command in the chat's history — not the command, not what
// was sent after it — one DELETE each; /purge @u N only u's; /ban -p @u
// removes u and recalls u's.
func TestFeishuPurgeThroughHTTP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text string
		mentioned  []string
		// want picks the messages to recall from the 40 before the
		// command (oldest first; even i by ou_spam, odd by ou_alice).
		want      func(ids []string) []string
		wantReply string
		wantGone  bool // ou_spam removed
	}{
		{name: "last 30", text: "@_user_1 /purge 30", want: func(ids []string) []string { return ids[10:] }, wantReply: "Recalled 30 message(s)."},
		{name: "one user's last 5", text: "@_user_1 /purge @_user_2 5", mentioned: []string{"ou_spam"},
			want: func(ids []string) []string { return everyOther(ids)[15:] }, wantReply: "Recalled"},
		{name: "ban -p", text: "@_user_1 /ban -p @_user_2", mentioned: []string{"ou_spam"},
			want: everyOther, wantReply: "Recalled 20 of their recent message(s).", wantGone: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newFSWorld(t, feishutest.Chat{BotIsManager: true})
			base := time.Now().Add(-time.Minute)
			at := func(i int) time.Time { return base.Add(time.Duration(i) * 100 * time.Millisecond) }
			var ids []string
			for i := range 40 {
				from := "ou_alice"
				if i%2 == 0 {
					from = "ou_spam"
				}
				m := w.message(from, fmt.Sprintf("message %d", i))
				m.CreateTime = at(i)
				ids = append(ids, w.sayMsg(t, m))
			}
			cmd := w.message("ou_mod", tt.text, tt.mentioned...)
			cmd.CreateTime = at(40)
			cmdID, cmdEvent, err := w.fs.Send(cmd)
			if err != nil {
				t.Fatal(err)
			}
			// Sent after the command, in the history before Gavel reads it.
			var later []string
			for i := range 5 {
				m := w.message("ou_spam", fmt.Sprintf("later %d", i))
				m.CreateTime = at(41 + i)
				id, _, err := w.fs.Send(m)
				if err != nil {
					t.Fatal(err)
				}
				later = append(later, id)
			}
			w.post(t, cmdEvent)

			want := tt.want(ids)
			got := w.recalled()
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("recalled %d messages %v, want %d %v", len(got), got, len(want), want)
			}
			if n := len(w.fs.CallsTo(feishutest.OpMessageDelete)); n != len(want) {
				t.Errorf("%d DELETE calls, want %d (one a message)", n, len(want))
			}
			for _, id := range append(later, cmdID) {
				if m, _ := w.fs.Message(id); m.Deleted {
					t.Errorf("message %s (the command or sent after it) was recalled", id)
				}
			}
			if r := w.lastReply(t); !strings.Contains(r, tt.wantReply) {
				t.Errorf("reply = %q, want it to contain %q", r, tt.wantReply)
			}
			if w.member("ou_spam") == tt.wantGone {
				t.Errorf("ou_spam member = %v, want %v", w.member("ou_spam"), !tt.wantGone)
			}
		})
	}
}

// everyOther returns ids[0], ids[2], … (ou_spam's messages).
func everyOther(ids []string) []string {
	var out []string
	for i := 0; i < len(ids); i += 2 {
		out = append(out, ids[i])
	}
	return out
}

// TestFeishuReplyTargetThroughHTTP: a /kick replying to a user's message
// (parent_id, no @user) removes that message's sender, learnt through GET
// message; replying to the bot's own message is refused, nobody removed.
func TestFeishuReplyTargetThroughHTTP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		parent    func(w *fsWorld, t *testing.T) string
		wantGets  int // GET message calls: the sender unknown to Gavel
		wantReply string
		wantGone  []string
	}{
		{name: "reply to a message Gavel saw", parent: func(w *fsWorld, t *testing.T) string { return w.say(t, "ou_spam", "buy now") },
			wantReply: "Removed 1: ou_spam", wantGone: []string{"ou_spam"}},
		// Sent before Gavel started (or its index forgot it): only
		// Feishu knows the sender.
		{name: "reply to a message Gavel did not see", parent: func(w *fsWorld, t *testing.T) string {
			id, _, err := w.fs.Send(w.message("ou_spam", "buy now"))
			if err != nil {
				t.Fatal(err)
			}
			return id
		}, wantGets: 1, wantReply: "Removed 1: ou_spam", wantGone: []string{"ou_spam"}},
		{name: "reply to the bot's message", parent: func(w *fsWorld, t *testing.T) string {
			w.say(t, "ou_mod", "@_user_1 /help")
			r := w.fs.Replies()
			if len(r) != 1 {
				t.Fatalf("bot messages after /help: %+v", r)
			}
			return r[0].ID
		}, wantGets: 1, wantReply: "You replied to a bot's message, and a bot cannot be a target"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newFSWorld(t, feishutest.Chat{BotIsManager: true})
			parent := tt.parent(w, t)
			before := len(w.fs.CallsTo(feishutest.OpMessageGet))
			cmd := w.message("ou_mod", "@_user_1 /kick")
			cmd.ParentID = parent
			w.sayMsg(t, cmd)
			if n := len(w.fs.CallsTo(feishutest.OpMessageGet)) - before; n != tt.wantGets {
				t.Errorf("%d GET message calls, want %d", n, tt.wantGets)
			}
			if r := w.lastReply(t); !strings.Contains(r, tt.wantReply) {
				t.Errorf("reply = %q, want it to contain %q", r, tt.wantReply)
			}
			var wantBatches [][]string
			if tt.wantGone != nil {
				wantBatches = [][]string{tt.wantGone}
			}
			if got := w.fs.RemoveBatches(); fmt.Sprint(got) != fmt.Sprint(wantBatches) {
				t.Errorf("removal calls = %v, want %v", got, wantBatches)
			}
			for _, u := range []string{"ou_spam", "ou_alice", "ou_mod"} {
				if w.member(u) == slices.Contains(tt.wantGone, u) {
					t.Errorf("%s member = %v", u, w.member(u))
				}
			}
		})
	}
}
