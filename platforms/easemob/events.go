package easemob

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gavel/moderation"
	"gavel/platforms/wirejson"
)

// The payloads of the callbacks Receive turns into events, and the
// parsing of a verified callback into moderation.Event.

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
		// Quote is the UIKit's reply reference (quotes.go).
		Quote wirejson.Value `json:"msgQuote"`
	} `json:"ext"`
}

type opPayload struct {
	Type   string   `json:"type"`
	Member []string `json:"member"`
	// Admin lists the users of an ADMIN ADD/REMOVE event.
	Admin []string `json:"admin"`
	// Owner and NewOwner are the two sides of an UPDATE OWNER event.
	Owner    string `json:"owner"`
	NewOwner string `json:"new_owner"`
}

type mucPayload struct {
	MucID      string `json:"muc_id"`
	IsChatroom bool   `json:"is_chatroom"`
	Operation  string `json:"operation"`
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
			ReplyTo:   replyTo(p.Ext.Quote),
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

// parseOp handles the new operation events: JOIN becomes EventJoin;
// ADMIN, UPDATE/OWNER and LEAVE become EventRolesChanged naming the users
// the payload names (the pipeline drops their cached roles); the rest is
// ignored.
func (c *Client) parseOp(cb callback, ts time.Time) ([]moderation.Event, error) {
	var p opPayload
	if len(cb.Payload) > 0 && string(cb.Payload) != "null" {
		if err := wirejson.Unmarshal(cb.Payload, &p); err != nil {
			return nil, fmt.Errorf("easemob: group_op_event payload: %w: %w", moderation.ErrMalformed, err)
		}
	}
	kind := opKind(cb.Type)
	c.rememberKind(cb.ID, kind)
	chat := moderation.ChatRef{Platform: Name, ID: cb.ID, Kind: kind}
	switch strings.ToUpper(cb.Operation) {
	case "ADMIN":
		return rolesChanged(cb, chat, p.Admin), nil
	case "UPDATE":
		if strings.EqualFold(p.Type, "OWNER") {
			return rolesChanged(cb, chat, []string{p.Owner, p.NewOwner}), nil
		}
		return nil, nil
	case "LEAVE":
		return rolesChanged(cb, chat, p.Member), nil
	case "JOIN":
	default:
		return nil, nil
	}
	var users []string
	for _, m := range p.Member {
		if m != "" && !strings.EqualFold(m, c.cfg.BotUser) {
			users = append(users, m)
		}
	}
	if cb.ID == "" || len(users) == 0 {
		return nil, nil
	}
	return joinEvent(cb.CallID, moderation.Join{Chat: moderation.ChatRef{Platform: Name, ID: cb.ID, Kind: kind},
		UserIDs: users, Operator: cb.Operator, At: ts}), nil
}

// joinEvent is the EventJoin of a callback, keyed by its callId.
func joinEvent(callID string, j moderation.Join) []moderation.Event {
	key := callKey(callID)
	return []moderation.Event{{Kind: moderation.EventJoin, Platform: Name, DeliveryID: key, DedupKeys: []string{key}, Join: &j}}
}

// rolesChanged is the EventRolesChanged of an operation callback about
// users (empty ids dropped; none: the whole chat).
func rolesChanged(cb callback, chat moderation.ChatRef, users []string) []moderation.Event {
	if chat.ID == "" {
		return nil
	}
	var ids []string
	for _, u := range users {
		if u != "" {
			ids = append(ids, u)
		}
	}
	key := callKey(cb.CallID)
	return []moderation.Event{{
		Kind:         moderation.EventRolesChanged,
		Platform:     Name,
		DeliveryID:   key,
		DedupKeys:    []string{key},
		RolesChanged: &moderation.RolesChange{Chat: chat, UserIDs: ids},
	}}
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
		// Which user the old format's operation is about is not
		// documented for every operation: the whole chat's roles go.
		return rolesChanged(cb, moderation.ChatRef{Platform: Name, ID: chatID, Kind: kind}, nil), nil
	}
	if !legacyJoinOps[op] {
		return nil, nil
	}
	user := legacyID(cb.From)
	if chatID == "" || user == "" || strings.EqualFold(user, c.cfg.BotUser) {
		return nil, nil
	}
	return joinEvent(cb.CallID, moderation.Join{Chat: moderation.ChatRef{Platform: Name, ID: chatID, Kind: kind},
		UserIDs: []string{user}, At: ts}), nil
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
