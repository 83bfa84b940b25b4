package console

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"gavel/moderation"
)

// findBrowser returns a Chromium to drive. Without one the browser tests
// skip, except in CI (CI=true or GAVEL_TEST_BROWSER=1), where .ci/run
// installs Debian's chromium and its absence is a failure.
func findBrowser(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("GAVEL_TEST_BROWSER_PATH"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" || os.Getenv("GAVEL_TEST_BROWSER") == "1" {
		t.Fatal("no Chromium found (looked for chromium, chromium-browser, google-chrome, headless-shell and $GAVEL_TEST_BROWSER_PATH); .ci/run installs Debian's chromium")
	}
	t.Skip("no Chromium found: install Debian's chromium (or set GAVEL_TEST_BROWSER_PATH) to run the console's browser tests")
	return ""
}

// artifacts is where screenshots go: $GAVEL_TEST_ARTIFACTS, else the
// test's temporary directory.
func artifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("GAVEL_TEST_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	dir = filepath.Join(dir, "console")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func browser(t *testing.T) context.Context {
	t.Helper()
	path := findBrowser(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancel := chromedp.NewExecAllocator(t.Context(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancel3)
	return ctx
}

// TestBrowser signs in, filters the cases, opens one, lifts a mute, and
// screenshots each page.
func TestBrowser(t *testing.T) {
	ctx := browser(t)
	dir := artifacts(t)
	e := newEnv(t, Config{Listen: "127.0.0.1:0"})
	e.addUser("ann", "*")
	chat := moderation.ChatRef{Platform: "tim", ID: "@TGS#demo"}
	muted := e.addCase(moderation.Case{DeliveryID: "d1", Platform: chat.Platform, ChatID: chat.ID, Actor: "alice", Verb: moderation.VerbMute,
		Targets: []string{"spammer"}, Duration: time.Hour, Decisions: []moderation.Decision{{Target: "spammer", Allowed: true, Reason: moderation.ReasonOK}},
		Results: []moderation.Result{{UserID: "spammer", Status: moderation.StatusDone}}})
	e.addCase(moderation.Case{DeliveryID: "d2", Platform: chat.Platform, ChatID: chat.ID, Rule: "blocklist", Verb: moderation.VerbWarn,
		Targets: []string{"eve"}, Reason: `word "casino"`})
	e.addCase(moderation.Case{DeliveryID: "d3", Platform: "feishu", ChatID: "oc_1", Actor: "bob", Verb: moderation.VerbKick, Targets: []string{"troll"}})
	if err := e.store.PutMutes(t.Context(), moderation.Mute{Chat: chat, UserID: "spammer", Until: e.clock().Add(time.Hour), CaseID: muted}); err != nil {
		t.Fatal(err)
	}
	base := e.http.URL
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(css(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	shot := func(name string) {
		t.Helper()
		buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	do("open the sign-in page", chromedp.Navigate(base+"/login"), chromedp.WaitVisible(css("#signin")))
	shot("login")
	do("sign in", chromedp.SendKeys(css("#user"), "ann"), chromedp.SendKeys(css("#password"), testPassword),
		chromedp.Click(css("#signin")), chromedp.WaitVisible(css("#logout")))
	shot("overview")
	do("filter the cases", chromedp.Navigate(base+"/cases"), chromedp.WaitVisible(css("#cases")),
		chromedp.SendKeys(css("#f-actor"), "alice"), chromedp.Click(css("#filter")),
		chromedp.WaitVisible(css(`input#f-actor[value="alice"]`)))
	cases := text("#cases tbody")
	shot("cases")
	if !strings.Contains(cases, "spammer") || strings.Contains(cases, "troll") || strings.Contains(cases, "eve") {
		t.Fatalf("cases filtered by actor alice show:\n%s", cases)
	}
	do("open a case", chromedp.Navigate(base+"/cases?rule=blocklist"), chromedp.Click(css("a.case-link")),
		chromedp.WaitVisible(css("#reason")))
	reason := text("#reason")
	shot("case")
	do("list the chats", chromedp.Navigate(base+"/chats"), chromedp.WaitVisible(css("#chats")))
	shot("chats")
	do("open the sanctions", chromedp.Navigate(base+"/sanctions"), chromedp.WaitVisible(css(`button.lift[data-user="spammer"]`)))
	shot("sanctions")
	do("lift the mute", chromedp.Click(css(`button.lift[data-user="spammer"]`)), chromedp.WaitVisible(css("#lifted")))
	shot("lifted")
	if reason != `word "casino"` {
		t.Errorf("case page shows what matched as %q", reason)
	}
	evs := e.jobs.all()
	if len(evs) != 1 {
		t.Fatalf("Lift submitted %d jobs, want 1", len(evs))
	}
	a := evs[0].Action
	if evs[0].Kind != moderation.EventAction || a.Actor != "console:ann" || a.Verb != moderation.VerbUnmute || a.Chat != chat ||
		len(a.Targets) != 1 || a.Targets[0] != "spammer" {
		t.Errorf("Lift submitted %+v with action %+v", evs[0], a)
	}
	t.Logf("screenshots in %s", dir)
}
