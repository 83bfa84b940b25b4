package easemob

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"

	"gavel/moderation"
	"gavel/platforms/pathseg"
)

// The moderation.Poster half of the contract: Gavel's own posts (the
// mod-log, confirmation requests) and adding members back (/undo of a
// kick).
//
// Easemob has no cards: Post sends p.Text as one txt message from
// bot_user. body+ext may hold 5 KB (message_group, message_chatroom,
// limitation pages; 400 message_send_error "message is too large"); a
// longer text is refused with ErrPostTooLong, never cut and never split:
// the id Post returns names the whole post, which UpdatePost later
// rewrites, and a mod-log entry in pieces would be worse than a clear
// error the pipeline can act on (it fits its texts to Limits().Reply, the
// bound used here too).

// ErrPostTooLong is returned by Post and UpdatePost for a text longer than
// one Easemob message may carry: refused before any call (over
// Limits().Reply bytes) or by Easemob (message_send_error "message is too
// large", or 413; the APIError is wrapped too). It is also a
// moderation.ErrMalformed.
var ErrPostTooLong = fmt.Errorf("easemob: post too long for one message: %w", moderation.ErrMalformed)

// postText checks a post's text: not empty, valid UTF-8 (JSON would
// replace bad bytes silently), at most Limits().Reply bytes.
func postText(op string, p moderation.Post) (string, error) {
	text := p.Text
	switch {
	case strings.TrimSpace(text) == "":
		return "", fmt.Errorf("easemob %s: empty text: %w", op, moderation.ErrMalformed)
	case !utf8.ValidString(text):
		return "", fmt.Errorf("easemob %s: text is not valid UTF-8: %w", op, moderation.ErrMalformed)
	case len(text) > replyLimit:
		return "", fmt.Errorf("easemob %s: %d bytes, at most %d: %w", op, len(text), replyLimit, ErrPostTooLong)
	}
	return text, nil
}

// tooLarge wraps Easemob's own size refusal in ErrPostTooLong.
func tooLarge(op string, err error) error {
	var apiErr *moderation.APIError
	if errors.As(err, &apiErr) && (apiErr.HTTPStatus == http.StatusRequestEntityTooLarge ||
		strings.Contains(strings.ToLower(errDescription(err)), "too large")) {
		return fmt.Errorf("easemob %s: %w: %w", op, ErrPostTooLong, err)
	}
	return err
}

// Post sends p.Text into chat as bot_user (POST /messages/chatgroups or
// /messages/chatrooms, by the chat's kind, paced at that send rate) and
// returns the message id Easemob answers for the chat (data {chat: id}),
// the id Recall and UpdatePost take.
func (c *Client) Post(ctx context.Context, chat moderation.ChatRef, p moderation.Post) (string, error) {
	if chat.ID == "" {
		return "", fmt.Errorf("easemob post: no chat: %w", moderation.ErrMalformed)
	}
	text, err := postText("post", p)
	if err != nil {
		return "", err
	}
	kind, err := c.kind(ctx, chat)
	if err != nil {
		return "", err
	}
	body := map[string]any{
		"from": c.cfg.BotUser,
		"to":   []string{chat.ID},
		"type": "txt",
		"body": map[string]string{"msg": text},
		"ext":  map[string]any{},
	}
	sender := c.sendRoom
	if kind == KindGroup {
		sender = c.sendGroup
	}
	op := "message." + collection(kind)
	var env envelope
	if err := c.callWith(ctx, sender, op, http.MethodPost, "/messages/"+collection(kind), body, &env); err != nil {
		c.log.WarnContext(ctx, "post failed", slog.String("chat", chat.ID), slog.Any("error", err))
		return "", tooLarge("post", err)
	}
	var ids map[string]string
	if err := json.Unmarshal(env.Data, &ids); err != nil {
		return "", fmt.Errorf("easemob %s: %w: %w", op, moderation.ErrMalformed, err)
	}
	id := ids[chat.ID]
	if id == "" {
		return "", fmt.Errorf("easemob %s: the answer names no message for %s: %w", op, chat.ID, moderation.ErrMalformed)
	}
	return id, nil
}

// UpdatePost rewrites the text of a message Post sent: PUT
// /messages/rewrite/{msg_id} with new_msg {type txt, msg} (message_modify:
// text messages of groups and chat rooms, at most 10 edits a message, a
// feature Easemob's sales must switch on). Where the message cannot be
// rewritten it returns moderation.ErrUnsupported (wrapping Easemob's
// answer) and the pipeline posts a follow-up: the feature is off (403;
// remembered, so later calls do not ask again), the 10 edits are used
// (403), the message is gone or expired (404).
func (c *Client) UpdatePost(ctx context.Context, ref moderation.PostRef, p moderation.Post) error {
	if !isDigits(ref.MessageID) {
		return fmt.Errorf("easemob update: message id %q is not a number: %w", truncate(ref.MessageID, 32), moderation.ErrMalformed)
	}
	text, err := postText("update", p)
	if err != nil {
		return err
	}
	if c.noRewrite.Load() {
		return fmt.Errorf("easemob update: the message-rewrite feature is not enabled for this app: %w", moderation.ErrUnsupported)
	}
	path, err := pathseg.Join("messages", "rewrite", ref.MessageID)
	if err != nil {
		return badPath("message.rewrite", "message", err)
	}
	body := map[string]any{
		"user":    c.cfg.BotUser,
		"new_msg": map[string]string{"type": "txt", "msg": text},
	}
	err = c.call(ctx, "message.rewrite", http.MethodPut, path, body, nil)
	if err == nil {
		return nil
	}
	c.log.WarnContext(ctx, "post update failed", slog.String("chat", ref.Chat.ID), slog.Any("error", err))
	var apiErr *moderation.APIError
	if !errors.As(err, &apiErr) {
		return err
	}
	desc := strings.ToLower(errDescription(err))
	switch {
	case apiErr.HTTPStatus == http.StatusForbidden && (strings.Contains(desc, "not open") || strings.Contains(desc, "not enabled")):
		c.noRewrite.Store(true)
		c.log.InfoContext(ctx, "message rewrite is not enabled for this Easemob app: edits become follow-up posts")
		return fmt.Errorf("easemob update: %w: %w", moderation.ErrUnsupported, err)
	case apiErr.HTTPStatus == http.StatusForbidden && strings.Contains(desc, "edit limit"):
		return fmt.Errorf("easemob update: the message was edited 10 times already: %w: %w", moderation.ErrUnsupported, err)
	case apiErr.HTTPStatus == http.StatusNotFound:
		return fmt.Errorf("easemob update: the message is gone or expired: %w: %w", moderation.ErrUnsupported, err)
	}
	return tooLarge("update", err)
}

func isDigits(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// addNamedRE finds the user an add refusal names: "username X doesn't
// exist!", "user XX has joined too many groups!", "…reason:user: X already
// in group: ID", and the fake's "…reason:user: X is in the blocklist…".
var addNamedRE = regexp.MustCompile(`user(?:name)?:? (\S+?) (doesn't exist|has joined too many|is in the blocklist|already in group)`)

// addRefusal returns the result of the pending user an add refusal names,
// so the call can go on without them.
func addRefusal(err error, pending []string) (int, moderation.Result, bool) {
	m := addNamedRE.FindStringSubmatch(errDescription(err))
	if m == nil {
		return 0, moderation.Result{}, false
	}
	i := -1
	for j, u := range pending {
		if strings.EqualFold(u, m[1]) {
			i = j
			break
		}
	}
	if i < 0 {
		return 0, moderation.Result{}, false
	}
	r := moderation.Result{UserID: pending[i], Status: moderation.StatusRefused}
	switch m[2] {
	case "doesn't exist":
		r.Reason, r.Detail = moderation.ReasonInvalidUserID, "No such Easemob user."
	case "has joined too many":
		r.Reason, r.Detail = moderation.PlatformReason(Name, "too_many_chats"), "The user has joined as many groups or chat rooms as Easemob allows."
	case "is in the blocklist":
		r.Reason, r.Detail = moderation.PlatformReason(Name, "blocked"), "The user is on this chat's block list: unban them first."
	default:
		r.Status, r.Detail = moderation.StatusNoop, "Already a member."
	}
	return i, r, true
}

// Add adds users: POST /chatgroups/{id}/users (≤ 60; need_notify=false
// when opts.Silent) or POST /chatrooms/{id}/users (≤ 60; no notice to
// turn off) with {"usernames": […]}. Both answer data.newmembers, and a
// chat room lists users who were members already as added, so members are
// found first from the chat's details and answered StatusNoop without
// asking. A refusal naming one user (unknown user, too many chats, block
// list, already in the group) settles that user and the call is made
// again for the rest; any other failure fails the users left.
func (c *Client) Add(ctx context.Context, chat moderation.ChatRef, userIDs []string, opts moderation.ActionOptions) []moderation.Result {
	if refused := c.Limits().Oversized(moderation.VerbAdd, userIDs); refused != nil {
		return refused
	}
	if len(userIDs) == 0 {
		return nil
	}
	kind, err := c.kind(ctx, chat)
	if err != nil {
		return failAllEarly(userIDs, err)
	}
	op := kind + ".add"
	path, err := chatPath(op, kind, chat.ID, "users")
	if err != nil {
		return failAllEarly(userIDs, err)
	}
	if kind == KindGroup && opts.Silent {
		path += "?need_notify=false"
	}
	present, err := c.fetchMembers(ctx, kind, chat.ID)
	if err != nil {
		return failAllEarly(userIDs, err)
	}
	results := make(map[string]moderation.Result, len(userIDs))
	var pending []string
	for _, u := range userIDs {
		switch _, seen := results[u]; {
		case seen:
		case strings.TrimSpace(u) == "":
			results[u] = badUserResult(u)
		case present.members[strings.ToLower(u)]:
			results[u] = moderation.Result{UserID: u, Status: moderation.StatusNoop, Detail: "Already a member."}
		default:
			results[u] = moderation.Result{}
			pending = append(pending, u)
		}
	}
	// Each refusal settles one user, so there are at most len(pending)
	// calls.
	for len(pending) > 0 {
		var env envelope
		err := c.call(ctx, op, http.MethodPost, path, map[string]any{"usernames": pending}, &env)
		if err != nil {
			if i, r, ok := addRefusal(err, pending); ok {
				results[pending[i]] = r
				pending = append(pending[:i:i], pending[i+1:]...)
				continue
			}
			c.log.WarnContext(ctx, "add failed", slog.String("chat", chat.ID), slog.Int("users", len(pending)), slog.Any("error", err))
			for _, r := range moderation.FailAll(pending, err) {
				results[r.UserID] = r
			}
			break
		}
		var d struct {
			NewMembers []string `json:"newmembers"`
		}
		if err := json.Unmarshal(env.Data, &d); err != nil {
			for _, r := range moderation.FailAll(pending, fmt.Errorf("easemob %s: %w: %w", op, moderation.ErrMalformed, err)) {
				results[r.UserID] = r
			}
			break
		}
		added := make(map[string]bool, len(d.NewMembers))
		for _, u := range d.NewMembers {
			added[strings.ToLower(u)] = true
		}
		for _, u := range pending {
			r := moderation.Result{UserID: u, Status: moderation.StatusDone}
			if !added[strings.ToLower(u)] {
				r.Status, r.Reason, r.Detail = moderation.StatusFailed, moderation.ReasonNoResult, "Easemob's answer did not list this user as added."
			}
			results[u] = r
		}
		break
	}
	out := make([]moderation.Result, len(userIDs))
	for i, u := range userIDs {
		out[i] = results[u]
		out[i].UserID = u
	}
	return out
}
