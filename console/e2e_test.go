package console_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"gavel/app/apptest"
	"gavel/config"
	"gavel/console"
	"gavel/moderation"
	"gavel/platforms/tim"
	"gavel/platforms/tim/timtest"
	"gavel/store"
)

// TestBrowserLiftThroughPipeline: a mute imposed by a chat command is
// lifted from the console in a real browser; the job runs through the
// pipeline, the TIM fake sees the unmute and the console lists the new
// case by console:ann.
func TestBrowserLiftThroughPipeline(t *testing.T) {
	ctx := console.BrowserContext(t)
	const group, token = "@TGS#lift", "cb-token"
	ts := timtest.NewServer()
	t.Cleanup(ts.Close)
	ts.AddGroup(timtest.Group{ID: group, Owner: "owner", Admins: []string{"mod"}, Members: []string{"spam", "alice"}})
	cfg := config.Config{
		Platforms: config.Platforms{TIM: &tim.Config{BaseURL: ts.URL, SDKAppID: ts.SDKAppID, SecretKey: ts.SecretKey,
			AdminIdentifier: timtest.DefaultAdmin, CallbackToken: token}},
		Storage: store.Config{Driver: store.DriverSQLite, DSN: filepath.Join(t.TempDir(), "gavel.db")},
		Console: console.Config{Listen: "127.0.0.1:0"},
	}
	h := apptest.New(t, cfg)
	d := ts.MessageDelivery(token, time.Now(), timtest.Message{GroupID: group, From: "mod", Text: "/mute @spam 1h flooding", AtAccounts: []string{"spam"}})
	req, err := timtest.CallbackRequest("http://gavel/webhook/tim", d)
	if err != nil {
		t.Fatal(err)
	}
	if status, body := h.Do(t, req); status != http.StatusOK {
		t.Fatalf("webhook: HTTP %d %s", status, body)
	}
	h.Wait()
	st := h.App.Store
	chat := moderation.ChatRef{Platform: "tim", ID: group}
	if _, ok, err := st.ActiveMute(t.Context(), chat, "spam", time.Now()); err != nil || !ok {
		t.Fatalf("the /mute left no active mute (err %v)", err)
	}
	hash, err := console.HashPassword("a long test password")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutConsoleUser(t.Context(), moderation.ConsoleUser{Name: "ann", Hash: hash, Grants: []string{"tim:" + group}, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.App.Console)
	t.Cleanup(srv.Close)
	ts.Reset()

	dir := console.Artifacts(t)
	shot := func(name string) {
		t.Helper()
		buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	err = chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/login"),
		chromedp.SendKeys(css("#user"), "ann"), chromedp.SendKeys(css("#password"), "a long test password"),
		chromedp.Click(css("#signin")), chromedp.WaitVisible(css("#logout")),
		chromedp.Navigate(srv.URL+"/sanctions"),
		chromedp.WaitVisible(css(`button.lift[data-user="spam"]`)),
	)
	if err != nil {
		t.Fatalf("sign in and open the sanctions: %v", err)
	}
	shot("e2e-sanctions")
	if err := chromedp.Do(ctx, chromedp.Click(css(`button.lift[data-user="spam"]`)), chromedp.WaitVisible(css("#lifted"))); err != nil {
		t.Fatalf("lift: %v", err)
	}
	h.Wait()

	var unmuted bool
	for _, c := range ts.CallsTo("forbid_send_msg") {
		var body struct {
			GroupId         string
			Members_Account []string
			MuteTime        json.Number
		}
		if json.Unmarshal(c.Raw, &body) == nil && body.GroupId == group && len(body.Members_Account) == 1 &&
			body.Members_Account[0] == "spam" && body.MuteTime.String() == "0" {
			unmuted = true
		}
	}
	if !unmuted {
		t.Fatalf("the TIM fake saw no unmute of spam; calls: %+v", ts.Calls())
	}
	cases, err := st.Cases(t.Context(), moderation.CaseFilter{Platform: "tim", ChatID: group})
	if err != nil || len(cases) < 2 || cases[0].Actor != "console:ann" || cases[0].Verb != moderation.VerbUnmute || cases[0].Outcome != moderation.OutcomeDone {
		t.Fatalf("newest case = %+v (err %v); want a done unmute by console:ann", cases, err)
	}
	var list string
	err = chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/cases"), chromedp.WaitVisible(css("#cases")))
	if err == nil {
		list, err = chromedp.Run(ctx, chromedp.Text(css("#cases tbody")))
	}
	if err != nil {
		t.Fatalf("case list: %v", err)
	}
	shot("e2e-cases")
	if !strings.Contains(list, "console:ann") || !strings.Contains(list, "unmute") {
		t.Fatalf("the case list does not show the lift:\n%s", list)
	}
	// The chat's page asks the platform what it can do there.
	var caps string
	err = chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/chats/tim/"+strings.ReplaceAll(group, "#", "%23")), chromedp.WaitVisible(css("table.caps")))
	if err == nil {
		caps, err = chromedp.Run(ctx, chromedp.Text(css("table.caps")))
	}
	if err != nil {
		t.Fatalf("chat page: %v", err)
	}
	shot("e2e-chat")
	if !strings.Contains(caps, "mute") || !strings.Contains(caps, "native") {
		t.Fatalf("the chat page's capability matrix:\n%s", caps)
	}
}
