package easemob_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"gavel/app/apptest"
	"gavel/config"
	"gavel/platforms/easemob"
	"gavel/platforms/easemob/easemobtest"
)

const e2eRoom = "262246968131585"

type e2e struct {
	fake  *easemobtest.Server
	gavel *apptest.Harness
	clock *clock
}

func newE2E(t *testing.T) *e2e {
	t.Helper()
	fake := easemobtest.NewServer()
	t.Cleanup(fake.Close)
	clk := newClock()
	fake.SetNow(clk.Now)
	cfg := testConfig(fake)
	h := apptest.New(t, config.Config{Platforms: config.Platforms{Easemob: &cfg}}, apptest.WithNow(clk.Now))
	return &e2e{fake: fake, gavel: h, clock: clk}
}

// post sends a signed callback to /webhook/easemob and waits for Gavel to
// handle it.
func (e *e2e) post(t *testing.T, m easemobtest.Message) (int, string) {
	t.Helper()
	status, body := e.gavel.Do(t, e.fake.MessageRequest("http://gavel/webhook/easemob", m))
	e.gavel.Wait()
	return status, string(body)
}

func (e *e2e) opsExceptToken() []string {
	var ops []string
	for _, c := range e.fake.Calls() {
		if c.Op != "token" {
			ops = append(ops, c.Op)
		}
	}
	return ops
}

func TestE2EMuteThenUnmute(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.fake.AddChatRoom(e2eRoom, "owner1", []string{"adm"}, []string{"bob", "carol"})

	status, body := e.post(t, easemobtest.Message{ChatID: e2eRoom, Kind: easemobtest.KindChatRoom, From: "adm", Text: "/mute @bob 10m", AtList: []string{"bob"}})
	if status != http.StatusOK || body != "{}" {
		t.Fatalf("answer %d %s, want 200 {}", status, body)
	}
	mutes := e.fake.CallsTo("mute")
	if len(mutes) != 1 {
		t.Fatalf("%d mute calls; ops %v; logs:\n%s", len(mutes), e.opsExceptToken(), e.gavel.Logs())
	}
	m := mutes[0]
	if m.RawPath != "/"+e.fake.Org+"/"+e.fake.App+"/chatrooms/"+e2eRoom+"/mute" || m.Body["mute_duration"] != float64(600000) ||
		!slices.Equal(m.Users, []string{"bob"}) {
		t.Fatalf("mute call %s %v", m.RawPath, m.Body)
	}
	if _, muted := e.fake.MuteExpiry(e2eRoom, "bob"); !muted {
		t.Fatal("bob not muted on the fake")
	}
	msgs := e.fake.Messages()
	if len(msgs) != 1 || msgs[0].From != easemobtest.DefaultBotUser || msgs[0].To[0] != e2eRoom || msgs[0].Kind != easemobtest.KindChatRoom || msgs[0].Text == "" {
		t.Fatalf("replies %+v", msgs)
	}
	for _, c := range e.fake.CallsTo("send") {
		if c.RawPath != "/"+e.fake.Org+"/"+e.fake.App+"/messages/chatrooms" {
			t.Fatalf("reply sent to %s", c.RawPath)
		}
	}

	e.fake.Reset()
	e.clock.Advance(time.Second)
	e.post(t, easemobtest.Message{ChatID: e2eRoom, Kind: easemobtest.KindChatRoom, From: "owner1", Text: "/unmute @bob @carol", AtList: []string{"bob", "carol"}})
	un := e.fake.CallsTo("unmute")
	if len(un) != 1 {
		t.Fatalf("%d unmute calls; ops %v", len(un), e.opsExceptToken())
	}
	want := "/" + e.fake.Org + "/" + e.fake.App + "/chatrooms/" + e2eRoom + "/mute/bob%2Ccarol"
	if un[0].RawPath != want || un[0].Method != http.MethodDelete || un[0].Token == "" {
		t.Fatalf("unmute %s %s, want DELETE %s", un[0].Method, un[0].RawPath, want)
	}
	if _, muted := e.fake.MuteExpiry(e2eRoom, "bob"); muted {
		t.Fatal("bob still muted")
	}
	if len(e.fake.Messages()) != 1 {
		t.Fatalf("replies %+v", e.fake.Messages())
	}
}

func TestE2EGroupKickResolvesKind(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.fake.AddGroup(e2eRoom, "owner1", nil, []string{"spammer"})
	// No content_type: the adapter asks REST whether it is a room or a group.
	e.post(t, easemobtest.Message{ChatID: e2eRoom, From: "owner1", Text: "/kick @spammer", AtList: []string{"spammer"}})
	kicks := e.fake.CallsTo("kick")
	if len(kicks) != 1 || kicks[0].RawPath != "/"+e.fake.Org+"/"+e.fake.App+"/chatgroups/"+e2eRoom+"/users/spammer" {
		t.Fatalf("kicks %+v; ops %v; logs:\n%s", kicks, e.opsExceptToken(), e.gavel.Logs())
	}
	if e.fake.IsMember(e2eRoom, "spammer") {
		t.Fatal("spammer still in the group")
	}
	if msgs := e.fake.Messages(); len(msgs) != 1 || msgs[0].Kind != easemobtest.KindGroup {
		t.Fatalf("replies %+v", msgs)
	}
}

func TestE2EIgnoredAndRejected(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.fake.AddChatRoom(e2eRoom, "owner1", nil, []string{"bob"})
	cmd := easemobtest.Message{ChatID: e2eRoom, Kind: easemobtest.KindChatRoom, From: "owner1", Text: "/kick @bob", AtList: []string{"bob"}}

	offline := cmd
	offline.Offline, offline.OfflineTo = true, "bob"
	if st, _ := e.post(t, offline); st != http.StatusOK {
		t.Fatalf("offline copy answered %d", st)
	}
	own := cmd
	own.From = easemobtest.DefaultBotUser
	if st, _ := e.post(t, own); st != http.StatusOK {
		t.Fatalf("own message answered %d", st)
	}
	forged := e.fake.MessageBody(cmd)
	forged = []byte(strings.Replace(string(forged), `"security":"`, `"security":"0`, 1))
	if st, _ := e.gavel.Do(t, easemobtest.Request("http://gavel/webhook/easemob", forged)); st != http.StatusUnauthorized {
		t.Fatalf("forged answered %d, want 401", st)
	}
	stale := cmd
	stale.At = e.clock.Now().Add(-easemob.DefaultReplayWindow - time.Minute)
	if st, _ := e.post(t, stale); st != http.StatusOK {
		t.Fatalf("stale (correctly signed) answered %d, want 200", st)
	}
	staleForged := e.fake.MessageBody(stale)
	staleForged = []byte(strings.Replace(string(staleForged), `"security":"`, `"security":"0`, 1))
	if st, _ := e.gavel.Do(t, easemobtest.Request("http://gavel/webhook/easemob", staleForged)); st != http.StatusUnauthorized {
		t.Fatalf("stale forged answered %d, want 401", st)
	}
	if ops := e.opsExceptToken(); len(ops) != 0 {
		t.Fatalf("API calls %v for ignored/rejected deliveries", ops)
	}

	// A re-delivery of the same callback (same callId and msg_id) acts once.
	cmd.MsgID, cmd.CallID = "777", "gavel-org#gavel-app_777"
	e.post(t, cmd)
	e.post(t, cmd)
	if k := e.fake.CallsTo("kick"); len(k) != 1 {
		t.Fatalf("%d kick calls for a duplicated delivery, want 1", len(k))
	}
}
