package feishu

// events.go: the decoding half of Receive, a verified plaintext delivery
// (envelope and event bodies) → moderation.Event.

import (
	"context"
	"fmt"
	"time"

	"gavel/moderation"
	"gavel/platforms/wirejson"
)

// envelope covers the three shapes Feishu pushes: the v2.0 event envelope
// (schema + header), the legacy v1.0 event_callback, and url_verification.
type envelope struct {
	Schema    string         `json:"schema"`
	Header    *eventHeader   `json:"header"`
	Type      string         `json:"type"`
	Token     string         `json:"token"`
	Challenge string         `json:"challenge"`
	UUID      string         `json:"uuid"`
	Event     wirejson.Value `json:"event"`
}

type eventHeader struct {
	EventID    string `json:"event_id"`
	EventType  string `json:"event_type"`
	CreateTime string `json:"create_time"`
	Token      string `json:"token"`
	AppID      string `json:"app_id"`
	TenantKey  string `json:"tenant_key"`
}

func (e *envelope) isV2() bool { return e.Header != nil }

// token is the Verification Token the delivery carries: header.token in v2,
// the top-level token in v1 and url_verification.
func (e *envelope) token() string {
	if e.Type == typeURLVerification || !e.isV2() {
		return e.Token
	}
	return e.Header.Token
}

// kind names the delivery for logs and errors.
func (e *envelope) kind() string {
	if e.Type == typeURLVerification {
		return typeURLVerification
	}
	if e.isV2() {
		return e.Header.EventType
	}
	return "v1:" + e.Type
}

func decodeEnvelope(b []byte) (*envelope, error) {
	var env envelope
	if err := wirejson.Unmarshal(b, &env); err != nil {
		return nil, fmt.Errorf("decoding delivery: %w: %w", moderation.ErrMalformed, err)
	}
	return &env, nil
}

type userID struct {
	OpenID  string `json:"open_id"`
	UnionID string `json:"union_id"`
	UserID  string `json:"user_id"`
}

type messageEvent struct {
	Sender struct {
		SenderID   userID `json:"sender_id"`
		SenderType string `json:"sender_type"`
		TenantKey  string `json:"tenant_key"`
	} `json:"sender"`
	Message struct {
		MessageID   string `json:"message_id"`
		RootID      string `json:"root_id"`
		ParentID    string `json:"parent_id"`
		CreateTime  string `json:"create_time"`
		ChatID      string `json:"chat_id"`
		ThreadID    string `json:"thread_id"`
		ChatType    string `json:"chat_type"`
		MessageType string `json:"message_type"`
		Content     string `json:"content"`
		Mentions    []struct {
			Key  string `json:"key"`
			ID   userID `json:"id"`
			Name string `json:"name"`
		} `json:"mentions"`
	} `json:"message"`
}

type userAddedEvent struct {
	ChatID     string `json:"chat_id"`
	OperatorID userID `json:"operator_id"`
	External   bool   `json:"external"`
	Users      []struct {
		Name   string `json:"name"`
		UserID userID `json:"user_id"`
	} `json:"users"`
}

// parseEvent turns a verified event delivery into Gavel events. Event types
// Gavel does not act on, bot messages and direct messages give no events.
func (c *Client) parseEvent(ctx context.Context, env *envelope, receivedAt time.Time) ([]moderation.Event, error) {
	if !env.isV2() {
		c.log.DebugContext(ctx, "ignoring v1.0 event", "type", env.Type)
		return nil, nil
	}
	h := env.Header
	if h.EventID == "" {
		return nil, fmt.Errorf("event without header.event_id: %w", moderation.ErrMalformed)
	}
	deliveryID := Name + ":event:" + h.EventID
	at := receivedAt
	if t, ok := parseTimestamp(h.CreateTime); ok {
		at = t
	}
	switch h.EventType {
	case eventMessageReceive:
		msg, err := parseMessage(env.Event, at)
		if err != nil || msg == nil {
			return nil, err
		}
		return []moderation.Event{{
			Kind:       moderation.EventMessage,
			Platform:   Name,
			DeliveryID: deliveryID,
			DedupKeys:  []string{deliveryID, Name + ":msg:" + msg.MessageID},
			Message:    msg,
		}}, nil
	case eventUserAdded:
		join, err := parseUserAdded(env.Event, at)
		if err != nil || join == nil {
			return nil, err
		}
		return []moderation.Event{{
			Kind:       moderation.EventJoin,
			Platform:   Name,
			DeliveryID: deliveryID,
			DedupKeys:  []string{deliveryID},
			Join:       join,
		}}, nil
	case eventChatUpdated, eventUserDeleted, eventUserWithdrawn:
		ch, err := parseRolesChanged(h.EventType, env.Event)
		if err != nil {
			return nil, err
		}
		return []moderation.Event{{
			Kind:         moderation.EventRolesChanged,
			Platform:     Name,
			DeliveryID:   deliveryID,
			DedupKeys:    []string{deliveryID},
			RolesChanged: ch,
		}}, nil
	case eventCardAction:
		// A button press on a card Gavel posted (cards.go).
		action, err := parseCardAction(env.Event, at)
		if err != nil {
			return nil, err
		}
		return []moderation.Event{{
			Kind:       moderation.EventAction,
			Platform:   Name,
			DeliveryID: deliveryID,
			DedupKeys:  []string{deliveryID},
			Action:     action,
		}}, nil
	default:
		c.log.DebugContext(ctx, "ignoring event", "event_type", h.EventType, "event_id", h.EventID)
		return nil, nil
	}
}

// chatEvent is what the pipeline needs of im.chat.updated_v1 and the
// member removal events: the chat and, for the latter, the users.
type chatEvent struct {
	ChatID string `json:"chat_id"`
	Users  []struct {
		UserID userID `json:"user_id"`
	} `json:"users"`
}

// parseRolesChanged normalises the events after which the roles cached for
// a chat may be wrong. im.chat.updated_v1 says the chat changed (owner
// transferred, settings; its before/after fields are not documented to
// carry the manager lists), so the whole chat's roles go; a member event
// names the users who left.
func parseRolesChanged(eventType string, raw wirejson.Value) (*moderation.RolesChange, error) {
	var ev chatEvent
	if err := wirejson.Unmarshal(raw, &ev); err != nil {
		return nil, fmt.Errorf("decoding %s: %w: %w", eventType, moderation.ErrMalformed, err)
	}
	if ev.ChatID == "" {
		return nil, fmt.Errorf("%s without chat_id: %w", eventType, moderation.ErrMalformed)
	}
	ch := &moderation.RolesChange{Chat: moderation.ChatRef{Platform: Name, ID: ev.ChatID, Kind: "group"}}
	if eventType == eventChatUpdated {
		return ch, nil
	}
	for _, u := range ev.Users {
		if u.UserID.OpenID != "" {
			ch.UserIDs = append(ch.UserIDs, u.UserID.OpenID)
		}
	}
	if len(ch.UserIDs) == 0 {
		// Users named by other id types only: drop the whole chat's.
		ch.UserIDs = nil
	}
	return ch, nil
}

// parseMessage normalises an im.message.receive_v1 event. It returns nil for
// messages Gavel ignores (sent by apps, outside group chats). Every group
// message yields a Message so that muted users' non-text messages can be
// recalled too; Text is set for text messages only.
func parseMessage(raw wirejson.Value, fallback time.Time) (*moderation.Message, error) {
	var ev messageEvent
	if err := wirejson.Unmarshal(raw, &ev); err != nil {
		return nil, fmt.Errorf("decoding im.message.receive_v1: %w: %w", moderation.ErrMalformed, err)
	}
	m := ev.Message
	if ev.Sender.SenderType == "app" || m.ChatType != "group" {
		return nil, nil
	}
	if m.MessageID == "" || m.ChatID == "" || ev.Sender.SenderID.OpenID == "" {
		return nil, fmt.Errorf("message without message_id, chat_id or sender open_id: %w", moderation.ErrMalformed)
	}
	msg := &moderation.Message{
		Chat:      moderation.ChatRef{Platform: Name, ID: m.ChatID, Kind: m.ChatType},
		MessageID: m.MessageID,
		SenderID:  ev.Sender.SenderID.OpenID,
		SentAt:    fallback,
	}
	if t, ok := parseTimestamp(m.CreateTime); ok {
		msg.SentAt = t
	}
	// A reply names the message it answers (parent_id), not its sender:
	// the pipeline asks MessageSender.
	if m.ParentID != "" {
		msg.ReplyTo = &moderation.MessageRef{ID: m.ParentID}
	}
	if m.MessageType == "text" {
		var content struct {
			Text string `json:"text"`
		}
		if err := wirejson.Unmarshal([]byte(m.Content), &content); err != nil {
			return nil, fmt.Errorf("decoding text content: %w: %w", moderation.ErrMalformed, err)
		}
		msg.Text = content.Text
	}
	for _, mention := range m.Mentions {
		msg.Mentions = append(msg.Mentions, moderation.Mention{Token: mention.Key, UserID: mention.ID.OpenID, Name: mention.Name})
	}
	return msg, nil
}

// parseUserAdded normalises an im.chat.member.user.added_v1 event.
func parseUserAdded(raw wirejson.Value, at time.Time) (*moderation.Join, error) {
	var ev userAddedEvent
	if err := wirejson.Unmarshal(raw, &ev); err != nil {
		return nil, fmt.Errorf("decoding im.chat.member.user.added_v1: %w: %w", moderation.ErrMalformed, err)
	}
	if ev.ChatID == "" {
		return nil, fmt.Errorf("member added event without chat_id: %w", moderation.ErrMalformed)
	}
	join := &moderation.Join{
		Chat:     moderation.ChatRef{Platform: Name, ID: ev.ChatID, Kind: "group"},
		Operator: ev.OperatorID.OpenID,
		At:       at,
	}
	for _, u := range ev.Users {
		if u.UserID.OpenID != "" {
			join.UserIDs = append(join.UserIDs, u.UserID.OpenID)
		}
	}
	if len(join.UserIDs) == 0 {
		return nil, nil
	}
	return join, nil
}
