package feishutest

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestMembersAddRoute: the three succeed_type behaviours, the add
// permission and the batch bound of POST …/chats/:chat_id/members.
func TestMembersAddRoute(t *testing.T) {
	t.Parallel()
	path := "/open-apis/im/v1/chats/oc_1/members"
	tests := []struct {
		name        string
		chat        Chat
		succeedType string
		ids         []string
		code        int
		members     int // members after the call
		lists       string
	}{
		{"type 0: a missing id fails the call", Chat{ID: "oc_1"}, "0", []string{"ou_a", "ou_missing"}, 232043, 0, ""},
		{"type 0: resigned ids listed, others added", Chat{ID: "oc_1"}, "", []string{"ou_a", "ou_left"}, 0, 1, "[ou_left] [] []"},
		{"type 1: usable added, rest listed", Chat{ID: "oc_1"}, "1", []string{"ou_a", "ou_missing", "ou_ext"}, 0, 1, "[ou_ext] [ou_missing] []"},
		{"type 1: external chat takes external users", Chat{ID: "oc_1", External: true}, "1", []string{"ou_ext"}, 0, 1, "[] [] []"},
		{"type 2: any unusable id fails", Chat{ID: "oc_1"}, "2", []string{"ou_a", "ou_left"}, 232043, 0, ""},
		{"approval required", Chat{ID: "oc_1", ApprovalRequired: true}, "1", []string{"ou_a"}, 0, 0, "[] [] [ou_a]"},
		{"only owner, bot a member", Chat{ID: "oc_1", AddMemberPermission: permissionOwner}, "1", []string{"ou_a"}, 232014, 0, ""},
		{"only owner, bot a manager", Chat{ID: "oc_1", AddMemberPermission: permissionOwner, BotIsManager: true}, "1", []string{"ou_a"}, 0, 1, "[] [] []"},
		{"p2p", Chat{ID: "oc_1", Mode: "p2p"}, "1", []string{"ou_a"}, 232008, 0, ""},
		{"member limit", Chat{ID: "oc_1", MaxMembers: 1, Members: []string{"ou_z"}}, "1", []string{"ou_a"}, 232013, 1, ""},
		{"51 ids", Chat{ID: "oc_1"}, "1", ids(51), 232001, 0, ""},
		{"bad succeed_type", Chat{ID: "oc_1"}, "3", []string{"ou_a"}, 232001, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := NewServer()
			defer s.Close()
			s.AddChat(tt.chat)
			s.SetUser("ou_missing", UserMissing)
			s.SetUser("ou_left", UserResigned)
			s.SetUser("ou_ext", UserExternal)
			q := url.Values{"member_id_type": {"open_id"}}
			if tt.succeedType != "" {
				q.Set("succeed_type", tt.succeedType)
			}
			_, code, data := call(t, s, http.MethodPost, path, q, map[string]any{"id_list": tt.ids})
			if code != tt.code {
				t.Fatalf("code %d, want %d", code, tt.code)
			}
			if n := len(s.Members("oc_1")); n != tt.members {
				t.Fatalf("%d members, want %d", n, tt.members)
			}
			if tt.code == 0 {
				got := fmt.Sprint(data["invalid_id_list"], " ", data["not_existed_id_list"], " ", data["pending_approval_id_list"])
				if got != tt.lists {
					t.Fatalf("lists %s, want %s", got, tt.lists)
				}
			}
		})
	}
}

func ids(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("ou_%d", i)
	}
	return out
}

// TestCardRoutes: cards are checked when sent and patched only within the
// documented rules.
func TestCardRoutes(t *testing.T) {
	t.Parallel()
	s := NewServer()
	defer s.Close()
	s.AddChat(Chat{ID: "oc_1"})
	send := func(content string) (int, string) {
		_, code, data := call(t, s, http.MethodPost, "/open-apis/im/v1/messages", url.Values{"receive_id_type": {"chat_id"}},
			map[string]any{"receive_id": "oc_1", "msg_type": "interactive", "content": content})
		id, _ := data["message_id"].(string)
		return code, id
	}
	patch := func(id, content string) int {
		_, code, _ := call(t, s, http.MethodPatch, "/open-apis/im/v1/messages/"+id, nil, map[string]any{"content": content})
		return code
	}
	shared := `{"config":{"update_multi":true},"elements":[{"tag":"action","actions":[{"tag":"button","value":{"k":1}}]}]}`
	if code, _ := send(`{"elements":[{"no_tag":1}]}`); code != 230099 {
		t.Fatalf("bad card: code %d", code)
	}
	if code, _ := send(`{"elements":[{"tag":"div","text":{"tag":"plain_text","content":"` + strings.Repeat("x", maxCardBytes) + `"}}]}`); code != 230025 {
		t.Fatalf("big card: code %d", code)
	}
	code, id := send(shared)
	if code != 0 || id == "" {
		t.Fatalf("send: code %d", code)
	}
	if b := s.Buttons(id); len(b) != 1 || string(b[0]) != `{"k":1}` {
		t.Fatalf("buttons %s", b)
	}
	if code := patch(id, `{"elements":[]}`); code != 230001 {
		t.Fatalf("patch to an unshared card: code %d", code)
	}
	// A refused patch counts towards the message's 5 a second too (the
	// page does not say): the rate is measured on a fresh card.
	_, fresh := send(shared)
	codes := map[int]int{}
	for range patchPerMessage + 1 {
		codes[patch(fresh, shared)]++
	}
	if codes[0] != patchPerMessage || codes[230020] != 1 {
		t.Fatalf("%d patches in a second: codes %v", patchPerMessage+1, codes)
	}
	_, unshared := send(`{"elements":[]}`)
	if code := patch(unshared, shared); code != 230001 {
		t.Fatalf("patch of an unshared card: code %d", code)
	}
	s.AgeMessage(unshared, cardEditWindow)
	if code := patch(unshared, shared); code != 230031 {
		t.Fatalf("patch after 14 days: code %d", code)
	}
	user := s.AddMessage("oc_1", "ou_a", "interactive", shared)
	if code := patch(user, shared); code != 230001 {
		t.Fatalf("patch of a user's card: code %d", code)
	}
}

// TestCardText: a card's Text is what it shows, line by line.
func TestCardText(t *testing.T) {
	t.Parallel()
	content := `{"config":{"update_multi":true},"header":{"title":{"tag":"plain_text","content":"Case 3: kick"},"template":"red"},` +
		`"elements":[{"tag":"div","fields":[{"is_short":true,"text":{"tag":"lark_md","content":"**Targets**"}},` +
		`{"is_short":true,"text":{"tag":"plain_text","content":"ou_a"}}]},` +
		`{"tag":"action","actions":[{"tag":"button","text":{"tag":"plain_text","content":"Undo"},"value":{}}]},` +
		`{"tag":"note","elements":[{"tag":"plain_text","content":"case #3"}]}]}`
	m := Message{MsgType: msgInteractive, Content: content}
	if got, want := m.Text(), "Case 3: kick\nTargets: ou_a\nUndo\ncase #3"; got != want {
		t.Fatalf("Text() = %q, want %q", got, want)
	}
}

// TestCardContent: what the fake takes as a card's content when sending.
func TestCardContent(t *testing.T) {
	t.Parallel()
	s := NewServer()
	defer s.Close()
	q := url.Values{"receive_id_type": {"chat_id"}}
	tests := []struct {
		name, content string
		code          int
	}{
		{"blank 1.0 card (the 1.0 structure page: \"{}\")", `{}`, 0},
		{"1.0 header only", `{"header":{"title":{"tag":"plain_text","content":"t"}}}`, 0},
		{"1.0 elements", `{"elements":[{"tag":"div","text":{"tag":"plain_text","content":"x"}}]}`, 0},
		{"1.0 i18n_elements", `{"i18n_elements":{"zh_cn":[{"tag":"hr"}],"en_us":[{"tag":"hr"}]}}`, 0},
		{"1.0 i18n_elements untagged", `{"i18n_elements":{"zh_cn":[{"text":"x"}]}}`, 230099},
		{"1.0 element without tag", `{"elements":[{"text":"x"}]}`, 230099},
		{"1.0 elements not a list", `{"elements":{"tag":"hr"}}`, 230099},
		{"2.0 body elements", `{"schema":"2.0","body":{"elements":[{"tag":"markdown","content":"x"}]}}`, 0},
		{"2.0 without body", `{"schema":"2.0","header":{"title":{"tag":"plain_text","content":"t"}}}`, 0},
		{"2.0 with i18n_elements (dropped in 2.0)", `{"schema":"2.0","body":{"i18n_elements":{"zh_cn":[{"tag":"hr"}]}}}`, 230099},
		{"template", `{"type":"template","data":{"template_id":"AAq1"}}`, 0},
		{"not an object", `[1]`, 230099},
	}
	for i, tt := range tests {
		chat := fmt.Sprintf("oc_%d", i) // one chat each: 5 sends a second per chat
		s.AddChat(Chat{ID: chat, OwnerID: "ou_o", Members: []string{"ou_o"}})
		_, code, _ := call(t, s, "POST", "/open-apis/im/v1/messages", q,
			map[string]any{"receive_id": chat, "msg_type": "interactive", "content": tt.content})
		if code != tt.code {
			t.Errorf("%s: code %d, want %d", tt.name, code, tt.code)
		}
	}
}

// TestPressWindow: presses reach the bot for 30 days on a 1.0 card and 14
// days on a 2.0 card (card JSON 2.0 release notes).
func TestPressWindow(t *testing.T) {
	t.Parallel()
	s := NewServer()
	defer s.Close()
	s.AddChat(Chat{ID: "oc_1", OwnerID: "ou_o", Members: []string{"ou_o"}})
	q := url.Values{"receive_id_type": {"chat_id"}}
	send := func(content string) string {
		_, code, data := call(t, s, "POST", "/open-apis/im/v1/messages", q,
			map[string]any{"receive_id": "oc_1", "msg_type": "interactive", "content": content})
		id, _ := data["message_id"].(string)
		if code != 0 || id == "" {
			t.Fatalf("send: code %d, data %v", code, data)
		}
		return id
	}
	v1 := send(`{"elements":[{"tag":"action","actions":[{"tag":"button","value":{"k":"v"}}]}]}`)
	v2 := send(`{"schema":"2.0","body":{"elements":[{"tag":"button","value":{"k":"v"}}]}}`)
	tests := []struct {
		name string
		id   string
		age  time.Duration
		want error
	}{
		{"1.0 at 20 days", v1, 20 * 24 * time.Hour, nil},
		{"2.0 at 13 days", v2, 13 * 24 * time.Hour, nil},
		{"2.0 at 15 days", v2, 2 * 24 * time.Hour, ErrCardExpired},
		{"1.0 at 31 days", v1, 11 * 24 * time.Hour, ErrCardExpired},
	}
	for _, tt := range tests { // ages accumulate
		s.AgeMessage(tt.id, tt.age)
		if _, err := s.PressButton(tt.id, "ou_o", 0); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
}
