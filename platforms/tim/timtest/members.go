package timtest

import (
	"slices"
	"time"

	"gavel/moderation"
)

// Adding members and editing messages.
//
// add_group_member (group_open_http_svc; 1047/34921, 269/1621): at most
// DefaultMaxAddMember MemberList entries (10005 above, as for every
// account list of the fake) — the Chinese page (revision 2026-02-06) says
// "一次请求最多支持添加20个成员", the English page and trtc.io 300
// (SetMaxAddMembers(300) models them); Silence 0 or 1; not for
// AVChatRoom, which answers 10007 ("the only way to join is to apply").
// The English page's error table fails the whole call with 10019 for an
// account that does not exist (ForgetAccount), 10014 when the group would
// pass its MaxMemberNum, and 10037 for an invitee who joined too many
// groups (SetGroupLimitReached). Each entry's Result: 1 added, 2 already
// a member, 0 failed. The docs say a banned user cannot rejoin but not how
// add_group_member reports it; the fake answers the call OK with that
// member's Result 0, as for any member it could not add. The clients'
// enum also has 3 (pending: an invitation the invitee must accept); the
// fake never answers it. A Community with topics takes the member into
// the community (topics share its members; the call has no TopicId). Each
// call that added someone fires Group.CallbackAfterNewMemberJoin with
// JoinType "Invited" and the App admin as Operator_Account, as the
// callback page says REST add_group_member does: JoinCallbacks returns
// them signed.
//
// modify_group_msg (service openim, not group_open_http_svc; 1047/47948,
// 269/74741): GroupId, MsgSeq, MsgBody and/or CloudCustomData, TopicId in
// a Community with topics; not for AVChatRoom. The page lists the codes
// 20001 (invalid request), 20002 (UserSig invalid), 20004/20005 (network,
// internal: retry), 90001 (JSON) and no code for a missing message or an
// AVChatRoom group. The fake answers 10010 for an unknown group, 20001 for
// an unknown, recalled or otherwise missing MsgSeq and for a request with
// neither MsgBody nor CloudCustomData, 10007 for AVChatRoom (as
// add_group_member does), 80002 for text over the message limit, and the
// TopicId errors of send_group_msg.

const (
	openimSvc        = "openim"
	opModifyGroupMsg = "modify_group_msg"
	// DefaultMaxAddMember is add_group_member's per-call limit (the
	// stricter of the two pages; see above).
	DefaultMaxAddMember = 20
)

// addState is add_group_member's configurable limit and the accounts it
// refuses.
type addState struct {
	max     int             // 0: DefaultMaxAddMember
	unknown map[string]bool // never imported: 10019
	tooMany map[string]bool // joined too many groups: 10037
}

// SetMaxAddMembers sets add_group_member's per-call limit (300 models the
// English page).
func (s *Server) SetMaxAddMembers(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.add.max = n
}

// ForgetAccount makes an account unknown to the app: add_group_member
// naming it answers 10019.
func (s *Server) ForgetAccount(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.add.unknown == nil {
		s.add.unknown = map[string]bool{}
	}
	s.add.unknown[id] = true
}

// SetGroupLimitReached marks an account as a member of as many groups as
// it may join: add_group_member naming it answers 10037.
func (s *Server) SetGroupLimitReached(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.add.tooMany == nil {
		s.add.tooMany = map[string]bool{}
	}
	s.add.tooMany[id] = true
}

// addRefusal is the error that fails a whole add_group_member call to g
// for accounts, if any.
func (s *Server) addRefusal(g *group, accounts []string) (answer, bool) {
	now := s.now().Unix()
	fresh := 0
	for _, id := range accounts {
		switch {
		case s.add.unknown[id]:
			return fail(10019, "account "+id+" does not exist"), true
		case g.roles[id] != "" || g.banned[id] > now:
		case s.add.tooMany[id]:
			return fail(10037, "account "+id+" has joined too many groups"), true
		default:
			fresh++
		}
	}
	if g.MaxMemberNum > 0 && len(g.roles)+fresh > g.MaxMemberNum {
		return fail(10014, "the group is full"), true
	}
	return answer{}, false
}

// firedJoin is a join callback the fake would have sent.
type firedJoin struct {
	body []byte
	at   time.Time
}

// JoinCallbacks returns the Group.CallbackAfterNewMemberJoin callbacks
// add_group_member fired, oldest first, signed with token at the time each
// was fired.
func (s *Server) JoinCallbacks(token string) []moderation.Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]moderation.Delivery, len(s.joins))
	for i, j := range s.joins {
		out[i] = SignedDelivery(s.SDKAppID, CommandAfterNewMemberJoin, token, j.at, j.body)
	}
	return out
}

// MessageText returns the text a stored message now carries (after any
// modify_group_msg) and how many times it was modified; ok is false for
// an unknown message. topicID is "" outside topics.
func (s *Server) MessageText(groupID, topicID string, seq uint64) (text string, edits int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, found := s.groups[groupID]
	if !found {
		return "", 0, false
	}
	msgs := g.msgs
	if topicID != "" {
		t := g.topics[topicID]
		if t == nil {
			return "", 0, false
		}
		msgs = t.msgs
	}
	m, found := msgs[seq]
	if !found {
		return "", 0, false
	}
	return m.text, m.edits, true
}

func (s *Server) addMember(raw []byte, identifier string) answer {
	var req struct {
		GroupID    string `json:"GroupId"`
		Silence    *int   `json:"Silence"`
		MemberList []struct {
			MemberAccount string `json:"Member_Account"`
		} `json:"MemberList"`
	}
	if !decode(raw, &req) {
		return fail(10004, "invalid parameter")
	}
	g, a, found := s.lookup(req.GroupID)
	if !found {
		return a
	}
	accounts := make([]string, len(req.MemberList))
	for i, m := range req.MemberList {
		accounts[i] = m.MemberAccount
	}
	limit := s.add.max
	if limit == 0 {
		limit = DefaultMaxAddMember
	}
	if a, ok := checkAccounts(accounts, limit); !ok {
		return a
	}
	if req.Silence != nil && *req.Silence != 0 && *req.Silence != 1 {
		return fail(10004, "Silence must be 0 or 1")
	}
	if g.Type == typeAV {
		return fail(10007, "add_group_member is not supported for AVChatRoom groups")
	}
	if a, refused := s.addRefusal(g, accounts); refused {
		return a
	}
	now := s.now()
	list := make([]map[string]any, 0, len(accounts))
	var added []string
	for _, id := range accounts {
		result := 1
		switch {
		case g.banned[id] > now.Unix():
			result = 0
		case g.roles[id] != "":
			result = 2
		default:
			g.join(id, roleMember)
			added = append(added, id)
		}
		list = append(list, map[string]any{"Member_Account": id, "Result": result})
	}
	if len(added) > 0 {
		s.joins = append(s.joins, firedJoin{at: now, body: JoinBody(Join{GroupID: g.ID, GroupType: g.Type,
			JoinType: "Invited", Operator: identifier, Members: added, EventTime: now}, now)})
	}
	return success(map[string]any{"MemberList": list})
}

func (s *Server) modifyGroupMsg(raw []byte) answer {
	var req struct {
		GroupID         string    `json:"GroupId"`
		MsgSeq          uint64    `json:"MsgSeq"`
		MsgBody         []msgElem `json:"MsgBody"`
		CloudCustomData *string   `json:"CloudCustomData"`
		TopicID         string    `json:"TopicId"`
	}
	if !decode(raw, &req) {
		return fail(90001, "JSON parse failed")
	}
	g, a, found := s.lookup(req.GroupID)
	if !found {
		return a
	}
	if g.Type == typeAV {
		return fail(10007, "modify_group_msg is not supported for AVChatRoom groups")
	}
	if len(req.MsgBody) == 0 && req.CloudCustomData == nil {
		return fail(20001, "MsgBody or CloudCustomData is required")
	}
	t, a, ok := g.topicOf(req.TopicID, true)
	if !ok {
		return a
	}
	msgs := g.msgs
	if t != nil {
		msgs = t.msgs
	}
	m, found := msgs[req.MsgSeq]
	if req.MsgSeq == 0 || !found || m.recalled {
		return fail(20001, "message does not exist")
	}
	if len(req.MsgBody) == 0 {
		return success(nil) // CloudCustomData only: the text stays
	}
	text, bad := s.bodyText(req.MsgBody, 20001)
	if bad != nil {
		return *bad
	}
	m.text = text
	m.edits++
	return success(nil)
}

// Joined reports whether every account is now a member of the group.
func (s *Server) Joined(groupID string, accounts ...string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[groupID]
	return ok && !slices.ContainsFunc(accounts, func(a string) bool { return g.roles[a] == "" })
}
