package feishu

// sanctions.go: bans (emulated by removal), locks (the chat's speech
// mode), purges (one recall a call; the chat's history) and the sender of
// a replied-to message (issue #16).

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"
	larkim "github.com/larksuite/oapi-sdk-go/v3/service/im/v1"

	"gavel/moderation"
)

const (
	// Speech modes (moderation_setting) of PUT …/chats/:chat_id/moderation.
	moderationAll   = "all_members" // everyone may speak
	moderationOwner = "only_owner"  // the owner and the managers
	moderationList  = "moderator_list"

	// MaxRecallBatch is how many messages one recall (DELETE
	// /im/v1/messages/:message_id) takes.
	MaxRecallBatch = 1
	// maxListPage is the largest page_size of GET /im/v1/messages
	// (1–50, "Get chat history" page).
	maxListPage = 50
)

// isP2P reports a direct chat: nothing to ban, lock or purge there.
func isP2P(chat moderation.ChatRef) bool { return chat.Kind == "p2p" }

const (
	detailBanEmulated = "Feishu has no ban: Gavel removed them, and removes them again if they rejoin while the ban lasts"
	detailBanAbsent   = "not in this chat; Feishu has no ban: Gavel removes them if they join while the ban lasts"
	detailUnban       = "Feishu keeps no ban list, so there is nothing to lift there: Gavel ends its own ban and no longer removes them if they rejoin (they are not added back)"
)

// Ban is emulated: Feishu has no ban, so Ban removes the users with the
// same call as Remove (at most MaxRemoveBatch, one call) and says so in
// each Result's Detail; the pipeline's sanction record removes them again
// if they rejoin. d is not passed anywhere: the pipeline ends the ban.
func (c *Client) Ban(ctx context.Context, chat moderation.ChatRef, userIDs []string, _ time.Duration, _ moderation.ActionOptions) []moderation.Result {
	if refused := c.Limits().Oversized(moderation.VerbBan, userIDs); refused != nil {
		return refused
	}
	if isP2P(chat) {
		return moderation.UnsupportedResults(userIDs, "a Feishu direct chat has no members to ban")
	}
	if len(userIDs) == 0 {
		return []moderation.Result{}
	}
	out := c.removeBatch(ctx, chat.ID, userIDs)
	for i := range out {
		switch out[i].Status {
		case moderation.StatusDone:
			out[i].Detail = detailBanEmulated
		case moderation.StatusNoop:
			out[i].Detail = detailBanAbsent
		}
	}
	return out
}

// Unban calls nothing: Feishu keeps no ban list. Every user is
// StatusDone, the pipeline dropping its record being the whole unban; the
// Detail says so. (Whether the user was banned is the pipeline's record,
// not Feishu's: the adapter cannot answer StatusNoop.)
func (c *Client) Unban(_ context.Context, chat moderation.ChatRef, userIDs []string, _ moderation.ActionOptions) []moderation.Result {
	if refused := c.Limits().Oversized(moderation.VerbUnban, userIDs); refused != nil {
		return refused
	}
	if isP2P(chat) {
		return moderation.UnsupportedResults(userIDs, "a Feishu direct chat has no bans")
	}
	out := make([]moderation.Result, len(userIDs))
	for i, u := range userIDs {
		out[i] = moderation.Result{UserID: u, Status: moderation.StatusDone, Detail: detailUnban}
	}
	return out
}

// Lock sets the chat's speech mode to only_owner: the owner and the
// managers may speak. Feishu lets only the owner change it, or the bot
// that created the chat holding im:chat:operate_as_owner; a manager bot is
// refused with 232017 (StatusRefused, Reason feishu:232017).
//
// With speakers (Gavel's admins who are plain members) the mode is
// moderator_list instead, listing the owner, the managers and them: the
// one mode that lets chosen members speak.
func (c *Client) Lock(ctx context.Context, chat moderation.ChatRef, speakers []string, _ moderation.ActionOptions) moderation.Result {
	if len(speakers) == 0 || isP2P(chat) {
		return c.setModeration(ctx, chat, moderationOwner, nil)
	}
	info, err := c.chat(ctx, chat.ID)
	if err != nil {
		return moderation.FailAll([]string{""}, err)[0]
	}
	list := map[string]bool{}
	if info.ownerID != "" {
		list[info.ownerID] = true
	}
	for u := range info.userManagers {
		list[u] = true
	}
	for _, u := range speakers {
		list[u] = true
	}
	ids := make([]string, 0, len(list))
	for u := range list {
		ids = append(ids, u)
	}
	slices.Sort(ids)
	return c.setModeration(ctx, chat, moderationList, ids)
}

// Unlock sets the speech mode back to all_members.
func (c *Client) Unlock(ctx context.Context, chat moderation.ChatRef, _ moderation.ActionOptions) moderation.Result {
	return c.setModeration(ctx, chat, moderationAll, nil)
}

// setModeration reads the speech mode (GET …/moderation: StatusNoop when
// it is already setting) and changes it (PUT …/moderation). A failed read
// does not stop the change: the PUT gives Feishu's own answer (a missing
// read scope must not block a lock).
func (c *Client) setModeration(ctx context.Context, chat moderation.ChatRef, setting string, moderators []string) moderation.Result {
	verb := "lock"
	if setting == moderationAll {
		verb = "unlock"
	}
	if isP2P(chat) {
		return moderation.UnsupportedResults([]string{""}, "a Feishu direct chat cannot be "+verb+"ed")[0]
	}
	if err := pathParam("chat.moderation.update", "chat_id", chat.ID); err != nil {
		return moderation.FailAll([]string{""}, err)[0]
	}
	current, err := c.moderation(ctx, chat.ID)
	switch {
	case err != nil:
		c.log.InfoContext(ctx, "cannot read the chat's speech mode; changing it anyway", "chat", chat.ID, "err", err)
	case current == setting && setting == moderationList:
		// The list may differ: set it again.
	case current == setting && setting == moderationOwner:
		return moderation.Result{Status: moderation.StatusNoop, Detail: "the chat already lets only its owner and managers speak"}
	case current == setting:
		return moderation.Result{Status: moderation.StatusNoop, Detail: "everyone may already speak in this chat"}
	}
	const op = "chat.moderation.update"
	err = c.moderationUpdate.Do(ctx, func(ctx context.Context) error {
		return c.do(ctx, op, func(ctx context.Context, tok larkcore.RequestOptionFunc) (*larkcore.ApiResp, larkcore.CodeError, error) {
			req := larkim.NewUpdateChatModerationReqBuilder().
				ChatId(chat.ID).
				UserIdType(larkim.UpdateModerationUserIDTypeOpenId).
				Body(moderationBody(setting, moderators)).
				Build()
			resp, err := c.sdk.Im.V1.ChatModeration.Update(ctx, req, tok)
			if err != nil {
				return nil, larkcore.CodeError{}, err
			}
			return resp.ApiResp, resp.CodeError, nil
		})
	})
	if err != nil {
		return moderation.FailAll([]string{""}, err)[0]
	}
	detail := "everyone may speak again"
	switch setting {
	case moderationOwner:
		detail = "only the owner and the managers may speak now"
	case moderationList:
		detail = "only the owner, the managers and Gavel's admins may speak now"
	}
	if current == moderationList {
		detail += " (the chat was limited to a list of members)"
	}
	return moderation.Result{Status: moderation.StatusDone, Detail: detail}
}

// moderation returns the chat's speech mode (GET …/moderation; only its
// moderation_setting is read, not the whitelist pages).
func (c *Client) moderation(ctx context.Context, chatID string) (string, error) {
	const op = "chat.moderation.get"
	var setting string
	err := c.moderationGet.Do(ctx, func(ctx context.Context) error {
		return c.do(ctx, op, func(ctx context.Context, tok larkcore.RequestOptionFunc) (*larkcore.ApiResp, larkcore.CodeError, error) {
			req := larkim.NewGetChatModerationReqBuilder().ChatId(chatID).UserIdType(larkim.GetModerationUserIDTypeOpenId).Build()
			resp, err := c.sdk.Im.V1.ChatModeration.Get(ctx, req, tok)
			if err != nil {
				return nil, larkcore.CodeError{}, err
			}
			if resp.Data != nil {
				setting = larkcore.StringValue(resp.Data.ModerationSetting)
			}
			return resp.ApiResp, resp.CodeError, nil
		})
	})
	if err == nil && setting == "" {
		err = &moderation.APIError{Platform: Name, Op: op, Message: "Feishu returned no moderation_setting.", Kind: moderation.Permanent}
	}
	return setting, err
}

// RecallMessages recalls one message a call (DELETE
// /im/v1/messages/:message_id; MaxRecallBatch). A message already recalled
// or deleted (230110) is StatusNoop; one too old (230009) or that the bot
// may not recall (230026) is StatusRefused with Feishu's reason.
func (c *Client) RecallMessages(ctx context.Context, chat moderation.ChatRef, msgs []moderation.MessageRef, _ moderation.ActionOptions) []moderation.Result {
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	if refused := c.Limits().Oversized(moderation.VerbPurge, ids); refused != nil {
		return refused
	}
	if isP2P(chat) {
		return moderation.UnsupportedResults(ids, "Gavel does not purge Feishu direct chats")
	}
	out := make([]moderation.Result, len(ids))
	for i, id := range ids {
		err := c.deleteMessage(ctx, chat.ID, id)
		var apiErr *moderation.APIError
		switch {
		case err == nil:
			out[i] = moderation.Result{UserID: id, Status: moderation.StatusDone}
		case errors.As(err, &apiErr) && apiErr.Code == codeMessageDeleted:
			out[i] = moderation.Result{UserID: id, Status: moderation.StatusNoop, Reason: apiErr.Reason(), Detail: "already recalled or deleted"}
		default:
			out[i] = moderation.FailAll([]string{id}, err)[0]
		}
	}
	return out
}

// RecentMessages lists up to n of the chat's latest messages, newest
// first: GET /im/v1/messages?container_id_type=chat&sort_type=
// ByCreateTimeDesc, paged (page_size ≤ 50) until n are found or the
// history ends. Recalled messages (deleted) and system messages (group
// notices nobody sent) are skipped. SenderID is sender.id: a user's
// open_id, or an app's app_id for bots' messages. In topic chats only the
// threads' first messages are listed (the chat container's rule). A
// failed page fails the whole listing: a purge never acts on part of it
// silently.
func (c *Client) RecentMessages(ctx context.Context, chat moderation.ChatRef, n int) ([]moderation.MessageRef, error) {
	if isP2P(chat) {
		return nil, moderation.ErrUnsupported
	}
	if n <= 0 {
		return nil, nil
	}
	if chat.ID == "" {
		return nil, pathParam("message.list", "chat_id", chat.ID)
	}
	size := min(n, maxListPage)
	out := make([]moderation.MessageRef, 0, size)
	token := ""
	for len(out) < n {
		page, err := c.listMessages(ctx, chat.ID, size, token)
		if err != nil {
			return nil, err
		}
		for _, m := range page.Items {
			if len(out) == n {
				break
			}
			if ref, ok := messageRef(m); ok {
				out = append(out, ref)
			}
		}
		next := larkcore.StringValue(page.PageToken)
		if !larkcore.BoolValue(page.HasMore) || next == "" || next == token {
			break
		}
		token = next
	}
	return out, nil
}

// messageRef is a listed message as Gavel keeps it; ok is false for
// messages a purge skips.
func messageRef(m *larkim.Message) (moderation.MessageRef, bool) {
	if m == nil || larkcore.BoolValue(m.Deleted) || larkcore.StringValue(m.MsgType) == "system" {
		return moderation.MessageRef{}, false
	}
	ref := moderation.MessageRef{ID: larkcore.StringValue(m.MessageId)}
	if ref.ID == "" {
		return moderation.MessageRef{}, false
	}
	if m.Sender != nil {
		ref.SenderID = larkcore.StringValue(m.Sender.Id)
	}
	if t, ok := parseTimestamp(larkcore.StringValue(m.CreateTime)); ok {
		ref.SentAt = t
	}
	return ref, true
}

// listMessages is one paced, retried page of GET /im/v1/messages.
func (c *Client) listMessages(ctx context.Context, chatID string, size int, token string) (*larkim.ListMessageRespData, error) {
	const op = "message.list"
	var data *larkim.ListMessageRespData
	err := c.messageList.Do(ctx, func(ctx context.Context) error {
		return c.do(ctx, op, func(ctx context.Context, tok larkcore.RequestOptionFunc) (*larkcore.ApiResp, larkcore.CodeError, error) {
			b := larkim.NewListMessageReqBuilder().
				ContainerIdType("chat").
				ContainerId(chatID).
				SortType("ByCreateTimeDesc").
				PageSize(size)
			if token != "" {
				b = b.PageToken(token)
			}
			resp, err := c.sdk.Im.V1.Message.List(ctx, b.Build(), tok)
			if err != nil {
				return nil, larkcore.CodeError{}, err
			}
			data = resp.Data
			return resp.ApiResp, resp.CodeError, nil
		})
	})
	if err != nil {
		return nil, err
	}
	if data == nil {
		return nil, &moderation.APIError{Platform: Name, Op: op, Message: "Feishu returned no message list.", Kind: moderation.Permanent}
	}
	return data, nil
}

// MessageSender returns who sent a message: GET
// /im/v1/messages/:message_id (user_id_type=open_id) → sender.id, a
// user's open_id, or an app's app_id when a bot sent it (returned as it
// is). A recalled message still names its sender. A message of another
// chat is refused: a command must not reach across chats.
func (c *Client) MessageSender(ctx context.Context, chat moderation.ChatRef, messageID string) (string, error) {
	const op = "message.get"
	if err := pathParam(op, "message_id", messageID); err != nil {
		return "", err
	}
	var items []*larkim.Message
	err := c.messageGet.Do(ctx, func(ctx context.Context) error {
		return c.do(ctx, op, func(ctx context.Context, tok larkcore.RequestOptionFunc) (*larkcore.ApiResp, larkcore.CodeError, error) {
			req := larkim.NewGetMessageReqBuilder().MessageId(messageID).UserIdType("open_id").Build()
			resp, err := c.sdk.Im.V1.Message.Get(ctx, req, tok)
			if err != nil {
				return nil, larkcore.CodeError{}, err
			}
			items = nil
			if resp.Data != nil {
				items = resp.Data.Items
			}
			return resp.ApiResp, resp.CodeError, nil
		})
	})
	if err != nil {
		return "", err
	}
	// A merged forward comes with its inner messages: take the one asked for.
	for _, m := range items {
		if m == nil || larkcore.StringValue(m.MessageId) != messageID {
			continue
		}
		if in := larkcore.StringValue(m.ChatId); in != "" && chat.ID != "" && in != chat.ID {
			return "", &moderation.APIError{Platform: Name, Op: op, Message: "The replied-to message is not in this chat.", Kind: moderation.Permanent}
		}
		if m.Sender != nil && larkcore.StringValue(m.Sender.SenderType) == "app" {
			// An app's id (cli_…) is no member: the member APIs take
			// open_ids only.
			return "", fmt.Errorf("%w: %w", moderation.ErrBotSender,
				&moderation.APIError{Platform: Name, Op: op, Message: "The replied-to message was sent by a bot, which cannot be a target.", Kind: moderation.Permanent})
		}
		if m.Sender != nil && larkcore.StringValue(m.Sender.Id) != "" {
			return larkcore.StringValue(m.Sender.Id), nil
		}
	}
	return "", &moderation.APIError{Platform: Name, Op: op, Message: "Feishu did not say who sent the message.", Kind: moderation.Permanent}
}

// moderationBody is the PUT …/moderation body: the setting and, for
// moderator_list, who may speak.
func moderationBody(setting string, moderators []string) *larkim.UpdateChatModerationReqBody {
	b := larkim.NewUpdateChatModerationReqBodyBuilder().ModerationSetting(setting)
	if setting == moderationList && len(moderators) > 0 {
		b = b.ModeratorAddedList(moderators)
	}
	return b.Build()
}
