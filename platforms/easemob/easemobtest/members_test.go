package easemobtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
)

// call makes one authenticated request to the fake and decodes its answer.
func call(t *testing.T, s *Server, method, path string, body any) (int, map[string]any) {
	t.Helper()
	do := func(method, url, auth string, body any) (int, map[string]any) {
		var b []byte
		if body != nil {
			var err error
			if b, err = json.Marshal(body); err != nil {
				t.Fatal(err)
			}
		}
		req, err := http.NewRequest(method, url, bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, out
	}
	base := s.URL + "/" + s.Org + "/" + s.App
	st, tok := do(http.MethodPost, base+"/token", "", map[string]string{
		"grant_type": "client_credentials", "client_id": s.ClientID, "client_secret": s.ClientSecret})
	if st != http.StatusOK {
		t.Fatalf("token: %d %v", st, tok)
	}
	access, _ := tok["access_token"].(string)
	return do(method, base+path, access, body)
}

func usersN(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

// TestAddMembersLimits: both batch adds take at most 60 users (the chat
// room page's published text and error message); more is refused whole.
func TestAddMembersLimits(t *testing.T) {
	t.Parallel()
	s := NewServer()
	defer s.Close()
	s.AddChatRoom("room1", "owner", nil, []string{"owner"})
	s.AddGroup("grp1", "owner", nil, []string{"owner"})
	tests := []struct {
		name, path string
		n, status  int
		errName    string
		desc       string
	}{
		{"room at limit", "/chatrooms/room1/users", 60, 200, "", ""},
		{"room over limit", "/chatrooms/room1/users", 61, 400, "invalid_parameter", "addMembers: addMembers number more than maxSize : 60"},
		{"group at limit", "/chatgroups/grp1/users", 60, 200, "", ""},
		{"group over limit", "/chatgroups/grp1/users", 61, 403, "exceed_limit", "members size is greater than max user size !"},
	}
	for i, tc := range tests {
		st, body := call(t, s, http.MethodPost, tc.path, map[string]any{"usernames": usersN(fmt.Sprintf("u%d_", i), tc.n)})
		if st != tc.status || tc.errName != "" && (body["error"] != tc.errName || body["error_description"] != tc.desc) {
			t.Errorf("%s: got %d %v, want %d %s %q", tc.name, st, body, tc.status, tc.errName, tc.desc)
		}
	}
}

// TestJoinLimitReached: a user who joined too many groups or rooms fails
// the batch and the single add with each page's 403.
func TestJoinLimitReached(t *testing.T) {
	t.Parallel()
	s := NewServer()
	defer s.Close()
	s.AddChatRoom("room1", "owner", nil, []string{"owner", "member"})
	s.AddGroup("grp1", "owner", nil, []string{"owner"})
	s.SetJoinLimitReached("busy")
	s.SetJoinLimitReached("member")
	tests := []struct {
		name, method, path string
		body               any
		status             int
		errName, desc      string
	}{
		{"group batch", http.MethodPost, "/chatgroups/grp1/users", map[string]any{"usernames": []string{"fresh", "busy"}},
			403, "exceed_limit", "user busy has joined too many groups!"},
		{"room batch", http.MethodPost, "/chatrooms/room1/users", map[string]any{"usernames": []string{"busy"}},
			403, "exceeded_limit", "can not join this group, reason:user busy has joined too many chatrooms!"},
		{"room single", http.MethodPost, "/chatrooms/room1/users/busy", nil,
			403, "exceeded_limit", "can not join this group, reason:user busy has joined too many chatrooms!"},
		{"member already in counts as added", http.MethodPost, "/chatrooms/room1/users", map[string]any{"usernames": []string{"member"}},
			200, "", ""},
	}
	for _, tc := range tests {
		st, body := call(t, s, tc.method, tc.path, tc.body)
		if st != tc.status || tc.errName != "" && (body["error"] != tc.errName || body["error_description"] != tc.desc) {
			t.Errorf("%s: got %d %v, want %d %s %q", tc.name, st, body, tc.status, tc.errName, tc.desc)
		}
	}
	if s.IsMember("grp1", "fresh") {
		t.Error("a refused batch added some of its users")
	}
}
