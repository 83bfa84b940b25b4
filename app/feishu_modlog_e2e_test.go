package app_test

// Issue #17 on Feishu, end to end: a kick is posted to the mod-log chat as
// an interactive card; its Undo, pressed in the Feishu client, comes back
// as a signed card.action.trigger delivery; a non-admin's press is
// refused, an admin's re-adds exactly the removed users and updates the
// card, and a second press does nothing.

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"gavel/app/apptest"
	"gavel/config"
	"gavel/pipeline"
	"gavel/platforms/feishu"
	"gavel/platforms/feishu/feishutest"
	"gavel/store"
)

const fsModLog = "oc_modlog"

func newFSModLog(t *testing.T) *fsWorld {
	t.Helper()
	fs := feishutest.NewServer()
	t.Cleanup(fs.Close)
	fs.AddChat(feishutest.Chat{ID: fsChat, OwnerID: "ou_owner", Managers: []string{"ou_mod"},
		Members: []string{"ou_spam", "ou_bob", "ou_alice"}, BotIsManager: true})
	fs.AddChat(feishutest.Chat{ID: fsModLog, OwnerID: "ou_owner", Members: []string{"ou_mod", "ou_alice"}})
	w := &fsWorld{fs: fs, dsn: filepath.Join(t.TempDir(), "gavel.db")}
	w.h = apptest.New(t, config.Config{
		Platforms: config.Platforms{Feishu: &feishu.Config{BaseURL: fs.URL, AppID: fs.AppID, AppSecret: fs.AppSecret,
			VerificationToken: fs.VerificationToken, EncryptKey: fs.EncryptKey}},
		Storage: store.Config{Driver: store.DriverSQLite, DSN: w.dsn},
		ModLog:  pipeline.ModLogConfig{Feishu: fsModLog},
	})
	return w
}

// modLogCards are the bot's cards in the mod-log chat.
func (w *fsWorld) modLogCards() []feishutest.Message {
	var out []feishutest.Message
	for _, m := range w.fs.Replies() {
		if m.ChatID == fsModLog && m.MsgType == "interactive" {
			out = append(out, m)
		}
	}
	return out
}

// press has operator press button n of card msgID and delivers the
// callback.
func (w *fsWorld) press(t *testing.T, msgID, operator string, n int) {
	t.Helper()
	p, err := w.fs.PressButton(msgID, operator, n)
	if err != nil {
		t.Fatal(err)
	}
	w.post(t, feishutest.CardActionEvent(w.fs.VerificationToken, p))
}

func TestFeishuModLogUndoButton(t *testing.T) {
	t.Parallel()
	w := newFSModLog(t)
	w.say(t, "ou_mod", "@_user_1 /kick @_user_2 @_user_3 spam", "ou_spam", "ou_bob")
	if w.member("ou_spam") || w.member("ou_bob") {
		t.Fatal("kick did not remove the users")
	}
	eventually(t, 10*time.Second, "a mod-log card", func() bool { return len(w.modLogCards()) > 0 })
	card := w.modLogCards()[0]
	if !namesAll(card.Text(), []string{"ou_mod", "ou_spam", "ou_bob"}) {
		t.Fatalf("card %q does not name the actor and targets", card.Text())
	}
	if len(w.fs.Buttons(card.ID)) == 0 {
		t.Fatalf("card %q has no buttons", card.Text())
	}

	// Button 0 is Undo. A member who is not an admin presses it: refused.
	w.press(t, card.ID, "ou_alice", 0)
	if w.member("ou_spam") || len(w.fs.CallsTo(feishutest.OpMembersAdd)) != 0 {
		t.Fatal("a non-admin's Undo re-added users")
	}

	undo, err := w.fs.PressButton(card.ID, "ou_mod", 0)
	if err != nil {
		t.Fatal(err)
	}
	w.post(t, feishutest.CardActionEvent(w.fs.VerificationToken, undo))
	if !w.member("ou_spam") || !w.member("ou_bob") {
		t.Fatalf("undo did not re-add the users; members %v", w.fs.Members(fsChat))
	}
	batches := w.fs.AddBatches()
	if len(batches) != 1 || fmt.Sprint(sorted(batches[0])) != "[ou_bob ou_spam]" {
		t.Fatalf("add batches %v, want exactly the removed users once", batches)
	}
	eventually(t, 10*time.Second, "the card updated", func() bool {
		m, _ := w.fs.Message(card.ID)
		return m.Updated
	})

	// A second press (a client still showing the old card: a new event
	// with the same button value) changes nothing.
	undo.EventID = ""
	w.post(t, feishutest.CardActionEvent(w.fs.VerificationToken, undo))
	if n := len(w.fs.CallsTo(feishutest.OpMembersAdd)); n != 1 {
		t.Fatalf("%d add calls after a second Undo, want 1", n)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
