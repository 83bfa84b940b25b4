package feishutest

import (
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"
)

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
