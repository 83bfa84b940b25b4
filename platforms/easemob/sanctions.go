package easemob

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"gavel/moderation"
)

// Per-call limits of the sanction APIs: the block-list pages take at most
// 60 users a call (add: "userNames is more than max limit : 60"; remove:
// "removeBlacklist: list size more than max limit : 60"). Recall takes one
// message per msg_recall; batch_recall (≤30) documents no per-message
// failure, so it is not used.
const (
	MaxBlockPerCall  = 60
	MaxRecallPerCall = 1
)

// Ban puts users on the chat's block list (黑名单): POST
// …/{chatgroups|chatrooms}/{id}/blocks/users {"usernames": […]}, at most 60
// a call. Easemob removes them and refuses their rejoining until Unban;
// its block has no duration, so a timed ban is lifted by the pipeline
// calling Unban at its end. Easemob block-lists only current members: a
// user who is not in the chat is reported StatusDone with a Detail saying
// the ban is Gavel's own record (the pipeline removes them if they join).
func (c *Client) Ban(ctx context.Context, chat moderation.ChatRef, userIDs []string, d time.Duration, _ moderation.ActionOptions) []moderation.Result {
	if refused := c.Limits().Oversized(moderation.VerbBan, userIDs); refused != nil {
		return refused
	}
	if d <= 0 && d != moderation.Forever {
		return refuseAll(userIDs, moderation.ReasonInvalidDuration, "A ban needs a positive duration or none.")
	}
	kind, err := c.kind(ctx, chat)
	if err != nil {
		return failAllEarly(userIDs, err)
	}
	op := kind + ".block"
	path, err := chatPath(op, kind, chat.ID, "blocks", "users")
	if err != nil {
		return failAllEarly(userIDs, err)
	}
	fn := func(ctx context.Context, users []string) ([]memberResult, error) {
		var env envelope
		if err := c.call(ctx, op, http.MethodPost, path, map[string]any{"usernames": users}, &env); err != nil {
			return nil, err
		}
		return decodeResults(env.Data)
	}
	emulated := moderation.Result{Status: moderation.StatusDone, Detail: "Not in the chat now, and Easemob block-lists members only: the ban is Gavel's record, which removes them if they join."}
	interp := func(r memberResult) moderation.Result {
		if r.Result {
			return moderation.Result{Status: moderation.StatusDone}
		}
		if isNotInChat(r.Reason) {
			return emulated
		}
		return moderation.Result{Status: moderation.StatusRefused, Reason: moderation.PlatformReason(Name, "block_refused"), Detail: reasonOr(r.Reason, "Easemob did not block this user.")}
	}
	return c.runBatches(ctx, "ban", chat, userIDs, MaxBlockPerCall, fn, interp, emulated)
}

// isNotInChat reads a per-user reason such as "user: u doesn't exist in
// chatroom: 1" (or "… in group: 1").
func isNotInChat(reason string) bool {
	lr := strings.ToLower(reason)
	return strings.Contains(lr, "doesn't exist in") || strings.Contains(lr, "not exist in") || strings.Contains(lr, "not member")
}

// Unban takes users off the chat's block list: DELETE
// …/{id}/blocks/users/{u1}%2C{u2}, at most 60 a call. A user who is not
// block-listed is StatusNoop; they may join again (Easemob does not add
// them back).
func (c *Client) Unban(ctx context.Context, chat moderation.ChatRef, userIDs []string, _ moderation.ActionOptions) []moderation.Result {
	if refused := c.Limits().Oversized(moderation.VerbUnban, userIDs); refused != nil {
		return refused
	}
	kind, err := c.kind(ctx, chat)
	if err != nil {
		return failAllEarly(userIDs, err)
	}
	op := kind + ".unblock"
	base, err := chatPath(op, kind, chat.ID, "blocks", "users")
	if err != nil {
		return failAllEarly(userIDs, err)
	}
	fn := func(ctx context.Context, users []string) ([]memberResult, error) {
		list, err := userList(op, users)
		if err != nil {
			return nil, err
		}
		var env envelope
		if err := c.call(ctx, op, http.MethodDelete, base+"/"+list, nil, &env); err != nil {
			return nil, err
		}
		return decodeResults(env.Data)
	}
	notBanned := moderation.Result{Status: moderation.StatusNoop, Reason: moderation.PlatformReason(Name, "not_blocked"), Detail: "Not banned here."}
	interp := func(r memberResult) moderation.Result {
		if r.Result {
			return moderation.Result{Status: moderation.StatusDone}
		}
		nb := notBanned
		nb.Detail = reasonOr(r.Reason, nb.Detail)
		return nb
	}
	// The pages answer 403 "users [X] are not members of this group!" for
	// users not on the block list: they are not banned.
	return c.runBatches(ctx, "unban", chat, userIDs, MaxBlockPerCall, fn, interp, notBanned)
}

// Lock switches the chat's mute-all on: POST …/{id}/ban. Only users on the
// allow-list may speak then, and Easemob puts the owner and the admins on
// it by default (the allow-list pages of both kinds), so no allow-list
// call is needed. Easemob does not say whether the chat was muted
// already: a Lock is always StatusDone.
//
// speakers (Gavel's admins who are not the chat's admins) are put on the
// chat's allow-list, at most 60 a call (POST …/{id}/white/users), so that
// they keep speaking; the owner and admins are on it by default.
func (c *Client) Lock(ctx context.Context, chat moderation.ChatRef, speakers []string, _ moderation.ActionOptions) moderation.Result {
	res := c.setMuteAll(ctx, chat, true)
	if !res.Status.Succeeded() || len(speakers) == 0 {
		return res
	}
	if err := c.allow(ctx, chat, speakers); err != nil {
		res.Detail = "locked, but Gavel's admins could not be put on the allow-list and cannot speak: " + err.Error()
	}
	return res
}

// allowListBatch is how many users one allow-list call takes.
const allowListBatch = 60

// allow puts users on the chat's allow-list.
func (c *Client) allow(ctx context.Context, chat moderation.ChatRef, users []string) error {
	kind, err := c.kind(ctx, chat)
	if err != nil {
		return err
	}
	op := kind + ".allow"
	path, err := chatPath(op, kind, chat.ID, "white", "users")
	if err != nil {
		return err
	}
	for batch := range slices.Chunk(users, allowListBatch) {
		var env envelope
		if err := c.call(ctx, op, http.MethodPost, path, map[string]any{"usernames": batch}, &env); err != nil {
			return err
		}
	}
	return nil
}

// Unlock switches mute-all off: DELETE …/{id}/ban.
func (c *Client) Unlock(ctx context.Context, chat moderation.ChatRef, _ moderation.ActionOptions) moderation.Result {
	return c.setMuteAll(ctx, chat, false)
}

func (c *Client) setMuteAll(ctx context.Context, chat moderation.ChatRef, on bool) moderation.Result {
	fail := func(err error) moderation.Result { return moderation.FailAll([]string{""}, err)[0] }
	kind, err := c.kind(ctx, chat)
	if err != nil {
		return fail(err)
	}
	op, method := kind+".muteall", http.MethodPost
	if !on {
		op, method = kind+".unmuteall", http.MethodDelete
	}
	path, err := chatPath(op, kind, chat.ID, "ban")
	if err != nil {
		return fail(err)
	}
	var env envelope
	if err := c.call(ctx, op, method, path, nil, &env); err != nil {
		return fail(err)
	}
	var d struct {
		Mute *bool `json:"mute"`
	}
	if err := json.Unmarshal(env.Data, &d); err != nil || d.Mute == nil {
		return fail(fmt.Errorf("easemob %s: data.mute missing: %w", op, moderation.ErrMalformed))
	}
	if *d.Mute != on {
		return moderation.Result{Status: moderation.StatusFailed, Reason: moderation.PlatformReason(Name, "mute_all_unchanged"), Detail: "Easemob did not change the chat's mute-all switch."}
	}
	return moderation.Result{Status: moderation.StatusDone}
}

// RecallMessages recalls msgs, one per call (POST /messages/msg_recall
// with force, so the console's recall time does not stop moderation). A
// message recalled already, or deleted by Easemob, is StatusNoop; one past
// the recall time is StatusRefused with the platform's reason.
func (c *Client) RecallMessages(ctx context.Context, chat moderation.ChatRef, msgs []moderation.MessageRef, _ moderation.ActionOptions) []moderation.Result {
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	if refused := c.Limits().Oversized(moderation.VerbPurge, ids); refused != nil {
		return refused
	}
	out := make([]moderation.Result, len(ids))
	for i, id := range ids {
		out[i] = c.recallResult(ctx, chat, id)
	}
	return out
}

// recallResult is the Result of recalling one message.
func (c *Client) recallResult(ctx context.Context, chat moderation.ChatRef, id string) moderation.Result {
	if id == "" {
		return moderation.Result{UserID: id, Status: moderation.StatusRefused, Reason: moderation.PlatformReason(Name, "invalid_message_id"), Detail: "No message ID."}
	}
	err := c.Recall(ctx, chat, id)
	if err == nil {
		return moderation.Result{UserID: id, Status: moderation.StatusDone}
	}
	var apiErr *moderation.APIError
	if errors.As(err, &apiErr) && apiErr.Name == "message_recall_error" {
		switch desc := strings.ToLower(errDescription(err)); {
		case strings.Contains(desc, "not_found"):
			return moderation.Result{UserID: id, Status: moderation.StatusNoop, Reason: moderation.PlatformReason(Name, "not_found_msg"), Detail: "The message is gone already (recalled, or expired on Easemob)."}
		case strings.Contains(desc, "exceed recall time"):
			return moderation.Result{UserID: id, Status: moderation.StatusRefused, Reason: moderation.PlatformReason(Name, "exceed_recall_time_limit"), Detail: "The message is older than the app's recall time (console: 功能配置 › 消息 › 撤回时长)."}
		}
	}
	return moderation.FailAll([]string{id}, err)[0]
}

// RecentMessages: Easemob's only server-side history is the hourly
// export (GET /chatmessages/{time}), files of a whole app hour ready an
// hour or more later; it cannot list a chat's latest messages. The
// pipeline uses the messages it saw in callbacks.
func (c *Client) RecentMessages(context.Context, moderation.ChatRef, int) ([]moderation.MessageRef, error) {
	return nil, moderation.ErrUnsupported
}

// MessageSender: Easemob has no API returning one message by ID.
func (c *Client) MessageSender(context.Context, moderation.ChatRef, string) (string, error) {
	return "", moderation.ErrUnsupported
}
