package feishutest

// Adding members (issue #17: /undo of a kick): POST
// /open-apis/im/v1/chats/:chat_id/members?member_id_type=open_id&succeed_type=N.
//
// Sources and the choices made where they are silent:
//   - chat-members/create page and the SDK v3.12.0 model: id_list holds at
//     most 50 users (232001 beyond, and for an empty list, as removals);
//     the bot must be in the chat (232011); an internal chat takes no
//     users of another tenant ("外部租户不能被拉入内部群"), an external one
//     does; when add_member_permission is only_owner, only the owner, the
//     managers, or the creator bot holding im:chat:operate_as_owner may
//     add (the page names no code: the fake answers 232014, the code
//     removals answer for a bot without the right); parallel adds in one
//     chat answer 232019 ("建议你串行调用").
//   - succeed_type (SDK InviteMemberSucceedType*): 0 (default) fails the
//     call when an id does not exist or is not visible to the app, and
//     adds the others when ids only belong to users who left, listing
//     those in invalid_id_list; 1 adds every usable id and lists the rest:
//     invalid_id_list (left, invisible, not activated: the SDK comment
//     calls the parameter "success_type" there) and not_existed_id_list;
//     2 fails the call if any id is unusable. The failing answer is 232043
//     "Your request contains unavailable ids" (documented for chat
//     creation; the add page's own table was not available to check).
//   - A chat with membership_approval "approval_required" makes added
//     users wait: they are listed in pending_approval_id_list and join
//     when approved (ApprovePending). The page does not say whether a bot
//     owner's or manager's add skips the approval: the fake never skips it.
//   - Users already in the chat: the page does not say how they are
//     reported; the fake lists them nowhere and adds nothing (the call
//     succeeds).
//   - A p2p chat answers 232008 (unsupported chat type); a chat at its
//     member limit (MaxMembers, default 5000) answers 232013 for the whole
//     call.

import (
	"net/url"
	"slices"
)

const (
	permissionAll    = "all_members"
	permissionOwner  = "only_owner"
	maxAddBatch      = 50
	defaultMaxMember = 5000
)

// UserState is what the fake knows of a user id other than membership.
type UserState int

const (
	// UserActive is every id not set otherwise: an active user of the
	// server's tenant.
	UserActive UserState = iota
	// UserMissing: no such user (not_existed_id_list).
	UserMissing
	// UserResigned: the user left the organisation (invalid_id_list).
	UserResigned
	// UserInvisible: outside the app's availability (invalid_id_list).
	UserInvisible
	// UserExternal: a user of another tenant: addable to external chats
	// only (invalid_id_list for an internal one).
	UserExternal
)

// SetUser sets what the fake knows of a user id.
func (s *Server) SetUser(openID string, st UserState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[openID] = st
}

// Pending returns the users waiting for approval to join chatID.
func (s *Server) Pending(chatID string) []string {
	c, _ := s.Chat(chatID)
	return c.Pending
}

// ApprovePending lets every waiting user into chatID, as the owner's
// approval would.
func (s *Server) ApprovePending(chatID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, found := s.chats[chatID]; found {
		for _, u := range c.Pending {
			if !slices.Contains(c.Members, u) {
				c.Members = append(c.Members, u)
			}
		}
		c.Pending = nil
	}
}

func approval(required bool) string {
	if required {
		return "approval_required"
	}
	return "no_approval_required"
}

// botMayAdd reports whether the bot may add members to c.
func (c *Chat) botMayAdd() bool {
	if c.AddMemberPermission != permissionOwner {
		return true
	}
	return c.BotIsOwner || c.BotIsManager || (c.BotIsCreator && c.CreatorOperateAsOwner)
}

func (s *Server) membersAddLocked(id string, q url.Values, body map[string]any) answer {
	if t := q.Get("member_id_type"); t != "" && t != "open_id" {
		return fail(232001)
	}
	succeedType := q.Get("succeed_type")
	if succeedType == "" {
		succeedType = "0"
	}
	if succeedType != "0" && succeedType != "1" && succeedType != "2" {
		return fail(232001)
	}
	ids := stringList(body["id_list"])
	if len(ids) == 0 || len(ids) > maxAddBatch {
		return fail(232001)
	}
	c, a, found := s.chatLocked(id)
	if !found {
		return a
	}
	if c.Mode == "p2p" {
		return fail(232008)
	}
	if !c.botMayAdd() {
		return fail(232014)
	}
	var usable, invalid, missing []string
	hardFailure := false // an id that fails succeed_type 0
	for _, u := range ids {
		switch st := s.users[u]; {
		case st == UserMissing:
			missing, hardFailure = append(missing, u), true
		case st == UserInvisible, st == UserExternal && !c.External:
			invalid, hardFailure = append(invalid, u), true
		case st == UserResigned:
			invalid = append(invalid, u)
		default:
			usable = append(usable, u)
		}
	}
	switch {
	case succeedType == "2" && len(usable) < len(ids), succeedType == "0" && hardFailure:
		return fail(232043)
	}
	limit := c.MaxMembers
	if limit == 0 {
		limit = defaultMaxMember
	}
	var added, pending []string
	for _, u := range usable {
		switch {
		case slices.Contains(c.Members, u):
		case c.ApprovalRequired:
			pending = append(pending, u)
		default:
			added = append(added, u)
		}
	}
	if len(c.Members)+len(added) > limit {
		return fail(232013)
	}
	c.Members = append(c.Members, added...)
	for _, u := range pending {
		if !slices.Contains(c.Pending, u) {
			c.Pending = append(c.Pending, u)
		}
	}
	data := map[string]any{"invalid_id_list": nonNil(invalid), "not_existed_id_list": nonNil(missing), "pending_approval_id_list": nonNil(pending)}
	return ok(data)
}

// AddBatches returns the id_list of every members-add call, in order.
func (s *Server) AddBatches() [][]string {
	var out [][]string
	for _, c := range s.CallsTo(OpMembersAdd) {
		out = append(out, stringList(c.Body["id_list"]))
	}
	return out
}
