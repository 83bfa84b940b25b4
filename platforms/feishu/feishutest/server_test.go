package feishutest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
)

// TestKit drives the shared scaffolding through the fake's HTTP routes:
// injected failures answer the documented bodies, SetRate changes the
// per-API limit and its header, and every answer is recorded.
func TestKit(t *testing.T) {
	t.Parallel()
	s := NewServer()
	defer s.Close()
	tok := tenantToken(t, s)

	botInfo := func() (int, http.Header) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/open-apis/bot/v3/info", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header
	}

	s.FailNext(OpBotInfo, 1, 503)
	s.FailNext(OpBotInfo, 1, 99991400)
	if st, _ := botInfo(); st != 503 {
		t.Fatalf("first injected: status %d, want 503", st)
	}
	if st, h := botInfo(); st != 400 || h.Get("X-Ogw-Ratelimit-Reset") == "" {
		t.Fatalf("second injected: status %d, headers %v; want 400 with x-ogw-ratelimit-reset", st, h)
	}
	s.SetRate(Every, 2)
	var statuses []int
	for range 3 {
		st, h := botInfo()
		statuses = append(statuses, st)
		if st == http.StatusTooManyRequests && h.Get("X-Ogw-Ratelimit-Limit") != "2" {
			t.Errorf("x-ogw-ratelimit-limit = %q, want 2", h.Get("X-Ogw-Ratelimit-Limit"))
		}
	}
	if statuses[0] != 200 || statuses[1] != 200 || statuses[2] != 429 {
		t.Fatalf("statuses at 2/s = %v, want [200 200 429]", statuses)
	}
	if n := s.Throttled(OpBotInfo); n != 1 {
		t.Fatalf("Throttled = %d, want 1", n)
	}
	calls := s.CallsTo(OpBotInfo)
	if len(calls) != 5 || calls[1].Code != 99991400 || calls[4].Status != 429 || calls[4].Token != tok {
		t.Fatalf("calls = %+v", calls)
	}
	s.Reset()
	if n := len(s.Calls()); n != 0 {
		t.Fatalf("%d calls after Reset", n)
	}
}

// tenantToken fetches a tenant_access_token from the fake.
func tenantToken(t *testing.T, s *Server) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"app_id": s.AppID, "app_secret": s.AppSecret})
	resp, err := http.Post(s.URL+"/open-apis/auth/v3/tenant_access_token/internal", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		Token string `json:"tenant_access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.Token == "" {
		t.Fatalf("no token: %v", err)
	}
	return tok.Token
}
