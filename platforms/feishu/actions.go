package feishu

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"
	larkim "github.com/larksuite/oapi-sdk-go/v3/service/im/v1"

	"gavel/moderation"
	"gavel/platforms/egress"
)

// MaxRemoveBatch is the most users one chat-members DELETE may carry.
const MaxRemoveBatch = 50

// ReasonBotNotManager is the Result reason of an action refused because the
// bot may not carry it out in the chat (Feishu's own code).
var ReasonBotNotManager = moderation.PlatformReason(Name, "bot_not_manager")

// Roles maps each user to owner (owner_id), admin (user_manager_id_list, or
// the bot itself when its app is in bot_manager_id_list) or member. Feishu's
// chat info does not list members, so unknown users are RoleMember.
func (c *Client) Roles(ctx context.Context, chat moderation.ChatRef, userIDs []string) (map[string]moderation.Role, error) {
	info, err := c.chat(ctx, chat.ID)
	if err != nil {
		return nil, err
	}
	botID := ""
	if info.botManagers[c.cfg.AppID] {
		if id, err := c.BotID(ctx); err == nil {
			botID = id
		} else {
			c.log.WarnContext(ctx, "cannot resolve the bot's open_id", "chat", chat.ID, "err", err)
		}
	}
	roles := make(map[string]moderation.Role, len(userIDs))
	for _, u := range userIDs {
		switch {
		case u != "" && u == info.ownerID:
			roles[u] = moderation.RoleOwner
		case info.userManagers[u], u != "" && u == botID:
			roles[u] = moderation.RoleAdmin
		default:
			roles[u] = moderation.RoleMember
		}
	}
	return roles, nil
}

// Remove kicks at most MaxRemoveBatch users (the pipeline batches) in one
// call, one call at a time per chat (Feishu answers 232019 to parallel
// removals in one chat).
// IDs Feishu lists as invalid are StatusNoop moderation.ReasonNotMember. If a batch holds
// the owner (232076), the owner is refused and the rest is removed.
func (c *Client) Remove(ctx context.Context, chat moderation.ChatRef, userIDs []string, _ moderation.ActionOptions) []moderation.Result {
	// The pipeline batches; more than one call takes is refused.
	if refused := c.Limits().Oversized(moderation.VerbKick, userIDs); refused != nil {
		return refused
	}
	out := make([]moderation.Result, 0, len(userIDs))
	for _, batch := range egress.Chunk(userIDs, MaxRemoveBatch) {
		out = append(out, c.removeBatch(ctx, chat.ID, batch)...)
	}
	return out
}

func (c *Client) removeBatch(ctx context.Context, chatID string, batch []string) []moderation.Result {
	unlock := c.chatLock.lock(chatID)
	defer unlock()
	invalid, err := c.deleteMembers(ctx, chatID, batch)
	if err == nil {
		return removed(batch, invalid)
	}
	var apiErr *moderation.APIError
	if !errors.As(err, &apiErr) {
		return moderation.FailAll(batch, err)
	}
	switch apiErr.Code {
	case codeNoValidMembers:
		return removed(batch, batch)
	case codeCannotKickOwner:
		info, ierr := c.chat(ctx, chatID)
		if ierr != nil || info.ownerID == "" || !slices.Contains(batch, info.ownerID) {
			return moderation.FailAll(batch, err)
		}
		rest := slices.DeleteFunc(slices.Clone(batch), func(u string) bool { return u == info.ownerID })
		var restResults []moderation.Result
		if len(rest) > 0 {
			inv, rerr := c.deleteMembers(ctx, chatID, rest)
			if rerr != nil {
				restResults = moderation.FailAll(rest, rerr)
			} else {
				restResults = removed(rest, inv)
			}
		}
		byUser := make(map[string]moderation.Result, len(restResults))
		for _, r := range restResults {
			byUser[r.UserID] = r
		}
		ownerResult := moderation.FailAll([]string{info.ownerID}, err)[0]
		out := make([]moderation.Result, len(batch))
		for i, u := range batch {
			if u == info.ownerID {
				out[i] = ownerResult
			} else {
				out[i] = byUser[u]
			}
		}
		return out
	}
	return moderation.FailAll(batch, err)
}

func removed(batch, invalid []string) []moderation.Result {
	bad := set(invalid)
	out := make([]moderation.Result, len(batch))
	for i, u := range batch {
		if bad[u] {
			out[i] = moderation.Result{UserID: u, Status: moderation.StatusNoop, Reason: moderation.ReasonNotMember, Detail: "not in this chat"}
		} else {
			out[i] = moderation.Result{UserID: u, Status: moderation.StatusDone}
		}
	}
	return out
}

// deleteMembers is one paced, retried DELETE /im/v1/chats/:chat_id/members.
func (c *Client) deleteMembers(ctx context.Context, chatID string, ids []string) (invalid []string, err error) {
	if err := pathParam("chat.members.delete", "chat_id", chatID); err != nil {
		return nil, err
	}
	err = c.membersDelete.Do(ctx, func(ctx context.Context) error {
		return c.do(ctx, "chat.members.delete", func(ctx context.Context, tok larkcore.RequestOptionFunc) (*larkcore.ApiResp, larkcore.CodeError, error) {
			req := larkim.NewDeleteChatMembersReqBuilder().
				ChatId(chatID).
				MemberIdType(larkim.KickMemberMemberIDTypeOpenId).
				Body(larkim.NewDeleteChatMembersReqBodyBuilder().IdList(ids).Build()).
				Build()
			resp, err := c.sdk.Im.V1.ChatMembers.Delete(ctx, req, tok)
			if err != nil {
				return nil, larkcore.CodeError{}, err
			}
			invalid = nil
			if resp.Data != nil {
				invalid = resp.Data.InvalidIdList
			}
			return resp.ApiResp, resp.CodeError, nil
		})
	})
	return invalid, err
}

// Mute is emulated: Feishu has no per-member mute, so the pipeline records
// the mute and recalls every message the user sends. Mute refuses only when
// Feishu lately refused a recall in this chat (230026): the bot's right to
// recall cannot be seen beforehand when a bot owns the chat (owner_id is
// omitted) or the bot created it, and a mute the platform would allow is
// never refused.
func (c *Client) Mute(ctx context.Context, chat moderation.ChatRef, userIDs []string, _ time.Duration, _ moderation.ActionOptions) []moderation.Result {
	// The pipeline batches; more than one call takes is refused.
	if refused := c.Limits().Oversized(moderation.VerbMute, userIDs); refused != nil {
		return refused
	}
	right, err := c.recallRight(ctx, chat.ID)
	if err != nil {
		return moderation.FailAll(userIDs, err)
	}
	out := make([]moderation.Result, len(userIDs))
	for i, u := range userIDs {
		switch right {
		case recallRefused:
			out[i] = moderation.Result{UserID: u, Status: moderation.StatusRefused, Reason: ReasonBotNotManager,
				Detail: "Gavel must be the owner, a manager or the creator of this chat to mute (it recalls the muted user's messages); Feishu refused a recall here"}
		case recallMaybe:
			out[i] = moderation.Result{UserID: u, Status: moderation.StatusDone,
				Detail: "Gavel will recall their messages while the mute lasts (if Feishu lets it: the owner, managers and the chat's creator may)"}
		default:
			out[i] = moderation.Result{UserID: u, Status: moderation.StatusDone, Detail: "Gavel will recall their messages while the mute lasts"}
		}
	}
	return out
}

// Unmute is emulated: nothing to call; the pipeline deletes its mute record.
func (c *Client) Unmute(_ context.Context, _ moderation.ChatRef, userIDs []string, _ moderation.ActionOptions) []moderation.Result {
	// The pipeline batches; more than one call takes is refused.
	if refused := c.Limits().Oversized(moderation.VerbUnmute, userIDs); refused != nil {
		return refused
	}
	out := make([]moderation.Result, len(userIDs))
	for i, u := range userIDs {
		out[i] = moderation.Result{UserID: u, Status: moderation.StatusDone}
	}
	return out
}

// Recall deletes a message (DELETE /open-apis/im/v1/messages/:message_id).
// A message that is already deleted counts as recalled.
func (c *Client) Recall(ctx context.Context, chat moderation.ChatRef, messageID string) error {
	if messageID == "" {
		return fmt.Errorf("feishu recall in %s: empty message id", chat)
	}
	err := c.deleteMessage(ctx, chat.ID, messageID)
	var apiErr *moderation.APIError
	if errors.As(err, &apiErr) && apiErr.Code == codeMessageDeleted {
		return nil
	}
	return err
}

// deleteMessage is one paced, retried DELETE /im/v1/messages/:message_id.
// It remembers recalled messages (Reply posts to the chat instead of
// replying to them) and chats where Feishu refused a recall (230026: Mute
// is refused there for RefusalCacheTTL). A message already deleted is the
// 230110 APIError: Recall takes it as done, RecallMessages as a no-op.
func (c *Client) deleteMessage(ctx context.Context, chatID, messageID string) error {
	if err := pathParam("message.delete", "message_id", messageID); err != nil {
		return err
	}
	err := c.messageDelete.Do(ctx, func(ctx context.Context) error {
		return c.do(ctx, "message.delete", func(ctx context.Context, tok larkcore.RequestOptionFunc) (*larkcore.ApiResp, larkcore.CodeError, error) {
			resp, err := c.sdk.Im.V1.Message.Delete(ctx, larkim.NewDeleteMessageReqBuilder().MessageId(messageID).Build(), tok)
			if err != nil {
				return nil, larkcore.CodeError{}, err
			}
			return resp.ApiResp, resp.CodeError, nil
		})
	})
	var apiErr *moderation.APIError
	switch {
	case err == nil:
		c.refusals.Delete(chatID)
		c.rememberRecalled(messageID)
	case errors.As(err, &apiErr) && apiErr.Code == codeMessageDeleted:
		c.rememberRecalled(messageID)
	case errors.As(err, &apiErr) && apiErr.Code == codeRecallRefused:
		c.refusals.SetDefault(chatID, c.now())
		c.log.WarnContext(ctx, "Feishu refused a recall: Gavel is not owner, manager or creator of this chat; mutes there are refused for a while",
			"chat", chatID, "refusal_cache_ttl", c.cfg.RefusalCacheTTL)
	}
	return err
}

// Reply answers msg with a text message: POST /im/v1/messages/:id/reply, or
// a new chat message (POST /im/v1/messages?receive_id_type=chat_id) when msg
// has no ID, when Gavel recalled msg itself within the last hour (a notice
// after a "delete" rule), or when Feishu answers that the reply target is
// gone (recalled, deleted, invisible, self-destructing). The uuid
// (idempotency key, honoured by Feishu for an hour) is derived from the
// target and the text, so a retry after a lost answer cannot post twice.
func (c *Client) Reply(ctx context.Context, msg *moderation.Message, text string) error {
	if msg == nil {
		return errors.New("feishu reply: nil message")
	}
	text = inertText(text)
	content, err := json.Marshal(map[string]string{"text": text})
	if err != nil {
		return fmt.Errorf("feishu reply: %w", err)
	}
	if msg.MessageID != "" {
		if err := pathParam("message.reply", "message_id", msg.MessageID); err != nil {
			return err
		}
	}
	if msg.MessageID == "" {
		return c.postToChat(ctx, msg.Chat.ID, string(content), replyUUID(msg.Chat.ID, "", text))
	}
	// The chat-message fallback has a uuid of its own: the reply's was
	// not used (Feishu refused it), and another target's must not match.
	fallbackUUID := replyUUID(msg.Chat.ID, msg.MessageID+"\x00chat", text)
	if c.wasRecalled(msg.MessageID) {
		return c.postToChat(ctx, msg.Chat.ID, string(content), fallbackUUID)
	}
	err = c.messageReply.Do(ctx, func(ctx context.Context) error {
		return c.do(ctx, "message.reply", func(ctx context.Context, tok larkcore.RequestOptionFunc) (*larkcore.ApiResp, larkcore.CodeError, error) {
			req := larkim.NewReplyMessageReqBuilder().
				MessageId(msg.MessageID).
				Body(larkim.NewReplyMessageReqBodyBuilder().MsgType(larkim.MsgTypeText).Content(string(content)).Uuid(replyUUID(msg.Chat.ID, msg.MessageID, text)).Build()).
				Build()
			resp, err := c.sdk.Im.V1.Message.Reply(ctx, req, tok)
			if err != nil {
				return nil, larkcore.CodeError{}, err
			}
			return resp.ApiResp, resp.CodeError, nil
		})
	})
	var apiErr *moderation.APIError
	if errors.As(err, &apiErr) && targetGone[apiErr.Code] {
		c.log.InfoContext(ctx, "reply target gone; posting to the chat instead", "chat", msg.Chat.ID, "message_id", msg.MessageID, "code", apiErr.Code)
		return c.postToChat(ctx, msg.Chat.ID, string(content), fallbackUUID)
	}
	return err
}

// targetGone are the answers to a reply that mean its target message can no
// longer be replied to, while the chat can still be written to.
var targetGone = map[int]bool{
	codeMessageRecalled:      true, // 230011 "The message is recalled." (reply)
	codeMessageInvisible:     true, // 230050 "The message is invisible to the operator."
	codeMessageDeleted:       true, // 230110 "…the message has been deleted." (documented for recall)
	codeMessageSelfDestructs: true, // 230111 "…the message will self-destruct soon."
}

// postToChat sends a text message to the chat.
func (c *Client) postToChat(ctx context.Context, chatID, content, uuid string) error {
	return c.messageReply.Do(ctx, func(ctx context.Context) error {
		return c.do(ctx, "message.create", func(ctx context.Context, tok larkcore.RequestOptionFunc) (*larkcore.ApiResp, larkcore.CodeError, error) {
			req := larkim.NewCreateMessageReqBuilder().
				ReceiveIdType(larkim.CreateMessageV1ReceiveIDTypeChatId).
				Body(larkim.NewCreateMessageReqBodyBuilder().ReceiveId(chatID).MsgType(larkim.MsgTypeText).Content(content).Uuid(uuid).Build()).
				Build()
			resp, err := c.sdk.Im.V1.Message.Create(ctx, req, tok)
			if err != nil {
				return nil, larkcore.CodeError{}, err
			}
			return resp.ApiResp, resp.CodeError, nil
		})
	})
}

// maxRecalled bounds the ids Gavel remembers having recalled.
const (
	maxRecalled    = 10000
	recalledMemory = time.Hour
)

// rememberRecalled notes that messageID is gone, so that a notice about it
// is posted to the chat instead of as a doomed reply. Past maxRecalled ids
// (a recall storm) new ones are not remembered: the reply then fails with
// 230011 and falls back the same way, one call later.
func (c *Client) rememberRecalled(messageID string) {
	if c.recalled.ItemCount() < maxRecalled {
		c.recalled.SetDefault(messageID, struct{}{})
	}
}

func (c *Client) wasRecalled(messageID string) bool {
	_, ok := c.recalled.Get(messageID)
	return ok
}

func replyUUID(chatID, messageID, text string) string {
	sum := sha256.Sum256([]byte(chatID + "\x00" + messageID + "\x00" + text))
	return "gavel-" + hex.EncodeToString(sum[:16])
}
