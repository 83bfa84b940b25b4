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
	fs := feishutest.NewServer()
	t.Cleanup(fs.Close)
	fs.AddChat(feishutest.Chat{ID: fsChat, BotIsOwner: true, Managers: []string{"ou_mod"},
		Members: []string{"ou_x", "ou_alice", "ou_r1", "ou_r2", "ou_r3"}})
	w := &fsWorld{fs: fs, dsn: filepath.Join(t.TempDir(), "gavel.db")}
	w.h = fsVerifyStart(t, w, timeout)
	return w
}

func fsVerifyStart(t *testing.T, w *fsWorld, timeout time.Duration) *apptest.Harness {
	t.Helper()
	c := config.Config{
		Platforms: config.Platforms{Feishu: &feishu.Config{BaseURL: w.fs.URL, AppID: w.fs.AppID, AppSecret: w.fs.AppSecret,
			VerificationToken: w.fs.VerificationToken, EncryptKey: w.fs.EncryptKey}},
		Storage: store.Config{Driver: store.DriverSQLite, DSN: w.dsn},
	}
	verifyTestConfig(&c, "feishu:"+fsChat, timeout)
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

// challenges are the challenge cards Gavel posted (their text: title,
// joiners, question).
func (w *fsWorld) challenges() []string {
	var out []string
	for _, r := range w.replies() {
		if strings.Contains(r, "please verify") {
			out = append(out, r)
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
