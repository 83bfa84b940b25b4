package easemob

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"gavel/moderation"
)

// Per-call limits. The published mute pages say 60 (a later revision 100);
// unmute is 60 everywhere; batch kick's error text fixes 60.
const (
	MaxMutePerCall   = 60
	MaxUnmutePerCall = 60
	MaxKickPerCall   = 60
)

// PermanentMuteExpiry is the expire value Easemob stores for a mute of -1
// (2117-01-01 00:00 UTC+8); any expiry at or after it is permanent.
const PermanentMuteExpiry int64 = 4638873600000

// Capabilities: kick, mute and unmute are native in chat rooms and groups.
func (c *Client) Capabilities(context.Context, moderation.ChatRef) (moderation.Capabilities, error) {
	return moderation.Capabilities{
		moderation.VerbKick:   moderation.Native,
		moderation.VerbMute:   moderation.Native,
		moderation.VerbUnmute: moderation.Native,
	}, nil
}

// Roles returns each user's role as Easemob tells it now (details and
// admin list). It caches nothing: the pipeline's role cache is the one
// cache, and admin, owner and membership changes reach it as
// EventRolesChanged.
func (c *Client) Roles(ctx context.Context, chat moderation.ChatRef, userIDs []string) (map[string]moderation.Role, error) {
	kind, err := c.kind(ctx, chat)
	if err != nil {
		return nil, err
	}
	rs, err := c.fetchRoles(ctx, kind, chat.ID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]moderation.Role, len(userIDs))
	for _, u := range userIDs {
		lu := strings.ToLower(u)
		switch {
		case rs.owner != "" && strings.EqualFold(rs.owner, u):
			out[u] = moderation.RoleOwner
		case rs.admins[lu]:
			out[u] = moderation.RoleAdmin
		case rs.members[lu]:
			out[u] = moderation.RoleMember
		case rs.complete:
			out[u] = moderation.RoleNotMember
		default:
			out[u] = moderation.RoleUnknown
		}
	}
	return out, nil
}

// Mute adds users to the chat's mute list for d (milliseconds on the wire;
// moderation.MuteForever → -1), at most 60 per call.
func (c *Client) Mute(ctx context.Context, chat moderation.ChatRef, userIDs []string, d time.Duration, _ moderation.ActionOptions) []moderation.Result {
	// The pipeline batches; more than one call takes is refused.
	if refused := c.Limits().Oversized(moderation.VerbMute, userIDs); refused != nil {
		return refused
	}
	var ms int64
	switch {
	case d == moderation.MuteForever:
		ms = -1
	case d > 0:
		ms = max(d.Milliseconds(), 1)
	default:
		out := make([]moderation.Result, len(userIDs))
		for i, u := range userIDs {
			out[i] = moderation.Result{UserID: u, Status: moderation.StatusRefused, Reason: moderation.ReasonInvalidDuration, Detail: "A mute needs a positive duration."}
		}
		return out
	}
	kind, err := c.kind(ctx, chat)
	if err != nil {
		return failAllEarly(userIDs, err)
	}
	path, err := chatPath(kind+".mute", kind, chat.ID, "mute")
	if err != nil {
		return failAllEarly(userIDs, err)
	}
	fn := func(ctx context.Context, users []string) ([]memberResult, error) {
		var env envelope
		body := map[string]any{"usernames": users, "mute_duration": ms}
		if err := c.call(ctx, kind+".mute", http.MethodPost, path, body, &env); err != nil {
			return nil, err
		}
		return decodeResults(env.Data)
	}
	interp := func(r memberResult) moderation.Result {
		if r.Result {
			return moderation.Result{Status: moderation.StatusDone}
		}
		return moderation.Result{Status: moderation.StatusRefused, Reason: moderation.PlatformReason(Name, "mute_refused"), Detail: reasonOr(r.Reason, "Easemob did not mute this user.")}
	}
	notMember := moderation.Result{Status: moderation.StatusRefused, Reason: moderation.ReasonNotMember, Detail: "Not a member of this chat."}
	return c.runBatches(ctx, "mute", chat, userIDs, MaxMutePerCall, fn, interp, notMember)
}

// Unmute removes users from the chat's mute list:
// DELETE …/{id}/mute/{u1}%2C{u2}, at most 60 per call.
func (c *Client) Unmute(ctx context.Context, chat moderation.ChatRef, userIDs []string, _ moderation.ActionOptions) []moderation.Result {
	// The pipeline batches; more than one call takes is refused.
	if refused := c.Limits().Oversized(moderation.VerbUnmute, userIDs); refused != nil {
		return refused
	}
	kind, err := c.kind(ctx, chat)
	if err != nil {
		return failAllEarly(userIDs, err)
	}
	base, err := chatPath(kind+".unmute", kind, chat.ID, "mute")
	if err != nil {
		return failAllEarly(userIDs, err)
	}
	fn := func(ctx context.Context, users []string) ([]memberResult, error) {
		list, err := userList(kind+".unmute", users)
		if err != nil {
			return nil, err
		}
		var env envelope
		if err := c.call(ctx, kind+".unmute", http.MethodDelete, base+"/"+list, nil, &env); err != nil {
			return nil, err
		}
		return decodeResults(env.Data)
	}
	interp := func(r memberResult) moderation.Result {
		if r.Result {
			return moderation.Result{Status: moderation.StatusDone}
		}
		return moderation.Result{Status: moderation.StatusNoop, Reason: moderation.ReasonNotMuted, Detail: reasonOr(r.Reason, "Not muted.")}
	}
	notMember := moderation.Result{Status: moderation.StatusNoop, Reason: moderation.ReasonNotMember, Detail: "Not a member of this chat."}
	return c.runBatches(ctx, "unmute", chat, userIDs, MaxUnmutePerCall, fn, interp, notMember)
}

// Remove kicks users: DELETE …/{id}/users/{u1}%2C{u2}, at most 60 per call.
func (c *Client) Remove(ctx context.Context, chat moderation.ChatRef, userIDs []string, _ moderation.ActionOptions) []moderation.Result {
	// The pipeline batches; more than one call takes is refused.
	if refused := c.Limits().Oversized(moderation.VerbKick, userIDs); refused != nil {
		return refused
	}
	kind, err := c.kind(ctx, chat)
	if err != nil {
		return failAllEarly(userIDs, err)
	}
	base, err := chatPath(kind+".kick", kind, chat.ID, "users")
	if err != nil {
		return failAllEarly(userIDs, err)
	}
	fn := func(ctx context.Context, users []string) ([]memberResult, error) {
		list, err := userList(kind+".kick", users)
		if err != nil {
			return nil, err
		}
		var env envelope
		err = c.call(ctx, kind+".kick", http.MethodDelete, base+"/"+list, nil, &env)
		if err != nil {
			// The single-user endpoint answers 404 for an unknown user.
			if len(users) == 1 && isNotFound(err) && strings.HasPrefix(strings.ToLower(errDescription(err)), "username") {
				return []memberResult{{User: users[0], Result: false, Reason: errDescription(err)}}, nil
			}
			return nil, err
		}
		return decodeResults(env.Data)
	}
	interp := func(r memberResult) moderation.Result {
		if r.Result {
			return moderation.Result{Status: moderation.StatusDone}
		}
		lr := strings.ToLower(r.Reason)
		if strings.Contains(lr, "doesn't exist") || strings.Contains(lr, "not exist") || strings.Contains(lr, "not member") {
			return moderation.Result{Status: moderation.StatusNoop, Reason: moderation.ReasonNotMember, Detail: "Not a member of this chat."}
		}
		return moderation.Result{Status: moderation.StatusRefused, Reason: moderation.PlatformReason(Name, "remove_refused"), Detail: reasonOr(r.Reason, "Easemob did not remove this user.")}
	}
	notMember := moderation.Result{Status: moderation.StatusNoop, Reason: moderation.ReasonNotMember, Detail: "Not a member of this chat."}
	return c.runBatches(ctx, "kick", chat, userIDs, MaxKickPerCall, fn, interp, notMember)
}

// Recall recalls messageID in chat with POST /messages/msg_recall (force,
// so the console's recall window does not stop moderation).
func (c *Client) Recall(ctx context.Context, chat moderation.ChatRef, messageID string) error {
	kind, err := c.kind(ctx, chat)
	if err != nil {
		return err
	}
	chatType := "groupchat"
	if kind == KindChatRoom {
		chatType = "chatroom"
	}
	body := map[string]any{"msg_id": messageID, "to": chat.ID, "chat_type": chatType, "force": true}
	var env envelope
	if err := c.call(ctx, "message.recall", http.MethodPost, "/messages/msg_recall", body, &env); err != nil {
		return err
	}
	var d struct {
		Recalled string `json:"recalled"`
	}
	if err := json.Unmarshal(env.Data, &d); err != nil {
		return fmt.Errorf("easemob message.recall: %w: %w", moderation.ErrMalformed, err)
	}
	if d.Recalled != "yes" {
		return &moderation.APIError{Platform: Name, Op: "message.recall", HTTPStatus: http.StatusOK, Name: "not_recalled", Message: "Easemob did not recall the message.", Kind: moderation.Permanent}
	}
	return nil
}

// Reply posts text into msg's chat as bot_user: POST /messages/chatrooms or
// /messages/chatgroups with a txt body. Easemob's REST API has no reply
// threading, so the message is a plain post in the chat.
func (c *Client) Reply(ctx context.Context, msg *moderation.Message, text string) error {
	if msg == nil {
		return errors.New("easemob: reply without a message")
	}
	kind, err := c.kind(ctx, msg.Chat)
	if err != nil {
		return err
	}
	body := map[string]any{
		"from": c.cfg.BotUser,
		"to":   []string{msg.Chat.ID},
		"type": "txt",
		"body": map[string]string{"msg": text},
		"ext":  map[string]any{},
	}
	sender := c.sendRoom
	if kind == KindGroup {
		sender = c.sendGroup
	}
	var env envelope
	return c.callWith(ctx, sender, "message."+collection(kind), http.MethodPost, "/messages/"+collection(kind), body, &env)
}
