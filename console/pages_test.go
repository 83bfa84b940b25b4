package console

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"gavel/moderation"
)

// TestPages renders each page for a signed-in user and checks what it
// must show, in English and in Chinese.
func TestPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{Listen: "127.0.0.1:0"})
	e.addUser("ann", "*")
	first := e.addCase(moderation.Case{DeliveryID: "d1", Platform: "tim", ChatID: "g1", Actor: "boss", Verb: moderation.VerbMute,
		Targets: []string{"u1", "u2"}, Decisions: []moderation.Decision{{Target: "u1", Allowed: true, Reason: moderation.ReasonOK},
			{Target: "u2", Allowed: false, Reason: moderation.ReasonTargetAdmin}},
		Results: []moderation.Result{{UserID: "u1", Status: moderation.StatusDone}}, Outcome: moderation.OutcomePartial})
	long := strings.Repeat("spam ", 200)
	rule := e.addCase(moderation.Case{DeliveryID: "d2", Platform: "tim", ChatID: "g1", Rule: "blocklist", Verb: moderation.VerbWarn,
		Targets: []string{"u3"}, Reason: long})
	undo := e.addCase(moderation.Case{DeliveryID: "d3", Platform: "tim", ChatID: "g1", Actor: "console:ann", Verb: moderation.VerbUnmute,
		Targets: []string{"u1"}, Related: first})
	e.srv.d.Health = func(context.Context) []Check {
		return []Check{{Name: "store"}, {Name: "platform credentials"}, {Name: "a new check"}}
	}
	c, _ := e.login("ann", testPassword)
	for _, tt := range []struct {
		path   string
		status int
		want   []string
	}{
		{"/", http.StatusOK, []string{"Actions by verb", "mute: <b>1</b>", "blocklist: <b>1</b>", "<svg", "<td>Store</td>", "<td>Platform credentials</td>", "<td>a new check</td>"}},
		{"/?range=7d", http.StatusOK, []string{`class="on">7 d`}},
		{"/cases", http.StatusOK, []string{"rule:blocklist", "console:ann", "partial"}},
		{"/cases?rule=blocklist", http.StatusOK, []string{"rule:blocklist"}},
		{"/cases?since=yesterday", http.StatusBadRequest, []string{"dates are"}},
		{"/cases/" + strconv.FormatInt(first, 10), http.StatusOK, []string{"refused: target_admin", "done", "Followed by", "#" + strconv.FormatInt(undo, 10)}},
		{"/cases/" + strconv.FormatInt(rule, 10), http.StatusOK, []string{"Rule blocklist matched", "…"}},
		{"/cases/" + strconv.FormatInt(undo, 10), http.StatusOK, []string{"Follows from", "#" + strconv.FormatInt(first, 10)}},
		{"/cases/abc", http.StatusNotFound, nil},
		{"/chats", http.StatusOK, []string{"g1"}},
		{"/chats/tim/g1", http.StatusOK, []string{"Effective policy", "platform tim is not configured", "Cases in the last 24 h: 3"}},
		{"/sanctions", http.StatusOK, []string{"Nothing yet."}},
		{"/cases?lang=zh", http.StatusOK, []string{"案例", "筛选"}},
		{"/", http.StatusOK, []string{"按操作统计", "<td>存储</td>", "<td>平台凭据</td>"}}, // the cookie keeps Chinese
	} {
		body, resp := e.get(c, tt.path)
		if resp.StatusCode != tt.status {
			t.Errorf("%s: HTTP %d, want %d", tt.path, resp.StatusCode, tt.status)
		}
		for _, w := range tt.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: no %q in the page", tt.path, w)
			}
		}
		if strings.Contains(body, long) {
			t.Errorf("%s: shows the whole %d-byte match", tt.path, len(long))
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("%s: Content-Security-Policy %q", tt.path, csp)
		}
	}
}

// TestCasePaging: 50 a page, the next page from the last id.
func TestCasePaging(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{Listen: "127.0.0.1:0"})
	e.addUser("ann", "tim:g1")
	for i := range 120 {
		e.addCase(moderation.Case{DeliveryID: "d" + strconv.Itoa(i), Platform: "tim", ChatID: "g1", Actor: "boss",
			Verb: moderation.VerbKick, Targets: []string{"user-" + strconv.Itoa(i)}, At: e.clock().Add(time.Duration(i) * time.Second)})
	}
	c, _ := e.login("ann", testPassword)
	path, seen := "/cases", 0
	for page := 0; path != ""; page++ {
		body, _ := e.get(c, strings.ReplaceAll(path, "&amp;", "&"))
		seen += strings.Count(body, `class="case-link"`)
		path = ""
		if i := strings.Index(body, `href="/cases?before=`); i >= 0 {
			rest := body[i+len(`href="`):]
			path = rest[:strings.IndexByte(rest, '"')]
		}
		if page > 5 {
			t.Fatal("paging does not end")
		}
	}
	if seen != 120 {
		t.Fatalf("pages showed %d cases, want 120", seen)
	}
}
