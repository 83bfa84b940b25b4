package easemobtest

// Block lists, mute-all, allow-lists, joining and message recall, from the
// REST pages (chatroom_member_blocklist_*, group_member_blocklist_*,
// *_member_mute_all, *_allowlist_overview, *_member_add_single,
// message_recall_single, message_recall_batch) and the operation callbacks
// they fire (callback_group_room_blocklist, callback_group_room_leave,
// callback_group_room_muteall, callback_message_recall).
//
// Where those pages are silent the fake chooses, and says so:
//   - A block-listed user cannot join ("只有先被移出黑名单才能重新加入"), but
//     no page gives the error of POST …/users/{username} for one; the fake
//     answers 403 forbidden_op "can not join this group, reason:user: X is
//     in the blocklist of group: ID", shaped like the documented "can not
//     join this group, reason:user: X already in group: ID".
//   - Adding a non-member to a block list: the pages' sample answers a
//     per-user row {"result":false,"reason":"user: X doesn't exist in
//     chatroom: ID"} (group: "in group:"), their error table 403 "users
//     [X] are not members of this group!". The fake answers rows when some
//     users of the call are members and the 403 when none is. Removing
//     users who are not block-listed works the same way.
//   - The owner cannot be block-listed; the refusal is not documented —
//     the fake answers the mute/kick pages' 403 "forbidden operation on
//     group owner!".
//   - Mute-all: only allow-listed users may speak; the owner and admins
//     are on the allow-list by default (allowlist overview pages, both
//     kinds), so they still speak. POST …/ban answers action "put" for
//     chat rooms (room page sample) and "post" for groups; DELETE answers
//     {"mute": false} (the unmute-all pages). The fake keeps the flag in
//     the details' "mute" field.
//   - The chat-room batch block page lists a path parameter "username"
//     ("up to 60, comma-separated") that its URL does not have; its curl
//     and body table send {"usernames": […]} in the body, as the group
//     page does. The fake reads the body.
//   - msg_recall recalls messages clients sent (the callbacks the fake
//     carried) and messages sent through REST POST /messages/chatgroups
//     or /messages/chatrooms alike, as message_recall_single and
//     message_recall_batch say; a recalled REST-sent message can no
//     longer be rewritten (messages/rewrite answers its 404 "The message
//     is unavailable or has expired.").
//   - msg_recall: the documented 400 message_recall_error for an empty
//     msg_id, to, chat_type or a missing force; 400 "can't find msg to"
//     when to is not the message's chat; 403 "not_found msg" for a message
//     recalled already or unknown; 403 "exceed recall time limit" past the
//     recall time (default 2 minutes) unless force is true; 403 forbidden_op
//     "message recall service is unopened" (SetRecallService). FailNext of
//     "recall" with 403 answers the recall-time error. The batch form
//     (≤30) documents no per-message failure: the fake answers one row per
//     recalled message and fails the whole call as msg_recall would for
//     the first message it cannot recall.

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Documented limits of the calls in this file.
const (
	// MaxBlock is the most users one block-list add or remove takes.
	MaxBlock = 60
	// MaxBatchRecall is the most messages one batch_recall takes.
	MaxBatchRecall = 30
	// DefaultRecallWindow is the console's default recall time.
	DefaultRecallWindow = 2 * time.Minute
)

// chatMessage is one message a callback of the fake carried.
type chatMessage struct {
	id, chatID, kind, from string
	at                     time.Time
	recalled               bool
}

// recordMessage keeps the message of a group or chat-room callback so that
// msg_recall finds it.
func (s *Server) recordMessage(m Message) {
	if m.Kind != KindChatRoom && m.Kind != KindGroup && m.Kind != "" {
		return
	}
	kind := m.Kind
	if kind == "" {
		kind = KindGroup
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.msgs == nil {
		s.msgs = map[string]*chatMessage{} // a Server literal (fuzz seeds)
	}
	if _, ok := s.msgs[m.MsgID]; !ok {
		s.msgs[m.MsgID] = &chatMessage{id: m.MsgID, chatID: m.ChatID, kind: kind, from: m.From, at: m.At}
	}
}

// Errors of Send and ClientJoin: what a client SDK is told.
var (
	ErrBlocked   = errors.New("easemobtest: the user is on the chat's block list")
	ErrNotMember = errors.New("easemobtest: the user is not a member of the chat")
	ErrMuted     = errors.New("easemobtest: the user is muted in the chat")
	ErrMutedAll  = errors.New("easemobtest: the chat is muted for everyone not on its allow-list")
)

// Send is a client sending m: refused (no callback) when the sender is
// block-listed, not a member, muted, or not allowed to speak under
// mute-all (owner, admins and allow-listed users are); otherwise the
// message is kept for recall and its signed post-send callback returned.
func (s *Server) Send(m Message) ([]byte, error) {
	if err := s.maySpeak(m.ChatID, m.From); err != nil {
		return nil, err
	}
	return s.MessageBody(m), nil
}

func (s *Server) maySpeak(chatID, user string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chats[chatID]
	if c == nil {
		return ErrNotMember
	}
	u := strings.ToLower(user)
	switch {
	case c.blocks[u] != "":
		return ErrBlocked
	case !c.members[u]:
		return ErrNotMember
	case c.mutes[u] > s.now().UnixMilli():
		return ErrMuted
	case c.muteAll && !c.allowed(u):
		return ErrMutedAll
	}
	return nil
}

// allowed: on the allow-list, which holds the owner and admins by default.
func (c *chatState) allowed(u string) bool {
	return c.allow[u] || c.admins[u] || strings.EqualFold(u, c.Owner)
}

// ClientJoin is user joining chat from a client (a public group or a chat
// room); a block-listed user is refused.
func (s *Server) ClientJoin(chatID, user string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chats[chatID]
	if c == nil {
		return ErrNotMember
	}
	if c.blocks[strings.ToLower(user)] != "" {
		return ErrBlocked
	}
	c.members[strings.ToLower(user)] = true
	return nil
}

// IsBlocked reports whether user is on chat's block list.
func (s *Server) IsBlocked(chatID, user string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chats[chatID]
	return c != nil && c.blocks[strings.ToLower(user)] != ""
}

// Block seeds user on chat's block list (and out of the chat).
func (s *Server) Block(chatID, user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.chats[chatID]; c != nil {
		s.removeMember(c, user)
		c.blocks[strings.ToLower(user)] = user
	}
}

// MutedAll reports chat's mute-all switch.
func (s *Server) MutedAll(chatID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chats[chatID]
	return c != nil && c.muteAll
}

// AddToAllowList puts users on chat's allow-list.
func (s *Server) AddToAllowList(chatID string, users ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.chats[chatID]; c != nil {
		for _, u := range users {
			c.allow[strings.ToLower(u)] = true
		}
	}
}

// Recalled reports whether the message msgID was recalled.
func (s *Server) Recalled(msgID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.msgs[msgID]
	return m != nil && m.recalled
}

// SetRecallWindow sets the console's recall time (at most 7 days).
func (s *Server) SetRecallWindow(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recallWindow = d
}

// SetRecallService opens or closes the recall service of the app.
func (s *Server) SetRecallService(open bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recallClosed = !open
}

// Fired returns the signed post-send operation callbacks the REST calls
// fired, oldest first: BLOCK ADD and LEAVE BLOCK for a block, BLOCK
// REMOVE for an unblock, JOIN for an add, UPDATE MUTE for mute-all, the
// chat_type "recall" callback for a recall.
func (s *Server) Fired() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.fired...)
}

// fireOp records a group_op_event about c; s.mu is held.
func (s *Server) fireOp(c *chatState, operation string, payload map[string]any) {
	s.seq++
	typ := "CHATROOM"
	if c.Kind == KindGroup {
		typ = "GROUP"
	}
	s.fired = append(s.fired, SignFields(map[string]any{
		"callId": fmt.Sprintf("%s_%d-op", s.appKey(), s.seq), "payload": payload, "appkey": s.appKey(),
		"id": c.ID, "type": typ, "event": "group_op_event", "operation": operation,
		"operator": "@ppAdmin", "timestamp": s.now().UnixMilli(),
	}, s.CallbackSecret))
}

// idKey is the chat-id key of a block row: chatroomid or groupid.
func idKey(c *chatState) string {
	if c.Kind == KindGroup {
		return "groupid"
	}
	return "chatroomid"
}

func kindWord(c *chatState) string {
	if c.Kind == KindGroup {
		return "group"
	}
	return "chatroom"
}

// join answers POST …/{id}/users/{username}.
func (s *Server) join(call *Call) (int, any) {
	c, e := s.chat(call, false)
	if e != nil {
		return s.fail(e)
	}
	u := call.Users[0]
	lu := strings.ToLower(u)
	if e := s.joinRefusal(c, u); e != nil {
		return s.fail(e)
	}
	switch {
	case c.members[lu] && c.Kind == KindGroup:
		return s.fail(errf(403, "forbidden_op", "EasemobForbiddenOpException", "can not join this group, reason:user: %s already in group: %s\n", u, c.ID))
	case !c.members[lu]:
		c.members[lu] = true
		s.fireOp(c, "JOIN", map[string]any{"member": []string{u}, "type": "DIRECT"})
	}
	return 200, s.envelope("post", call, map[string]any{"result": true, "action": "add_member", idKey(c): c.ID, "user": u}, nil)
}

// block answers POST …/{id}/blocks/users {"usernames": […]}.
func (s *Server) block(call *Call) (int, any) {
	if e := usernames(call, MaxBlock, "userNames is more than max limit"); e != nil {
		return s.fail(e)
	}
	users := call.Users
	c, e := s.chat(call, false)
	if e != nil {
		return s.fail(e)
	}
	outsiders, oe := nonMembers(c, users)
	if oe != nil {
		return s.fail(oe)
	}
	if len(outsiders) == len(users) {
		return s.fail(errf(403, "forbidden_op", "EasemobForbiddenOpException", "users [%s] are not members of this group!", strings.Join(outsiders, ", ")))
	}
	data := make([]map[string]any, 0, len(users))
	var blocked []string
	for _, u := range users {
		row := map[string]any{"action": "add_blocks", "user": u, idKey(c): c.ID}
		if lu := strings.ToLower(u); c.members[lu] {
			s.removeMember(c, u)
			delete(c.mutes, lu)
			c.blocks[lu] = u
			blocked = append(blocked, u)
			row["result"] = true
		} else {
			row["result"] = false
			row["reason"] = fmt.Sprintf("user: %s doesn't exist in %s: %s", u, kindWord(c), c.ID)
		}
		data = append(data, row)
	}
	s.fireOp(c, "BLOCK", map[string]any{"member": blocked, "expire_timestamp": PermanentMuteTime, "type": "ADD"})
	s.fireOp(c, "LEAVE", map[string]any{"member": blocked, "type": "BLOCK"})
	return 200, s.envelope("post", call, data, nil)
}

// MaxAllow is the most users one allow-list add takes (批量添加用户至
// 聊天室白名单 / 群组白名单: "每次最多可传 60 个").
const MaxAllow = 60

// allowUsers answers POST …/{id}/white/users {"usernames": […]}: each
// member goes on the allow-list (result true); a non-member's row says
// why not (result false).
func (s *Server) allowUsers(call *Call) (int, any) {
	if e := usernames(call, MaxAllow, "usernames size is more than max limit"); e != nil {
		return s.fail(e)
	}
	c, e := s.chat(call, false)
	if e != nil {
		return s.fail(e)
	}
	data := make([]map[string]any, 0, len(call.Users))
	for _, u := range call.Users {
		row := map[string]any{"action": "add_user_whitelist", "user": u, idKey(c): c.ID}
		if lu := strings.ToLower(u); c.members[lu] || c.admins[lu] || strings.EqualFold(u, c.Owner) {
			c.allow[lu] = true
			row["result"] = true
		} else {
			row["result"] = false
			row["reason"] = fmt.Sprintf("user: %s doesn't exist in %s: %s", u, kindWord(c), c.ID)
		}
		data = append(data, row)
	}
	return 200, s.envelope("post", call, data, nil)
}

// blockList answers GET …/{id}/blocks/users: data is the user IDs.
func (s *Server) blockList(call *Call) (int, any) {
	c, e := s.chat(call, false)
	if e != nil {
		return s.fail(e)
	}
	data := []string{}
	for _, k := range sortedKeys(c.blocks) {
		data = append(data, c.blocks[k])
	}
	return 200, s.envelope("get", call, data, map[string]any{"count": len(data)})
}

// unblock answers DELETE …/{id}/blocks/users/{u1}%2C{u2}.
func (s *Server) unblock(call *Call) (int, any) {
	if len(call.Users) > MaxBlock {
		return s.fail(errf(400, "invalid_parameter", "IllegalArgumentException", "removeBlacklist: list size more than max limit : %d", MaxBlock))
	}
	if len(call.Users) == 0 {
		return s.fail(errf(400, "invalid_parameter", "IllegalArgumentException", "member must be provided"))
	}
	c, e := s.chat(call, false)
	if e != nil {
		return s.fail(e)
	}
	var absent []string
	for _, u := range call.Users {
		if c.blocks[strings.ToLower(u)] == "" {
			absent = append(absent, u)
		}
	}
	if len(absent) == len(call.Users) {
		return s.fail(errf(403, "forbidden_op", "EasemobForbiddenOpException", "users [%s] are not members of this group!", strings.Join(absent, ", ")))
	}
	data := make([]map[string]any, 0, len(call.Users))
	var removed []string
	for _, u := range call.Users {
		lu := strings.ToLower(u)
		row := map[string]any{"action": "remove_blocks", "user": u, idKey(c): c.ID, "result": c.blocks[lu] != ""}
		if c.blocks[lu] != "" {
			delete(c.blocks, lu)
			removed = append(removed, u)
		} else {
			row["reason"] = fmt.Sprintf("user: %s is not in the blocklist of %s: %s", u, kindWord(c), c.ID)
		}
		data = append(data, row)
	}
	s.fireOp(c, "BLOCK", map[string]any{"member": removed, "type": "REMOVE"})
	return 200, s.envelope("delete", call, data, nil)
}

// setMuteAll answers POST (on) and DELETE (off) …/{id}/ban.
func (s *Server) setMuteAll(call *Call, on bool) (int, any) {
	c, e := s.chat(call, false)
	if e != nil {
		return s.fail(e)
	}
	c.muteAll = on
	s.fireOp(c, "UPDATE", map[string]any{"mute": on, "type": "MUTE"})
	action := "delete"
	if on {
		action = "post"
		if c.Kind == KindChatRoom {
			action = "put" // the room page's sample
		}
	}
	return 200, s.envelope(action, call, map[string]any{"mute": on}, nil)
}

// recallOne recalls the message described by one msg_recall body.
func (s *Server) recallOne(b map[string]any) (map[string]any, *apiError) {
	recallErr := func(st int, desc string) *apiError {
		return errf(st, "message_recall_error", "EasemobMessageRecallException", "%s", desc)
	}
	msgID, _ := b["msg_id"].(string)
	to, _ := b["to"].(string)
	ct, _ := b["chat_type"].(string)
	force, hasForce := b["force"].(bool)
	switch {
	case s.recallClosed:
		return nil, errf(403, "forbidden_op", "EasemobForbiddenOpException", "message recall service is unopened")
	case msgID == "":
		return nil, recallErr(400, "param msg_id can't be empty")
	case to == "":
		return nil, recallErr(400, "param to can't be empty")
	case ct == "":
		return nil, recallErr(400, "param chat_type can't be empty")
	case !hasForce:
		return nil, recallErr(400, "param force can't be empty")
	}
	switch ct {
	case "chat", "groupchat", "chatroom":
	default:
		return nil, errf(400, "invalid_parameter", "IllegalArgumentException", "chat_type must be chat, groupchat or chatroom")
	}
	m := s.msgs[msgID]
	switch {
	case m == nil || m.recalled:
		return nil, recallErr(403, "not_found msg")
	case m.chatID != to:
		return nil, recallErr(400, "can't find msg to")
	case !force && s.now().Sub(m.at) > s.recallWindow:
		return nil, recallErr(403, "exceed recall time limit")
	}
	m.recalled = true
	from, _ := b["from"].(string)
	if from == "" {
		from = "admin"
	}
	s.seq++
	s.fired = append(s.fired, SignFields(map[string]any{
		"chat_type": "recall", "callId": fmt.Sprintf("%s_%d", s.appKey(), s.seq),
		"payload": map[string]any{"ext": map[string]any{}, "ack_message_id": msgID, "bodies": []any{}},
		"appkey":  s.appKey(), "from": from, "recall_id": msgID, "to": to, "eventType": "chat",
		"msg_id": fmt.Sprint(s.seq), "timestamp": s.now().UnixMilli(),
	}, s.CallbackSecret))
	return map[string]any{"recalled": "yes", "chattype": ct, "from": from, "to": to, "msg_id": msgID}, nil
}

// recall answers POST /messages/msg_recall.
func (s *Server) recall(call *Call) (int, any) {
	data, e := s.recallOne(call.Body)
	if e != nil {
		return s.fail(e)
	}
	return 200, s.envelope("post", call, data, map[string]any{"path": "/messages/msg_recall"})
}

// batchRecall answers POST /messages/batch_recall {"msgs": […]} (≤30).
func (s *Server) batchRecall(call *Call) (int, any) {
	msgs, _ := call.Body["msgs"].([]any)
	if len(msgs) == 0 || len(msgs) > MaxBatchRecall {
		return s.fail(errf(400, "message_recall_error", "EasemobMessageRecallException", "param msgs must hold 1 to %d messages", MaxBatchRecall))
	}
	data := make([]map[string]any, 0, len(msgs))
	for _, m := range msgs {
		b, _ := m.(map[string]any)
		row, e := s.recallOne(b)
		if e != nil {
			return s.fail(e)
		}
		data = append(data, row)
	}
	return 200, s.envelope("post", call, data, map[string]any{"path": "/messages/batch_recall"})
}
