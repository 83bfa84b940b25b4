package app_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"gavel/app/apptest"
	"gavel/config"
	"gavel/platforms/easemob"
	"gavel/platforms/easemob/easemobtest"
	"gavel/platforms/feishu"
	"gavel/platforms/feishu/feishutest"
	"gavel/platforms/tim"
	"gavel/platforms/tim/timtest"
)

// fullRun drives all three platforms through Gavel, including credential
// renewals and a forged delivery, and returns the fakes.
type fullRun struct {
	h  *apptest.Harness
	fs *feishutest.Server
	ts *timtest.Server
	es *easemobtest.Server
}

func runAllPlatforms(t *testing.T) fullRun {
	t.Helper()
	fs, ts, es := feishutest.NewServer(), timtest.NewServer(), easemobtest.NewServer()
	t.Cleanup(func() { fs.Close(); ts.Close(); es.Close() })
	fs.AddChat(feishutest.Chat{ID: "oc_1", OwnerID: "ou_owner", Managers: []string{"ou_mod"}, Members: []string{"ou_spam"}, BotIsManager: true})
	ts.AddGroup(timtest.Group{ID: "@TGS#1", Owner: "owner", Admins: []string{"mod"}, Members: []string{"spam"}})
	es.AddChatRoom("room1", "host", []string{"mod"}, []string{"u1"})

	cfg := config.Config{Platforms: config.Platforms{
		Feishu: &feishu.Config{BaseURL: fs.URL, AppID: fs.AppID, AppSecret: fs.AppSecret, VerificationToken: fs.VerificationToken, EncryptKey: fs.EncryptKey},
		TIM: &tim.Config{BaseURL: ts.URL, SDKAppID: ts.SDKAppID, SecretKey: ts.SecretKey,
			AdminIdentifier: timtest.DefaultAdmin, CallbackToken: timToken},
		Easemob: &easemob.Config{BaseURL: es.URL, OrgName: es.Org, AppName: es.App, ClientID: es.ClientID,
			ClientSecret: es.ClientSecret, CallbackSecret: es.CallbackSecret, BotUser: "gavel"},
	}}
	h := apptest.New(t, cfg)
	ok := func(status int, body []byte) {
		t.Helper()
		if status != http.StatusOK {
			t.Fatalf("webhook answered %d: %s", status, body)
		}
	}

	// Feishu: a kick, with the tenant token revoked first so it is renewed.
	fs.RevokeTokens()
	bot := feishutest.Mention{Key: "@_user_1", OpenID: fs.BotOpenID, Name: "Gavel"}
	m := fs.NewMessage("oc_1", "ou_mod", "@_user_1 /kick @_user_2", bot, feishutest.Mention{Key: "@_user_2", OpenID: "ou_spam", Name: "spam"})
	req, err := fs.MessageRequest("http://gavel/webhook/feishu", m, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ok(h.Do(t, req))
	// A forged Feishu delivery.
	req, _ = fs.MessageRequest("http://gavel/webhook/feishu", fs.NewMessage("oc_1", "ou_mod", "@_user_1 /kick @_user_2", bot), time.Now())
	req.Header.Set("X-Lark-Signature", strings.Repeat("a", 64))
	if status, _ := h.Do(t, req); status != http.StatusUnauthorized {
		t.Fatalf("forged delivery answered %d", status)
	}

	// TIM: a kick whose first call meets an expired UserSig.
	ts.ExpireNextUserSig(1)
	req, err = timtest.CallbackRequest("http://gavel/webhook/tim", ts.MessageDelivery(timToken, time.Now(),
		timtest.Message{GroupID: "@TGS#1", From: "mod", Text: "/kick @spam"}))
	if err != nil {
		t.Fatal(err)
	}
	ok(h.Do(t, req))

	// Easemob: an unmute, then another after every token expired.
	es.Mute("room1", "u1", time.Now().Add(time.Hour).UnixMilli())
	ok(h.Do(t, es.MessageRequest("http://gavel/webhook/easemob", easemobtest.Message{ChatID: "room1", Kind: easemobtest.KindChatRoom, From: "mod", Text: "/unmute @u1", AtList: []string{"u1"}})))
	h.Wait()
	es.ExpireTokens()
	ok(h.Do(t, es.MessageRequest("http://gavel/webhook/easemob", easemobtest.Message{ChatID: "room1", Kind: easemobtest.KindChatRoom, From: "mod", Text: "/mute @u1 10m", AtList: []string{"u1"}})))
	h.Wait()
	return fullRun{h: h, fs: fs, ts: ts, es: es}
}

// TestLogsNeverContainSecrets captures Gavel's debug-level logs of a full
// run on every platform and looks for every secret it was configured with
// or was issued: app secrets, tokens, keys, UserSigs, bearer tokens.
func TestLogsNeverContainSecrets(t *testing.T) {
	t.Parallel()
	r := runAllPlatforms(t)
	secrets := map[string]string{
		"feishu app_secret": r.fs.AppSecret, "feishu verification_token": r.fs.VerificationToken, "feishu encrypt_key": r.fs.EncryptKey,
		"tim secret_key": r.ts.SecretKey, "tim callback_token": timToken,
		"easemob client_secret": r.es.ClientSecret, "easemob callback_secret": r.es.CallbackSecret,
	}
	for i, c := range r.ts.Calls() {
		if sig := c.Query.Get("usersig"); sig != "" {
			secrets["tim usersig #"+string(rune('0'+i%10))] = sig
		}
	}
	for _, c := range r.es.Calls() {
		if c.Token != "" {
			secrets["easemob token "+c.Token[:4]] = c.Token
		}
	}
	for _, c := range r.fs.Calls() {
		if c.Token != "" {
			secrets["feishu tenant token "+c.Token[:4]] = c.Token
		}
	}
	logs := r.h.Logs()
	if len(logs) < 1000 {
		t.Fatalf("captured only %d bytes of logs; the run did not happen", len(logs))
	}
	for name, s := range secrets {
		if s == "" {
			t.Errorf("%s is empty: the test would prove nothing", name)
			continue
		}
		if strings.Contains(logs, s) {
			t.Errorf("logs contain the %s", name)
		}
	}
	t.Logf("checked %d secrets against %d bytes of debug logs", len(secrets), len(logs))
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	r := runAllPlatforms(t)
	resp, err := http.Get(r.h.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	body := string(b)
	for _, want := range []string{
		`gavel_webhooks_total{platform="feishu",result="accepted"} 1`,
		`gavel_webhooks_total{platform="feishu",result="rejected_bad_signature"} 1`,
		`gavel_webhooks_total{platform="easemob",result="accepted"} 2`,
		`gavel_decisions_total{action="kick",outcome="done",platform="tim",reason=""} 1`,
		`gavel_actions_total{action="unmute",platform="easemob",reason="",status="done"} 1`,
		`gavel_platform_api_duration_seconds_count{api="delete_group_member",platform="tim"}`,
		`gavel_platform_api_errors_total{api="get_role_in_group",code="70001",kind="auth_expired",platform="tim"} 1`,
		`gavel_rate_limiter_wait_seconds_count{api="app",platform="easemob"}`,
		`gavel_queue_jobs 0`,
		`gavel_queue_oldest_job_age_seconds 0`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", body)
	}
	// Credentials were renewed successfully, the store answers: ready.
	resp, err = http.Get(r.h.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz = %d", resp.StatusCode)
	}
}
