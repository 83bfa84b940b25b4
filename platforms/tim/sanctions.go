package tim

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"gavel/moderation"
)

// Per-call limits of the sanction APIs (tim.md §5.8, §5.9).
const (
	maxBanPerCall    = 20 // ban_group_member, unban_group_member
	maxRecallPerCall = 10 // group_msg_recall
	// maxBanSeconds is the longest Duration ban_group_member takes (a
	// uint32 of seconds, about 136 years). The docs name no "forever"
	// value, so moderation.Forever bans for this long.
	maxBanSeconds = 4294967295
)

type banReq struct {
	GroupID     string   `json:"GroupId"`
	Members     []string `json:"Members_Account"`
	Duration    uint32   `json:"Duration"`
	Description string   `json:"Description,omitempty"`
}

type unbanReq struct {
	GroupID string   `json:"GroupId"`
	Members []string `json:"Members_Account"`
}

// muteAllReq is modify_group_base_info with only the all-member mute. The
// current docs and SDKs name the field MuteAllMember ("On"/"Off"); older
// pages and clients ShutUpAllMember.
type muteAllReq struct {
	GroupID       string `json:"GroupId"`
	MuteAllMember string `json:"MuteAllMember"`
}

// maxBanDescription is Description's documented limit in bytes.
const maxBanDescription = 1000

// banEmulated is the Detail of a ban carried out as a removal.
const banEmulated = "TIM's ban API is not available for this app or group type (edition or console switch): the user was removed and Gavel keeps them out (ban emulated)"

// banUnavailable reports whether ban_group_member was found unavailable
// for groups of kind: for the whole app (10007, the edition or the
// console switch "群成员封禁" is off) or for that group type (10004 outside
// AVChatRoom, the 2024 docs' "AVChatRoom only").
func (c *Client) banUnavailable(kind string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.noBan[""] || (kind != "" && c.noBan[canonicalType(kind)])
}

func (c *Client) markBanUnavailable(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.noBan[key] = true
}

// canonicalType maps legacy type IDs to the new names.
func canonicalType(kind string) string {
	switch kind {
	case typePrivate:
		return typeWork
	case typeChatRoom:
		return typeMeeting
	}
	return kind
}

// Ban bans members with ban_group_member (Duration in seconds, at most 20
// accounts a call): they leave the group and cannot rejoin until it ends.
// Forever bans for the longest Duration TIM takes. When the app's edition
// or console switch lacks the ban API (10007), or the group type does not
// have it (10004 outside AVChatRoom), the users are removed instead and
// the ban is reported as emulated; the client remembers it, so later bans
// remove directly and Capabilities says Emulated.
func (c *Client) Ban(ctx context.Context, chat moderation.ChatRef, userIDs []string, d time.Duration, opts moderation.ActionOptions) []moderation.Result {
	if refused := c.Limits().Oversized(moderation.VerbBan, userIDs); refused != nil {
		return refused
	}
	if len(userIDs) == 0 {
		return nil
	}
	secs, ok := banSeconds(d)
	if !ok {
		out := make([]moderation.Result, len(userIDs))
		for i, u := range userIDs {
			out[i] = moderation.Result{UserID: u, Status: moderation.StatusRefused, Reason: moderation.ReasonInvalidDuration,
				Detail: "TIM bans last from 1 second to 4294967295 seconds"}
		}
		return out
	}
	kind := kindOf(chat.Kind, c.cachedType(chat.ID))
	if c.banUnavailable(kind) {
		return c.emulateBan(ctx, chat, userIDs, opts)
	}
	req := banReq{GroupID: chat.ID, Members: userIDs, Duration: secs, Description: truncateUTF8(opts.Reason, maxBanDescription)}
	err := c.call(ctx, opBan, req, nil)
	var apiErr *moderation.APIError
	switch {
	case err == nil:
		return doneAll(userIDs, "")
	case errors.As(err, &apiErr) && apiErr.Code == 10007:
		c.markBanUnavailable("")
	case errors.As(err, &apiErr) && apiErr.Code == 10004 && kind != "" && kind != typeAVChatRoom:
		c.markBanUnavailable(canonicalType(kind))
	default:
		c.logAction(ctx, "ban", chat, len(userIDs), err)
		return moderation.FailAll(userIDs, err)
	}
	c.log.InfoContext(ctx, "tim ban API unavailable, emulating bans by removal", "chat", chat.ID, "kind", kind, "code", apiErr.Code)
	return c.emulateBan(ctx, chat, userIDs, opts)
}

// emulateBan removes the users (delete_group_member) and marks the
// results as an emulated ban.
func (c *Client) emulateBan(ctx context.Context, chat moderation.ChatRef, userIDs []string, opts moderation.ActionOptions) []moderation.Result {
	if kindOf(chat.Kind, c.cachedType(chat.ID)) == typeAVChatRoom {
		return refuseAll(userIDs, "TIM's ban API is not available for this app (edition or console switch), and members cannot be removed from a live-stream (AVChatRoom) group")
	}
	rs := c.Remove(ctx, chat, userIDs, opts)
	for i := range rs {
		if rs[i].Status == moderation.StatusDone {
			rs[i].Detail = banEmulated
		}
	}
	return rs
}

// banSeconds converts a ban duration to Duration: whole seconds rounded
// up, Forever → the longest; false when TIM cannot express d.
func banSeconds(d time.Duration) (uint32, bool) {
	if d == moderation.Forever {
		return maxBanSeconds, true
	}
	if d <= 0 {
		return 0, false
	}
	secs := (d + time.Second - 1) / time.Second
	if secs > maxBanSeconds {
		return 0, false
	}
	return uint32(secs), true
}

// Unban lifts bans with unban_group_member (at most 20 accounts a call).
// TIM answers OK whether or not a user was banned, so every user of a
// successful call is StatusDone. Where bans are emulated there is nothing
// to lift on TIM: the pipeline's record is what kept the user out.
func (c *Client) Unban(ctx context.Context, chat moderation.ChatRef, userIDs []string, opts moderation.ActionOptions) []moderation.Result {
	if refused := c.Limits().Oversized(moderation.VerbUnban, userIDs); refused != nil {
		return refused
	}
	if len(userIDs) == 0 {
		return nil
	}
	kind := kindOf(chat.Kind, c.cachedType(chat.ID))
	if c.banUnavailable(kind) {
		return doneAll(userIDs, "bans are emulated on this app: Gavel no longer keeps the user out")
	}
	err := c.call(ctx, opUnban, unbanReq{GroupID: chat.ID, Members: userIDs}, nil)
	var apiErr *moderation.APIError
	switch {
	case err == nil:
		return doneAll(userIDs, "")
	case errors.As(err, &apiErr) && apiErr.Code == 10007:
		c.markBanUnavailable("")
		return doneAll(userIDs, "bans are emulated on this app: Gavel no longer keeps the user out")
	}
	c.logAction(ctx, "unban", chat, len(userIDs), err)
	return moderation.FailAll(userIDs, err)
}

// Lock turns the group's all-member mute on with modify_group_base_info
// (MuteAllMember "On"): only the owner, admins and App admins may speak.
// Work groups cannot mute. TIM does not say whether the mute was already
// on, so the result is StatusDone either way.
//
// TIM's all-member mute exempts the owner, the group admins and App
// admins only: speakers (Gavel's admins who are plain members) cannot be
// exempted, and the Result's Detail says so.
func (c *Client) Lock(ctx context.Context, chat moderation.ChatRef, speakers []string, opts moderation.ActionOptions) moderation.Result {
	res := c.muteAll(ctx, chat, "On", "lock")
	if res.Status.Succeeded() && len(speakers) > 0 {
		res.Detail = "TIM's all-member mute exempts only the owner, group admins and App admins: Gavel's admins who are none of these cannot speak while the group is locked"
	}
	return res
}

// Unlock turns the all-member mute off (MuteAllMember "Off").
func (c *Client) Unlock(ctx context.Context, chat moderation.ChatRef, opts moderation.ActionOptions) moderation.Result {
	return c.muteAll(ctx, chat, "Off", "unlock")
}

func (c *Client) muteAll(ctx context.Context, chat moderation.ChatRef, state, action string) moderation.Result {
	if isWork(kindOf(chat.Kind, c.cachedType(chat.ID))) {
		return refuseAll([]string{""}, "TIM cannot mute a Work (private) group")[0]
	}
	if err := c.call(ctx, opModifyGroup, muteAllReq{GroupID: chat.ID, MuteAllMember: state}, nil); err != nil {
		c.logAction(ctx, action, chat, 0, err)
		return moderation.FailAll([]string{""}, err)[0]
	}
	return moderation.Result{Status: moderation.StatusDone}
}

// RecallMessages recalls up to 10 messages with one group_msg_recall
// (MsgSeq list, TopicId from chat.Thread) and maps each RecallRetList
// RetCode: 0 done, 10030 (not found: already gone) noop, any other code
// refused with its reason (10031 too old, 10032 not recallable, 10033
// group type, 10041 app disallows). An ID that is not a MsgSeq is refused
// without a call.
func (c *Client) RecallMessages(ctx context.Context, chat moderation.ChatRef, msgs []moderation.MessageRef, opts moderation.ActionOptions) []moderation.Result {
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	if refused := c.Limits().Oversized(moderation.VerbPurge, ids); refused != nil {
		return refused
	}
	if len(ids) == 0 {
		return nil
	}
	if kindOf(chat.Kind, c.cachedType(chat.ID)) == typeAVChatRoom {
		return refuseAll(ids, "Gavel does not recall messages in live-stream (AVChatRoom) groups (the TIM docs disagree on whether it works)")
	}
	out := make([]moderation.Result, len(ids))
	seqs := make([]uint64, len(ids))
	var list []msgSeqRef
	for i, id := range ids {
		out[i].UserID = id
		seq, err := strconv.ParseUint(id, 10, 64)
		if err != nil || !isDecimal(id) {
			out[i].Status, out[i].Reason = moderation.StatusRefused, moderation.ReasonInvalidUserID
			out[i].Detail = "not a TIM message sequence number (MsgSeq)"
			continue
		}
		seqs[i] = seq
		list = append(list, msgSeqRef{MsgSeq: seq})
	}
	if len(list) == 0 {
		return out
	}
	var resp recallResp
	if err := c.call(ctx, opRecall, recallReq{GroupID: chat.ID, MsgSeqList: list, TopicID: chat.Thread}, &resp); err != nil {
		c.logAction(ctx, "purge", chat, len(list), err)
		failed := moderation.FailAll(ids, err)
		for i := range out {
			if out[i].Status == "" {
				out[i] = failed[i]
			}
		}
		return out
	}
	codes := make(map[uint64]int, len(resp.RecallRetList))
	for _, r := range resp.RecallRetList {
		codes[r.MsgSeq] = r.RetCode
	}
	for i := range out {
		if out[i].Status != "" {
			continue
		}
		code, ok := codes[seqs[i]]
		switch {
		case !ok:
			out[i].Status, out[i].Reason = moderation.StatusFailed, moderation.ReasonNoResult
			out[i].Detail = "TIM's answer did not mention this message"
		case code == 0:
			out[i].Status = moderation.StatusDone
		case code == 10030:
			out[i].Status, out[i].Detail = moderation.StatusNoop, "the message is already gone"
		default:
			apiErr := codeError(opRecall, 200, code, "")
			out[i].Status, out[i].Reason, out[i].Detail = moderation.StatusRefused, apiErr.Reason(), apiErr.Message
			if apiErr.Kind != moderation.Permanent {
				out[i].Status = moderation.StatusFailed
			}
		}
	}
	return out
}

// RecentMessages is not offered: tim.md documents no history API Gavel
// uses (group_msg_get_simple exists but is not in the reference), so the
// pipeline lists the messages it saw in callbacks.
func (c *Client) RecentMessages(ctx context.Context, chat moderation.ChatRef, n int) ([]moderation.MessageRef, error) {
	return nil, fmt.Errorf("tim recent messages: %w", moderation.ErrUnsupported)
}

// MessageSender is not offered: TIM documents no look-up of one message
// by MsgSeq that Gavel uses.
func (c *Client) MessageSender(ctx context.Context, chat moderation.ChatRef, messageID string) (string, error) {
	return "", fmt.Errorf("tim message sender: %w", moderation.ErrUnsupported)
}

func doneAll(ids []string, detail string) []moderation.Result {
	out := make([]moderation.Result, len(ids))
	for i, id := range ids {
		out[i] = moderation.Result{UserID: id, Status: moderation.StatusDone, Detail: detail}
	}
	return out
}

// truncateUTF8 shortens s to at most n bytes on a rune boundary (a ban's
// Description is informational; the case keeps the full reason).
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
