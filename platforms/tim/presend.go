package tim

import (
	"context"
	"fmt"
	"strconv"

	"gavel/moderation"
)

// TIM's answers to Group.CallbackBeforeSendMsg: ErrorCode 0 delivers, 1
// rejects (the sender gets error 10016), 2 drops silently (the sender sees
// success).
var (
	preSendReject = CallbackAnswer{ActionStatus: "OK", ErrorInfo: "", ErrorCode: 1}
	preSendDrop   = CallbackAnswer{ActionStatus: "OK", ErrorInfo: "", ErrorCode: 2}
)

// preSend answers Group.CallbackBeforeSendMsg. It screens the message with
// the Gate — locally, no API call: TIM waits at most 2 s and then delivers
// — and blocks it (presend_action) when a rule matched outside dry-run.
// A match, blocked or not, also yields one EventScreened.
func (c *Client) preSend(ctx context.Context, b *callbackBody) (moderation.Ack, error) {
	deliver := moderation.Ack{Response: callbackOK}
	if b.GroupID == "" || b.FromAccount == "" {
		return moderation.Ack{}, fmt.Errorf("tim: before-send callback without GroupId or From_Account: %w", moderation.ErrMalformed)
	}
	ref := b.MsgID
	if ref == "" {
		if !b.Random.Set {
			return moderation.Ack{}, fmt.Errorf("tim: before-send callback without MsgId or Random: %w", moderation.ErrMalformed)
		}
		ref = b.FromAccount + ":" + strconv.FormatInt(b.Random.V, 10)
	}
	text, err := msgText(b.MsgBody)
	if err != nil {
		return moderation.Ack{}, err
	}
	if b.FromAccount == c.cfg.AdminIdentifier {
		return deliver, nil // Gavel's own replies
	}
	if c.gate == nil {
		c.log.DebugContext(ctx, "tim before-send: no gate, delivering", "chat", b.GroupID)
		return deliver, nil
	}
	chat := moderation.ChatRef{Platform: Name, ID: b.GroupID, Kind: b.Type, Thread: b.TopicID}
	s, hit := c.gate.Screen(chat, b.FromAccount, text)
	if !hit {
		return deliver, nil
	}
	id := "tim:presend:" + b.GroupID + ":" + ref
	if b.TopicID != "" {
		id = "tim:presend:" + b.GroupID + ":" + b.TopicID + ":" + ref
	}
	ev := moderation.Event{
		Kind:       moderation.EventScreened,
		Platform:   Name,
		DeliveryID: id,
		DedupKeys:  []string{id},
		Message: &moderation.Message{
			Chat:      chat,
			MessageID: b.MsgID,
			SenderID:  b.FromAccount,
			Text:      text,
			Mentions:  atMentions(b.GroupAtInfo),
			SentAt:    eventTime(flexInt{}, b.EventTime, c.now()),
		},
		Screening: &s,
	}
	ack := moderation.Ack{Response: callbackOK, Events: []moderation.Event{ev}}
	if s.DryRun {
		c.log.InfoContext(ctx, "tim before-send: rule matched (dry run), delivering", "chat", b.GroupID, "event_id", id, "rule", s.Rule)
		return ack, nil
	}
	ack.Response = preSendReject
	if c.cfg.PreSendAction == PreSendDrop {
		ack.Response = preSendDrop
	}
	c.log.InfoContext(ctx, "tim before-send: message blocked", "chat", b.GroupID, "event_id", id, "rule", s.Rule, "action", c.cfg.PreSendAction)
	return ack, nil
}
