package easemob

import (
	"context"
	"crypto/md5"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"gavel/moderation"
	"gavel/platforms/wirejson"
)

// Sign returns the callback signature: lowercase hex md5(callID + secret +
// timestamp), the timestamp in Unix milliseconds written in base 10.
func Sign(callID, secret string, timestampMS int64) string {
	sum := md5.Sum([]byte(callID + secret + strconv.FormatInt(timestampMS, 10)))
	return hex.EncodeToString(sum[:])
}

// callback is every callback shape Gavel reads: post-send messages, the
// group_op_event operation events and the legacy "muc" events.
type callback struct {
	// The signed fields.
	CallID    string         `json:"callId"`
	Timestamp wirejson.Value `json:"timestamp"`
	Security  string         `json:"security"`

	EventType   string         `json:"eventType"`
	ChatType    string         `json:"chat_type"`
	GroupID     string         `json:"group_id"`
	From        string         `json:"from"`
	To          string         `json:"to"`
	MsgID       string         `json:"msg_id"`
	ContentType string         `json:"content_type"`
	AppKey      string         `json:"appkey"`
	Payload     wirejson.Value `json:"payload"`

	// group_op_event
	Event     string `json:"event"`
	ID        string `json:"id"`
	Type      string `json:"type"`
	Operation string `json:"operation"`
	Operator  string `json:"operator"`
}

type messagePayload struct {
	Bodies []struct {
		Type string `json:"type"`
		Msg  string `json:"msg"`
	} `json:"bodies"`
	// Flat text payload of the newer pre-send samples.
	Type string `json:"type"`
	Msg  string `json:"msg"`
	Ext  struct {
		AtList wirejson.Value `json:"em_at_list"`
	} `json:"ext"`
}

type opPayload struct {
	Type   string   `json:"type"`
	Member []string `json:"member"`
}

type mucPayload struct {
	MucID      string `json:"muc_id"`
	IsChatroom bool   `json:"is_chatroom"`
	Operation  string `json:"operation"`
}

// ackBody is the answer to every accepted callback: HTTP 200 with an empty
// JSON object (Easemob ignores the body; it must stay under 1,000 chars).
var ackBody = json.RawMessage(`{}`)

// Receive verifies a callback (security, then timestamp) from the raw body
// and returns the events Gavel acts on. A pre-send callback arriving here
// — recognised by a signature under a distinct presend_secret, or by its
// documented shape (no eventType, no event) — is answered as
// ReceivePreSend would; a separate pre-send URL is the reliable setup.
func (c *Client) Receive(ctx context.Context, d moderation.Delivery) (moderation.Ack, error) {
	cb, err := decodeCallback(d.Body)
	if err != nil {
		return moderation.Ack{}, err
	}
	ts, err := c.verify(&cb, c.cfg.CallbackSecret)
	preSend := false
	if errors.Is(err, moderation.ErrBadSignature) && c.cfg.PreSendSecret != "" && c.cfg.PreSendSecret != c.cfg.CallbackSecret {
		if pts, perr := c.verify(&cb, c.cfg.PreSendSecret); perr == nil || !errors.Is(perr, moderation.ErrBadSignature) {
			ts, err, preSend = pts, perr, true
		}
	}
	if errors.Is(err, moderation.ErrStaleTimestamp) {
		return c.ignoreStale(ctx, cb, preSend || isPreSend(cb), err), nil
	}
	if err != nil {
		return moderation.Ack{}, err
	}
	preSend = preSend || isPreSend(cb)
	rule := "post"
	if preSend {
		rule = "pre"
	}
	if err := c.claimCall(ctx, rule, cb, d.Body, ts); err != nil {
		return moderation.Ack{}, err
	}
	if preSend {
		return c.preSend(ctx, cb, ts)
	}
	events, err := c.parse(ctx, cb, ts)
	if err != nil {
		return moderation.Ack{}, err
	}
	canonicalEvents(events)
	if len(events) > 0 {
		c.log.DebugContext(ctx, "callback accepted", slog.String("event_id", events[0].DeliveryID), slog.Int("events", len(events)))
	}
	return moderation.Ack{Response: ackBody, Events: events}, nil
}

// IgnoredStale is the moderation.Ack.Ignored reason of a correctly signed
// callback outside the replay window.
const IgnoredStale = "stale"

// ignoreStale answers a correctly signed callback whose timestamp is
// outside the replay window: HTTP 200 with the usual answer and no event.
// Easemob's timestamp is when it received the message, and its callback
// storage (回调异常缓存) re-sends failed callbacks for up to 3 days, so a
// late callback is normal traffic, not an attack: refusing it would only
// count towards the 90-failures-in-30-s ban that suspends every callback
// rule of the app. A command that late is not carried out. A pre-send
// callback is answered {"valid": true}, as the Gate does for a message it
// lets through.
func (c *Client) ignoreStale(ctx context.Context, cb callback, preSend bool, err error) moderation.Ack {
	c.log.DebugContext(ctx, "late callback ignored", slog.String("call_id", cb.CallID), slog.Bool("presend", preSend), slog.Any("error", err))
	return ignoreAck(preSend, IgnoredStale)
}

// ignoreAck is the usual answer, no event, and why.
func ignoreAck(preSend bool, reason string) moderation.Ack {
	if preSend {
		return moderation.Ack{Response: preSendDeliver, Ignored: reason}
	}
	return moderation.Ack{Response: ackBody, Ignored: reason}
}

// canonicalEvents puts every user id of events in canonical form (lower
// case): the sender, the mentioned users and the joiners. Join.Operator
// stays as sent: it is informational, and "@ppAdmin" (the REST API) is
// not a user id.
func canonicalEvents(events []moderation.Event) {
	for i := range events {
		if m := events[i].Message; m != nil {
			m.SenderID = CanonicalUserID(m.SenderID)
			for j := range m.Mentions {
				m.Mentions[j].UserID = CanonicalUserID(m.Mentions[j].UserID)
			}
		}
		if j := events[i].Join; j != nil {
			for k := range j.UserIDs {
				j.UserIDs[k] = CanonicalUserID(j.UserIDs[k])
			}
		}
	}
}

// decodeCallback decodes a callback body, once: the signed fields and
// everything Gavel reads.
func decodeCallback(body []byte) (callback, error) {
	var cb callback
	if err := wirejson.Unmarshal(body, &cb); err != nil {
		return callback{}, fmt.Errorf("easemob: %w: %w", moderation.ErrMalformed, err)
	}
	return cb, nil
}

// verify checks the signature made with secret (one per callback rule)
// and the replay window, and returns the callback's timestamp.
func (c *Client) verify(sf *callback, secret string) (time.Time, error) {
	// A configured secret is always checked; insecure_skip_verify only
	// permits running without one.
	verifySig := secret != "" || !c.cfg.InsecureSkipVerify
	tsText := strings.TrimSpace(string(sf.Timestamp))
	if uq, err := strconv.Unquote(tsText); err == nil {
		tsText = uq // a quoted number; Easemob sends a JSON number
	}
	if sf.CallID == "" || tsText == "" || tsText == "null" ||
		(verifySig && sf.Security == "") {
		return time.Time{}, fmt.Errorf("easemob: callId, timestamp or security: %w", moderation.ErrMissingHeaders)
	}
	ms, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil || strconv.FormatInt(ms, 10) != tsText {
		// A signature over a non-integer timestamp cannot be checked the
		// way Easemob computes it.
		return time.Time{}, fmt.Errorf("easemob: timestamp is not an integer: %w", moderation.ErrMalformed)
	}
	if verifySig {
		want := Sign(sf.CallID, secret, ms)
		got := strings.ToLower(sf.Security)
		if subtle.ConstantTimeCompare([]byte(want), []byte(got)) != 1 {
			return time.Time{}, fmt.Errorf("easemob: %w", moderation.ErrBadSignature)
		}
	}
	ts := time.UnixMilli(ms)
	if skew := c.now().Sub(ts); skew > c.cfg.ReplayWindow || skew < -c.cfg.ReplayWindow {
		return time.Time{}, fmt.Errorf("easemob: %w (skew %s)", moderation.ErrStaleTimestamp, skew.Round(time.Second))
	}
	return ts, nil
}

func (c *Client) parse(ctx context.Context, cb callback, ts time.Time) ([]moderation.Event, error) {
	switch {
	case cb.Event == "group_op_event":
		return c.parseOp(cb, ts)
	case cb.ChatType == "muc":
		return c.parseLegacyOp(cb, ts)
	}
	return c.parseMessage(ctx, cb, ts)
}

// callKey is the dedup key of a callback delivery.
func callKey(callID string) string { return "easemob:call:" + callID }

func (c *Client) parseMessage(ctx context.Context, cb callback, ts time.Time) ([]moderation.Event, error) {
	if cb.EventType != "chat" && cb.EventType != "" {
		return nil, nil // chat_offline copies would re-run commands
	}
	var kind string
	switch ct := strings.ToLower(cb.ContentType); {
	case strings.HasPrefix(ct, "chat:room:"):
		kind = KindChatRoom
	case strings.HasPrefix(ct, "chat:group:"):
		kind = KindGroup
	case strings.HasPrefix(ct, "chat:user:"):
		return nil, nil
	}
	switch strings.ToLower(cb.ChatType) {
	case "groupchat":
	case "chatroom":
		kind = KindChatRoom
	case "group":
		if kind == "" {
			kind = KindGroup
		}
	default:
		return nil, nil // 1:1 chats, thread notifications, recalls
	}
	if cb.From == "" || strings.EqualFold(cb.From, c.cfg.BotUser) {
		return nil, nil
	}
	chatID := cb.GroupID
	if chatID == "" {
		chatID = cb.To
	}
	if chatID == "" {
		return nil, fmt.Errorf("easemob: group message without group_id or to: %w", moderation.ErrMalformed)
	}
	var p messagePayload
	if len(cb.Payload) > 0 && string(cb.Payload) != "null" {
		if err := wirejson.Unmarshal(cb.Payload, &p); err != nil {
			return nil, fmt.Errorf("easemob: payload: %w: %w", moderation.ErrMalformed, err)
		}
	}
	text, ok := "", false
	for _, b := range p.Bodies {
		if b.Type == "txt" {
			text, ok = b.Msg, true
			break
		}
	}
	if !ok && len(p.Bodies) == 0 && p.Type == "txt" {
		text, ok = p.Msg, true
	}
	if !ok {
		return nil, nil // not a text message
	}
	c.rememberKind(chatID, kind)
	id := "easemob:msg:" + cb.MsgID
	keys := []string{id, callKey(cb.CallID)}
	if cb.MsgID == "" {
		id, keys = callKey(cb.CallID), []string{callKey(cb.CallID)}
	}
	return []moderation.Event{{
		Kind:       moderation.EventMessage,
		Platform:   Name,
		DeliveryID: id,
		DedupKeys:  keys,
		Message: &moderation.Message{
			Chat:      moderation.ChatRef{Platform: Name, ID: chatID, Kind: kind},
			MessageID: cb.MsgID,
			SenderID:  cb.From,
			Text:      text,
			Mentions:  c.mentions(ctx, text, p.Ext.AtList),
			SentAt:    ts,
		},
	}}, nil
}

func opKind(t string) string {
	switch strings.ToUpper(t) {
	case "CHATROOM":
		return KindChatRoom
	case "GROUP":
		return KindGroup
	}
	return ""
}

// parseOp handles the new operation events: JOIN becomes EventJoin,
// ADMIN and UPDATE/OWNER invalidate the role cache, the rest is ignored.
func (c *Client) parseOp(cb callback, ts time.Time) ([]moderation.Event, error) {
	var p opPayload
	if len(cb.Payload) > 0 && string(cb.Payload) != "null" {
		if err := wirejson.Unmarshal(cb.Payload, &p); err != nil {
			return nil, fmt.Errorf("easemob: group_op_event payload: %w: %w", moderation.ErrMalformed, err)
		}
	}
	kind := opKind(cb.Type)
	c.rememberKind(cb.ID, kind)
	switch strings.ToUpper(cb.Operation) {
	case "ADMIN":
		c.forgetRoles(cb.ID)
		return nil, nil
	case "UPDATE":
		if strings.EqualFold(p.Type, "OWNER") {
			c.forgetRoles(cb.ID)
		}
		return nil, nil
	case "LEAVE":
		c.forgetRoles(cb.ID)
		return nil, nil
	case "JOIN":
	default:
		return nil, nil
	}
	c.forgetRoles(cb.ID)
	var users []string
	for _, m := range p.Member {
		if m != "" && !strings.EqualFold(m, c.cfg.BotUser) {
			users = append(users, m)
		}
	}
	if cb.ID == "" || len(users) == 0 {
		return nil, nil
	}
	key := callKey(cb.CallID)
	return []moderation.Event{{
		Kind:       moderation.EventJoin,
		Platform:   Name,
		DeliveryID: key,
		DedupKeys:  []string{key},
		Join: &moderation.Join{
			Chat:     moderation.ChatRef{Platform: Name, ID: cb.ID, Kind: kind},
			UserIDs:  users,
			Operator: cb.Operator,
			At:       ts,
		},
	}}, nil
}

// legacyJoinOps are the old-format operations by which `from` joined.
var legacyJoinOps = map[string]bool{"presence": true, "direct_joined": true, "invite_accept": true}

// parseLegacyOp handles the old chat_type "muc" operation events.
func (c *Client) parseLegacyOp(cb callback, ts time.Time) ([]moderation.Event, error) {
	if cb.EventType == "chat_offline" {
		return nil, nil
	}
	var p mucPayload
	if len(cb.Payload) > 0 && string(cb.Payload) != "null" {
		if err := wirejson.Unmarshal(cb.Payload, &p); err != nil {
			return nil, fmt.Errorf("easemob: muc payload: %w: %w", moderation.ErrMalformed, err)
		}
	}
	chatID := cb.GroupID
	if chatID == "" {
		chatID = legacyID(p.MucID)
	}
	kind := KindGroup
	if p.IsChatroom {
		kind = KindChatRoom
	}
	c.rememberKind(chatID, kind)
	op := strings.ToLower(p.Operation)
	switch op {
	case "add_admin", "remove_admin", "assing_owner", "assign_owner", "leave", "kick", "absence":
		c.forgetRoles(chatID)
	}
	if !legacyJoinOps[op] {
		return nil, nil
	}
	user := legacyID(cb.From)
	if chatID == "" || user == "" || strings.EqualFold(user, c.cfg.BotUser) {
		return nil, nil
	}
	c.forgetRoles(chatID)
	key := callKey(cb.CallID)
	return []moderation.Event{{
		Kind:       moderation.EventJoin,
		Platform:   Name,
		DeliveryID: key,
		DedupKeys:  []string{key},
		Join: &moderation.Join{
			Chat:    moderation.ChatRef{Platform: Name, ID: chatID, Kind: kind},
			UserIDs: []string{user},
			At:      ts,
		},
	}}, nil
}

// legacyID strips the JID decoration of old-format IDs:
// "org#app_user@easemob.com/android_x" → "user",
// "org#app_123@conference.easemob.com" → "123".
func legacyID(s string) string {
	if i := strings.IndexByte(s, '@'); i >= 0 {
		s = s[:i]
	}
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s = s[:i]
	}
	if i := strings.IndexByte(s, '#'); i >= 0 {
		rest := s[i+1:]
		if j := strings.IndexByte(rest, '_'); j >= 0 {
			return rest[j+1:]
		}
		return ""
	}
	return s
}
