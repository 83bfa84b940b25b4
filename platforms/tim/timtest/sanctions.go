package timtest

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"gavel/moderation"
)

// Bans, the all-member mute, joins and the pre-join callbacks.
//
// ban_group_member / unban_group_member (tim.md §5.8): at most 20
// Members_Account (10005 above), Duration a uint32 of seconds,
// Description at most 1000 bytes; a banned member leaves the group and
// cannot rejoin until the ban ends. The docs name no "forever" Duration
// and do not say what Duration 0 does: the fake refuses 0 (10004). The
// published request samples are not valid JSON (missing quotes, and a
// trailing comma in unban's); the fake parses the corrected form. The
// ban API needs a paid edition and the console switch "群成员封禁":
// SetBanAPI(false) models an app without it, where the three ban APIs
// answer 10007. Which group types have it differs between the 2024 (AVChatRoom
// only) and 2025 (all types) docs; the fake follows 2025.
//
// add_group_member is described in members.go.
//
// modify_group_base_info: the current docs and SDKs take MuteAllMember
// ("On"/"Off"); older pages and client code say ShutUpAllMember, which
// the fake ignores like any field it does not know. While the mute is on,
// send_group_msg from anyone but the owner, an admin or an App admin
// answers 10017. What a Work group answers is not documented (the
// clients say Work groups cannot mute): the fake answers 10004.
//
// group_msg_recall answers 10031 (too old) for messages sent longer ago
// than SetRecallWindow (no window by default: the REST page gives none).

const (
	maxBan          = 20
	maxBanDesc      = 1000
	maxBanListLimit = 100
	banForeverSecs  = 4294967295
	// CommandBeforeApplyJoin and CommandBeforeInviteJoin are the pre-join
	// callbacks.
	CommandBeforeApplyJoin  = "Group.CallbackBeforeApplyJoinGroup"
	CommandBeforeInviteJoin = "Group.CallbackBeforeInviteJoinGroup"
)

// SetBanAPI turns the ban API (edition and console switch) on or off; it
// is on by default.
func (s *Server) SetBanAPI(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.banOff = !on
}

// SetRecallWindow makes group_msg_recall answer 10031 for messages older
// than d; 0 (the default) recalls any age.
func (s *Server) SetRecallWindow(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recallAge = d
}

// Banned returns the group's banned accounts and when each ban ends.
func (s *Server) Banned(groupID string) map[string]time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]time.Time)
	if g, ok := s.groups[groupID]; ok {
		now := s.now().Unix()
		for id, until := range g.banned {
			if until > now {
				out[id] = time.Unix(until, 0)
			}
		}
	}
	return out
}

// MutedAll reports whether the group's all-member mute is on.
func (s *Server) MutedAll(groupID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[groupID]
	return ok && g.muteAll
}

func onOff(b bool) string {
	if b {
		return "On"
	}
	return "Off"
}

func (s *Server) ban(raw []byte) answer {
	var req struct {
		GroupID     string       `json:"GroupId"`
		Members     []string     `json:"Members_Account"`
		Duration    *json.Number `json:"Duration"`
		Description string       `json:"Description"`
	}
	if !decode(raw, &req) {
		return fail(10004, "invalid parameter")
	}
	g, a, ok := s.banTarget(req.GroupID, req.Members)
	if !ok {
		return a
	}
	if req.Duration == nil {
		return fail(10004, "Duration is required")
	}
	secs, err := strconv.ParseUint(req.Duration.String(), 10, 32)
	if err != nil || secs == 0 {
		return fail(10004, "Duration must be a positive 32-bit unsigned integer")
	}
	if len(req.Description) > maxBanDesc {
		return fail(10004, "Description is longer than 1000 bytes")
	}
	until := s.now().Unix() + int64(secs)
	gone := make(map[string]bool, len(req.Members))
	for _, m := range req.Members {
		g.banned[m] = until
		if _, ok := g.roles[m]; ok && m != g.Owner {
			gone[m] = true
			delete(g.roles, m)
		}
	}
	g.order = slices.DeleteFunc(g.order, func(m string) bool { return gone[m] })
	return success(nil)
}

// banTarget checks what ban_group_member and unban_group_member share:
// the ban API is on, the group exists, 1 to 20 accounts.
func (s *Server) banTarget(groupID string, members []string) (*group, answer, bool) {
	if s.banOff {
		return nil, fail(10007, "group member banning is not enabled for this app"), false
	}
	g, a, found := s.lookup(groupID)
	if !found {
		return nil, a, false
	}
	if a, ok := checkAccounts(members, maxBan); !ok {
		return nil, a, false
	}
	return g, answer{}, true
}

func (s *Server) unban(raw []byte) answer {
	var req struct {
		GroupID string   `json:"GroupId"`
		Members []string `json:"Members_Account"`
	}
	if !decode(raw, &req) {
		return fail(10004, "invalid parameter")
	}
	g, a, ok := s.banTarget(req.GroupID, req.Members)
	if !ok {
		return a
	}
	for _, m := range req.Members {
		delete(g.banned, m)
	}
	return success(nil)
}

func (s *Server) banList(raw []byte) answer {
	var req struct {
		GroupID string `json:"GroupId"`
		Limit   int    `json:"Limit"`
		Offset  int    `json:"Offset"`
	}
	if !decode(raw, &req) {
		return fail(10004, "invalid parameter")
	}
	if s.banOff {
		return fail(10007, "group member banning is not enabled for this app")
	}
	g, a, found := s.lookup(req.GroupID)
	if !found {
		return a
	}
	if req.Limit <= 0 || req.Limit > maxBanListLimit || req.Offset < 0 {
		return fail(10004, "Limit must be 1 to 100 and Offset not negative")
	}
	now := s.now().Unix()
	ids := make([]string, 0, len(g.banned))
	for id, until := range g.banned {
		if until > now {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	list := []map[string]any{}
	next := 0
	for i := req.Offset; i < len(ids) && len(list) < req.Limit; i++ {
		list = append(list, map[string]any{"Member_Account": ids[i], "BannedUntil": g.banned[ids[i]]})
		next = i + 1
	}
	if next >= len(ids) {
		next = 0
	}
	return success(map[string]any{"BannedAccountList": list, "NextOffset": next})
}

func (s *Server) modifyGroup(raw []byte) answer {
	var req struct {
		GroupID       string  `json:"GroupId"`
		MuteAllMember *string `json:"MuteAllMember"`
	}
	if !decode(raw, &req) {
		return fail(10004, "invalid parameter")
	}
	g, a, found := s.lookup(req.GroupID)
	if !found {
		return a
	}
	if req.MuteAllMember == nil {
		return success(nil)
	}
	if isWork(g.Type) {
		return fail(10004, "Work groups cannot mute all members")
	}
	switch *req.MuteAllMember {
	case "On":
		g.muteAll = true
	case "Off":
		g.muteAll = false
	default:
		return fail(10004, `MuteAllMember must be "On" or "Off"`)
	}
	return success(nil)
}

// ApplyJoin describes a Group.CallbackBeforeApplyJoinGroup callback.
type ApplyJoin struct {
	GroupID   string
	GroupType string // default: the seeded group's type, else Public
	Requestor string
}

// InviteJoin describes a Group.CallbackBeforeInviteJoinGroup callback.
type InviteJoin struct {
	GroupID   string
	GroupType string
	Operator  string
	Members   []string
}

// ApplyJoinDelivery returns a signed Group.CallbackBeforeApplyJoinGroup
// delivery for this server's app.
func (s *Server) ApplyJoinDelivery(token string, requestTime time.Time, j ApplyJoin) moderation.Delivery {
	appID, typ := s.groupTypeOr(j.GroupID, j.GroupType)
	body := mustJSON(map[string]any{
		"CallbackCommand": CommandBeforeApplyJoin, "GroupId": j.GroupID, "Type": typ,
		"Requestor_Account": j.Requestor, "EventTime": requestTime.UnixMilli(),
	})
	return SignedDelivery(appID, CommandBeforeApplyJoin, token, requestTime, body)
}

// InviteJoinDelivery returns a signed Group.CallbackBeforeInviteJoinGroup
// delivery for this server's app.
func (s *Server) InviteJoinDelivery(token string, requestTime time.Time, j InviteJoin) moderation.Delivery {
	appID, typ := s.groupTypeOr(j.GroupID, j.GroupType)
	dest := make([]map[string]string, len(j.Members))
	for i, m := range j.Members {
		dest[i] = map[string]string{"Member_Account": m}
	}
	body := mustJSON(map[string]any{
		"CallbackCommand": CommandBeforeInviteJoin, "GroupId": j.GroupID, "Type": typ,
		"Operator_Account": j.Operator, "DestinationMembers": dest, "EventTime": requestTime.UnixMilli(),
	})
	return SignedDelivery(appID, CommandBeforeInviteJoin, token, requestTime, body)
}

func (s *Server) groupTypeOr(groupID, typ string) (int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g, ok := s.groups[groupID]; ok && typ == "" {
		typ = g.Type
	}
	if typ == "" {
		typ = "Public"
	}
	return s.SDKAppID, typ
}

// ReplyCustomData returns the CloudCustomData TUIKit clients send with a
// reply: a messageReply object naming the original by client message ID,
// display name and MsgSeq (messageSequence).
func ReplyCustomData(msgID, senderName string, seq uint64) string {
	return string(mustJSON(map[string]any{"messageReply": map[string]any{
		"messageID": msgID, "messageAbstract": "…", "messageSender": senderName,
		"messageType": 1, "messageTime": 0, "messageSequence": seq, "version": 1,
	}}))
}
