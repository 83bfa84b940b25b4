package app_test

import (
	"fmt"
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

// Issue #19 on Feishu, end to end: an unverified joiner's messages are
// recalled (Feishu has no pre-send hook) until they answer; a timeout
// removes them once, also across a restart; a raid gets a handful of
// challenges; three reporters mute (emulated) once.

// newFSVerify is newFSWorld (the bot owns the chat, so it may recall
// members' messages) with verification and reports on.
func newFSVerify(t *testing.T, timeout time.Duration) *fsWorld {
	t.Helper()
	return newFSVerifyMode(t, timeout, "text")
}

func newFSVerifyMode(t *testing.T, timeout time.Duration, mode string) *fsWorld {
	t.Helper()
	fs := feishutest.NewServer()
	t.Cleanup(fs.Close)
	fs.AddChat(feishutest.Chat{ID: fsChat, BotIsOwner: true, Managers: []string{"ou_mod"},
		Members: []string{"ou_x", "ou_alice", "ou_r1", "ou_r2", "ou_r3"}})
	w := &fsWorld{fs: fs, dsn: filepath.Join(t.TempDir(), "gavel.db")}
	w.h = fsVerifyStart(t, w, timeout, mode)
	return w
}

func fsVerifyStart(t *testing.T, w *fsWorld, timeout time.Duration, mode ...string) *apptest.Harness {
	t.Helper()
	c := config.Config{
		Platforms: config.Platforms{Feishu: &feishu.Config{BaseURL: w.fs.URL, AppID: w.fs.AppID, AppSecret: w.fs.AppSecret,
			VerificationToken: w.fs.VerificationToken, EncryptKey: w.fs.EncryptKey}},
		Storage: store.Config{Driver: store.DriverSQLite, DSN: w.dsn},
	}
	verifyTestConfig(&c, "feishu:"+fsChat, timeout)
	if len(mode) > 0 {
		v := c.Moderation.Verification["feishu:"+fsChat]
		v.Mode = mode[0]
		c.Moderation.Verification["feishu:"+fsChat] = v
	}
	return apptest.New(t, c)
}

// selfJoin has users join by themselves (a link) and delivers the event.
func (w *fsWorld) selfJoin(t *testing.T, users ...string) {
	t.Helper()
	for _, u := range users {
		event, err := w.fs.AddMembers(fsChat, u, u)
		if err != nil {
			t.Fatal(err)
		}
		w.post(t, event)
	}
}

// challenges returns Gavel's challenge messages in the chat (cards:
// their JSON), recalled ones included.
func (w *fsWorld) challenges() []string {
	var out []string
	for _, m := range w.fs.Replies() {
		text := m.Text()
		if m.MsgType == "interactive" {
			text = m.Content
		}
		if challengeSum.MatchString(text) {
			out = append(out, text)
		}
	}
	return out
}

func TestFeishuVerification(t *testing.T) {
	t.Parallel()
	w := newFSVerify(t, 4*time.Second)
	w.selfJoin(t, "ou_j1", "ou_j2")
	early := w.say(t, "ou_j1", "cheap followers here")
	eventually(t, 10*time.Second, "a challenge", func() bool { return len(w.challenges()) > 0 })
	ch := w.challenges()
	if len(ch) != 1 || !namesAll(ch[0], []string{"ou_j1", "ou_j2"}) {
		t.Fatalf("challenges = %q, want one naming both joiners", ch)
	}
	wrong := w.say(t, "ou_j1", "no idea")
	right := w.say(t, "ou_j1", sumAnswer(t, ch[0]))
	after := w.say(t, "ou_j1", "hello everyone")
	old := w.say(t, "ou_alice", "hi")
	got := w.recalled()
	for _, id := range []string{early, wrong, right} {
		if !slices.Contains(got, id) {
			t.Errorf("message %s of the unverified joiner not recalled (recalled %q)", id, got)
		}
	}
	for _, id := range []string{after, old} {
		if slices.Contains(got, id) {
			t.Errorf("message %s recalled, but its sender may speak", id)
		}
	}
	eventually(t, 15*time.Second, "ou_j2 removed at the timeout", func() bool { return !w.member("ou_j2") })
	settle(t, w.h)
	if !w.member("ou_j1") {
		t.Error("the joiner who answered was removed")
	}
	if n := len(w.fs.CallsTo(feishutest.OpMembersDelete)); n != 1 {
		t.Errorf("%d removal calls, want 1", n)
	}
	// Nobody the challenge names is pending: the card is recalled.
	for _, m := range w.fs.Replies() {
		if m.MsgType == "interactive" && challengeSum.MatchString(m.Content) && !m.Deleted {
			t.Errorf("challenge card %s not recalled once both joiners were done", m.ID)
		}
	}
}

func TestFeishuVerificationAcrossRestart(t *testing.T) {
	t.Parallel()
	w := newFSVerify(t, 2*time.Second)
	w.selfJoin(t, "ou_j3")
	eventually(t, 10*time.Second, "a challenge", func() bool { return len(w.challenges()) > 0 })
	w.h.Close()
	time.Sleep(3 * time.Second)
	if !w.member("ou_j3") {
		t.Fatal("removed while Gavel was down")
	}
	w.h = fsVerifyStart(t, w, 2*time.Second)
	eventually(t, 15*time.Second, "ou_j3 removed after the restart", func() bool { return !w.member("ou_j3") })
	settle(t, w.h)
	if n := len(w.fs.CallsTo(feishutest.OpMembersDelete)); n != 1 {
		t.Errorf("%d removal calls, want 1", n)
	}
}

func TestFeishuVerificationRaid(t *testing.T) {
	t.Parallel()
	w := newFSVerify(t, time.Minute)
	var raiders []string
	for i := range 30 {
		raiders = append(raiders, fmt.Sprintf("ou_raid%d", i))
	}
	w.selfJoin(t, raiders...)
	eventually(t, 15*time.Second, "every raider challenged", func() bool { return namesAll(strings.Join(w.challenges(), " "), raiders) })
	settle(t, w.h)
	if n := len(w.challenges()); n > 4 {
		t.Fatalf("%d challenge messages for a 30-joiner raid, want a handful", n)
	}
	t.Logf("30 joiners, %d challenge messages", len(w.challenges()))
}

func TestFeishuReportsMuteOnce(t *testing.T) {
	t.Parallel()
	w := newFSVerify(t, time.Minute)
	bad := w.say(t, "ou_x", "buy my course")
	report := func(from string) {
		w.sayMsg(t, feishutest.TextMessage{ChatID: fsChat, SenderID: from, Text: "/report spam", ParentID: bad})
	}
	for range 5 {
		report("ou_r1")
	}
	report("ou_r2")
	if n := len(w.cases(t, "reports")); n != 0 {
		t.Fatalf("acted after two distinct reporters: %d cases", n)
	}
	report("ou_r3")
	report("ou_alice")
	acted := w.cases(t, "reports")
	if len(acted) != 1 || acted[0].Verb != moderation.VerbMute {
		t.Fatalf("threshold cases = %+v, want one mute", acted)
	}
	later := w.say(t, "ou_x", "still here")
	if !slices.Contains(w.recalled(), later) {
		t.Error("the muted user's message was not recalled (the emulated mute)")
	}
	for _, r := range w.replies() {
		for _, name := range []string{"r1", "r2", "r3", "alice"} {
			if strings.Contains(r, name) {
				t.Errorf("the chat was told %q, naming reporter %s", r, name)
			}
		}
	}
}

// TestFeishuVerificationButton: mode button posts one card with a button
// per joiner; a press by anyone but that joiner does nothing, the
// joiner's own press lets them speak.
func TestFeishuVerificationButton(t *testing.T) {
	t.Parallel()
	w := newFSVerifyMode(t, time.Minute, "button")
	w.selfJoin(t, "ou_j1", "ou_j2")
	var card string
	eventually(t, 10*time.Second, "a challenge card", func() bool {
		for _, m := range w.fs.Replies() {
			if m.MsgType == "interactive" && len(w.fs.Buttons(m.ID)) == 2 {
				card = m.ID
				return true
			}
		}
		return false
	})
	press := func(operator string, n int) {
		t.Helper()
		p, err := w.fs.PressButton(card, operator, n)
		if err != nil {
			t.Fatal(err)
		}
		req, err := feishutest.Request("http://gavel/webhook/feishu", w.fs.PressDelivery(p, time.Now()))
		if err != nil {
			t.Fatal(err)
		}
		if status, body := w.h.Do(t, req); status != 200 {
			t.Fatalf("card callback answered %d: %s", status, body)
		}
		w.h.Wait()
	}
	press("ou_j2", 0) // ou_j1's button, pressed by ou_j2
	if id := w.say(t, "ou_j1", "still held?"); !slices.Contains(w.recalled(), id) {
		t.Fatal("ou_j1 verified by ou_j2's press of ou_j1's button")
	}
	press("ou_j1", 0)
	if id := w.say(t, "ou_j1", "hello"); slices.Contains(w.recalled(), id) {
		t.Fatal("ou_j1's own press did not verify them")
	}
	if id := w.say(t, "ou_j2", "me too"); !slices.Contains(w.recalled(), id) {
		t.Error("ou_j2 verified without pressing")
	}
}
