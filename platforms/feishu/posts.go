package feishu

// posts.go: the moderation.Poster half of the contract. Post sends Gavel's
// own messages (a mod-log entry, a confirmation request) as text or as an
// interactive card (cards.go renders it), UpdatePost patches a card, Add
// adds users back to a chat (how /undo reverses a kick).

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"
	larkim "github.com/larksuite/oapi-sdk-go/v3/service/im/v1"

	"gavel/moderation"
)

// Reasons of users Add could not add.
var (
	// ReasonUserUnavailable: Feishu listed the id in invalid_id_list: the
	// user resigned, is outside the app's availability, or has not
	// activated their account.
	ReasonUserUnavailable = moderation.PlatformReason(Name, "user_unavailable")
	// ReasonPendingApproval: the chat makes joiners wait for the owner's or
	// a manager's approval; Feishu filed a request (pending_approval_id_list).
	ReasonPendingApproval = moderation.PlatformReason(Name, "pending_approval")
)

// Post posts p into chat as a new message (POST
// /open-apis/im/v1/messages?receive_id_type=chat_id): an interactive card
// when p.Card is set, else p.Text as a text message. It returns the
// message_id. A card over maxCardBody or a text over replyLimit is refused
// with no call. The uuid (Feishu's idempotency key, honoured for an hour)
// is derived from the chat and the content, so a retry after a lost answer
// does not post twice.
func (c *Client) Post(ctx context.Context, chat moderation.ChatRef, p moderation.Post) (string, error) {
	msgType, content, err := postContent(p)
	if err != nil {
		return "", fmt.Errorf("feishu post in %s: %w", chat, err)
	}
	uuid := postUUID(chat.ID, msgType, content)
	if err := checkPostSize(msgType, content, chat.ID, uuid); err != nil {
		return "", fmt.Errorf("feishu post in %s: %w", chat, err)
	}
	const op = "message.create"
	var messageID string
	err = c.messageReply.Do(ctx, func(ctx context.Context) error {
		return c.do(ctx, op, func(ctx context.Context, tok larkcore.RequestOptionFunc) (*larkcore.ApiResp, larkcore.CodeError, error) {
			req := larkim.NewCreateMessageReqBuilder().
				ReceiveIdType(larkim.CreateMessageV1ReceiveIDTypeChatId).
				Body(larkim.NewCreateMessageReqBodyBuilder().ReceiveId(chat.ID).MsgType(msgType).Content(content).Uuid(uuid).Build()).
				Build()
			resp, err := c.sdk.Im.V1.Message.Create(ctx, req, tok)
			if err != nil {
				return nil, larkcore.CodeError{}, err
			}
			if resp.Data != nil {
				messageID = larkcore.StringValue(resp.Data.MessageId)
			}
			return resp.ApiResp, resp.CodeError, nil
		})
	})
	if err != nil {
		return "", err
	}
	if messageID == "" {
		return "", &moderation.APIError{Platform: Name, Op: op, Message: "Feishu returned no message_id for the posted message.", Kind: moderation.Permanent}
	}
	return messageID, nil
}

// UpdatePost replaces the card ref names with p.Card (PATCH
// /open-apis/im/v1/messages/:message_id). Feishu patches only shared cards
// (every card Post renders is one) sent by the app within 14 days, at most
// 5 times a second per message; the answers past those limits are the
// APIErrors of errors.go (230031, 230020, 230054, 230011). A post without
// a card cannot be edited: ErrUnsupported, and the pipeline posts a
// follow-up.
func (c *Client) UpdatePost(ctx context.Context, ref moderation.PostRef, p moderation.Post) error {
	if p.Card == nil {
		return fmt.Errorf("feishu update of %s: only cards can be edited: %w", ref.MessageID, moderation.ErrUnsupported)
	}
	const op = "message.patch"
	if err := pathParam(op, "message_id", ref.MessageID); err != nil {
		return err
	}
	content, err := renderCard(p.Card)
	if err != nil {
		return fmt.Errorf("feishu update of %s: %w", ref.MessageID, err)
	}
	body, err := json.Marshal(map[string]string{"content": content})
	if err != nil {
		return fmt.Errorf("feishu update of %s: %w", ref.MessageID, err)
	}
	if len(body) > maxCardBody {
		return fmt.Errorf("feishu update of %s: card of %d bytes, Feishu takes at most %d: %w", ref.MessageID, len(body), maxCardBody, errCardTooLarge)
	}
	return c.messagePatch.Do(ctx, func(ctx context.Context) error {
		return c.do(ctx, op, func(ctx context.Context, tok larkcore.RequestOptionFunc) (*larkcore.ApiResp, larkcore.CodeError, error) {
			req := larkim.NewPatchMessageReqBuilder().
				MessageId(ref.MessageID).
				Body(larkim.NewPatchMessageReqBodyBuilder().Content(content).Build()).
				Build()
			resp, err := c.sdk.Im.V1.Message.Patch(ctx, req, tok)
			if err != nil {
				return nil, larkcore.CodeError{}, err
			}
			return resp.ApiResp, resp.CodeError, nil
		})
	})
}

// Add adds at most maxAddPerCall users to chat in one call (POST
// /open-apis/im/v1/chats/:chat_id/members?member_id_type=open_id&
// succeed_type=1), one call at a time per chat (232019, as for removals).
// succeed_type=1 adds every usable id and lists the others, instead of
// failing the whole batch for one bad id: ids in invalid_id_list are
// refused (ReasonUserUnavailable), in not_existed_id_list refused
// (moderation.ReasonInvalidUserID), in pending_approval_id_list refused
// (ReasonPendingApproval: not in the chat until approved). Feishu does not
// document how it answers for users already in the chat; the fake, like
// the page, lists them nowhere, so they are StatusDone.
func (c *Client) Add(ctx context.Context, chat moderation.ChatRef, userIDs []string, _ moderation.ActionOptions) []moderation.Result {
	if refused := c.Limits().Oversized(moderation.VerbAdd, userIDs); refused != nil {
		return refused
	}
	if len(userIDs) == 0 {
		return nil
	}
	const op = "chat.members.create"
	if err := pathParam(op, "chat_id", chat.ID); err != nil {
		return moderation.FailAll(userIDs, err)
	}
	unlock := c.chatLock.lock(chat.ID)
	defer unlock()
	var data *larkim.CreateChatMembersRespData
	err := c.membersAdd.Do(ctx, func(ctx context.Context) error {
		return c.do(ctx, op, func(ctx context.Context, tok larkcore.RequestOptionFunc) (*larkcore.ApiResp, larkcore.CodeError, error) {
			req := larkim.NewCreateChatMembersReqBuilder().
				ChatId(chat.ID).
				MemberIdType(larkim.InviteMemberMemberIDTypeOpenId).
				SucceedType(larkim.InviteMemberSucceedType1).
				Body(larkim.NewCreateChatMembersReqBodyBuilder().IdList(userIDs).Build()).
				Build()
			resp, err := c.sdk.Im.V1.ChatMembers.Create(ctx, req, tok)
			if err != nil {
				return nil, larkcore.CodeError{}, err
			}
			data = resp.Data
			return resp.ApiResp, resp.CodeError, nil
		})
	})
	if err != nil {
		return moderation.FailAll(userIDs, err)
	}
	return added(userIDs, data)
}

// added maps an add call's answer to one Result per user.
func added(userIDs []string, data *larkim.CreateChatMembersRespData) []moderation.Result {
	var invalid, missing, pending map[string]bool
	if data != nil {
		invalid, missing, pending = set(data.InvalidIdList), set(data.NotExistedIdList), set(data.PendingApprovalIdList)
	}
	out := make([]moderation.Result, len(userIDs))
	for i, u := range userIDs {
		switch {
		case missing[u]:
			out[i] = moderation.Result{UserID: u, Status: moderation.StatusRefused, Reason: moderation.ReasonInvalidUserID,
				Detail: "Feishu knows no such user"}
		case invalid[u]:
			out[i] = moderation.Result{UserID: u, Status: moderation.StatusRefused, Reason: ReasonUserUnavailable,
				Detail: "Feishu cannot add this user: they left the organisation, are outside Gavel's app availability, or have not activated their account"}
		case pending[u]:
			out[i] = moderation.Result{UserID: u, Status: moderation.StatusRefused, Reason: ReasonPendingApproval,
				Detail: "the chat requires approval to join: Feishu asked its owner or managers to approve adding this user"}
		default:
			out[i] = moderation.Result{UserID: u, Status: moderation.StatusDone}
		}
	}
	return out
}

// postContent returns the msg_type and content string of p.
func postContent(p moderation.Post) (msgType, content string, err error) {
	if p.Card != nil {
		content, err := renderCard(p.Card)
		if err != nil {
			return "", "", err
		}
		return larkim.MsgTypeInteractive, content, nil
	}
	if p.Text == "" {
		return "", "", errors.New("nothing to post: no text and no card")
	}
	if len(p.Text) > replyLimit {
		return "", "", fmt.Errorf("text of %d bytes, at most %d", len(p.Text), replyLimit)
	}
	b, err := json.Marshal(map[string]string{"text": inertText(p.Text)})
	if err != nil {
		return "", "", err
	}
	return larkim.MsgTypeText, string(b), nil
}

// checkPostSize refuses a card whose request body, as the SDK sends it,
// exceeds maxCardBody (text is bounded by replyLimit in postContent).
func checkPostSize(msgType, content, chatID, uuid string) error {
	if msgType != larkim.MsgTypeInteractive {
		return nil
	}
	body, err := json.Marshal(map[string]string{"receive_id": chatID, "msg_type": msgType, "content": content, "uuid": uuid})
	if err != nil {
		return err
	}
	if len(body) > maxCardBody {
		return fmt.Errorf("card of %d bytes, Feishu takes at most %d: %w", len(body), maxCardBody, errCardTooLarge)
	}
	return nil
}

func postUUID(chatID, msgType, content string) string {
	sum := sha256.Sum256([]byte(chatID + "\x00post\x00" + msgType + "\x00" + content))
	return "gavel-p-" + hex.EncodeToString(sum[:16])
}

var _ moderation.Poster = (*Client)(nil)
