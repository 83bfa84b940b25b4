package feishutest

// Interactive cards (issue #17): POST /open-apis/im/v1/messages with
// msg_type "interactive", PATCH /open-apis/im/v1/messages/:message_id, and
// the card.action.trigger callback a press of one of their buttons sends.
//
// Sources and the choices made where they are silent:
//   - Send (message/create page, feishu.md §4.4): a card's request body is
//     at most "30 KB" (230025); the fake counts 30,000 bytes of the whole
//     body, the smaller reading, as for text. content must be a JSON
//     object, a card: card JSON 1.0 (elements and each i18n_elements
//     list: objects with a tag; every field is optional: the 1.0
//     structure page calls "{}" a valid blank card), 2.0 (schema "2.0",
//     body.elements; no i18n_elements, which 2.0 dropped) or a template
//     reference (type "template"); anything else answers 230099 "Failed
//     to create card content" (the patch page's code for a card it cannot
//     build).
//   - Patch (message/patch page, its error table as mirrored by
//     feishu.apifox.cn api-9020992): only the app's own cards (the page:
//     "调用该接口的身份需与发送卡片的身份一致"; no code is given: the fake
//     answers 230001), only interactive messages (path parameter: "仅支持
//     更新消息卡片(interactive类型)"; no code is given: 230001), recalled
//     messages 230011, older than 14 days 230031, more than 5 updates a
//     second of one message 230020 ("单条消息更新频控为 5 QPS"; refused
//     patches count too, which the page does not say), a body
//     over 30 KB 230025, unbuildable card 230099. Both the card as sent and
//     the new one must declare config.update_multi true ("更新前后卡片的
//     config 属性中，均显式声明 update_multi:true"); the page names no code:
//     the fake answers 230001. A card 2.0 carries update_multi in config
//     too (it is shared by default in 2.0: the fake accepts a 2.0 card
//     without it).
//   - Callback (SDK v3.12.0 callback.CardActionTriggerRequest and
//     card-callback-communication page): schema 2.0 envelope, event_type
//     card.action.trigger, header.token the Verification Token, event
//     {operator{open_id,user_id,tenant_key}, token, action{tag,value},
//     host "im_message", context{open_message_id, open_chat_id}}; delivered
//     like events (encrypted and signed with the Encrypt Key) to the
//     request URL, or over the long connection in plaintext. Feishu echoes
//     a button's value as it is in the card.

import (
	"encoding/json"
	"errors"
	"strings"
	"time"

	"gavel/moderation"
)

const (
	msgInteractive = "interactive"
	maxCardBytes   = 30_000 // "30 KB"; the unit is not defined: the smaller reading
	// cardEditWindow: "仅支持更新 14 天内发送的消息" (message/patch page).
	cardEditWindow = 14 * 24 * time.Hour
	// patchPerMessage: "单条消息更新频控为 5 QPS" (message/patch page).
	patchPerMessage = 5
	eventCardAction = "card.action.trigger"
	// pressWindowV1 and pressWindowV2: how long a card's buttons can be
	// pressed (card JSON 2.0 release notes: 1.0 cards "可交互时间为 30
	// 天", 2.0 cards 14 days).
	pressWindowV1 = 30 * 24 * time.Hour
	pressWindowV2 = 14 * 24 * time.Hour
)

// ErrNoButton is PressButton's error for a message that is not one of the
// bot's cards or has no such button.
var ErrNoButton = errors.New("feishutest: no such card button")

// ErrCardExpired is PressButton's error for a card past its interaction
// window: Feishu sends no callback for it.
var ErrCardExpired = errors.New("feishutest: the card can no longer be interacted with")

// checkCardLocked validates an interactive message's content: a JSON card.
func (s *Server) checkCardLocked(body map[string]any) (string, answer, bool) {
	content, _ := body["content"].(string)
	if u, _ := body["uuid"].(string); len(u) > 50 {
		return "", fail(230001), false
	}
	if _, ok := parseCard(content); !ok {
		return "", fail(230099), false
	}
	return content, answer{}, true
}

// parseCard decodes a card's JSON and reports whether it is one.
func parseCard(content string) (map[string]any, bool) {
	var card map[string]any
	if err := json.Unmarshal([]byte(content), &card); err != nil || card == nil {
		return nil, false
	}
	if card["type"] == "template" {
		return card, true
	}
	holder := card // where elements live: the card (1.0) or its body (2.0)
	if card["schema"] == "2.0" {
		b, present := card["body"]
		if !present {
			return card, true
		}
		if holder, _ = b.(map[string]any); holder == nil {
			return nil, false
		}
	}
	if i18n, present := holder["i18n_elements"]; present {
		byLang, isObj := i18n.(map[string]any)
		if !isObj || card["schema"] == "2.0" { // 2.0 dropped i18n_elements
			return nil, false
		}
		for _, list := range byLang {
			if !taggedList(list) {
				return nil, false
			}
		}
	}
	if elements, present := holder["elements"]; present && !taggedList(elements) {
		return nil, false
	}
	return card, true
}

// taggedList reports whether v is a list of components: objects with a
// tag.
func taggedList(v any) bool {
	elements, ok := v.([]any)
	if !ok {
		return false
	}
	for _, e := range elements {
		el, isObj := e.(map[string]any)
		if !isObj {
			return false
		}
		if tag, _ := el["tag"].(string); tag == "" {
			return false
		}
	}
	return true
}

// shared reports whether a card declares config.update_multi true (a 2.0
// card is shared unless it says otherwise).
func shared(card map[string]any) bool {
	cfg, _ := card["config"].(map[string]any)
	if v, set := cfg["update_multi"].(bool); set {
		return v
	}
	return card["schema"] == "2.0"
}

func (s *Server) patchLocked(id string, body map[string]any) answer {
	m, found := s.messages[id]
	switch {
	case !found, !m.FromBot, m.MsgType != msgInteractive:
		return fail(230001)
	case m.Deleted:
		return fail(230011)
	case time.Since(m.Created) > cardEditWindow:
		return fail(230031)
	}
	if !s.AllowN("patch:"+id, patchPerMessage, 1) {
		return fail(230020)
	}
	content, _ := body["content"].(string)
	card, valid := parseCard(content)
	if !valid {
		return fail(230099)
	}
	old, _ := parseCard(m.Content)
	if !shared(card) || !shared(old) {
		return fail(230001)
	}
	m.Content, m.Updated = content, true
	return ok(nil)
}

// Card returns the card JSON of one of the bot's interactive messages as
// it stands (after any patch), decoded.
func (s *Server) Card(id string) (map[string]any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, found := s.messages[id]
	if !found || m.MsgType != msgInteractive {
		return nil, false
	}
	return parseCard(m.Content)
}

// AgeMessage moves a message's creation time d into the past (a card too
// old to patch, a message too old to recall).
func (s *Server) AgeMessage(id string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, found := s.messages[id]; found {
		m.Created = m.Created.Add(-d)
	}
}

// Buttons returns the values of a card's buttons in document order, as
// Feishu would echo them.
func (s *Server) Buttons(id string) []json.RawMessage {
	card, found := s.Card(id)
	if !found {
		return nil
	}
	var out []json.RawMessage
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if x["tag"] == "button" {
				b, _ := json.Marshal(x["value"])
				out = append(out, b)
			}
			for _, k := range []string{"header", "body", "elements", "actions", "columns", "fields"} {
				if c, has := x[k]; has {
					walk(c)
				}
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(card)
	return out
}

// CardPress describes a card.action.trigger callback: Operator pressed the
// button whose value is Value on card MessageID in ChatID. Zero fields get
// defaults: a random event id, tag "button", now.
type CardPress struct {
	EventID   string
	MessageID string
	ChatID    string
	Operator  string // open_id; empty makes an event without one
	Tag       string
	Value     json.RawMessage
	At        time.Time
	AppID     string
}

// PressButton presses button n (0-based, document order) of the bot's
// card msgID as operator: the callback Feishu would send, with the
// button's value echoed. A card older than its interaction window (30
// days for card JSON 1.0, 14 for 2.0) answers ErrCardExpired.
func (s *Server) PressButton(msgID, operator string, n int) (CardPress, error) {
	buttons := s.Buttons(msgID)
	m, found := s.Message(msgID)
	if !found || n < 0 || n >= len(buttons) {
		return CardPress{}, ErrNoButton
	}
	window := pressWindowV1
	if card, _ := s.Card(msgID); card["schema"] == "2.0" {
		window = pressWindowV2
	}
	if time.Since(m.Created) > window {
		return CardPress{}, ErrCardExpired
	}
	return CardPress{MessageID: msgID, ChatID: m.ChatID, Operator: operator, Value: buttons[n], AppID: s.AppID}, nil
}

// CardActionEvent returns the v2.0 JSON of the card.action.trigger
// callback p, carrying verification token token.
func CardActionEvent(token string, p CardPress) []byte {
	if p.Tag == "" {
		p.Tag = "button"
	}
	if p.At.IsZero() {
		p.At = time.Now()
	}
	value := p.Value
	if value == nil {
		value = json.RawMessage(`{}`)
	}
	operator := map[string]any{}
	if p.Operator != "" {
		operator = map[string]any{"open_id": p.Operator, "user_id": "", "tenant_key": "tenant"}
	}
	return envelope(token, p.AppID, p.EventID, eventCardAction, p.At, map[string]any{
		"operator": operator,
		"token":    "c-" + randomHex(12),
		"host":     "im_message",
		"action":   map[string]any{"tag": p.Tag, "value": value},
		"context":  map[string]any{"open_message_id": p.MessageID, "open_chat_id": p.ChatID},
	})
}

// PressPayload is the callback as the long connection hands it over:
// plaintext JSON, neither encrypted nor signed.
func (s *Server) PressPayload(p CardPress) []byte {
	return CardActionEvent(s.VerificationToken, p)
}

// PressDelivery is the callback as the webhook receives it at time at:
// encrypted and signed with the server's Encrypt Key.
func (s *Server) PressDelivery(p CardPress, at time.Time) moderation.Delivery {
	return s.Delivery(CardActionEvent(s.VerificationToken, p), at)
}

// cardText is what a card shows as text, one line per text element in
// document order: the header's title, each div's text and fields (a pair
// of short fields on one line), button labels, the note.
func cardText(content string) string {
	card, ok := parseCard(content)
	if !ok {
		return ""
	}
	var lines []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if c, isText := x["content"].(string); isText && (x["tag"] == "plain_text" || x["tag"] == "lark_md" || x["tag"] == "markdown") {
				lines = append(lines, c)
				return
			}
			if fields, isDiv := x["fields"].([]any); isDiv {
				var parts []string
				for _, f := range fields {
					if t, _ := f.(map[string]any)["text"].(map[string]any); t != nil {
						if c, _ := t["content"].(string); c != "" {
							parts = append(parts, strings.Trim(c, "*"))
						}
					}
				}
				lines = append(lines, strings.Join(parts, ": "))
			}
			for _, k := range []string{"header", "title", "text", "body", "elements", "actions", "columns"} {
				if c, has := x[k]; has {
					walk(c)
				}
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(card)
	return strings.Join(lines, "\n")
}
