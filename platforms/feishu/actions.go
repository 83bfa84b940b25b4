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
	"gavel/platforms/pathseg"
)

// MaxRemoveBatch is the most users one chat-members DELETE may carry.
const MaxRemoveBatch = 50

// Reason codes of Results built by the adapter itself.
const (
	ReasonNotMember     = "not_member"
	ReasonBotNotManager = Name + ":bot_not_manager"
)

// chatInfo is what GET /open-apis/im/v1/chats/:chat_id says about who runs
// a chat.
type chatInfo struct {
	ownerID      string          // open_id; empty when the owner is a bot
	userManagers map[string]bool // open_ids
	botManagers  map[string]bool // app_ids
	fetched      time.Time
}

// pathParam checks an id the SDK puts into a request path (PathParams:
// :chat_id, :message_id). The SDK escapes separators itself but passes
// "." and ".." through, which a path-normalising hop would resolve into
// another resource; such an id is a permanent error and nothing is sent.
func pathParam(op, what, id string) error {
	if err := pathseg.Check(id); err != nil {
		return fmt.Errorf("%w (%w)", &moderation.APIError{
			Platform: Name, Op: op, Name: "invalid_" + what,
			Message: "The " + what + " cannot be used in a request.", Kind: moderation.Permanent,
		}, err)
	}
	return nil
}

// chat returns the chat's owner and managers, from the cache unless fresh.
func (c *Client) chat(ctx context.Context, chatID string, fresh bool) (*chatInfo, error) {
	if err := pathParam("chat.get", "chat_id", chatID); err != nil {
		return nil, err
	}
	if !fresh {
		if v, ok := c.chats.Get(chatID); ok {
			info := v.(*chatInfo)
			if c.now().Sub(info.fetched) < c.cfg.RoleCacheTTL {
				return info, nil
			}
		}
	}
	const op = "chat.get"
	var info *chatInfo
	err := c.chatGet.Do(ctx, func(ctx context.Context) error {
		return c.do(ctx, op, func(ctx context.Context, tok larkcore.RequestOptionFunc) (*larkcore.ApiResp, larkcore.CodeError, error) {
			req := larkim.NewGetChatReqBuilder().ChatId(chatID).UserIdType(larkim.GetChatUserIDTypeOpenId).Build()
			resp, err := c.sdk.Im.V1.Chat.Get(ctx, req, tok)
			if err != nil {
				return nil, larkcore.CodeError{}, err
			}
			if resp.Success() && resp.Data != nil {
				info = &chatInfo{
					ownerID:      larkcore.StringValue(resp.Data.OwnerId),
					userManagers: set(resp.Data.UserManagerIdList),
					botManagers:  set(resp.Data.BotManagerIdList),
					fetched:      c.now(),
				}
			}
			return resp.ApiResp, resp.CodeError, nil
		})
	})
	if err != nil {
		return nil, err
	}
	if info == nil {
		return nil, &moderation.APIError{Platform: Name, Op: op, Message: "Feishu returned no chat data.", Kind: moderation.Permanent}
	}
	c.chats.SetDefault(chatID, info)
	return info, nil
}

func set(ids []string) map[string]bool {
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// Roles maps each user to owner (owner_id), admin (user_manager_id_list, or
// the bot itself when its app is in bot_manager_id_list) or member. Feishu's
// chat info does not list members, so unknown users are RoleMember.
func (c *Client) Roles(ctx context.Context, chat moderation.ChatRef, userIDs []string) (map[string]moderation.Role, error) {
	info, err := c.chat(ctx, chat.ID, false)
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

// botRunsChat reports whether the bot is the chat's owner or a manager,
// which Feishu requires to remove members and recall others' messages.
func (c *Client) botRunsChat(ctx context.Context, chatID string) (bool, error) {
	info, err := c.chat(ctx, chatID, false)
	if err != nil {
		return false, err
	}
	if info.botManagers[c.cfg.AppID] {
		return true, nil
	}
	botID, err := c.BotID(ctx)
	if err != nil {
		return false, err
	}
	return info.ownerID == botID || info.userManagers[botID], nil
}

// Remove kicks users from the chat in batches of MaxRemoveBatch, one batch at
// a time per chat (Feishu answers 232019 to parallel removals in one chat).
// IDs Feishu lists as invalid are StatusNoop "not_member". If a batch holds
// the owner (232076), the owner is refused and the rest is removed.
func (c *Client) Remove(ctx context.Context, chat moderation.ChatRef, userIDs []string, _ moderation.ActionOptions) []moderation.Result {
	out := make([]moderation.Result, 0, len(userIDs))
	for _, batch := range egress.Chunk(userIDs, MaxRemoveBatch) {
		out = append(out, c.removeBatch(ctx, chat.ID, batch)...)
	}
	c.chats.Delete(chat.ID) // a removed manager is no longer one
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
		info, ierr := c.chat(ctx, chatID, true)
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
			out[i] = moderation.Result{UserID: u, Status: moderation.StatusNoop, Reason: ReasonNotMember, Detail: "not in this chat"}
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
// the mute and recalls every message the user sends. Mute only checks that
// the bot may recall others' messages (it is the chat owner or a manager).
func (c *Client) Mute(ctx context.Context, chat moderation.ChatRef, userIDs []string, _ time.Duration, _ moderation.ActionOptions) []moderation.Result {
	ok, err := c.botRunsChat(ctx, chat.ID)
	if err != nil {
		return moderation.FailAll(userIDs, err)
	}
	out := make([]moderation.Result, len(userIDs))
	for i, u := range userIDs {
		if ok {
			out[i] = moderation.Result{UserID: u, Status: moderation.StatusDone, Detail: "Gavel will recall their messages while the mute lasts"}
		} else {
			out[i] = moderation.Result{UserID: u, Status: moderation.StatusRefused, Reason: ReasonBotNotManager,
				Detail: "Gavel must be the owner or a manager of this chat to mute (it recalls the muted user's messages)"}
		}
	}
	return out
}

// Unmute is emulated: nothing to call; the pipeline deletes its mute record.
func (c *Client) Unmute(_ context.Context, _ moderation.ChatRef, userIDs []string, _ moderation.ActionOptions) []moderation.Result {
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
	if errors.As(err, &apiErr) && apiErr.Code == codeMessageDeleted {
		return nil
	}
	return err
}

// Reply answers msg with a text message: POST /im/v1/messages/:id/reply, or a
// new chat message when msg has no ID. The uuid (idempotency key, honoured
// by Feishu for an hour) is derived from the target and the text, so a retry
// after a lost answer cannot post twice.
func (c *Client) Reply(ctx context.Context, msg *moderation.Message, text string) error {
	if msg == nil {
		return errors.New("feishu reply: nil message")
	}
	content, err := json.Marshal(map[string]string{"text": text})
	if err != nil {
		return fmt.Errorf("feishu reply: %w", err)
	}
	uuid := replyUUID(msg.Chat.ID, msg.MessageID, text)
	if msg.MessageID != "" {
		if err := pathParam("message.reply", "message_id", msg.MessageID); err != nil {
			return err
		}
	}
	if msg.MessageID == "" {
		return c.messageReply.Do(ctx, func(ctx context.Context) error {
			return c.do(ctx, "message.create", func(ctx context.Context, tok larkcore.RequestOptionFunc) (*larkcore.ApiResp, larkcore.CodeError, error) {
				req := larkim.NewCreateMessageReqBuilder().
					ReceiveIdType(larkim.CreateMessageV1ReceiveIDTypeChatId).
					Body(larkim.NewCreateMessageReqBodyBuilder().ReceiveId(msg.Chat.ID).MsgType(larkim.MsgTypeText).Content(string(content)).Uuid(uuid).Build()).
					Build()
				resp, err := c.sdk.Im.V1.Message.Create(ctx, req, tok)
				if err != nil {
					return nil, larkcore.CodeError{}, err
				}
				return resp.ApiResp, resp.CodeError, nil
			})
		})
	}
	return c.messageReply.Do(ctx, func(ctx context.Context) error {
		return c.do(ctx, "message.reply", func(ctx context.Context, tok larkcore.RequestOptionFunc) (*larkcore.ApiResp, larkcore.CodeError, error) {
			req := larkim.NewReplyMessageReqBuilder().
				MessageId(msg.MessageID).
				Body(larkim.NewReplyMessageReqBodyBuilder().MsgType(larkim.MsgTypeText).Content(string(content)).Uuid(uuid).Build()).
				Build()
			resp, err := c.sdk.Im.V1.Message.Reply(ctx, req, tok)
			if err != nil {
				return nil, larkcore.CodeError{}, err
			}
			return resp.ApiResp, resp.CodeError, nil
		})
	})
}

func replyUUID(chatID, messageID, text string) string {
	sum := sha256.Sum256([]byte(chatID + "\x00" + messageID + "\x00" + text))
	return "gavel-" + hex.EncodeToString(sum[:16])
}

// MaxBatch says how many users one call of verb takes; the pipeline hands
// users over in such batches and records results after each.
func (c *Client) MaxBatch(verb moderation.Verb) int {
	if verb == moderation.VerbKick {
		return MaxRemoveBatch
	}
	return 0 // emulated mute/unmute: no per-call limit
}
