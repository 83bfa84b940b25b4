package easemobtest

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"gavel/moderation"
)

// Sign returns security = lowercase hex md5(callID + secret + timestamp).
func Sign(callID, secret string, timestampMS int64) string {
	sum := md5.Sum([]byte(callID + secret + strconv.FormatInt(timestampMS, 10)))
	return hex.EncodeToString(sum[:])
}

// Message describes a post-send message callback to build.
type Message struct {
	// ChatID is the group or chat-room ID (for Kind "chat", the receiver).
	ChatID string
	// Kind is KindChatRoom or KindGroup (content_type chat:room:text or
	// chat:group:text, chat_type groupchat), "" for a group message without
	// content_type (older rules), or "chat" for a 1:1 message.
	Kind string
	From string
	Text string
	// AtList becomes ext.em_at_list; AtAll sends the string "ALL" instead.
	AtList []string
	AtAll  bool
	// Render writes mentions as a client does: each "@id" of Text whose id
	// is in AtList and has a nickname (SetNickname) becomes "@nickname" —
	// which may hold spaces.
	Render bool
	// Offline makes it the chat_offline copy for user OfflineTo.
	Offline   bool
	OfflineTo string
	// Quote makes the message a reply: ext.msgQuote as the UIKit writes
	// it (message_quote pages: msgID, msgPreview, msgSender, msgType).
	Quote *Quote
	// MsgID and CallID are generated when empty; At defaults to the
	// server's clock.
	MsgID  string
	CallID string
	At     time.Time
}

// Quote is the reference a reply carries in ext.msgQuote.
type Quote struct {
	MsgID, Preview, Sender, Type string
}

// PreSend describes a pre-send callback (发送前回调) to build.
type PreSend struct {
	// ChatID is the group or chat-room ID (for ChatType "chat", the
	// receiver).
	ChatID string
	// ChatType is sent verbatim: "groupchat" (default, as in the samples),
	// "group" or "chatroom" (as in the field table), or "chat" (1:1).
	ChatType string
	From     string
	Text     string
	// Bodies sends the older payload form {"ext":{},"bodies":[…]} (one txt
	// body per element of Texts, or of Text); otherwise the newest flat
	// form {"msg","type":"txt"}.
	Bodies bool
	Texts  []string
	// Image sends an image message instead of text.
	Image bool
	// MsgID and CallID are generated when empty; At defaults to the
	// server's clock.
	MsgID  string
	CallID string
	At     time.Time
}

// Join describes a group_op_event JOIN callback.
type Join struct {
	ChatID   string
	Kind     string // KindChatRoom or KindGroup
	Users    []string
	Operator string // default "@ppAdmin"
	CallID   string
	At       time.Time
}

func (s *Server) nextID() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	return s.seq
}

func (s *Server) appKey() string { return s.Org + "#" + s.App }

// MessageFields returns the unsigned JSON fields of m's callback.
func (s *Server) MessageFields(m Message) map[string]any {
	if m.MsgID == "" {
		m.MsgID = strconv.FormatInt(s.nextID(), 10)
	}
	if m.CallID == "" {
		m.CallID = fmt.Sprintf("%s_%d-cb", s.appKey(), s.nextID())
	}
	if m.At.IsZero() {
		m.At = s.Now()
	}
	s.recordMessage(m)
	if m.Render {
		for _, id := range m.AtList {
			if n := s.Nickname(id); n != "" {
				m.Text = renderMention(m.Text, id, n)
			}
		}
	}
	ext := map[string]any{}
	switch {
	case m.AtAll:
		ext["em_at_list"] = "ALL"
	case len(m.AtList) > 0:
		ext["em_at_list"] = m.AtList
	}
	if q := m.Quote; q != nil {
		typ := q.Type
		if typ == "" {
			typ = "txt"
		}
		ext["msgQuote"] = map[string]any{"msgID": q.MsgID, "msgPreview": q.Preview, "msgSender": q.Sender, "msgType": typ}
	}
	f := map[string]any{
		"callId":          m.CallID,
		"eventType":       "chat",
		"timestamp":       m.At.UnixMilli(),
		"chat_type":       "groupchat",
		"group_id":        m.ChatID,
		"from":            m.From,
		"to":              m.ChatID,
		"msg_id":          m.MsgID,
		"payload":         map[string]any{"ext": ext, "bodies": []any{map[string]any{"msg": m.Text, "type": "txt"}}},
		"securityVersion": "1.0.0",
		"appkey":          s.appKey(),
		"host":            "msync@ebs-ali-beijing-msync1",
	}
	switch m.Kind {
	case KindChatRoom:
		f["content_type"] = "chat:room:text"
	case KindGroup:
		f["content_type"] = "chat:group:text"
	case "chat":
		f["chat_type"] = "chat"
		f["content_type"] = "chat:user:text"
		delete(f, "group_id")
	}
	if m.Offline {
		f["eventType"] = "chat_offline"
		if m.OfflineTo != "" {
			f["to"] = m.OfflineTo
		}
	}
	return f
}

// renderMention replaces the whole-word "@id" tokens of text by "@nick".
func renderMention(text, id, nick string) string {
	f := strings.Fields(text)
	for i, w := range f {
		if strings.EqualFold(w, "@"+id) {
			f[i] = "@" + nick
		}
	}
	return strings.Join(f, " ")
}

// JoinFields returns the unsigned JSON fields of j's group_op_event.
func (s *Server) JoinFields(j Join) map[string]any {
	typ := s.opDefaults(&j.CallID, &j.At, &j.Operator, j.Kind)
	return map[string]any{
		"callId":       j.CallID,
		"payload":      map[string]any{"member": j.Users, "type": "DIRECT"},
		"appkey":       s.appKey(),
		"id":           j.ChatID,
		"type":         typ,
		"event":        "group_op_event",
		"operation":    "JOIN",
		"operator":     j.Operator,
		"member_count": len(j.Users) + 1,
		"timestamp":    j.At.UnixMilli(),
	}
}

// PreSendFields returns the unsigned JSON fields of p's callback: no
// eventType, as documented.
func (s *Server) PreSendFields(p PreSend) map[string]any {
	if p.MsgID == "" {
		p.MsgID = strconv.FormatInt(s.nextID(), 10)
	}
	if p.CallID == "" {
		p.CallID = fmt.Sprintf("%s_%d-pre", s.appKey(), s.nextID())
	}
	if p.At.IsZero() {
		p.At = s.Now()
	}
	if p.ChatType == "" {
		p.ChatType = "groupchat"
	}
	var payload map[string]any
	switch {
	case p.Image:
		payload = map[string]any{"type": "img", "url": "https://a1.easemob.com/chatfiles/x", "filename": "x.jpg"}
		if p.Bodies {
			payload = map[string]any{"ext": map[string]any{}, "bodies": []any{payload}}
		}
	case p.Bodies:
		texts := p.Texts
		if len(texts) == 0 {
			texts = []string{p.Text}
		}
		bodies := make([]any, len(texts))
		for i, t := range texts {
			bodies[i] = map[string]any{"msg": t, "type": "txt"}
		}
		payload = map[string]any{"ext": map[string]any{}, "bodies": bodies}
	default:
		payload = map[string]any{"msg": p.Text, "type": "txt"}
	}
	f := map[string]any{
		"callId":    p.CallID,
		"timestamp": p.At.UnixMilli(),
		"chat_type": p.ChatType,
		"group_id":  p.ChatID,
		"from":      p.From,
		"to":        p.ChatID,
		"msg_id":    p.MsgID,
		"payload":   payload,
	}
	if p.ChatType == "chat" {
		delete(f, "group_id")
	}
	return f
}

// PreSendBody returns p's callback body signed with the server's
// PreSendSecret (CallbackSecret when that is empty).
func (s *Server) PreSendBody(p PreSend) []byte {
	secret := s.PreSendSecret
	if secret == "" {
		secret = s.CallbackSecret
	}
	return SignFields(s.PreSendFields(p), secret)
}

// PreSendDelivery is Delivery(PreSendBody(p)).
func (s *Server) PreSendDelivery(p PreSend) moderation.Delivery { return s.Delivery(s.PreSendBody(p)) }

// PreSendRequest is Request(target, PreSendBody(p)).
func (s *Server) PreSendRequest(target string, p PreSend) *http.Request {
	return Request(target, s.PreSendBody(p))
}

// SignFields sets fields["security"] from callId and timestamp with secret
// and returns the JSON body.
func SignFields(fields map[string]any, secret string) []byte {
	callID, _ := fields["callId"].(string)
	var ts int64
	switch v := fields["timestamp"].(type) {
	case int64:
		ts = v
	case int:
		ts = int64(v)
	case float64:
		ts = int64(v)
	}
	fields["security"] = Sign(callID, secret, ts)
	b, err := json.Marshal(fields)
	if err != nil {
		panic(fmt.Sprintf("easemobtest: marshal callback: %v", err))
	}
	return b
}

// MessageBody returns m's callback body signed with the server's
// CallbackSecret.
func (s *Server) MessageBody(m Message) []byte {
	return SignFields(s.MessageFields(m), s.CallbackSecret)
}

// RoleOp is a group_op_event that changes who runs a chat, with the
// documented payloads: ADMIN ADD/REMOVE ({"admin":[…],"type":…}) and
// UPDATE OWNER ({"owner":…,"new_owner":…,"type":"OWNER"}).
type RoleOp struct {
	ChatID string
	Kind   string // KindChatRoom or KindGroup
	// Promote adds Admins; otherwise they are demoted (REMOVE).
	Promote bool
	Admins  []string
	// NewOwner, when set, makes the event an ownership transfer from
	// Owner to NewOwner instead.
	Owner, NewOwner string
	Operator        string // default "@ppAdmin"
	CallID          string
	At              time.Time
}

// RoleOpBody returns o's callback body signed with the CallbackSecret.
// It only describes the change; seed the fake's state with AddChat.
func (s *Server) RoleOpBody(o RoleOp) []byte {
	typ := s.opDefaults(&o.CallID, &o.At, &o.Operator, o.Kind)
	op, payload := "ADMIN", map[string]any{"admin": o.Admins, "type": "REMOVE"}
	if o.Promote {
		payload["type"] = "ADD"
	}
	if o.NewOwner != "" {
		op, payload = "UPDATE", map[string]any{"owner": o.Owner, "new_owner": o.NewOwner, "type": "OWNER"}
	}
	return SignFields(map[string]any{
		"callId": o.CallID, "payload": payload, "appkey": s.appKey(), "id": o.ChatID, "type": typ,
		"event": "group_op_event", "operation": op, "operator": o.Operator, "timestamp": o.At.UnixMilli(),
	}, s.CallbackSecret)
}

// JoinBody returns j's callback body signed with the CallbackSecret.
func (s *Server) JoinBody(j Join) []byte {
	return SignFields(s.JoinFields(j), s.CallbackSecret)
}

// Delivery wraps a callback body as the handlers hand it to Receive.
func (s *Server) Delivery(body []byte) moderation.Delivery {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	return moderation.Delivery{Header: h, Body: body, ReceivedAt: s.Now()}
}

// MessageDelivery is Delivery(MessageBody(m)).
func (s *Server) MessageDelivery(m Message) moderation.Delivery { return s.Delivery(s.MessageBody(m)) }

// JoinDelivery is Delivery(JoinBody(j)).
func (s *Server) JoinDelivery(j Join) moderation.Delivery { return s.Delivery(s.JoinBody(j)) }

// Request builds the POST Easemob would send to target (Gavel's callback
// URL) with body.
func Request(target string, body []byte) *http.Request {
	req, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		panic(fmt.Sprintf("easemobtest: callback request: %v", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Apache-HttpClient/4.5.13 (Java/1.8.0)")
	return req
}

// MessageRequest is Request(target, MessageBody(m)).
func (s *Server) MessageRequest(target string, m Message) *http.Request {
	return Request(target, s.MessageBody(m))
}

// StoreRetention is how long Easemob's callback storage (回调异常缓存, a paid
// add-on) keeps a callback that could not be delivered.
const StoreRetention = 72 * time.Hour

// Store keeps body as a callback whose delivery failed, as Easemob's
// callback storage does; StoredRequests re-sends it later.
func (s *Server) Store(body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stored = append(s.stored, storedCallback{body: append([]byte(nil), body...), at: s.now()})
}

// StoredRequests re-sends every stored callback still within
// StoreRetention to target, as POST /{org}/{app}/callbacks/storage/retry
// makes Easemob do: the body is sent again byte for byte, so callId,
// timestamp (when Easemob received the message) and security are those of
// the first attempt, however late the re-send.
func (s *Server) StoredRequests(target string) []*http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*http.Request
	for _, sc := range s.stored {
		if s.now().Sub(sc.at) <= StoreRetention {
			out = append(out, Request(target, sc.body))
		}
	}
	return out
}

// opDefaults fills an operation event's unset call id, time and operator
// (the REST API's "@ppAdmin") and returns the chat type Easemob names it
// by: "GROUP" or "CHATROOM".
func (s *Server) opDefaults(callID *string, at *time.Time, operator *string, kind string) string {
	if *callID == "" {
		*callID = fmt.Sprintf("%s_%d-op", s.appKey(), s.nextID())
	}
	if at.IsZero() {
		*at = s.Now()
	}
	if *operator == "" {
		*operator = "@ppAdmin"
	}
	if kind == KindGroup {
		return "GROUP"
	}
	return "CHATROOM"
}
