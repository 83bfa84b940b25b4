package tim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"gavel/moderation"
	"gavel/platforms/egress"
)

type deleteMemberReq struct {
	GroupID string   `json:"GroupId"`
	Members []string `json:"MemberToDel_Account"`
	Silence int      `json:"Silence,omitempty"`
	Reason  string   `json:"Reason,omitempty"`
}

type forbidSendReq struct {
	GroupID  string   `json:"GroupId"`
	Members  []string `json:"Members_Account"`
	MuteTime uint32   `json:"MuteTime"`
	// TopicID mutes in one topic of a Community group (documented for
	// forbid_send_msg); empty mutes group-wide.
	TopicID string `json:"TopicId,omitempty"`
}

type recallReq struct {
	GroupID    string      `json:"GroupId"`
	MsgSeqList []msgSeqRef `json:"MsgSeqList"`
	TopicID    string      `json:"TopicId,omitempty"`
}

type msgSeqRef struct {
	MsgSeq uint64 `json:"MsgSeq"`
}

type recallResp struct {
	RecallRetList []struct {
		MsgSeq  uint64 `json:"MsgSeq"`
		RetCode int    `json:"RetCode"`
	} `json:"RecallRetList"`
}

// Remove deletes members with delete_group_member, at most 100 per call.
// TIM answers OK whether or not a listed user was a member, so every user
// of a successful batch is StatusDone.
func (c *Client) Remove(ctx context.Context, chat moderation.ChatRef, userIDs []string, opts moderation.ActionOptions) []moderation.Result {
	// The pipeline batches; more than one call takes is refused.
	if refused := c.Limits().Oversized(moderation.VerbKick, userIDs); refused != nil {
		return refused
	}
	if len(userIDs) == 0 {
		return nil
	}
	if kindOf(chat.Kind, c.cachedType(chat.ID)) == typeAVChatRoom {
		return refuseAll(userIDs, "TIM cannot remove members from a live-stream (AVChatRoom) group")
	}
	silence := 0
	if opts.Silent || c.cfg.SilentKick {
		silence = 1
	}
	results := make([]moderation.Result, 0, len(userIDs))
	for _, batch := range egress.Chunk(userIDs, maxDeletePerCall) {
		req := deleteMemberReq{GroupID: chat.ID, Members: batch, Silence: silence, Reason: opts.Reason}
		if err := c.call(ctx, opDeleteMember, req, nil); err != nil {
			c.logAction(ctx, "remove", chat, len(batch), err)
			results = append(results, moderation.FailAll(batch, err)...)
			continue
		}
		for _, u := range batch {
			results = append(results, moderation.Result{UserID: u, Status: moderation.StatusDone})
		}
	}
	return results
}

// Mute silences members with forbid_send_msg (MuteTime in seconds, at most
// 500 accounts per call); MuteForever sends TIM's permanent value.
func (c *Client) Mute(ctx context.Context, chat moderation.ChatRef, userIDs []string, d time.Duration, opts moderation.ActionOptions) []moderation.Result {
	// The pipeline batches; more than one call takes is refused.
	if refused := c.Limits().Oversized(moderation.VerbMute, userIDs); refused != nil {
		return refused
	}
	if len(userIDs) == 0 {
		return nil
	}
	secs, ok := muteSeconds(d)
	if !ok {
		out := make([]moderation.Result, len(userIDs))
		for i, u := range userIDs {
			out[i] = moderation.Result{UserID: u, Status: moderation.StatusRefused, Reason: moderation.ReasonInvalidDuration,
				Detail: "TIM mutes last from 1 second to 4294967294 seconds, or forever"}
		}
		return out
	}
	return c.forbid(ctx, chat, userIDs, secs, "mute")
}

// Unmute lifts mutes with forbid_send_msg and MuteTime 0.
func (c *Client) Unmute(ctx context.Context, chat moderation.ChatRef, userIDs []string, opts moderation.ActionOptions) []moderation.Result {
	// The pipeline batches; more than one call takes is refused.
	if refused := c.Limits().Oversized(moderation.VerbUnmute, userIDs); refused != nil {
		return refused
	}
	if len(userIDs) == 0 {
		return nil
	}
	return c.forbid(ctx, chat, userIDs, 0, "unmute")
}

func (c *Client) forbid(ctx context.Context, chat moderation.ChatRef, userIDs []string, secs uint32, action string) []moderation.Result {
	if isWork(kindOf(chat.Kind, c.cachedType(chat.ID))) {
		return refuseAll(userIDs, "TIM cannot mute members of a Work (private) group")
	}
	results := make([]moderation.Result, 0, len(userIDs))
	for _, batch := range egress.Chunk(userIDs, maxForbidPerCall) {
		req := forbidSendReq{GroupID: chat.ID, Members: batch, MuteTime: secs, TopicID: chat.Thread}
		if err := c.call(ctx, opForbidSend, req, nil); err != nil {
			c.logAction(ctx, action, chat, len(batch), err)
			results = append(results, moderation.FailAll(batch, err)...)
			continue
		}
		for _, u := range batch {
			results = append(results, moderation.Result{UserID: u, Status: moderation.StatusDone})
		}
	}
	return results
}

// muteSeconds converts a mute duration to MuteTime: whole seconds rounded
// up, MuteForever → 4294967295; false when TIM cannot express d.
func muteSeconds(d time.Duration) (uint32, bool) {
	if d == moderation.MuteForever {
		return maxMuteSeconds, true
	}
	if d <= 0 {
		return 0, false
	}
	secs := (d + time.Second - 1) / time.Second
	if secs >= maxMuteSeconds {
		return 0, false
	}
	return uint32(secs), true
}

// Capabilities follows the group-type table: AVChatRoom groups cannot
// remove members or (as Gavel reads the docs) recall messages, Work
// (Private) groups cannot mute or mute everyone (lock). Ban and unban are
// native until the ban API was found unavailable (edition, console switch
// or group type), then emulated by removal — unsupported in AVChatRoom,
// where nobody can be removed. The type comes from chat.Kind, or from
// get_group_info when the event did not carry it.
func (c *Client) Capabilities(ctx context.Context, chat moderation.ChatRef) (moderation.Capabilities, error) {
	kind := chat.Kind
	if kind == "" {
		info, err := c.groupInfo(ctx, chat.ID)
		if err != nil {
			return nil, fmt.Errorf("tim capabilities of %s: %w", chat.ID, err)
		}
		kind = info.Type
	}
	caps := moderation.Capabilities{
		moderation.VerbKick:   moderation.Native,
		moderation.VerbMute:   moderation.Native,
		moderation.VerbUnmute: moderation.Native,
		moderation.VerbBan:    moderation.Native,
		moderation.VerbUnban:  moderation.Native,
		moderation.VerbLock:   moderation.Native,
		moderation.VerbUnlock: moderation.Native,
		moderation.VerbPurge:  moderation.Native,
	}
	if c.banUnavailable(kind) {
		caps[moderation.VerbBan] = moderation.Emulated
		caps[moderation.VerbUnban] = moderation.Emulated
	}
	switch {
	case kind == typeAVChatRoom:
		caps[moderation.VerbKick] = moderation.Unsupported
		caps[moderation.VerbPurge] = moderation.Unsupported
		if caps[moderation.VerbBan] == moderation.Emulated {
			caps[moderation.VerbBan] = moderation.Unsupported
			caps[moderation.VerbUnban] = moderation.Unsupported
		}
	case isWork(kind):
		for _, v := range []moderation.Verb{moderation.VerbMute, moderation.VerbUnmute, moderation.VerbLock, moderation.VerbUnlock} {
			caps[v] = moderation.Unsupported
		}
	}
	return caps, nil
}

// Recall recalls one message with group_msg_recall; messageID is the
// message's MsgSeq. Recall in AVChatRoom groups is treated as unsupported
// (the docs disagree on it).
func (c *Client) Recall(ctx context.Context, chat moderation.ChatRef, messageID string) error {
	seq, err := strconv.ParseUint(messageID, 10, 64)
	if err != nil {
		return fmt.Errorf("tim recall: message id %q is not a MsgSeq: %w", truncate(messageID, 32), moderation.ErrMalformed)
	}
	if kindOf(chat.Kind, c.cachedType(chat.ID)) == typeAVChatRoom {
		return fmt.Errorf("tim recall in AVChatRoom %s: %w", chat.ID, moderation.ErrUnsupported)
	}
	var resp recallResp
	req := recallReq{GroupID: chat.ID, MsgSeqList: []msgSeqRef{{MsgSeq: seq}}, TopicID: chat.Thread}
	if err := c.call(ctx, opRecall, req, &resp); err != nil {
		c.logAction(ctx, "recall", chat, 1, err)
		return err
	}
	for _, r := range resp.RecallRetList {
		if r.MsgSeq == seq && r.RetCode != 0 {
			return codeError(opRecall, 200, r.RetCode, "")
		}
	}
	return nil
}

func refuseAll(userIDs []string, detail string) []moderation.Result {
	out := make([]moderation.Result, len(userIDs))
	for i, u := range userIDs {
		out[i] = moderation.Result{UserID: u, Status: moderation.StatusRefused, Reason: moderation.ReasonUnsupported, Detail: detail}
	}
	return out
}

func (c *Client) logAction(ctx context.Context, action string, chat moderation.ChatRef, n int, err error) {
	c.log.WarnContext(ctx, "tim action failed", "action", action, "chat", chat.ID, "users", n,
		"error", c.sig.redact(err.Error()))
}

// ErrReplyTooLong is returned by Reply for a text longer than one TIM
// message may be: refused before the call (over replyLimit, the Limits().Reply the
// pipeline fits every reply to), or by TIM
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
	if len(text) > replyLimit {
		return fmt.Errorf("tim reply: %d bytes, at most %d: %w", len(text), replyLimit, ErrReplyTooLong)
	}
	req := sendMsgReq{
		GroupID:               msg.Chat.ID,
		Random:                rand.Uint32(),
		FromAccount:           c.cfg.AdminIdentifier,
		MsgBody:               []textElem{{MsgType: "TIMTextElem", MsgContent: textContent{Text: text}}},
		ForbidCallbackControl: []string{"ForbidBeforeSendMsgCallback", "ForbidAfterSendMsgCallback"},
		TopicID:               msg.Chat.Thread, // answer in the topic the command came from
	}
	_, err := c.sendGroupMsg(ctx, msg.Chat, req)
	if err != nil {
		c.logAction(ctx, "reply", msg.Chat, 1, err)
	}
	var apiErr *moderation.APIError
	if errors.As(err, &apiErr) && apiErr.Code == 80002 {
		return fmt.Errorf("tim reply: %w: %w", ErrReplyTooLong, err)
	}
	return err
}

// sendGroupMsg sends req with send_group_msg, paced at the group's message
// rate, and returns the message's MsgSeq. TIM's "MsgFreqCtrl" drop (OK
// answer, message not delivered) is retried as a rate limit with a fresh
// Random.
func (c *Client) sendGroupMsg(ctx context.Context, chat moderation.ChatRef, req sendMsgReq) (uint64, error) {
	pacer := c.groupPacer(chat.ID)
	var seq uint64
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
				Message: "TIM dropped the message: the group's message rate limit was reached", Kind: moderation.RateLimited}
		}
		seq = resp.MsgSeq
		return nil
	})
	return seq, err
}
