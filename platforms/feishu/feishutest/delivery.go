package feishutest

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"gavel/moderation"
)

// Webhook header names.
const (
	HeaderTimestamp = "X-Lark-Request-Timestamp"
	HeaderNonce     = "X-Lark-Request-Nonce"
	HeaderSignature = "X-Lark-Signature"
)

// Mention is one @-mention in a built message: Key is the placeholder in
// the text ("@_user_1").
type Mention struct {
	Key    string
	OpenID string
	Name   string
}

// TextMessage describes an im.message.receive_v1 event. Zero fields get
// defaults: random IDs, chat_type "group", message_type "text", sender_type
// "user", create time now.
type TextMessage struct {
	EventID     string
	MessageID   string
	ChatID      string
	ChatType    string
	SenderID    string // open_id
	SenderType  string
	MessageType string
	// Text is the text with @_user_N placeholders, e.g. "@_user_1 /kick @_user_2".
	Text string
	// Content overrides the JSON content string (for non-text messages).
	Content    string
	Mentions   []Mention
	CreateTime time.Time
	AppID      string
	// ParentID makes the message a reply: message.parent_id (and root_id,
	// the same message for a reply to a thread's first message).
	ParentID string
}

// MessageEvent returns the v2.0 JSON of an im.message.receive_v1 event
// carrying verification token token.
func MessageEvent(token string, m TextMessage) []byte {
	m = m.withDefaults()
	content := m.content()
	mentions := make([]map[string]any, 0, len(m.Mentions))
	for _, mn := range m.Mentions {
		mentions = append(mentions, map[string]any{
			"key": mn.Key, "name": mn.Name, "tenant_key": "tenant",
			"id": map[string]string{"open_id": mn.OpenID, "union_id": "on_" + mn.OpenID, "user_id": ""},
		})
	}
	ms := strconv.FormatInt(m.CreateTime.UnixMilli(), 10)
	message := map[string]any{
		"message_id": m.MessageID, "create_time": ms, "update_time": ms, "chat_id": m.ChatID,
		"chat_type": m.ChatType, "message_type": m.MessageType, "content": content, "mentions": mentions,
	}
	if m.ParentID != "" {
		message["parent_id"], message["root_id"] = m.ParentID, m.ParentID
	}
	return envelope(token, m.AppID, m.EventID, "im.message.receive_v1", m.CreateTime, map[string]any{
		"sender": map[string]any{
			"sender_id":   map[string]string{"open_id": m.SenderID, "union_id": "on_" + m.SenderID, "user_id": ""},
			"sender_type": m.SenderType, "tenant_key": "tenant",
		},
		"message": message,
	})
}

func (m TextMessage) withDefaults() TextMessage {
	if m.EventID == "" {
		m.EventID = randomHex(16)
	}
	if m.MessageID == "" {
		m.MessageID = "om_" + randomHex(16)
	}
	if m.ChatType == "" {
		m.ChatType = "group"
	}
	if m.MessageType == "" {
		m.MessageType = "text"
	}
	if m.SenderType == "" {
		m.SenderType = "user"
	}
	if m.CreateTime.IsZero() {
		m.CreateTime = time.Now()
	}
	return m
}

// UserAddedEvent returns the v2.0 JSON of an im.chat.member.user.added_v1
// event created now: users (open_ids) added to chatID by operator.
func UserAddedEvent(token, eventID, chatID, operator string, users ...string) []byte {
	return UserAddedEventAt(token, eventID, chatID, operator, time.Now(), users...)
}

// UserAddedEventAt is UserAddedEvent with header.create_time at.
func UserAddedEventAt(token, eventID, chatID, operator string, at time.Time, users ...string) []byte {
	list := make([]map[string]any, 0, len(users))
	for _, u := range users {
		list = append(list, map[string]any{"name": u, "tenant_key": "tenant",
			"user_id": map[string]string{"open_id": u, "union_id": "on_" + u, "user_id": ""}})
	}
	return envelope(token, "", eventID, "im.chat.member.user.added_v1", at, map[string]any{
		"chat_id": chatID, "operator_id": map[string]string{"open_id": operator}, "external": false,
		"operator_tenant_key": "tenant", "users": list, "name": chatID,
	})
}

// UserDeletedEventAt returns the v2.0 JSON of an
// im.chat.member.user.deleted_v1 event (users left or were removed) with
// header.create_time at; the fields are the documented ones, as for
// im.chat.member.user.added_v1.
func UserDeletedEventAt(token, eventID, chatID, operator string, at time.Time, users ...string) []byte {
	list := make([]map[string]any, 0, len(users))
	for _, u := range users {
		list = append(list, map[string]any{"name": u, "tenant_key": "tenant",
			"user_id": map[string]string{"open_id": u, "union_id": "on_" + u, "user_id": ""}})
	}
	return envelope(token, "", eventID, "im.chat.member.user.deleted_v1", at, map[string]any{
		"chat_id": chatID, "operator_id": map[string]string{"open_id": operator}, "external": false,
		"operator_tenant_key": "tenant", "users": list, "name": chatID,
	})
}

// ChatUpdatedEventAt returns the v2.0 JSON of an im.chat.updated_v1 event
// (the chat's owner or settings changed) with header.create_time at:
// before_change and after_change hold the owner transfer from oldOwner to
// newOwner (open_ids; both empty: a settings change). The docs list the
// event as "owner/permissions changed" and are silent on whether adding or
// removing a manager (user_manager_id_list) fires it; Gavel drops the
// whole chat's cached roles on it either way, and a manager change that
// fires nothing waits for moderation.role_cache_ttl.
func ChatUpdatedEventAt(token, eventID, chatID, operator, oldOwner, newOwner string, at time.Time) []byte {
	change := func(owner string) map[string]any {
		if owner == "" {
			return map[string]any{}
		}
		return map[string]any{"owner_id": map[string]string{"open_id": owner, "union_id": "on_" + owner, "user_id": ""}}
	}
	return envelope(token, "", eventID, "im.chat.updated_v1", at, map[string]any{
		"chat_id": chatID, "operator_id": map[string]string{"open_id": operator}, "external": false,
		"operator_tenant_key": "tenant", "before_change": change(oldOwner), "after_change": change(newOwner),
	})
}

// Event returns a v2.0 envelope of any event type around event, created
// now.
func Event(token, eventID, eventType string, event any) []byte {
	return EventAt(token, eventID, eventType, time.Now(), event)
}

// EventAt is Event with header.create_time at.
func EventAt(token, eventID, eventType string, at time.Time, event any) []byte {
	return envelope(token, "", eventID, eventType, at, event)
}

func envelope(token, appID, eventID, eventType string, at time.Time, event any) []byte {
	if eventID == "" {
		eventID = randomHex(16)
	}
	header := map[string]string{
		"event_id": eventID, "event_type": eventType, "create_time": strconv.FormatInt(at.UnixMilli(), 10),
		"token": token, "tenant_key": "tenant",
	}
	if appID != "" {
		header["app_id"] = appID
	}
	b, _ := json.Marshal(map[string]any{"schema": "2.0", "header": header, "event": event})
	return b
}

// Challenge returns a url_verification body.
func Challenge(token, challenge string) []byte {
	b, _ := json.Marshal(map[string]string{"challenge": challenge, "token": token, "type": "url_verification"})
	return b
}

// Encrypt returns Feishu's "encrypt" value for plaintext with a random IV.
func Encrypt(encryptKey string, plaintext []byte) string {
	iv := make([]byte, aes.BlockSize)
	_, _ = rand.Read(iv)
	return EncryptWithIV(encryptKey, iv, plaintext)
}

// EncryptWithIV is Encrypt with a given 16-byte IV: base64(IV ‖
// AES-256-CBC(sha256(key), PKCS#7(plaintext))).
func EncryptWithIV(encryptKey string, iv, plaintext []byte) string {
	key := sha256.Sum256([]byte(encryptKey))
	block, err := aes.NewCipher(key[:])
	if err != nil || len(iv) != aes.BlockSize {
		panic(fmt.Sprintf("feishutest: bad key or IV: %v", err))
	}
	n := aes.BlockSize - len(plaintext)%aes.BlockSize
	padded := append(bytes.Clone(plaintext), bytes.Repeat([]byte{byte(n)}, n)...)
	out := make([]byte, aes.BlockSize+len(padded))
	copy(out, iv)
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(out[aes.BlockSize:], padded)
	return base64.StdEncoding.EncodeToString(out)
}

// EncryptedBody returns {"encrypt":"…"} for plaintext.
func EncryptedBody(encryptKey string, plaintext []byte) []byte {
	b, _ := json.Marshal(map[string]string{"encrypt": Encrypt(encryptKey, plaintext)})
	return b
}

// Sign returns X-Lark-Signature: hex(sha256(timestamp+nonce+key+body)).
func Sign(timestamp, nonce, encryptKey string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(timestamp + nonce + encryptKey))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// PlainDelivery wraps a plaintext body as a delivery without signature
// headers (an app without an Encrypt Key).
func PlainDelivery(body []byte) moderation.Delivery {
	return moderation.Delivery{Header: http.Header{"Content-Type": {"application/json; charset=utf-8"}}, Query: url.Values{}, Body: body, ReceivedAt: time.Now()}
}

// SignedDelivery encrypts event with encryptKey and signs the resulting
// body with timestamp and nonce, as Feishu does when an Encrypt Key is set.
func SignedDelivery(encryptKey, timestamp, nonce string, event []byte) moderation.Delivery {
	return SignBody(encryptKey, timestamp, nonce, EncryptedBody(encryptKey, event))
}

// SignBody signs an already built raw body.
func SignBody(encryptKey, timestamp, nonce string, body []byte) moderation.Delivery {
	d := PlainDelivery(body)
	d.Header.Set(HeaderTimestamp, timestamp)
	d.Header.Set(HeaderNonce, nonce)
	d.Header.Set(HeaderSignature, Sign(timestamp, nonce, encryptKey, body))
	return d
}

// SignedRequest is SignedDelivery as an HTTP POST to target.
func SignedRequest(target, encryptKey, timestamp, nonce string, event []byte) (*http.Request, error) {
	return Request(target, SignedDelivery(encryptKey, timestamp, nonce, event))
}

// Request turns a delivery into an HTTP POST to target.
func Request(target string, d moderation.Delivery) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(d.Body))
	if err != nil {
		return nil, err
	}
	req.Header = d.Header.Clone()
	return req, nil
}

// Timestamp formats t as X-Lark-Request-Timestamp (Unix seconds).
func Timestamp(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// NewMessage builds a group text message from sender in chatID, records it
// in the fake (so it can be replied to and recalled) and returns it with its
// IDs set. text uses @_user_N placeholders matching mentions.
func (s *Server) NewMessage(chatID, senderID, text string, mentions ...Mention) TextMessage {
	m := TextMessage{ChatID: chatID, SenderID: senderID, Text: text, Mentions: mentions, AppID: s.AppID}.withDefaults()
	content, _ := json.Marshal(map[string]string{"text": text})
	s.mu.Lock()
	s.addMessageLocked(&Message{ID: m.MessageID, ChatID: chatID, SenderID: senderID, MsgType: "text", Content: string(content), Created: m.CreateTime})
	s.mu.Unlock()
	return m
}

// Delivery encrypts and signs event with the server's Encrypt Key at time at.
func (s *Server) Delivery(event []byte, at time.Time) moderation.Delivery {
	return SignedDelivery(s.EncryptKey, Timestamp(at), randomHex(8), event)
}

// RePushStamp says how a re-push is signed. Feishu documents the retry
// schedule (15 s, 5 min, 1 h, 6 h) but not whether a re-push carries the
// first push's X-Lark-Request-Timestamp (and signature) or a fresh one, so
// the fake can do either.
type RePushStamp int

const (
	// OriginalStamp re-sends the first push byte for byte: same body,
	// same timestamp, nonce and signature.
	OriginalStamp RePushStamp = iota
	// FreshStamp re-signs the same body with the re-push time.
	FreshStamp
)

// RePush returns Feishu's re-push at time at of the earlier delivery d
// (whose event, and so its header.create_time, is unchanged).
func (s *Server) RePush(d moderation.Delivery, at time.Time, stamp RePushStamp) moderation.Delivery {
	var out moderation.Delivery
	if stamp == FreshStamp {
		out = SignBody(s.EncryptKey, Timestamp(at), randomHex(8), d.Body)
	} else {
		out = PlainDelivery(bytes.Clone(d.Body))
		out.Header = d.Header.Clone()
	}
	out.ReceivedAt = at
	return out
}

// MessageDelivery is Delivery(MessageEvent(s.VerificationToken, m), at).
func (s *Server) MessageDelivery(m TextMessage, at time.Time) moderation.Delivery {
	return s.Delivery(MessageEvent(s.VerificationToken, m), at)
}

// MessageRequest is MessageDelivery as an HTTP POST to target.
func (s *Server) MessageRequest(target string, m TextMessage, at time.Time) (*http.Request, error) {
	return Request(target, s.MessageDelivery(m, at))
}
