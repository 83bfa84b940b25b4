package feishutest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// call makes one authorised request and returns the HTTP status, the
// Feishu code and data.
func call(t *testing.T, s *Server, method, path string, q url.Values, body any) (int, int, map[string]any) {
	t.Helper()
	tok := tenantToken(t, s)
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, s.URL+path+"?"+q.Encode(), rd)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Code int            `json:"code"`
		Data map[string]any `json:"data"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out.Code, out.Data
}

// TestModerationRoute: the documented rules of PUT/GET …/moderation.
func TestModerationRoute(t *testing.T) {
	t.Parallel()
	s := NewServer()
	defer s.Close()
	s.AddChat(Chat{ID: "oc_1", OwnerID: "ou_o", Members: []string{"ou_a", "ou_b", "ou_c"}, BotIsOwner: true})
	path := "/open-apis/im/v1/chats/oc_1/moderation"
	open := url.Values{"user_id_type": {"open_id"}}
	tests := []struct {
		name string
		q    url.Values
		body map[string]any
		code int
	}{
		{"bad setting", open, map[string]any{"moderation_setting": "nobody"}, 232001},
		{"unsupported id type", url.Values{"user_id_type": {"email"}}, map[string]any{"moderation_setting": "only_owner"}, 232015},
		{"overlapping lists", open, map[string]any{"moderation_setting": "moderator_list", "moderator_added_list": []string{"ou_a"}, "moderator_removed_list": []string{"ou_a"}}, 232001},
		{"whitelist, non-members dropped", open, map[string]any{"moderation_setting": "moderator_list", "moderator_added_list": []string{"ou_a", "ou_b", "ou_c", "ou_stranger"}}, 0},
	}
	for _, tt := range tests {
		if _, code, _ := call(t, s, http.MethodPut, path, tt.q, tt.body); code != tt.code {
			t.Errorf("%s: code %d, want %d", tt.name, code, tt.code)
		}
	}
	if c, _ := s.Chat("oc_1"); c.Moderation != "moderator_list" || len(c.Moderators) != 3 {
		t.Fatalf("chat = %+v", c)
	}
	// Whitelist pages of 2: two pages, the token bound to the chat.
	_, code, data := call(t, s, http.MethodGet, path, url.Values{"page_size": {"2"}}, nil)
	if code != 0 || data["moderation_setting"] != "moderator_list" || data["has_more"] != true || len(data["items"].([]any)) != 2 {
		t.Fatalf("first page: code %d data %v", code, data)
	}
	_, code, data = call(t, s, http.MethodGet, path, url.Values{"page_size": {"2"}, "page_token": {data["page_token"].(string)}}, nil)
	if code != 0 || data["has_more"] != false || len(data["items"].([]any)) != 1 {
		t.Fatalf("second page: code %d data %v", code, data)
	}
	if _, code, _ := call(t, s, http.MethodGet, path, url.Values{"page_size": {"101"}}, nil); code != 232001 {
		t.Errorf("page_size 101: code %d", code)
	}
	// A manager bot may not change it.
	s.SetBotRights("oc_1", false, true)
	if st, code, _ := call(t, s, http.MethodPut, path, open, map[string]any{"moderation_setting": "all_members"}); st != 400 || code != 232017 {
		t.Errorf("manager bot: %d/%d, want 400/232017", st, code)
	}
	// In moderator_list mode the manager bot is not listed: its sends are refused.
	if _, code, _ := call(t, s, http.MethodPost, "/open-apis/im/v1/messages", url.Values{"receive_id_type": {"chat_id"}},
		map[string]any{"receive_id": "oc_1", "msg_type": "text", "content": `{"text":"hi"}`}); code != 230018 {
		t.Errorf("bot send in moderator_list: code %d, want 230018", code)
	}
	if _, _, err := s.Send(TextMessage{ChatID: "oc_1", SenderID: "ou_stranger"}); err != ErrNotMember {
		t.Errorf("stranger send: %v", err)
	}
	if _, _, err := s.Send(TextMessage{ChatID: "oc_1", SenderID: "ou_a", Text: "listed"}); err != nil {
		t.Errorf("listed member silenced: %v", err)
	}
}

// TestHistoryRoute: page_size bounds, sort, page_token bound to its sort.
func TestHistoryRoute(t *testing.T) {
	t.Parallel()
	s := NewServer()
	defer s.Close()
	s.AddChat(Chat{ID: "oc_1", OwnerID: "ou_o", Members: []string{"ou_a"}, BotIsManager: true})
	start := time.Now().Add(-time.Minute)
	for i := range 5 {
		if _, _, err := s.Send(TextMessage{ChatID: "oc_1", SenderID: "ou_a", Text: fmt.Sprint(i), CreateTime: start.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	q := func(kv ...string) url.Values {
		v := url.Values{"container_id_type": {"chat"}, "container_id": {"oc_1"}}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	const path = "/open-apis/im/v1/messages"
	for _, bad := range []url.Values{q("page_size", "51"), q("page_size", "0"), q("sort_type", "ByName"), q("container_id_type", "thread"), q("container_id", "oc_none")} {
		if _, code, _ := call(t, s, http.MethodGet, path, bad, nil); code != 230001 {
			t.Errorf("%s: code %d, want 230001", bad.Encode(), code)
		}
	}
	_, code, data := call(t, s, http.MethodGet, path, q("page_size", "3"), nil)
	items, _ := data["items"].([]any)
	if code != 0 || len(items) != 3 || data["has_more"] != true || items[0].(map[string]any)["body"].(map[string]any)["content"] != `{"text":"0"}` {
		t.Fatalf("ascending first page: code %d, data %v", code, data)
	}
	tok := data["page_token"].(string)
	if _, code, _ := call(t, s, http.MethodGet, path, q("page_size", "3", "sort_type", "ByCreateTimeDesc", "page_token", tok), nil); code != 230001 {
		t.Errorf("page_token with another sort: code %d, want 230001", code)
	}
	_, code, data = call(t, s, http.MethodGet, path, q("page_size", "3", "page_token", tok), nil)
	if items, _ := data["items"].([]any); code != 0 || len(items) != 2 || data["has_more"] != false {
		t.Fatalf("ascending second page: code %d, data %v", code, data)
	}
}
