package feishu

// chats.go: what GET chat says about who runs a chat, and the bot's
// right to recall there (Roles, Mute and the sanctions read it).

import (
	"context"
	"time"

	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"
	larkim "github.com/larksuite/oapi-sdk-go/v3/service/im/v1"

	"gavel/moderation"
)

// chatInfo is what GET /open-apis/im/v1/chats/:chat_id says about who runs
// a chat. It is not cached: the pipeline's role cache keeps the roles
// Roles derives from it, and drops them on im.chat.updated_v1 and member
// removal events (EventRolesChanged).
type chatInfo struct {
	ownerID      string          // open_id; empty when the owner is a bot
	userManagers map[string]bool // open_ids
	botManagers  map[string]bool // app_ids
}

// chat returns the chat's owner and managers as Feishu tells them now.
func (c *Client) chat(ctx context.Context, chatID string) (*chatInfo, error) {
	if err := pathParam("chat.get", "chat_id", chatID); err != nil {
		return nil, err
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
	return info, nil
}

func set(ids []string) map[string]bool {
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// recallRight is what the adapter knows about the bot's right to recall
// other people's messages in a chat, which an emulated mute needs.
type recallRight int

const (
	// recallMaybe: nothing proves or disproves the right. Feishu lets the
	// owner, the managers and the chat's creator recall; GET chat omits
	// owner_id when the owner is a bot, and no API names the creator, so
	// the bot may hold the right without the chat info showing it. The
	// first recall settles it.
	recallMaybe recallRight = iota
	// recallYes: the chat info lists the bot as a manager (or owner).
	recallYes
	// recallRefused: Feishu answered 230026 to a recall in this chat
	// within RefusalCacheTTL.
	recallRefused
)

// recallRight reports whether the bot may recall others' messages in the
// chat: yes when the chat info shows it owns or manages the chat, refused
// when Feishu refused a recall there lately, maybe otherwise.
func (c *Client) recallRight(ctx context.Context, chatID string) (recallRight, error) {
	info, err := c.chat(ctx, chatID)
	if err != nil {
		return recallMaybe, err
	}
	if info.botManagers[c.cfg.AppID] {
		return recallYes, nil
	}
	botID, err := c.BotID(ctx)
	if err != nil {
		return recallMaybe, err
	}
	if info.ownerID == botID || info.userManagers[botID] {
		return recallYes, nil
	}
	if c.refused(chatID) {
		return recallRefused, nil
	}
	return recallMaybe, nil
}

// refused reports whether Feishu refused a recall in the chat within
// RefusalCacheTTL.
func (c *Client) refused(chatID string) bool {
	v, ok := c.refusals.Get(chatID)
	return ok && c.now().Sub(v.(time.Time)) < c.cfg.RefusalCacheTTL
}
