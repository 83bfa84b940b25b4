package tim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"

	"gavel/moderation"
)

// maxReplyBytes keeps replies under the smallest documented message limit
// (8 KB, "8000 bytes" in the error table; newer pages say 12 KB), leaving
// room for the JSON around the text. Reply refuses longer text with
// ErrReplyTooLong instead of cutting it.
const maxReplyBytes = 7000

// ErrReplyTooLong is returned by Reply for a text longer than one TIM
// message may be: refused before the call (over maxReplyBytes), or by TIM
// itself (error 80002, "message too long"; the APIError is wrapped too).
var ErrReplyTooLong = errors.New("tim: reply too long for one message")

type sendMsgReq struct {
	GroupID               string      `json:"GroupId"`
	Random                uint32      `json:"Random"`
	FromAccount           string      `json:"From_Account"`
	MsgBody               []textElem  `json:"MsgBody"`
	ForbidCallbackControl []string    `json:"ForbidCallbackControl"`
	GroupAtInfo           []atAccount `json:"GroupAtInfo,omitempty"`
	TopicID               string      `json:"TopicId,omitempty"`
}

type textElem struct {
	MsgType    string      `json:"MsgType"`
	MsgContent textContent `json:"MsgContent"`
}

type atAccount struct {
	GroupAtAllFlag int    `json:"GroupAtAllFlag"`
	GroupAtAccount string `json:"GroupAt_Account"`
}

type sendMsgResp struct {
	MsgSeq        uint64 `json:"MsgSeq"`
	MsgTime       int64  `json:"MsgTime"`
	MsgDropReason string `json:"MsgDropReason"`
}

// Reply posts text into the message's group as the App admin with
// send_group_msg, with callbacks suppressed so the reply does not come
// back as a webhook. TIM's "MsgFreqCtrl" drop (OK answer, message not
// delivered) is retried as a rate limit with a fresh Random.
func (c *Client) Reply(ctx context.Context, msg *moderation.Message, text string) error {
	if msg == nil || msg.Chat.ID == "" {
		return fmt.Errorf("tim reply: no chat to reply in: %w", moderation.ErrMalformed)
	}
	if strings.TrimSpace(text) == "" {
		return fmt.Errorf("tim reply: empty text: %w", moderation.ErrMalformed)
	}
	if len(text) > maxReplyBytes {
		return fmt.Errorf("tim reply: %d bytes, at most %d: %w", len(text), maxReplyBytes, ErrReplyTooLong)
	}
	req := sendMsgReq{
		GroupID:               msg.Chat.ID,
		Random:                rand.Uint32(),
		FromAccount:           c.cfg.AdminIdentifier,
		MsgBody:               []textElem{{MsgType: "TIMTextElem", MsgContent: textContent{Text: text}}},
		ForbidCallbackControl: []string{"ForbidBeforeSendMsgCallback", "ForbidAfterSendMsgCallback"},
		TopicID:               msg.Chat.Thread, // answer in the topic the command came from
	}
	pacer := c.groupPacer(msg.Chat.ID)
	err := c.caller(opSendMsg).Do(ctx, func(ctx context.Context) error {
		if err := pacer.Do(ctx, func(context.Context) error { return nil }); err != nil {
			return err
		}
		var resp sendMsgResp
		if err := c.post(ctx, opSendMsg, req, &resp); err != nil {
			return err
		}
		if resp.MsgDropReason == "MsgFreqCtrl" {
			// Not stored, so the same Random would not dedupe anything; a
			// fresh one keeps the retry from being taken for a duplicate.
			req.Random = rand.Uint32()
			return &moderation.APIError{Platform: Name, Op: opSendMsg, HTTPStatus: 200, Name: "MsgFreqCtrl",
				Message: "TIM dropped the reply: the group's message rate limit was reached", Kind: moderation.RateLimited}
		}
		return nil
	})
	if err != nil {
		c.logAction(ctx, "reply", msg.Chat, 1, err)
	}
	var apiErr *moderation.APIError
	if errors.As(err, &apiErr) && apiErr.Code == 80002 {
		return fmt.Errorf("tim reply: %w: %w", ErrReplyTooLong, err)
	}
	return err
}
