package app_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"gavel/app/apptest"
	"gavel/config"
	"gavel/moderation"
	"gavel/platforms/easemob"
	"gavel/platforms/easemob/easemobtest"
	"gavel/policy"
	"gavel/store"
)

// Issue #19 on Easemob, end to end: the pre-send callback holds joiners
// until they answer; a timeout removes them once, also across a restart;
// reports mute once. Gavel and the fake share a clock the test advances.

type emVerify struct {
	t     *testing.T
	es    *easemobtest.Server
	h     *apptest.Harness
	clock *apptest.Clock
	dsn   string
}

const emVerifyChat = "g19"

func newEMVerify(t *testing.T, members ...string) *emVerify {
	t.Helper()
	es := easemobtest.NewServer()
	t.Cleanup(es.Close)
	v := &emVerify{t: t, es: es, clock: apptest.NewClock(time.Now()), dsn: filepath.Join(t.TempDir(), "gavel.db")}
	es.SetNow(v.clock.Now)
	es.AddChat(easemobtest.Chat{ID: emVerifyChat, Kind: easemobtest.KindGroup, Owner: "owner", Admins: []string{"mod"}, Members: members})
	v.start()
	return v
}

func (v *emVerify) start() {
	c := config.Config{
		Platforms: config.Platforms{Easemob: &easemob.Config{BaseURL: v.es.URL, OrgName: v.es.Org, AppName: v.es.App,
			ClientID: v.es.ClientID, ClientSecret: v.es.ClientSecret, CallbackSecret: v.es.CallbackSecret,
			PreSendSecret: v.es.PreSendSecret, BotUser: "gavel"}},
		Policy:  policy.Config{MaxTargets: 100},
		Storage: store.Config{Driver: store.DriverSQLite, DSN: v.dsn},
	}
	verifyTestConfig(&c, "easemob:"+emVerifyChat, time.Minute)
	v.h = apptest.New(v.t, c, apptest.WithNow(v.clock.Now))
}

func (v *emVerify) post(body []byte) {
	v.t.Helper()
	if status, resp := v.h.Do(v.t, easemobtest.Request("http://gavel/webhook/easemob", body)); status != http.StatusOK {
		v.t.Fatalf("callback answered %d: %s", status, resp)
	}
}

func (v *emVerify) join(users ...string) {
	v.t.Helper()
	for _, u := range users {
		if err := v.es.ClientJoin(emVerifyChat, u); err != nil {
			v.t.Fatal(err)
		}
		v.post(v.es.JoinBody(easemobtest.Join{ChatID: emVerifyChat, Kind: easemobtest.KindGroup, Users: []string{u}, Operator: u, At: v.clock.Now()}))
	}
	v.h.Wait()
}

// preSend reports whether Gavel lets from's text be delivered.
func (v *emVerify) preSend(from, text string) bool {
	v.t.Helper()
	status, body := v.h.Do(v.t, v.es.PreSendRequest("http://gavel/webhook/easemob/presend", easemobtest.PreSend{ChatID: emVerifyChat, From: from, Text: text}))
	if status != http.StatusOK {
		v.t.Fatalf("pre-send answered %d: %s", status, body)
	}
	v.h.Wait()
	return strings.Contains(string(body), `"valid":true`)
}

func (v *emVerify) challenges() []string {
	var out []string
	for _, m := range v.es.Messages() {
		if strings.Contains(m.Text, "Welcome") {
			out = append(out, m.Text)
		}
	}
	return out
}

// tick advances the shared clock and lets the maintenance loop (real
// seconds) run on it.
func (v *emVerify) tick(d time.Duration) {
	v.clock.Advance(d)
	settle(v.t, v.h)
}

func TestEasemobVerification(t *testing.T) {
	t.Parallel()
	v := newEMVerify(t, "alice")
	v.join("j1", "j2")
	if v.preSend("j1", "free followers") {
		t.Fatal("an unverified joiner's message was let through")
	}
	v.tick(time.Second)
	ch := v.challenges()
	if len(ch) != 1 || !namesAll(ch[0], []string{"j1", "j2"}) {
		t.Fatalf("challenges = %q, want one naming j1 and j2", ch)
	}
	if v.preSend("j1", sumAnswer(t, ch[0])) {
		t.Fatal("the answer was delivered")
	}
	if !v.preSend("j1", "hello") {
		t.Fatal("a verified joiner cannot speak")
	}
	if !v.preSend("alice", "hi") {
		t.Fatal("an old member is held")
	}
	v.tick(61 * time.Second)
	if v.es.IsMember(emVerifyChat, "j2") || !v.es.IsMember(emVerifyChat, "j1") {
		t.Fatalf("after the timeout: j2 member %v (want removed), j1 member %v (want kept)",
			v.es.IsMember(emVerifyChat, "j2"), v.es.IsMember(emVerifyChat, "j1"))
	}
	for _, m := range v.es.Messages() {
		if strings.Contains(m.Text, "free followers") {
			t.Errorf("a held message reached the chat: %q", m.Text)
		}
		// Nobody the challenge names is pending: Gavel recalls it, and
		// Easemob recalls REST-sent messages like any other.
		if !strings.Contains(m.Text, "Welcome") {
			continue
		}
		if !v.es.Recalled(m.MsgID) {
			t.Errorf("challenge %s not recalled once j1 passed and j2 was removed", m.MsgID)
		}
		for _, c := range v.es.CallsTo("recall") {
			if c.Body["msg_id"] == m.MsgID && c.Status != http.StatusOK {
				t.Errorf("a recall of challenge %s answered %d", m.MsgID, c.Status)
			}
		}
	}
}

func TestEasemobVerificationAcrossRestart(t *testing.T) {
	t.Parallel()
	v := newEMVerify(t, "alice")
	v.join("j3")
	v.tick(time.Second)
	if len(v.challenges()) != 1 {
		t.Fatalf("challenges = %q, want 1", v.challenges())
	}
	v.h.Close()
	v.clock.Advance(2 * time.Minute) // the deadline passes while Gavel is down
	v.start()
	settle(t, v.h)
	settle(t, v.h)
	if v.es.IsMember(emVerifyChat, "j3") {
		t.Fatal("j3 still a member after the restart past the deadline")
	}
	removals := 0
	for _, c := range v.es.Calls() {
		if c.Op == "kick" {
			removals++
		}
	}
	if removals != 1 {
		t.Errorf("%d removal calls, want 1", removals)
	}
}

func TestEasemobVerificationRaid(t *testing.T) {
	t.Parallel()
	v := newEMVerify(t, "alice")
	var raiders []string
	for i := range 30 {
		raiders = append(raiders, "raid"+strconv.Itoa(i))
	}
	v.join(raiders...)
	v.tick(time.Second)
	v.tick(time.Second)
	if n := len(v.challenges()); n == 0 || n > 4 || !namesAll(strings.Join(v.challenges(), " "), raiders) {
		t.Fatalf("%d challenge messages %q, want a handful naming all 30 raiders", n, v.challenges())
	}
	t.Logf("30 joiners, %d challenge messages", len(v.challenges()))
}

func TestEasemobReportsMuteOnce(t *testing.T) {
	t.Parallel()
	v := newEMVerify(t, "x", "r1", "r2", "r3")
	report := func(from string) {
		body, err := v.es.Send(easemobtest.Message{ChatID: emVerifyChat, Kind: easemobtest.KindGroup, From: from, Text: "/report @x spam", AtList: []string{"x"}})
		if err != nil {
			t.Fatal(err)
		}
		v.clock.Advance(10 * time.Millisecond)
		v.post(body)
		v.h.Wait()
	}
	for range 5 {
		report("r1")
	}
	report("r2")
	if _, muted := v.es.MuteExpiry(emVerifyChat, "x"); muted {
		t.Fatal("x muted after two distinct reporters")
	}
	report("r3")
	if _, muted := v.es.MuteExpiry(emVerifyChat, "x"); !muted {
		t.Fatal("x not muted after three distinct reporters")
	}
	cs, err := v.h.App.Store.Cases(context.Background(), moderation.CaseFilter{Platform: "easemob", ChatID: emVerifyChat})
	if err != nil {
		t.Fatal(err)
	}
	var reports, mutes int
	for _, c := range cs {
		switch {
		case c.Verb == moderation.VerbReport && c.Outcome == moderation.OutcomeDone:
			reports++
		case c.Verb == moderation.VerbMute && c.Rule == "reports":
			mutes++
		}
	}
	if reports != 3 || mutes != 1 {
		t.Errorf("%d report cases and %d mutes, want 3 (r1's five count once) and 1", reports, mutes)
	}
	for _, m := range v.es.Messages() {
		for _, name := range []string{"r1", "r2", "r3"} {
			if strings.Contains(m.Text, name) {
				t.Errorf("the chat was told %q, naming reporter %s", m.Text, name)
			}
		}
	}
}
