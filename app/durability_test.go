package app_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gavel/app/apptest"
	"gavel/config"
	"gavel/moderation"
	"gavel/platforms/egress"
	"gavel/platforms/tim"
	"gavel/platforms/tim/timtest"
	"gavel/policy"
	"gavel/store"
)

const timToken = "durability-token"

func timConfig(ts *timtest.Server, dsn string, maxTargets int) config.Config {
	return config.Config{
		Platforms: config.Platforms{TIM: &tim.Config{
			BaseURL: ts.URL, SDKAppID: ts.SDKAppID, SecretKey: ts.SecretKey,
			AdminIdentifier: timtest.DefaultAdmin, CallbackToken: timToken,
			// Short backoffs keep the test fast; pacing stays at TIM's 200/s.
			Rate: egress.Limits{PerSecond: 200, BaseDelay: 5 * time.Millisecond, MaxDelay: 50 * time.Millisecond},
		}},
		Policy:  policy.Config{MaxTargets: maxTargets},
		Storage: store.Config{Driver: store.DriverSQLite, DSN: dsn},
	}
}

func post(t *testing.T, h *apptest.Harness, d moderation.Delivery) {
	t.Helper()
	req, err := timtest.CallbackRequest("http://gavel/webhook/tim", d)
	if err != nil {
		t.Fatal(err)
	}
	if status, body := h.Do(t, req); status != http.StatusOK {
		t.Fatalf("webhook answered %d: %s", status, body)
	}
}

// TestRedeliveryActsOnce: the same webhook delivered five times, and five
// times more after a restart, yields one case and one removal.
func TestRedeliveryActsOnce(t *testing.T) {
	t.Parallel()
	ts := timtest.NewServer()
	defer ts.Close()
	ts.AddGroup(timtest.Group{ID: "@TGS#g", Owner: "owner", Admins: []string{"mod"}, Members: []string{"spam", "alice"}})
	dsn := filepath.Join(t.TempDir(), "gavel.db")
	d := ts.MessageDelivery(timToken, time.Now(), timtest.Message{GroupID: "@TGS#g", From: "mod", Text: "/kick @spam ads", AtAccounts: []string{"spam"}})

	h := apptest.New(t, timConfig(ts, dsn, 20))
	for range 5 {
		post(t, h, d)
	}
	h.Wait()
	h.Close()

	restarted := apptest.New(t, timConfig(ts, dsn, 20))
	for range 5 {
		post(t, restarted, d)
	}
	restarted.Wait()

	if n := len(ts.CallsTo("delete_group_member")); n != 1 {
		t.Errorf("delete_group_member called %d times, want 1", n)
	}
	if n := len(ts.Replies()); n != 1 {
		t.Errorf("%d replies, want 1", n)
	}
	cases, err := restarted.App.Store.Cases(context.Background(), moderation.CaseFilter{Platform: "tim", ChatID: "@TGS#g"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != 1 || cases[0].Outcome != "done" {
		t.Fatalf("cases = %+v, want one done case", cases)
	}
}

// TestLargeJobThroughTransientFailures: a 5,000-target removal against a
// TIM that fails 30 % of calls transiently and throttles above 200 calls/s
// completes with every target removed exactly once.
func TestLargeJobThroughTransientFailures(t *testing.T) {
	if testing.Short() {
		t.Skip("5,000-target job: skipped with -short")
	}
	t.Parallel()
	const n = 5000
	ts := timtest.NewServer()
	defer ts.Close()
	members := make([]string, n)
	var text strings.Builder
	text.WriteString("/kick")
	for i := range members {
		members[i] = fmt.Sprintf("m%04d", i)
		text.WriteString(" @" + members[i])
	}
	text.WriteString(" raid")
	ts.AddGroup(timtest.Group{ID: "@TGS#big", Owner: "owner", Admins: []string{"mod"}, Members: members})
	ts.SetFailRate("delete_group_member", 0.3, 10002)
	ts.SetFailRate("get_role_in_group", 0.3, 10002)

	h := apptest.New(t, timConfig(ts, filepath.Join(t.TempDir(), "gavel.db"), n))
	post(t, h, ts.MessageDelivery(timToken, time.Now(), timtest.Message{GroupID: "@TGS#big", From: "mod", Text: text.String()}))
	h.Wait()

	removals := ts.Removals()
	for _, m := range members {
		if removals[m] != 1 {
			t.Fatalf("member %s removed %d times, want exactly 1", m, removals[m])
		}
	}
	if left := ts.Members("@TGS#big"); len(left) > 2 { // owner and mod stay
		t.Fatalf("%d members left", len(left))
	}
	if th := ts.Throttled("delete_group_member"); th != 0 {
		t.Errorf("Gavel was throttled %d times; pacing should keep it under 200/s", th)
	}
	failed := 0
	for _, c := range ts.CallsTo("delete_group_member") {
		if c.Code != 0 {
			failed++
		}
	}
	if failed == 0 {
		t.Fatal("the fake injected no failure; the test proves nothing")
	}
	t.Logf("%d removal calls, %d answered with a transient error and retried", len(ts.CallsTo("delete_group_member")), failed)
}
