package app_test

// End-to-end tests of the mod-log and /undo (issue #17) on the fakes:
// signed deliveries and card presses into the real app, the platform's
// fake behind it.

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gavel/app/apptest"
	"gavel/config"
	"gavel/pipeline"
	"gavel/platforms/easemob"
	"gavel/platforms/easemob/easemobtest"
	"gavel/platforms/feishu"
	"gavel/platforms/feishu/feishutest"
	"gavel/platforms/tim/timtest"
	"gavel/store"
)

const fsUndoLog = "oc_undolog"

// newFSUndo is newFSWorld with a mod-log chat (oc_undolog, the bot and
// ou_mod in it) for every Feishu chat.
func newFSUndo(t *testing.T) *fsWorld {
	t.Helper()
	fs := feishutest.NewServer()
	t.Cleanup(fs.Close)
	fs.AddChat(feishutest.Chat{ID: fsChat, OwnerID: "ou_owner", BotIsManager: true, Managers: []string{"ou_mod"}, Members: []string{"ou_spam", "ou_alice", "ou_bob"}})
	fs.AddChat(feishutest.Chat{ID: fsUndoLog, OwnerID: "ou_mod", Members: []string{"ou_alice"}})
	w := &fsWorld{fs: fs, dsn: filepath.Join(t.TempDir(), "gavel.db")}
	w.h = apptest.New(t, config.Config{
		Platforms: config.Platforms{Feishu: &feishu.Config{BaseURL: fs.URL, AppID: fs.AppID, AppSecret: fs.AppSecret,
			VerificationToken: fs.VerificationToken, EncryptKey: fs.EncryptKey}},
		Storage: store.Config{Driver: store.DriverSQLite, DSN: w.dsn},
		ModLog:  pipeline.ModLogConfig{Feishu: fsUndoLog},
	})
	return w
}

// cards are the bot's interactive messages in the mod-log chat.
func (w *fsWorld) cards() []feishutest.Message {
	var out []feishutest.Message
	for _, m := range w.fs.Replies() {
		if m.ChatID == fsUndoLog && m.MsgType == "interactive" {
			out = append(out, m)
		}
	}
	return out
}

// pressUndo presses button n of card id as operator.
func (w *fsWorld) pressUndo(t *testing.T, id, operator string, n int) {
	t.Helper()
	p, err := w.fs.PressButton(id, operator, n)
	if err != nil {
		t.Fatalf("press %d on %s: %v", n, id, err)
	}
	req, err := feishutest.Request("http://gavel/webhook/feishu", w.fs.PressDelivery(p, time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if status, body := w.h.Do(t, req); status != http.StatusOK {
		t.Fatalf("card callback answered %d: %s", status, body)
	}
	w.h.Wait()
}

// cardText is the card's JSON as text, for looking for words in it.
func (w *fsWorld) cardText(t *testing.T, id string) string {
	t.Helper()
	c, ok := w.fs.Card(id)
	if !ok {
		t.Fatalf("no card %s", id)
	}
	b, _ := json.Marshal(c)
	return string(b)
}

// On Feishu: a kick's card in the mod-log; a member's press of Undo is
// refused and the card says so; a manager's press adds back exactly the
// users the kick removed, and the card says who undid it; a second press
// does nothing.
func TestFeishuUndoFromTheModLogCard(t *testing.T) {
	t.Parallel()
	w := newFSUndo(t)
	// ou_ghost is no member: the kick does nothing to them.
	w.say(t, "ou_mod", "@_user_1 /kick @_user_2 @_user_3 @_user_4 spam", "ou_spam", "ou_bob", "ou_ghost")
	if got := w.fs.Members(fsChat); slices.Contains(got, "ou_spam") || slices.Contains(got, "ou_bob") {
		t.Fatalf("members after the kick: %v", got)
	}
	cards := w.cards()
	if len(cards) != 1 {
		t.Fatalf("mod-log cards %+v, want one", cards)
	}
	card := cards[0].ID
	if text := w.cardText(t, card); !strings.Contains(text, "Case #1") || !strings.Contains(text, "ou_spam") {
		t.Fatalf("card %s", text)
	}
	if n := len(w.fs.Buttons(card)); n != 3 {
		t.Fatalf("card has %d buttons, want Undo, Ban, Dismiss", n)
	}

	// ou_alice is in the mod-log chat but no admin of the case's chat.
	w.pressUndo(t, card, "ou_alice", 0)
	if batches := w.fs.AddBatches(); len(batches) != 0 {
		t.Fatalf("a member's press added %v", batches)
	}
	if text := w.cardText(t, card); !strings.Contains(text, "ou_alice pressed Undo: Refused") {
		t.Fatalf("card after the refused press: %s", text)
	}

	w.pressUndo(t, card, "ou_mod", 0)
	if got := w.fs.AddBatches(); len(got) != 1 || !slices.Equal(got[0], []string{"ou_spam", "ou_bob"}) {
		t.Fatalf("adds %v, want exactly ou_spam and ou_bob in one call", got)
	}
	if got := w.fs.Members(fsChat); !slices.Contains(got, "ou_spam") || !slices.Contains(got, "ou_bob") || slices.Contains(got, "ou_ghost") {
		t.Fatalf("members after the undo: %v", got)
	}
	text := w.cardText(t, card)
	if !strings.Contains(text, "Undone by ou_mod (case #3)") {
		t.Fatalf("card after the undo: %s", text)
	}
	if n := len(w.fs.Buttons(card)); n != 0 {
		t.Fatalf("an undone card keeps %d buttons", n)
	}
	// The undo is posted too, as a case of its own.
	if cs := w.cards(); len(cs) != 2 || !strings.Contains(w.cardText(t, cs[1].ID), "case #1") {
		t.Fatalf("mod-log after the undo: %d cards", len(cs))
	}

	// Undone already: typed, it says so and adds nobody.
	w.say(t, "ou_owner", "@_user_1 /undo 1")
	if got := w.fs.AddBatches(); len(got) != 1 {
		t.Fatalf("a second undo added again: %v", got)
	}
	replies := w.fs.Replies()
	if last := replies[len(replies)-1]; !strings.Contains(last.Content, "undone already (case #3)") {
		t.Fatalf("second undo's reply %q", last.Content)
	}
}

const timModLog = "@TGS#modlog"

// On TIM: the mod-log entry is text ending "/undo 1"; /undo typed in the
// mod-log group adds back exactly the members the kick removed (one
// add_group_member), the entry is edited to say who undid it, and a
// second /undo in the case's group does nothing.
func TestTIMUndoOfAKick(t *testing.T) {
	t.Parallel()
	e := newTIMSanc(t, timtest.Group{Members: []string{"spam", "bob", "alice"}}, func(c *config.Config) {
		c.ModLog = pipeline.ModLogConfig{TIM: timModLog}
	})
	e.ts.AddGroup(timtest.Group{ID: timModLog, Owner: "mod", Members: []string{"alice"}})
	e.command("/kick @spam @bob @owner raid", "spam", "bob", "owner") // the owner is refused by policy
	if got := e.ts.Members(sancGroup); slices.Contains(got, "spam") || slices.Contains(got, "bob") {
		t.Fatalf("members after the kick: %v", got)
	}
	var entry timtest.Reply
	for _, r := range e.ts.Replies() {
		if r.GroupID == timModLog {
			entry = r
		}
	}
	if !strings.Contains(entry.Text, "Case #1 · Kick") || !strings.HasSuffix(entry.Text, "/undo 1") {
		t.Fatalf("mod-log entry %q", entry.Text)
	}

	// alice, a member of the mod-log group only, may not undo.
	e.say(timtest.Message{GroupID: timModLog, From: "alice", Text: "/undo 1"})
	e.h.Wait()
	if n := len(e.ts.CallsTo("add_group_member")); n != 0 {
		t.Fatalf("a member's /undo added (%d calls)", n)
	}

	e.say(timtest.Message{GroupID: timModLog, From: "mod", Text: "/undo 1 wrong group"})
	e.h.Wait()
	adds := e.ts.CallsTo("add_group_member")
	if len(adds) != 1 {
		t.Fatalf("%d add_group_member calls, want 1", len(adds))
	}
	var added []string
	list, _ := adds[0].Body["MemberList"].([]any)
	for _, m := range list {
		if a, ok := m.(map[string]any)["Member_Account"].(string); ok {
			added = append(added, a)
		}
	}
	if !slices.Equal(added, []string{"spam", "bob"}) {
		t.Fatalf("added %v, want exactly spam and bob", added)
	}
	if got := e.ts.Members(sancGroup); !slices.Contains(got, "spam") || !slices.Contains(got, "bob") || !slices.Contains(got, "owner") {
		t.Fatalf("members after the undo: %v", got)
	}
	if text, edits, ok := e.ts.MessageText(timModLog, "", entry.MsgSeq); !ok || edits != 1 || !strings.Contains(text, "Undone by mod (case #") || strings.Contains(text, "/undo 1") {
		t.Fatalf("mod-log entry after the undo: %q (%d edits)", text, edits)
	}

	e.say(timtest.Message{From: "owner", Text: "/undo 1"})
	e.h.Wait()
	if n := len(e.ts.CallsTo("add_group_member")); n != 1 {
		t.Fatalf("a second undo added again (%d calls)", n)
	}
	if r := e.lastReply(); !strings.Contains(r, "undone already (case #") {
		t.Fatalf("second undo's reply %q", r)
	}
}

const emModLog = "ml17"

// On Easemob (a group and a chat room): the mod-log entry is text ending
// "/undo 1"; /undo adds back exactly the users the kick removed, in one
// call, and the entry is rewritten to say who undid it.
func TestEasemobUndoOfAKick(t *testing.T) {
	t.Parallel()
	for _, kind := range emKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			es := easemobtest.NewServer()
			t.Cleanup(es.Close)
			r := &emRun{t: t, es: es, dsn: filepath.Join(t.TempDir(), "gavel.db"), clock: apptest.NewClock(time.Now()), chat: "c17", kind: kind}
			es.SetNow(r.clock.Now)
			es.AddChat(easemobtest.Chat{ID: r.chat, Kind: kind, Owner: "owner", Admins: []string{"mod"}, Members: []string{"a", "b", "c"}})
			es.AddChat(easemobtest.Chat{ID: emModLog, Kind: easemobtest.KindGroup, Owner: "mod", Members: []string{"c"}})
			r.h = apptest.New(t, config.Config{
				Platforms: config.Platforms{Easemob: &easemob.Config{BaseURL: es.URL, OrgName: es.Org, AppName: es.App,
					ClientID: es.ClientID, ClientSecret: es.ClientSecret, CallbackSecret: es.CallbackSecret, BotUser: "gavel"}},
				Storage: r.storeConfig(),
				ModLog:  pipeline.ModLogConfig{Easemob: emModLog},
			}, apptest.WithNow(r.clock.Now))

			r.send("mod", "/kick @a @b @owner raid", []string{"a", "b", "owner"}, nil) // the owner is refused by policy
			r.h.Wait()
			if es.IsMember(r.chat, "a") || es.IsMember(r.chat, "b") || !es.IsMember(r.chat, "owner") {
				t.Fatalf("members after the kick: %s", es.Describe(r.chat))
			}
			var entry easemobtest.SentMessage
			for _, m := range es.Messages() {
				if slices.Contains(m.To, emModLog) {
					entry = m
				}
			}
			if !strings.Contains(entry.Text, "Case #1 · Kick") || !strings.HasSuffix(entry.Text, "/undo 1") {
				t.Fatalf("mod-log entry %+v", entry)
			}

			r.send("mod", "/undo 1", nil, nil)
			r.h.Wait()
			adds := es.CallsTo("add")
			if len(adds) != 1 || !slices.Equal(adds[0].Users, []string{"a", "b"}) {
				t.Fatalf("add calls %+v, want one adding exactly a and b", adds)
			}
			if !es.IsMember(r.chat, "a") || !es.IsMember(r.chat, "b") {
				t.Fatalf("members after the undo: %s", es.Describe(r.chat))
			}
			if text, edits, ok := es.MessageText(entry.MsgID); !ok || edits != 1 || !strings.Contains(text, "Undone by mod (case #2)") {
				t.Fatalf("mod-log entry after the undo: %q (%d edits, found %v)", text, edits, ok)
			}
			r.send("owner", "/undo 1", nil, nil)
			r.h.Wait()
			if n := len(es.CallsTo("add")); n != 1 {
				t.Fatalf("a second undo added again (%d calls)", n)
			}
		})
	}
}
