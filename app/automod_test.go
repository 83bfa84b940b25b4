package app_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gavel/app/apptest"
	"gavel/automod"
	"gavel/cluster"
	"gavel/config"
	"gavel/moderation"
	"gavel/platforms/easemob"
	"gavel/platforms/easemob/easemobtest"
	"gavel/platforms/feishu"
	"gavel/platforms/feishu/feishutest"
	"gavel/platforms/tim/timtest"
	"gavel/store"
)

func act(a string) automod.Action {
	x, err := automod.ParseAction(a)
	if err != nil {
		panic(err)
	}
	return x
}

func rules(mut func(*automod.Rules)) automod.Config {
	r := automod.Rules{
		Flood: &automod.FloodRule{Common: automod.Common{Enabled: true, Action: act("mute 10m")}, Messages: 5, Per: 10 * time.Second},
		Raid:  &automod.RaidRule{Common: automod.Common{Enabled: true, Action: act("kick")}, Joins: 10, Per: 10 * time.Second},
	}
	if mut != nil {
		mut(&r)
	}
	return automod.Config{Enabled: true, NoticesPerMinute: 6, Defaults: r,
		Warnings: automod.WarningsConfig{Ladder: []automod.Step{{Count: 3, Action: act("mute 1h")}}}}
}

type timEnv struct {
	t  *testing.T
	ts *timtest.Server
	h  *apptest.Harness
}

func newTIM(t *testing.T, am automod.Config) *timEnv {
	t.Helper()
	ts := timtest.NewServer()
	t.Cleanup(ts.Close)
	members := []string{"alice", "bob", "spammer"}
	ts.AddGroup(timtest.Group{ID: "@TGS#am", Owner: "owner", Admins: []string{"mod"}, Members: members})
	cfg := timConfig(ts, filepath.Join(t.TempDir(), "gavel.db"), 100)
	cfg.Automod = am
	return &timEnv{t: t, ts: ts, h: apptest.New(t, cfg)}
}

func (e *timEnv) say(from, text string) {
	e.t.Helper()
	post(e.t, e.h, e.ts.MessageDelivery(timToken, time.Now(), timtest.Message{GroupID: "@TGS#am", From: from, Text: text}))
}

func (e *timEnv) cases() []moderation.Case {
	e.t.Helper()
	cs, err := e.h.App.Store.Cases(context.Background(), moderation.CaseFilter{})
	if err != nil {
		e.t.Fatal(err)
	}
	return cs
}

func TestAutomodFloodMutes(t *testing.T) {
	t.Parallel()
	e := newTIM(t, rules(nil))
	for i := range 8 {
		e.say("spammer", fmt.Sprintf("buy now %d", i))
	}
	e.h.Wait()
	st := e.ts.Mute("@TGS#am", "spammer")
	if !st.Muted || time.Until(st.Until) < 9*time.Minute {
		t.Fatalf("spammer not muted for 10m: %+v", st)
	}
	if n := len(e.ts.CallsTo("forbid_send_msg")); n != 1 {
		t.Fatalf("forbid_send_msg called %d times, want 1 (one hit per window)", n)
	}
	cs := e.cases()
	if len(cs) != 1 || cs[0].Rule != automod.RuleFlood || !strings.Contains(cs[0].Reason, "messages") {
		t.Fatalf("cases = %+v", cs)
	}
	if r := e.ts.Replies(); len(r) != 1 || !strings.Contains(r[0].Text, "rule flood") {
		t.Fatalf("notice = %+v", r)
	}
}

func TestAutomodAdminFloodingIsLeftAlone(t *testing.T) {
	t.Parallel()
	e := newTIM(t, rules(nil))
	for i := range 8 {
		e.say("mod", fmt.Sprintf("announcement %d", i))
	}
	e.h.Wait()
	if n := len(e.ts.CallsTo("forbid_send_msg")); n != 0 {
		t.Fatalf("admin was muted (%d calls)", n)
	}
	if cs := e.cases(); len(cs) != 0 {
		t.Fatalf("cases for an exempt admin: %+v", cs)
	}
}

func TestAutomodDryRunRecordsOnly(t *testing.T) {
	t.Parallel()
	e := newTIM(t, rules(func(r *automod.Rules) {
		r.Blocklist = &automod.BlocklistRule{Common: automod.Common{Enabled: true, DryRun: true, Action: act("kick")}, Words: []string{"scam"}}
	}))
	e.say("spammer", "this is a scam, click")
	e.h.Wait()
	if n := len(e.ts.CallsTo("delete_group_member")); n != 0 {
		t.Fatalf("dry-run rule removed someone (%d calls)", n)
	}
	cs := e.cases()
	if len(cs) != 1 || !cs[0].DryRun || cs[0].Rule != automod.RuleBlocklist || cs[0].Results[0].Status != moderation.StatusSkipped {
		t.Fatalf("cases = %+v", cs)
	}
}

func TestAutomodRaidKicksTheBurst(t *testing.T) {
	t.Parallel()
	e := newTIM(t, rules(nil))
	var joiners []string
	for i := range 30 {
		u := fmt.Sprintf("bot%02d", i)
		joiners = append(joiners, u)
		post(t, e.h, e.ts.JoinDelivery(timToken, time.Now(), timtest.Join{GroupID: "@TGS#am", Members: []string{u}}))
	}
	e.h.Wait()
	removed := e.ts.Removals()
	for _, u := range joiners { // the 11th join makes it a raid: every joiner of the burst goes, once
		if removed[u] != 1 {
			t.Errorf("raider %s removed %d times", u, removed[u])
		}
	}
	for _, u := range []string{"alice", "bob"} {
		if removed[u] != 0 {
			t.Errorf("member %s removed", u)
		}
	}
	if th := e.ts.Throttled("delete_group_member"); th != 0 {
		t.Errorf("throttled %d times", th)
	}
	if rs := e.ts.Replies(); len(rs) > 6 {
		t.Errorf("%d notices in a minute; the limit is 6", len(rs))
	}
}

func TestAutomodWarningsLadder(t *testing.T) {
	t.Parallel()
	e := newTIM(t, rules(func(r *automod.Rules) {
		r.Flood = nil
		r.Blocklist = &automod.BlocklistRule{Common: automod.Common{Enabled: true, Action: act("warn")}, Words: []string{"badword"}}
	}))
	for i := range 3 {
		e.say("spammer", fmt.Sprintf("badword %d", i))
		e.h.Wait()
	}
	st := e.ts.Mute("@TGS#am", "spammer")
	if !st.Muted || time.Until(st.Until) < 59*time.Minute {
		t.Fatalf("third warning should mute for 1h: %+v", st)
	}
	e.say("mod", "/warnings @spammer")
	e.h.Wait()
	rs := e.ts.Replies()
	if last := rs[len(rs)-1].Text; !strings.Contains(last, "3 active warnings") {
		t.Fatalf("/warnings reply = %q", last)
	}
	e.say("mod", "/unwarn @spammer")
	e.say("mod", "/warn @alice be kind")
	e.h.Wait()
	rs = e.ts.Replies()
	if !strings.Contains(rs[len(rs)-2].Text, "Removed the latest warning of spammer") || !strings.Contains(rs[len(rs)-1].Text, "Warned alice (1 active warnings)") {
		t.Fatalf("replies = %q / %q", rs[len(rs)-2].Text, rs[len(rs)-1].Text)
	}
	e.say("alice", "/warn @bob")
	e.h.Wait()
	rs = e.ts.Replies()
	if !strings.Contains(rs[len(rs)-1].Text, "Refused") {
		t.Fatalf("member /warn reply = %q", rs[len(rs)-1].Text)
	}
	// /case explains the ladder's mute.
	var ladder int64
	for _, c := range e.cases() {
		if c.Rule == "warnings" {
			ladder = c.ID
		}
	}
	e.say("mod", fmt.Sprintf("/case %d", ladder))
	e.h.Wait()
	rs = e.ts.Replies()
	if last := rs[len(rs)-1].Text; !strings.Contains(last, "rule warnings matched 3 warnings") {
		t.Fatalf("/case reply = %q", last)
	}
}

func TestAutomodFloodOnFeishuAndEasemob(t *testing.T) {
	t.Parallel()
	fs, es := feishutest.NewServer(), easemobtest.NewServer()
	t.Cleanup(func() { fs.Close(); es.Close() })
	fs.AddChat(feishutest.Chat{ID: "oc_1", OwnerID: "ou_owner", Members: []string{"ou_spam"}, BotIsManager: true})
	es.AddChatRoom("room1", "host", nil, []string{"spam"})
	h := apptest.New(t, config.Config{
		Platforms: config.Platforms{
			Feishu: &feishu.Config{BaseURL: fs.URL, AppID: fs.AppID, AppSecret: fs.AppSecret, VerificationToken: fs.VerificationToken, EncryptKey: fs.EncryptKey},
			Easemob: &easemob.Config{BaseURL: es.URL, OrgName: es.Org, AppName: es.App, ClientID: es.ClientID,
				ClientSecret: es.ClientSecret, CallbackSecret: es.CallbackSecret, BotUser: "gavel"},
		},
		Automod: rules(nil),
		Storage: store.Config{DSN: filepath.Join(t.TempDir(), "gavel.db")},
	})
	for i := range 7 {
		m := fs.NewMessage("oc_1", "ou_spam", fmt.Sprintf("spam %d", i))
		req, err := fs.MessageRequest("http://gavel/webhook/feishu", m, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if status, body := h.Do(t, req); status != http.StatusOK {
			t.Fatalf("feishu %d: %s", status, body)
		}
		if status, body := h.Do(t, es.MessageRequest("http://gavel/webhook/easemob", easemobtest.Message{ChatID: "room1", Kind: easemobtest.KindChatRoom, From: "spam", Text: fmt.Sprintf("spam %d", i)})); status != http.StatusOK {
			t.Fatalf("easemob %d: %s", status, body)
		}
	}
	h.Wait()
	// Feishu mutes by recalling: the next message is gone.
	last := fs.NewMessage("oc_1", "ou_spam", "still spamming")
	req, err := fs.MessageRequest("http://gavel/webhook/feishu", last, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := h.Do(t, req); status != http.StatusOK {
		t.Fatal(status)
	}
	h.Wait()
	if m, _ := fs.Message(last.MessageID); !m.Deleted {
		t.Error("feishu: message after the flood mute was not recalled")
	}
	if exp, ok := es.MuteExpiry("room1", "spam"); !ok || time.Until(time.UnixMilli(exp)) < 9*time.Minute {
		t.Errorf("easemob: spam not muted for 10m (%v, %v)", exp, ok)
	}
}

// TestPreSendBlocking: blocklist hits are refused before delivery on TIM
// and Easemob without any API call, and each block is a case.
func TestPreSendBlocking(t *testing.T) {
	t.Parallel()
	ts, es := timtest.NewServer(), easemobtest.NewServer()
	t.Cleanup(func() { ts.Close(); es.Close() })
	ts.AddGroup(timtest.Group{ID: "@TGS#ps", Owner: "owner", Members: []string{"u"}})
	es.AddChatRoom("room1", "host", nil, []string{"u"})
	cfg := timConfig(ts, filepath.Join(t.TempDir(), "gavel.db"), 20)
	cfg.Platforms.Easemob = &easemob.Config{BaseURL: es.URL, OrgName: es.Org, AppName: es.App, ClientID: es.ClientID,
		ClientSecret: es.ClientSecret, CallbackSecret: es.CallbackSecret, PreSendSecret: es.PreSendSecret, BotUser: "gavel"}
	cfg.Automod = rules(func(r *automod.Rules) {
		r.Blocklist = &automod.BlocklistRule{Common: automod.Common{Enabled: true, Action: act("delete")}, Words: []string{"casino", "赌场"}}
	})
	h := apptest.New(t, cfg)

	tests := []struct {
		name     string
		req      func() *http.Request
		wantBody string
	}{
		{"tim blocked", func() *http.Request {
			req, err := ts.PreSendRequest("http://gavel/webhook/tim", timToken, time.Now(), timtest.PreSend{GroupID: "@TGS#ps", From: "u", Texts: []string{"best casino here"}})
			if err != nil {
				t.Fatal(err)
			}
			return req
		}, `"ErrorCode":1`},
		{"tim delivered", func() *http.Request {
			req, _ := ts.PreSendRequest("http://gavel/webhook/tim", timToken, time.Now(), timtest.PreSend{GroupID: "@TGS#ps", From: "u", Texts: []string{"hello"}})
			return req
		}, `"ErrorCode":0`},
		{"easemob blocked", func() *http.Request {
			return es.PreSendRequest("http://gavel/webhook/easemob/presend", easemobtest.PreSend{ChatID: "room1", ChatType: "chatroom", From: "u", Text: "来赌场玩"})
		}, `"valid":false`},
		{"easemob delivered", func() *http.Request {
			return es.PreSendRequest("http://gavel/webhook/easemob/presend", easemobtest.PreSend{ChatID: "room1", ChatType: "chatroom", From: "u", Text: "你好"})
		}, `"valid":true`},
	}
	// How fast the verdict comes is measured by the adapters'
	// BenchmarkPreSend and the rule engine's BenchmarkPreSend; the
	// answer never waits for the store (the audit record is written in
	// the background).
	for _, tt := range tests {
		status, body := h.Do(t, tt.req())
		if status != http.StatusOK || !strings.Contains(string(body), tt.wantBody) {
			t.Errorf("%s: %d %s, want %s", tt.name, status, body, tt.wantBody)
		}
	}
	h.Wait()
	cs, err := h.App.Store.Cases(context.Background(), moderation.CaseFilter{})
	if err != nil {
		t.Fatal(err)
	}
	blocks := 0
	for _, c := range cs {
		if c.Verb == moderation.VerbBlock && c.Rule == automod.RuleBlocklist {
			blocks++
		}
	}
	if blocks != 2 {
		t.Fatalf("%d block cases, want 2: %+v", blocks, cs)
	}
	if n := len(ts.Calls()) + len(es.CallsTo("recall")); n != 0 {
		t.Fatalf("pre-send path made %d API calls", n)
	}
}

// TestAutomodRaidOnFeishuAndEasemob: 30 joins within seconds on each
// platform → every joiner of the burst is removed once.
func TestAutomodRaidOnFeishuAndEasemob(t *testing.T) {
	t.Parallel()
	fs, es := feishutest.NewServer(), easemobtest.NewServer()
	t.Cleanup(func() { fs.Close(); es.Close() })
	var joiners []string
	for i := range 30 {
		joiners = append(joiners, fmt.Sprintf("ou_raid%02d", i))
	}
	fs.AddChat(feishutest.Chat{ID: "oc_r", OwnerID: "ou_owner", Members: append([]string{"ou_old"}, joiners...), BotIsManager: true})
	es.AddGroup("grp_r", "owner", nil, append([]string{"old"}, joiners...))
	h := apptest.New(t, config.Config{
		Platforms: config.Platforms{
			Feishu: &feishu.Config{BaseURL: fs.URL, AppID: fs.AppID, AppSecret: fs.AppSecret, VerificationToken: fs.VerificationToken, EncryptKey: fs.EncryptKey},
			Easemob: &easemob.Config{BaseURL: es.URL, OrgName: es.Org, AppName: es.App, ClientID: es.ClientID,
				ClientSecret: es.ClientSecret, CallbackSecret: es.CallbackSecret, BotUser: "gavel"},
		},
		Automod: rules(nil),
		Storage: store.Config{DSN: filepath.Join(t.TempDir(), "gavel.db")},
	})
	for i, u := range joiners {
		ev := feishutest.UserAddedEvent(fs.VerificationToken, fmt.Sprintf("ev_join_%d", i), "oc_r", "ou_inviter", u)
		req, err := feishutest.Request("http://gavel/webhook/feishu", fs.Delivery(ev, time.Now()))
		if err != nil {
			t.Fatal(err)
		}
		if status, body := h.Do(t, req); status != http.StatusOK {
			t.Fatalf("feishu join %d: %s", status, body)
		}
		if status, body := h.Do(t, easemobtest.Request("http://gavel/webhook/easemob", es.JoinBody(easemobtest.Join{ChatID: "grp_r", Kind: easemobtest.KindGroup, Users: []string{u}}))); status != http.StatusOK {
			t.Fatalf("easemob join %d: %s", status, body)
		}
	}
	h.Wait()
	removed := map[string]int{}
	for _, b := range fs.RemoveBatches() {
		for _, u := range b {
			removed["feishu:"+u]++
		}
	}
	for _, c := range es.CallsTo("kick") {
		if c.Status == http.StatusOK {
			for _, u := range c.Users {
				removed["easemob:"+u]++
			}
		}
	}
	for _, p := range []string{"feishu:", "easemob:"} {
		// The 11th join in the window makes it a raid: every joiner of
		// the burst is acted on, once.
		for _, u := range joiners {
			if removed[p+u] != 1 {
				t.Errorf("%s%s removed %d times, want 1", p, u, removed[p+u])
			}
		}
	}
	if removed["feishu:ou_old"]+removed["easemob:old"] != 0 {
		t.Error("a member who joined before the raid was removed")
	}
}

// TestAutomodFloodAcrossReplicas: a flood whose messages land on two
// Gavel replicas sharing Redis is one flood (one mute); without shared
// windows each replica would see half and act on nothing.
func TestAutomodFloodAcrossReplicas(t *testing.T) {
	addr := os.Getenv("GAVEL_TEST_REDIS")
	if addr == "" {
		t.Skip("GAVEL_TEST_REDIS not set: skipping the shared auto-moderation window test")
	}
	t.Parallel()
	ts := timtest.NewServer()
	t.Cleanup(ts.Close)
	ts.AddGroup(timtest.Group{ID: "@TGS#am", Owner: "owner", Admins: []string{"mod"}, Members: []string{"spammer"}})
	prefix := fmt.Sprintf("gaveltest:%s:%d:", t.Name(), time.Now().UnixNano())
	var hs []*apptest.Harness
	for range 2 {
		cfg := timConfig(ts, filepath.Join(t.TempDir(), "gavel.db"), 20)
		cfg.Automod = rules(nil) // flood: more than 5 in 10 s
		// A generous deadline: this test is about two replicas sharing the
		// flood window, not about a slow Redis (-race on a loaded machine
		// exceeds the production 50 ms).
		cfg.Redis = cluster.Config{Addr: addr, Prefix: prefix, Timeout: 2 * time.Second}
		hs = append(hs, apptest.New(t, cfg))
	}
	for i := range 8 {
		post(t, hs[i%2], ts.MessageDelivery(timToken, time.Now(), timtest.Message{GroupID: "@TGS#am", From: "spammer", Text: fmt.Sprint("spam ", i)}))
	}
	for _, h := range hs {
		h.Wait()
	}
	if n := len(ts.CallsTo("forbid_send_msg")); n != 1 {
		t.Fatalf("forbid_send_msg called %d times across two replicas, want 1", n)
	}
	if !ts.Mute("@TGS#am", "spammer").Muted {
		t.Fatal("spammer not muted")
	}
}
