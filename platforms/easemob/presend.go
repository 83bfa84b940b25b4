package easemob

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"gavel/moderation"
	"gavel/platforms/wirejson"
)

// PreSendAnswer is the body Easemob expects from a pre-send callback
// (发送前回调): Valid true delivers the message, false blocks it. Code is
// the error text the sender gets when the rule reports errors; omitted,
// Easemob reports "custom logic denied". Gavel never rewrites the payload.
type PreSendAnswer struct {
	Valid bool   `json:"valid"`
	Code  string `json:"code,omitempty"`
}

// preSendDeliver is the answer to every pre-send callback Gavel lets through.
var preSendDeliver = PreSendAnswer{Valid: true}

// ReceivePreSend verifies a pre-send callback with presend_secret (security,
// then timestamp), screens its message with the Gate and answers
// {"valid": true} or, when a rule matched outside dry-run, {"valid": false}.
// A match, blocked or not, also yields one EventScreened. It makes no API
// call: Easemob waits only the rule's wait time (default 200 ms) and then
// applies the rule's failure policy. Mount it on its own URL, configured as
// the pre-send rule's; errors wrap the moderation.Err* sentinels.
func (c *Client) ReceivePreSend(ctx context.Context, d moderation.Delivery) (moderation.Ack, error) {
	cb, err := decodeCallback(d.Body)
	if err != nil {
		return moderation.Ack{}, err
	}
	ts, err := c.verify(&cb, c.preSendSecret())
	if errors.Is(err, moderation.ErrStaleTimestamp) {
		return c.ignoreStale(ctx, cb, true, err), nil
	}
	if err != nil {
		return moderation.Ack{}, err
	}
	if err := c.claimCall(ctx, "pre", cb, d.Body, ts); err != nil {
		return moderation.Ack{}, err
	}
	return c.preSend(ctx, cb, ts)
}

// preSendSecret is the pre-send rule's secret: presend_secret, or
// callback_secret when the rules share one.
func (c *Client) preSendSecret() string {
	if c.cfg.PreSendSecret != "" {
		return c.cfg.PreSendSecret
	}
	return c.cfg.CallbackSecret
}

// isPreSend tells a pre-send callback from the other callbacks at one URL
// by its documented shape: message fields without eventType (post-send
// always has "chat" or "chat_offline") and without event (group_op_event).
func isPreSend(cb callback) bool {
	if cb.EventType != "" || cb.Event != "" {
		return false
	}
	switch strings.ToLower(cb.ChatType) {
	case "chat", "group", "groupchat", "chatroom":
		return true
	}
	return false
}

// preSend screens a verified pre-send callback.
func (c *Client) preSend(ctx context.Context, cb callback, ts time.Time) (moderation.Ack, error) {
	deliver := moderation.Ack{Response: preSendDeliver}
	var kind string
	switch strings.ToLower(cb.ChatType) {
	case "chatroom":
		kind = KindChatRoom
	case "group":
		kind = KindGroup
	case "groupchat":
		// Post-send style: groups and chat rooms alike.
		switch ct := strings.ToLower(cb.ContentType); {
		case strings.HasPrefix(ct, "chat:room:"):
			kind = KindChatRoom
		case strings.HasPrefix(ct, "chat:group:"):
			kind = KindGroup
		}
	case "chat":
		return deliver, nil // 1:1 messages are not moderated
	default:
		c.log.DebugContext(ctx, "pre-send callback of unknown chat_type delivered", slog.String("chat_type", cb.ChatType))
		return deliver, nil
	}
	chatID := cb.GroupID
	if chatID == "" {
		chatID = cb.To
	}
	if cb.From == "" || chatID == "" {
		return moderation.Ack{}, fmt.Errorf("easemob: pre-send callback without from, group_id or to: %w", moderation.ErrMalformed)
	}
	text, err := preSendText(cb.Payload)
	if err != nil {
		return moderation.Ack{}, err
	}
	if strings.EqualFold(cb.From, c.cfg.BotUser) {
		return deliver, nil
	}
	if kind == "" {
		if v, ok := c.kinds.Get(chatID); ok {
			kind, _ = v.(string)
		}
	} else {
		c.rememberKind(chatID, kind)
	}
	if c.gate == nil {
		c.log.DebugContext(ctx, "pre-send callback: no gate, delivering", slog.String("chat", chatID))
		return deliver, nil
	}
	chat := moderation.ChatRef{Platform: Name, ID: chatID, Kind: kind}
	from := CanonicalUserID(cb.From)
	s, hit := c.gate.Screen(chat, from, text)
	if !hit {
		return deliver, nil
	}
	id := "easemob:presend:" + cb.MsgID
	if cb.MsgID == "" {
		id = "easemob:presend:call:" + cb.CallID
	}
	ev := moderation.Event{
		Kind:       moderation.EventScreened,
		Platform:   Name,
		DeliveryID: id,
		DedupKeys:  []string{id},
		Message: &moderation.Message{
			Chat:      chat,
			MessageID: cb.MsgID,
			SenderID:  from,
			Text:      text,
			SentAt:    ts,
		},
		Screening: &s,
	}
	ack := moderation.Ack{Response: preSendDeliver, Events: []moderation.Event{ev}}
	if s.DryRun {
		c.log.InfoContext(ctx, "pre-send: rule matched (dry run), delivering",
			slog.String("chat", chatID), slog.String("event_id", id), slog.String("rule", s.Rule))
		return ack, nil
	}
	ack.Response = PreSendAnswer{Valid: false, Code: c.cfg.PreSendCode}
	c.log.InfoContext(ctx, "pre-send: message blocked",
		slog.String("chat", chatID), slog.String("event_id", id), slog.String("rule", s.Rule))
	return ack, nil
}

// preSendText returns the text of a pre-send payload in either documented
// shape: flat {"msg", "type": "txt"} (newest page) or bodies[] as in REST
// messages (older pages). Text bodies are concatenated; other types give "".
func preSendText(raw wirejson.Value) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var p messagePayload
	if err := wirejson.Unmarshal(raw, &p); err != nil {
		return "", fmt.Errorf("easemob: pre-send payload: %w: %w", moderation.ErrMalformed, err)
	}
	if len(p.Bodies) == 0 {
		if p.Type == "txt" {
			return p.Msg, nil
		}
		return "", nil
	}
	var text strings.Builder
	for _, b := range p.Bodies {
		if b.Type == "txt" {
			text.WriteString(b.Msg)
		}
	}
	return text.String(), nil
}
