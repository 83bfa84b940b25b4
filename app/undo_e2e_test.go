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
	"gavel/platforms/feishu"
	"gavel/platforms/feishu/feishutest"
	"gavel/store"
)

const fsModLog = "oc_modlog"

// newFSModLog is newFSWorld with a mod-log chat (oc_modlog, the bot and
// ou_mod in it) for every Feishu chat.
func newFSModLog(t *testing.T) *fsWorld {
	t.Helper()
	fs := feishutest.NewServer()
	t.Cleanup(fs.Close)
	fs.AddChat(feishutest.Chat{ID: fsChat, OwnerID: "ou_owner", BotIsManager: true, Managers: []string{"ou_mod"}, Members: []string{"ou_spam", "ou_alice", "ou_bob"}})
	fs.AddChat(feishutest.Chat{ID: fsModLog, OwnerID: "ou_mod", Members: []string{"ou_alice"}})
	w := &fsWorld{fs: fs, dsn: filepath.Join(t.TempDir(), "gavel.db")}
	w.h = apptest.New(t, config.Config{
		Platforms: config.Platforms{Feishu: &feishu.Config{BaseURL: fs.URL, AppID: fs.AppID, AppSecret: fs.AppSecret,
			VerificationToken: fs.VerificationToken, EncryptKey: fs.EncryptKey}},
		Storage: store.Config{Driver: store.DriverSQLite, DSN: w.dsn},
		ModLog:  pipeline.ModLogConfig{Feishu: fsModLog},
	})
	return w
}

// cards are the bot's interactive messages in the mod-log chat.
func (w *fsWorld) cards() []feishutest.Message {
	var out []feishutest.Message
	for _, m := range w.fs.Replies() {
		if m.ChatID == fsModLog && m.MsgType == "interactive" {
			out = append(out, m)
		}
	}
	return out
}

// press presses button n of card id as operator.
func (w *fsWorld) press(t *testing.T, id, operator string, n int) {
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
	w := newFSModLog(t)
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
	w.press(t, card, "ou_alice", 0)
	if batches := w.fs.AddBatches(); len(batches) != 0 {
		t.Fatalf("a member's press added %v", batches)
	}
	if text := w.cardText(t, card); !strings.Contains(text, "ou_alice pressed Undo: Refused") {
		t.Fatalf("card after the refused press: %s", text)
	}

	w.press(t, card, "ou_mod", 0)
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
