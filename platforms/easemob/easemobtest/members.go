package easemobtest

// Adding members in batches and rewriting messages, from the REST pages
// group_members_add_batch, chatroom_member_add_batch, message_modify
// (and its older revision message_modify_text_custom) and the join
// callback page (callback_group_room_join).
//
// POST …/chatgroups/{id}/users {"usernames": […]} (≤ 60; need_notify):
// data {"newmembers": […], "groupid", "action": "add_member"}. More than
// 60 is 403 exceed_limit "members size is greater than max user size !";
// when every user is a member already, 403 forbidden_op "…reason:user: X
// already in group: ID" (the page prints "an not join", the single-add
// page "can not join"; the fake says "can not join"). When only some are
// members the page does not say what newmembers lists: the fake lists the
// users it added. Fires JOIN with payload type INVITE (the page sends to
// the invite event), operator "@ppAdmin".
//
// POST …/chatrooms/{id}/users {"usernames": […]} (≤ 60): data
// {"newmembers": […], "action": "add_member", "id"}; users who are
// members already "count as added" and are listed too. More than 60 is
// 400 invalid_parameter "addMembers: addMembers number more than maxSize :
// 60" (the published page and four revisions in the doc repository; one
// revision, chatroom_member_add_batch.md at 882fc5fe, says 100 — the fake
// takes the stricter 60). Fires JOIN with payload type DIRECT (chat rooms
// have no invite event).
//
// A user who has joined too many groups or chat rooms (SetJoinLimitReached)
// fails the whole call: groups 403 exceed_limit "user X has joined too
// many groups!", chat rooms 403 exceeded_limit "can not join this group,
// reason:user X has joined too many chatrooms!" (the two pages spell the
// error type differently; the fake keeps each page's spelling).
//
// Both: 404 resource_not_found "username X doesn't exist!" for a user
// removed with DeleteUser (the first one named); an empty list is 400
// invalid_parameter (not documented). A block-listed user cannot join and
// no page gives the error of a batch add naming one: the fake answers the
// single add's 403 "can not join this group, reason:user: X is in the
// blocklist of group: ID" for the whole call.
//
// PUT /messages/rewrite/{msg_id} {"user", "new_msg": {"type", "msg"},
// "new_ext", "is_combine_ext"}: rewrites a message the REST API sent
// (Messages) — data "success". Documented errors: 400
// InvalidMessageIdException (id not a number), 400 illegal_argument
// "new_msg is required", 400 message_rewrite_error (a type other than the
// message's, or one that cannot be rewritten), 404 message_rewrite_error
// "The message is unavailable or has expired." (unknown id), 403
// message_rewrite_error after 10 edits, 403 message_rewrite_error "The
// rewrite message feature is not open." (SetRewriteService(false); the
// older page names it EditFeatureNotEnabledException "The edit message
// feature is not enabled for this user or system."). The feature needs
// Easemob's sales to switch it on; the fake has it on unless told. The
// pages give no size limit for the new text: the fake applies the send
// limit (MaxMessageBytes over new_msg and new_ext).

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Documented limits of the calls in this file.
const (
	// MaxGroupAdd and MaxRoomAdd are the most users one batch add takes.
	MaxGroupAdd = 60
	MaxRoomAdd  = 60
	// MaxEdits is how many times one message may be rewritten.
	MaxEdits = 10
)

// postedMsg is a REST-sent message as messages/rewrite sees it.
type postedMsg struct {
	typ   string
	text  string
	edits int
}

// DeleteUser makes user unknown to the app: adding them answers 404
// "username X doesn't exist!".
func (s *Server) DeleteUser(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.missing[strings.ToLower(user)] = true
}

// SetJoinLimitReached marks user as having joined as many groups and chat
// rooms as the app allows: adding them is refused (403).
func (s *Server) SetJoinLimitReached(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.joinLimit[strings.ToLower(user)] = true
}

// SetRewriteService turns the message-rewrite feature on (the default) or
// off ("The rewrite message feature is not open.").
func (s *Server) SetRewriteService(open bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rewriteClosed = !open
}

// MessageText returns the text of a message the REST API sent, after any
// rewrite, and how many times it was rewritten.
func (s *Server) MessageText(msgID string) (text string, edits int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.posted[msgID]
	if !ok {
		return "", 0, false
	}
	return m.text, m.edits, true
}

// addMembers answers POST …/{id}/users {"usernames": […]}.
func (s *Server) addMembers(call *Call) (int, any) {
	var users []string
	if arr, ok := call.Body["usernames"].([]any); ok {
		for _, u := range arr {
			if str, ok := u.(string); ok && str != "" {
				users = append(users, str)
			}
		}
	}
	call.Users = users
	switch {
	case len(users) == 0:
		return s.fail(errf(400, "invalid_parameter", "IllegalArgumentException", "usernames must be provided"))
	case call.Kind == KindGroup && len(users) > MaxGroupAdd:
		return s.fail(errf(403, "exceed_limit", "EasemobForbiddenOpException", "members size is greater than max user size !"))
	case call.Kind == KindChatRoom && len(users) > MaxRoomAdd:
		return s.fail(errf(400, "invalid_parameter", "IllegalArgumentException", "addMembers: addMembers number more than maxSize : %d", MaxRoomAdd))
	}
	c, e := s.chat(call, false)
	if e != nil {
		return s.fail(e)
	}
	for _, u := range users {
		if e := s.joinRefusal(c, u); e != nil {
			return s.fail(e)
		}
	}
	var added, listed []string
	for _, u := range users {
		lu := strings.ToLower(u)
		if !c.members[lu] {
			c.members[lu] = true
			added = append(added, u)
			listed = append(listed, u)
		} else if c.Kind == KindChatRoom {
			listed = append(listed, u) // "already in the room counts as added"
		}
	}
	if c.Kind == KindGroup && len(added) == 0 {
		return s.fail(errf(403, "forbidden_op", "EasemobForbiddenOpException", "can not join this group, reason:user: %s already in group: %s\n", users[0], c.ID))
	}
	if len(added) > 0 {
		typ := "DIRECT"
		if c.Kind == KindGroup {
			typ = "INVITE"
		}
		s.fireOp(c, "JOIN", map[string]any{"member": added, "type": typ})
	}
	data := map[string]any{"newmembers": listed, "action": "add_member", idKeyOf(c): c.ID}
	return 200, s.envelope("post", call, data, nil)
}

// joinRefusal is the error that keeps user u out of chat c, if any: an
// unknown user (404), one at the join limit (403; not for a member
// already), one on the chat's block list (403). The single and the batch
// add share it.
func (s *Server) joinRefusal(c *chatState, u string) *apiError {
	lu := strings.ToLower(u)
	switch {
	case s.missing[lu]:
		return errf(404, "resource_not_found", "EasemobResourceNotFoundException", "username %s doesn't exist!", u)
	case s.joinLimit[lu] && !c.members[lu] && c.Kind == KindGroup:
		return errf(403, "exceed_limit", "EasemobForbiddenOpException", "user %s has joined too many groups!", u)
	case s.joinLimit[lu] && !c.members[lu]:
		return errf(403, "exceeded_limit", "EasemobForbiddenOpException", "can not join this group, reason:user %s has joined too many chatrooms!", u)
	case c.blocks[lu] != "":
		return errf(403, "forbidden_op", "EasemobForbiddenOpException", "can not join this group, reason:user: %s is in the blocklist of group: %s", u, c.ID)
	}
	return nil
}

// idKeyOf is the chat-id key of an add answer: "groupid" or "id".
func idKeyOf(c *chatState) string {
	if c.Kind == KindGroup {
		return "groupid"
	}
	return "id"
}

// rewrite answers PUT /messages/rewrite/{msg_id}.
func (s *Server) rewrite(call *Call, msgID string) (int, any) {
	rewriteErr := func(status int, desc string) (int, any) {
		return s.fail(errf(status, "message_rewrite_error", "RewriteMessageException", "%s", desc))
	}
	if _, err := strconv.ParseUint(msgID, 10, 64); err != nil {
		return s.fail(errf(400, "InvalidMessageIdException", "InvalidMessageIdException", "The provided message ID is not a valid number."))
	}
	if s.rewriteClosed {
		return rewriteErr(403, "The rewrite message feature is not open.")
	}
	raw, ok := call.Body["new_msg"]
	nm, isObj := raw.(map[string]any)
	if !ok || raw == nil || !isObj || len(nm) == 0 {
		return s.fail(errf(400, "illegal_argument", "IllegalArgumentException", "new_msg is required"))
	}
	if ext, present := call.Body["new_ext"]; present {
		if _, ok := ext.(map[string]any); !ok {
			return s.fail(errf(400, "invalid_request_body", "InvalidRequestBodyException", "Request body is invalid. Please check body is correct."))
		}
	}
	m := s.posted[msgID]
	if m == nil || (s.msgs[msgID] != nil && s.msgs[msgID].recalled) {
		return rewriteErr(404, "The message is unavailable or has expired.")
	}
	typ, _ := nm["type"].(string)
	text, isText := nm["msg"].(string)
	if typ != m.typ || typ != "txt" || !isText {
		return rewriteErr(400, "The message is of a type that is currently not supported for modification.")
	}
	if size := rewriteSize(call.Raw); size > MaxMessageBytes {
		return s.fail(errf(400, "message_send_error", "MessageSendException", "message is too large"))
	}
	if m.edits >= MaxEdits {
		return rewriteErr(403, "The message has reached its edit limit and cannot be modified further.")
	}
	m.text = text
	m.edits++
	out := s.envelope("put", call, "success", map[string]any{"path": "/messages/rewrite/" + msgID})
	delete(out, "entities")
	return 200, out
}

// rewriteSize is the size in bytes of new_msg and new_ext as sent.
func rewriteSize(raw []byte) int {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return len(raw)
	}
	return len(m["new_msg"]) + len(m["new_ext"])
}

// Describe returns a one-line summary of a chat's members, for test
// failure messages.
func (s *Server) Describe(chatID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chats[chatID]
	if c == nil {
		return chatID + ": no such chat"
	}
	return fmt.Sprintf("%s (%s): members %v", chatID, c.Kind, sortedKeys(c.members))
}
