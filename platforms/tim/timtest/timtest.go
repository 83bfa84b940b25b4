// Package timtest is an in-memory fake of the Tencent Cloud Chat (TIM) REST
// API for Gavel's tests, demo and benchmarks, plus helpers that build
// correctly signed third-party callbacks.
//
// The fake verifies UserSigs with the official library, requires the
// identifier to be an App admin, enforces the documented per-call limits
// and per-API rate, and answers with the documented error codes (HTTP 200,
// ActionStatus/ErrorCode in the body).
//
// Mentions are modelled as clients make them: Say and MentionText put
// '@' and the member's group name card, else nickname, else id into the
// text (names may hold spaces), and GroupAtInfo lists the ids in text
// order. get_specified_group_member_info (NameCard, ≤ 50 accounts) and
// profile/portrait_get (Tag_Profile_IM_Nick, ≤ 100 accounts) serve the
// seeded names. Where the docs are silent the fake picks the stricter
// behaviour and says so: non-members are left out of MemberList,
// AVChatRoom answers 10007, more than 100 portrait_get accounts (the docs
// only "recommend" 100) answer 40001, an unknown account's item has
// ResultCode 40003. The text clients show for @all is not documented (UIs
// show "@所有人" or "@All"); Say has no @all, Message.AtAll only adds the
// GroupAtInfo entry.
//
// Community groups with topics (Group.Topics) keep each topic's messages
// and mutes apart: send_group_msg, group_msg_recall and forbid_send_msg
// take TopicId as documented. The docs call MsgSeq "unique per group";
// the fake gives each topic its own sequence (topics are conversations of
// their own), the stricter case for de-duplication. What TIM answers for
// a missing or unknown TopicId is not documented: the fake refuses sends
// and recalls without a TopicId in a community with topics (10004), an
// unknown topic (10010) and a TopicId elsewhere (10004).
//
// Message size: the error-code table says 80002 means over 8 KB ("8000
// bytes" in the older limits page), the send_group_msg page says 12 KB.
// The fake refuses text over DefaultMaxMsgBytes (8000, the strictest) with
// 80002 "message too long"; SetMaxMsgBytes(12*1024) models the newer page.
//
// Bans, the all-member mute and the pre-join callbacks are described in
// sanctions.go, add_group_member and modify_group_msg in members.go. In
// short: ban_group_member and unban_group_member take at most 20 accounts
// (10005), SetBanAPI(false) models an edition or console without the ban
// API (10007), banned users cannot rejoin (add_group_member Result 0, left
// out of JoinDelivery); add_group_member fires the Invited join callback
// (JoinCallbacks).
// modify_group_base_info takes the all-member mute as MuteAllMember
// ("On"/"Off"), as the current docs and SDKs name it; older docs and
// client code call it ShutUpAllMember, which the fake ignores. The ban
// request samples in the docs are not valid JSON (the unban one also has
// a trailing comma); the fake parses the corrected form.
package timtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tencentyun/tls-sig-api-v2-golang/tencentyun"

	"gavel/platforms/internal/fakekit"
)

// Defaults of a new Server.
const (
	DefaultSDKAppID  = 1400000000
	DefaultSecretKey = "f1b1c4c8e0a7d24b9e3d6a1f5c2b8e7d0a9c3f6e1b4d7a2c5e8f0b3d6a9c2e5f"
	DefaultAdmin     = "administrator"
	// DefaultRate is TIM's default frequency limit per REST API.
	DefaultRate = 200
	// DefaultGroupMsgRate is TIM's per-group message limit.
	DefaultGroupMsgRate = 40
	// Every is the op of SetRate that sets every command without a rate
	// of its own.
	Every = fakekit.Every
	// MuteForever is MuteTime's permanent value.
	MuteForever = 4294967295
)

// Documented per-call limits.
const (
	maxDelete     = 100
	maxForbid     = 500
	maxRole       = 500
	maxGroupInfo  = 50
	maxRecall     = 10
	maxMemberInfo = 50  // get_specified_group_member_info
	maxPortrait   = 100 // portrait_get (the docs "recommend"; the fake enforces)
	maxAt         = 30
	// DefaultMaxMsgBytes is the text a message may carry: the strictest
	// documented figure (the error table's 8000 bytes for 80002; the
	// send_group_msg page now says 12 KB).
	DefaultMaxMsgBytes = 8000
	dedupWindow        = 5 * time.Minute
	maxBodyBytes       = 1 << 20
	groupSvc           = "group_open_http_svc"
	profileSvc         = "profile"
	tagNick            = "Tag_Profile_IM_Nick"
	errInjected        = "injected failure"
	typeAV             = "AVChatRoom"
	msgFreqCtrl        = "MsgFreqCtrl"
	roleOwner          = "Owner"
	roleAdmin          = "Admin"
	roleMember         = "Member"
	roleNotMember      = "NotMember"
)

// Group seeds one group. Owner and Admins are members too.
type Group struct {
	ID      string
	Type    string // Public, Work/Private, Meeting/ChatRoom, AVChatRoom, Community; default Public
	Owner   string
	Admins  []string
	Members []string
	// NameCards are members' group name cards (群名片), which clients show
	// (and insert after '@') before the nickname.
	NameCards map[string]string
	// Topics are the topic IDs of a Community group with topics (话题);
	// such a group's messages live in its topics, each with its own
	// MsgSeq sequence and its own mutes.
	Topics []string
	// MaxMemberNum caps the members (add_group_member answers 10014
	// beyond it); 0 is no cap.
	MaxMemberNum int
}

// Call is one recorded REST request: Op is the command
// ("delete_group_member"), Code the ErrorCode answered (0 = OK), Status
// always 200 (TIM answers errors in the body), Body decoded with numbers
// as json.Number.
type Call struct {
	fakekit.Call
	// Service is the path's service ("group_open_http_svc", "profile").
	Service string
}

// Reply is one message the fake accepted through send_group_msg.
type Reply struct {
	GroupID               string
	TopicID               string // the topic it was sent in; empty outside topics
	From                  string
	Text                  string
	Random                uint32
	MsgSeq                uint64
	AtAccounts            []string
	AtAll                 bool
	ForbidCallbackControl []string
	At                    time.Time
}

// MuteState is a member's mute as the fake holds it.
type MuteState struct {
	Muted   bool
	Forever bool
	Until   time.Time
}

type storedMsg struct {
	from     string
	at       time.Time // when it was sent, for the recall window
	recalled bool
	text     string // the TIMTextElem text, replaced by modify_group_msg
	edits    int    // how many times modify_group_msg replaced it
}

type group struct {
	Group
	roles   map[string]string // member → Owner/Admin/Member
	order   []string          // members in join order
	muted   map[string]int64  // account → unix seconds until; -1 forever
	msgs    map[uint64]*storedMsg
	nextSeq uint64
	topics  map[string]*topic
	banned  map[string]int64 // account → unix seconds the ban ends
	muteAll bool             // MuteAllMember "On"
}

// topic is one topic of a Community group: its messages and mutes.
type topic struct {
	msgs    map[uint64]*storedMsg
	nextSeq uint64
	muted   map[string]int64
}

// Server is the fake TIM REST API on 127.0.0.1.
//
// The embedded Kit gives Calls, CallsTo, Reset, FailNext, SetFailRate,
// SetDelay, SetRate and Throttled; ops are commands
// ("delete_group_member"). A failure code is an ErrorCode, answered with
// ActionStatus FAIL after authentication and the rate limit passed. Rates
// are token buckets of one second's worth of calls per command (the
// documented "calls per second" per API), DefaultRate by default.
type Server struct {
	*httptest.Server
	*fakekit.Kit[Call]

	SDKAppID  int
	SecretKey string

	mu          sync.Mutex
	now         func() time.Time
	admins      map[string]bool
	groups      map[string]*group
	expireSigs  int
	dropReplies int
	groupRate   int
	replies     []Reply
	recentRand  map[string]uint64 // from+"\x00"+random → MsgSeq
	recentAt    map[string]time.Time
	nicks       map[string]string // account → Tag_Profile_IM_Nick
	maxMsg      int
	banOff      bool          // the edition or console switch lacks the ban API
	recallAge   time.Duration // group_msg_recall's window; 0: none
	joins       []firedJoin   // join callbacks add_group_member fired
	add         addState      // add_group_member's limit and refusals
}

// NewServer starts a fake with DefaultSDKAppID, DefaultSecretKey and
// DefaultAdmin as the only App admin, at DefaultRate calls/s per API.
func NewServer() *Server {
	s := &Server{
		Kit:        fakekit.New[Call](fakekit.Bucket),
		SDKAppID:   DefaultSDKAppID,
		SecretKey:  DefaultSecretKey,
		now:        time.Now,
		admins:     map[string]bool{DefaultAdmin: true},
		groups:     make(map[string]*group),
		groupRate:  DefaultGroupMsgRate,
		recentRand: make(map[string]uint64),
		recentAt:   make(map[string]time.Time),
		nicks:      make(map[string]string),
		maxMsg:     DefaultMaxMsgBytes,
	}
	s.SetRate(Every, DefaultRate)
	s.Server = httptest.NewServer(http.HandlerFunc(s.handle))
	return s
}

// SetNick sets an account's nickname (profile field Tag_Profile_IM_Nick),
// which portrait_get returns and clients insert after '@' when the member
// has no name card in the group.
func (s *Server) SetNick(id, nick string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nicks[id] = nick
}

// SetMaxMsgBytes sets how many bytes of text send_group_msg accepts
// before answering 80002 (default DefaultMaxMsgBytes; 12*1024 models the
// newer docs).
func (s *Server) SetMaxMsgBytes(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxMsg = n
}

// AddAdmin makes id an App admin (console setting; up to 10 per app).
func (s *Server) AddAdmin(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.admins[id] = true
}

// SetNow replaces the clock that decides UserSig expiry, mute expiry and
// message times. Rate limiting always uses the wall clock.
func (s *Server) SetNow(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// SetGroupMsgRate sets the per-group message limit (a token bucket per
// group, whatever SetRate says); 0 disables it.
func (s *Server) SetGroupMsgRate(perSecond int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groupRate = perSecond
}

// AddGroup seeds or replaces a group.
func (s *Server) AddGroup(g Group) {
	if g.Type == "" {
		g.Type = "Public"
	}
	st := &group{
		Group:   g,
		roles:   make(map[string]string),
		muted:   make(map[string]int64),
		msgs:    make(map[uint64]*storedMsg),
		nextSeq: 1,
		topics:  make(map[string]*topic),
		banned:  make(map[string]int64),
	}
	for _, t := range g.Topics {
		st.topics[t] = &topic{msgs: make(map[uint64]*storedMsg), nextSeq: 1, muted: make(map[string]int64)}
	}
	st.join(g.Owner, roleOwner)
	for _, a := range g.Admins {
		st.join(a, roleAdmin)
	}
	for _, m := range g.Members {
		st.join(m, roleMember)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups[g.ID] = st
}

func (g *group) join(id, role string) {
	if id == "" {
		return
	}
	if _, ok := g.roles[id]; !ok {
		g.order = append(g.order, id)
	}
	g.roles[id] = role
}

// Removals returns how many delete_group_member calls named each account
// and were answered OK.
func (s *Server) Removals() map[string]int {
	out := map[string]int{}
	for _, c := range s.CallsTo("delete_group_member") {
		if c.Code != 0 {
			continue
		}
		accts, _ := c.Body["MemberToDel_Account"].([]any)
		for _, a := range accts {
			if id, ok := a.(string); ok {
				out[id]++
			}
		}
	}
	return out
}

// ExpireNextUserSig makes the next n UserSig checks fail with 70001
// (UserSig expired), whatever sig the caller sends.
func (s *Server) ExpireNextUserSig(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireSigs += n
}

// DropNextReplies makes the next n send_group_msg calls answer OK with
// MsgDropReason "MsgFreqCtrl" without delivering the message.
func (s *Server) DropNextReplies(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropReplies += n
}

// Replies returns the delivered send_group_msg messages.
func (s *Server) Replies() []Reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.replies)
}

// Members returns a group's members in join order (nil for an unknown group).
func (s *Server) Members(groupID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g, ok := s.groups[groupID]; ok {
		return slices.Clone(g.order)
	}
	return nil
}

// Role returns "Owner", "Admin", "Member" or "NotMember".
func (s *Server) Role(groupID, userID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g, ok := s.groups[groupID]; ok {
		if r, ok := g.roles[userID]; ok {
			return r
		}
	}
	return roleNotMember
}

// Mute returns a member's mute state at the fake's clock.
func (s *Server) Mute(groupID, userID string) MuteState {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[groupID]
	if !ok {
		return MuteState{}
	}
	return g.muteState(userID, s.now())
}

// TopicMute returns a member's mute in one topic of a Community group at
// the fake's clock (forbid_send_msg with TopicId); Mute is the group-wide
// one.
func (s *Server) TopicMute(groupID, topicID, userID string) MuteState {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[groupID]
	if !ok || g.topics[topicID] == nil {
		return MuteState{}
	}
	return muteIn(g.topics[topicID].muted, userID, s.now())
}

// RecalledIn returns the recalled MsgSeqs of one topic, ascending.
func (s *Server) RecalledIn(groupID, topicID string) []uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []uint64
	if g, ok := s.groups[groupID]; ok && g.topics[topicID] != nil {
		for seq, m := range g.topics[topicID].msgs {
			if m.recalled {
				out = append(out, seq)
			}
		}
	}
	slices.Sort(out)
	return out
}

// topicOf checks a request's TopicId against the group: the docs do not
// say what TIM answers for a topic it does not know or for a TopicId on a
// group without topics; the fake answers 10010 and 10004. A Community
// group with topics carries its messages in topics only, so send and
// recall there need a TopicId (10004 without one; the fake's stricter
// reading of "messages are sent in topics").
func (g *group) topicOf(topicID string, needed bool) (*topic, answer, bool) {
	switch {
	case topicID == "" && needed && len(g.topics) > 0:
		return nil, fail(10004, "this community has topics: TopicId is required"), false
	case topicID == "":
		return nil, answer{}, true
	case g.Type != "Community" || len(g.topics) == 0:
		return nil, fail(10004, "TopicId is only valid in a Community group with topics"), false
	case g.topics[topicID] == nil:
		return nil, fail(10010, "topic does not exist"), false
	}
	return g.topics[topicID], answer{}, true
}

func (g *group) muteState(id string, now time.Time) MuteState {
	return muteIn(g.muted, id, now)
}

func muteIn(muted map[string]int64, id string, now time.Time) MuteState {
	until, ok := muted[id]
	switch {
	case !ok:
		return MuteState{}
	case until < 0:
		return MuteState{Muted: true, Forever: true}
	case until > now.Unix():
		return MuteState{Muted: true, Until: time.Unix(until, 0)}
	default:
		return MuteState{}
	}
}

// Recalled returns the recalled MsgSeqs of a group, ascending.
func (s *Server) Recalled(groupID string) []uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []uint64
	if g, ok := s.groups[groupID]; ok {
		for seq, m := range g.msgs {
			if m.recalled {
				out = append(out, seq)
			}
		}
	}
	slices.Sort(out)
	return out
}

// answer is one REST answer: the envelope plus command fields.
type answer struct {
	code   int
	info   string
	fields map[string]any
}

func fail(code int, info string) answer { return answer{code: code, info: info} }

func success(fields map[string]any) answer { return answer{fields: fields} }

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes))
	call := Call{Call: fakekit.Call{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Raw: raw, Time: time.Now(), Status: http.StatusOK}}
	if rest, ok := strings.CutPrefix(r.URL.Path, "/v4/"); ok {
		call.Service, call.Op, _ = strings.Cut(rest, "/")
	}
	if len(bytes.TrimSpace(raw)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var m map[string]any
		if dec.Decode(&m) == nil {
			call.Body = m
		}
	}

	s.Wait(r.Context(), call.Op)
	s.mu.Lock()
	a := s.process(r, call)
	call.Code = a.code
	s.Record(call)
	s.mu.Unlock()

	out := map[string]any{"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0}
	if a.code != 0 {
		out["ActionStatus"], out["ErrorInfo"], out["ErrorCode"] = "FAIL", a.info, a.code
	}
	for k, v := range a.fields {
		out[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(out)
}

// process authenticates, rate-limits and dispatches one call; s.mu held.
func (s *Server) process(r *http.Request, call Call) answer {
	if r.Method != http.MethodPost {
		return fail(60002, "HTTP method must be POST")
	}
	if call.Service == "" || call.Op == "" || strings.Contains(call.Op, "/") {
		return fail(60009, "request resource error")
	}
	q := call.Query
	appID := q.Get("sdkappid")
	if appID == "" {
		return fail(60012, "sdkappid missing")
	}
	if appID != strconv.Itoa(s.SDKAppID) {
		return fail(60006, "invalid SDKAppID")
	}
	if _, err := strconv.ParseUint(q.Get("random"), 10, 32); err != nil {
		return fail(60002, "random must be a 32-bit unsigned integer")
	}
	if q.Get("contenttype") != "json" {
		return fail(60002, "contenttype must be json")
	}
	if a, failed := s.checkSig(q.Get("identifier"), q.Get("usersig")); failed {
		return a
	}
	if !s.admins[q.Get("identifier")] {
		return fail(60010, "request requires App admin permissions")
	}
	if !s.Allow(call.Op) {
		return fail(60007, "REST API call frequency limit exceeded")
	}
	if code, failed := s.Injected(call.Op); failed {
		return fail(code, errInjected)
	}
	switch {
	case call.Service == profileSvc && call.Op == "portrait_get":
	case call.Service == openimSvc && call.Op == opModifyGroupMsg:
	case call.Service != groupSvc:
		return fail(60009, "request resource error")
	}
	if call.Body == nil {
		return fail(60003, "Fail to Parse json data of body, Please check it")
	}
	switch call.Op {
	case "portrait_get":
		return s.portraitGet(call.Raw)
	case "get_specified_group_member_info":
		return s.specifiedMemberInfo(call.Raw)
	case "delete_group_member":
		return s.deleteMember(call.Raw)
	case "forbid_send_msg":
		return s.forbidSend(call.Raw)
	case "get_role_in_group":
		return s.roleInGroup(call.Raw)
	case "get_group_info":
		return s.groupInfo(call.Raw)
	case "get_group_muted_account":
		return s.mutedAccounts(call.Raw)
	case "send_group_msg":
		return s.sendMsg(call.Raw, q.Get("identifier"))
	case "group_msg_recall":
		return s.recall(call.Raw)
	case "ban_group_member":
		return s.ban(call.Raw)
	case "unban_group_member":
		return s.unban(call.Raw)
	case "get_group_ban_member":
		return s.banList(call.Raw)
	case "modify_group_base_info":
		return s.modifyGroup(call.Raw)
	case "add_group_member":
		return s.addMember(call.Raw, q.Get("identifier"))
	case opModifyGroupMsg:
		return s.modifyGroupMsg(call.Raw)
	default:
		return fail(10003, "invalid command")
	}
}

// checkSig verifies the UserSig with the official library.
func (s *Server) checkSig(identifier, sig string) (answer, bool) {
	if sig == "" {
		return fail(70002, "UserSig is empty"), true
	}
	if identifier == "" {
		return fail(70013, "identifier is empty"), true
	}
	if s.expireSigs > 0 {
		s.expireSigs--
		return fail(70001, "UserSig expired, please regenerate a new one"), true
	}
	err := tencentyun.VerifyUserSig(uint64(s.SDKAppID), s.SecretKey, identifier, sig, s.now())
	switch {
	case err == nil:
		return answer{}, false
	case errors.Is(err, tencentyun.ErrExpired):
		return fail(70001, "UserSig expired, please regenerate a new one"), true
	case errors.Is(err, tencentyun.ErrSigNotMatch):
		return fail(70009, "UserSig verification failed"), true
	case errors.Is(err, tencentyun.ErrIdentifierNotMatch):
		return fail(70013, "identifier in request does not match UserSig"), true
	case errors.Is(err, tencentyun.ErrSdkAppIDNotMatch):
		return fail(70014, "SDKAppID in request does not match UserSig"), true
	case errors.Is(err, tencentyun.ErrUserBufTypeNotMatch), errors.Is(err, tencentyun.ErrUserBufNotMatch):
		return fail(70005, "UserSig invalid"), true
	default:
		return fail(70003, "UserSig invalid"), true
	}
}

func decode(raw []byte, v any) bool {
	dec := json.NewDecoder(bytes.NewReader(raw))
	return dec.Decode(v) == nil
}

// lookup returns the group or the documented error.
func (s *Server) lookup(id string) (*group, answer, bool) {
	if id == "" {
		return nil, fail(10015, "invalid group ID"), false
	}
	g, ok := s.groups[id]
	if !ok {
		return nil, fail(10010, "group does not exist or has been disbanded"), false
	}
	return g, answer{}, true
}

func checkAccounts(list []string, limit int) (answer, bool) {
	if len(list) == 0 {
		return fail(10004, "account list is empty"), false
	}
	if len(list) > limit {
		return fail(10005, "too many accounts in the request (limit "+strconv.Itoa(limit)+")"), false
	}
	for _, a := range list {
		if a == "" {
			return fail(10004, "empty account"), false
		}
	}
	return answer{}, true
}

func isWork(t string) bool { return t == "Work" || t == "Private" }

func (s *Server) deleteMember(raw []byte) answer {
	var req struct {
		GroupID string   `json:"GroupId"`
		Members []string `json:"MemberToDel_Account"`
		Silence *int     `json:"Silence"`
		Reason  *string  `json:"Reason"`
	}
	if !decode(raw, &req) {
		return fail(10004, "invalid parameter")
	}
	g, a, found := s.lookup(req.GroupID)
	if !found {
		return a
	}
	if a, ok := checkAccounts(req.Members, maxDelete); !ok {
		return a
	}
	if req.Silence != nil && *req.Silence != 0 && *req.Silence != 1 {
		return fail(10004, "Silence must be 0 or 1")
	}
	if g.Type == typeAV {
		return fail(10004, "delete_group_member is not supported for AVChatRoom groups")
	}
	// Not documented: the fake refuses to remove the owner.
	if slices.Contains(req.Members, g.Owner) {
		return fail(10004, "the group owner cannot be removed")
	}
	// Non-members: OK, as documented. One pass over the join order for the
	// whole batch, so a 100-member batch in a 20,000-member group costs
	// the fake microseconds, not the milliseconds that would skew egress
	// benchmarks.
	gone := make(map[string]bool, len(req.Members))
	for _, m := range req.Members {
		if _, ok := g.roles[m]; ok {
			gone[m] = true
			delete(g.roles, m)
		}
	}
	if len(gone) > 0 {
		g.order = slices.DeleteFunc(g.order, func(m string) bool { return gone[m] })
	}
	return success(nil)
}

func (s *Server) forbidSend(raw []byte) answer {
	var req struct {
		GroupID  string       `json:"GroupId"`
		Members  []string     `json:"Members_Account"`
		MuteTime *json.Number `json:"MuteTime"`
		TopicID  string       `json:"TopicId"`
	}
	if !decode(raw, &req) {
		return fail(10004, "invalid parameter")
	}
	g, a, found := s.lookup(req.GroupID)
	if !found {
		return a
	}
	if a, ok := checkAccounts(req.Members, maxForbid); !ok {
		return a
	}
	if req.MuteTime == nil {
		return fail(10004, "MuteTime is required")
	}
	secs, err := strconv.ParseUint(req.MuteTime.String(), 10, 32)
	if err != nil {
		return fail(10004, "MuteTime must be a 32-bit unsigned integer")
	}
	// Not documented which code Work groups answer; the fake uses 10004.
	if isWork(g.Type) {
		return fail(10004, "forbid_send_msg is not supported for Work groups")
	}
	t, a, ok := g.topicOf(req.TopicID, false)
	if !ok {
		return a
	}
	muted := g.muted
	if t != nil {
		muted = t.muted // documented: TopicId mutes in that topic
	}
	for _, m := range req.Members {
		switch secs {
		case 0:
			delete(muted, m)
		case MuteForever:
			muted[m] = -1
		default:
			muted[m] = s.now().Unix() + int64(secs)
		}
	}
	return success(nil)
}

func (s *Server) roleInGroup(raw []byte) answer {
	var req struct {
		GroupID  string   `json:"GroupId"`
		Accounts []string `json:"User_Account"`
	}
	if !decode(raw, &req) {
		return fail(10004, "invalid parameter")
	}
	g, a, found := s.lookup(req.GroupID)
	if !found {
		return a
	}
	if a, ok := checkAccounts(req.Accounts, maxRole); !ok {
		return a
	}
	if g.Type == typeAV {
		return fail(10007, "get_role_in_group is not supported for AVChatRoom groups")
	}
	list := make([]map[string]any, 0, len(req.Accounts))
	for _, u := range req.Accounts {
		role, ok := g.roles[u]
		if !ok {
			role = roleNotMember
		}
		list = append(list, map[string]any{"Member_Account": u, "Role": role})
	}
	return success(map[string]any{"UserIdList": list})
}

func (s *Server) groupInfo(raw []byte) answer {
	var req struct {
		GroupIDList []string `json:"GroupIdList"`
	}
	if !decode(raw, &req) || len(req.GroupIDList) == 0 {
		return fail(10004, "GroupIdList is required")
	}
	if len(req.GroupIDList) > maxGroupInfo {
		return fail(10004, "at most 50 groups per request")
	}
	now := s.now()
	infos := make([]map[string]any, 0, len(req.GroupIDList))
	for _, id := range req.GroupIDList {
		g, ok := s.groups[id]
		if !ok {
			infos = append(infos, map[string]any{"GroupId": id, "ErrorCode": 10010,
				"ErrorInfo": "group does not exist or has been disbanded"})
			continue
		}
		info := map[string]any{
			"GroupId": id, "ErrorCode": 0, "ErrorInfo": "", "Type": g.Type,
			"Owner_Account": g.Owner, "MemberNum": len(g.order), "MuteAllMember": onOff(g.muteAll),
		}
		if g.Type != typeAV {
			members := make([]map[string]any, 0, len(g.order))
			for _, m := range g.order {
				until := int64(0)
				if st := g.muteState(m, now); st.Forever {
					until = MuteForever
				} else if st.Muted {
					until = st.Until.Unix()
				}
				members = append(members, map[string]any{"Member_Account": m, "Role": g.roles[m], "MuteUntil": until})
			}
			info["MemberList"] = members
		}
		infos = append(infos, info)
	}
	return success(map[string]any{"GroupInfo": infos})
}

func (s *Server) mutedAccounts(raw []byte) answer {
	var req struct {
		GroupID string `json:"GroupId"`
	}
	if !decode(raw, &req) {
		return fail(10004, "invalid parameter")
	}
	g, a, found := s.lookup(req.GroupID)
	if !found {
		return a
	}
	now := s.now()
	ids := make([]string, 0, len(g.muted))
	for id := range g.muted {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	list := []map[string]any{}
	for _, id := range ids {
		st := g.muteState(id, now)
		switch {
		case st.Forever:
			list = append(list, map[string]any{"Member_Account": id, "MutedUntil": MuteForever})
		case st.Muted:
			list = append(list, map[string]any{"Member_Account": id, "MutedUntil": st.Until.Unix()})
		}
	}
	return success(map[string]any{"GroupId": g.ID, "MutedAccountList": list})
}

func (s *Server) knownAccount(id string) bool {
	if s.admins[id] {
		return true
	}
	for _, g := range s.groups {
		if _, ok := g.roles[id]; ok {
			return true
		}
	}
	return false
}

func (s *Server) sendMsg(raw []byte, identifier string) answer {
	var req struct {
		GroupID     string       `json:"GroupId"`
		Random      *json.Number `json:"Random"`
		FromAccount string       `json:"From_Account"`
		MsgBody     []msgElem    `json:"MsgBody"`
		GroupAtInfo []struct {
			GroupAtAllFlag int    `json:"GroupAtAllFlag"`
			GroupAtAccount string `json:"GroupAt_Account"`
		} `json:"GroupAtInfo"`
		ForbidCallbackControl []string `json:"ForbidCallbackControl"`
		TopicID               string   `json:"TopicId"`
	}
	if !decode(raw, &req) {
		return fail(10004, "invalid parameter")
	}
	g, a, found := s.lookup(req.GroupID)
	if !found {
		return a
	}
	if req.Random == nil {
		return fail(10004, "Random is required")
	}
	random, err := strconv.ParseUint(req.Random.String(), 10, 32)
	if err != nil {
		return fail(10004, "Random must be a 32-bit unsigned integer")
	}
	if len(req.MsgBody) == 0 {
		return fail(10004, "MsgBody is required")
	}
	t, a, ok := g.topicOf(req.TopicID, true)
	if !ok {
		return a
	}
	text, bad := s.bodyText(req.MsgBody, 10004)
	if bad != nil {
		return *bad
	}
	if len(req.GroupAtInfo) > maxAt {
		return fail(10053, "too many @ targets")
	}
	from := req.FromAccount
	if from == "" {
		from = identifier // documented default: the calling App admin
	}
	if !s.knownAccount(from) {
		return fail(10019, "From_Account does not exist")
	}
	now := s.now()
	if g.muteState(from, now).Muted || t != nil && muteIn(t.muted, from, now).Muted {
		return fail(10017, "sender is muted")
	}
	if g.muteAll && !s.admins[from] && g.roles[from] != roleOwner && g.roles[from] != roleAdmin {
		return fail(10017, "all members are muted")
	}
	if !s.AllowN("group:"+g.ID, s.groupRate, 1) {
		return fail(10023, "message frequency limit reached")
	}
	if s.dropReplies > 0 {
		s.dropReplies--
		return success(map[string]any{"MsgTime": now.Unix(), "MsgSeq": g.nextSeq, "MsgDropReason": msgFreqCtrl})
	}
	key := from + "\x00" + strconv.FormatUint(random, 10)
	if at, dup := s.recentAt[key]; dup && now.Sub(at) < dedupWindow {
		return success(map[string]any{"MsgTime": at.Unix(), "MsgSeq": s.recentRand[key]})
	}
	seq := g.storeIn(t, from, text, now)
	s.recentAt[key], s.recentRand[key] = now, seq
	rep := Reply{GroupID: g.ID, TopicID: req.TopicID, From: from, Text: text, Random: uint32(random), MsgSeq: seq,
		ForbidCallbackControl: req.ForbidCallbackControl, At: now}
	for _, at := range req.GroupAtInfo {
		if at.GroupAtAllFlag == 1 {
			rep.AtAll = true
		} else {
			rep.AtAccounts = append(rep.AtAccounts, at.GroupAtAccount)
		}
	}
	s.replies = append(s.replies, rep)
	return success(map[string]any{"MsgTime": now.Unix(), "MsgSeq": seq})
}

// storeIn stores a message in topic t, or in the group when t is nil.
func (g *group) storeIn(t *topic, from, text string, at time.Time) uint64 {
	if t == nil {
		return g.store(from, text, at)
	}
	seq := t.nextSeq
	t.nextSeq++
	t.msgs[seq] = &storedMsg{from: from, at: at, text: text}
	return seq
}

func (g *group) store(from, text string, at time.Time) uint64 {
	seq := g.nextSeq
	g.nextSeq++
	g.msgs[seq] = &storedMsg{from: from, at: at, text: text}
	return seq
}

func (s *Server) recall(raw []byte) answer {
	var req struct {
		GroupID    string `json:"GroupId"`
		MsgSeqList []struct {
			MsgSeq uint64 `json:"MsgSeq"`
		} `json:"MsgSeqList"`
		TopicID string `json:"TopicId"`
	}
	if !decode(raw, &req) {
		return fail(10004, "invalid parameter")
	}
	g, a, found := s.lookup(req.GroupID)
	if !found {
		return a
	}
	if len(req.MsgSeqList) == 0 || len(req.MsgSeqList) > maxRecall {
		return fail(10004, "MsgSeqList must hold 1 to 10 entries")
	}
	t, a, ok := g.topicOf(req.TopicID, true)
	if !ok {
		return a
	}
	msgs := g.msgs
	if t != nil {
		msgs = t.msgs
	}
	list := make([]map[string]any, 0, len(req.MsgSeqList))
	for _, item := range req.MsgSeqList {
		code := 0
		m, ok := msgs[item.MsgSeq]
		switch {
		case g.Type == typeAV:
			code = 10033
		case !ok || m.recalled:
			code = 10030
		case s.recallAge > 0 && s.now().Sub(m.at) > s.recallAge:
			code = 10031
		default:
			m.recalled = true
		}
		list = append(list, map[string]any{"MsgSeq": item.MsgSeq, "RetCode": code})
	}
	return success(map[string]any{"RecallRetList": list})
}

// specifiedMemberInfo serves get_specified_group_member_info: at most 50
// accounts; MemberInfoFilter picks the fields (Member_Account always).
// Accounts that are not members are left out of MemberList (the docs do
// not say what TIM does with them). Not for AVChatRoom; the code TIM
// answers there is not documented, the fake uses 10007 as
// get_role_in_group does.
func (s *Server) specifiedMemberInfo(raw []byte) answer {
	var req struct {
		GroupID  string   `json:"GroupId"`
		Accounts []string `json:"Member_List_Account"`
		Filter   []string `json:"MemberInfoFilter"`
	}
	if !decode(raw, &req) {
		return fail(10004, "invalid parameter")
	}
	g, a, found := s.lookup(req.GroupID)
	if !found {
		return a
	}
	if a, ok := checkAccounts(req.Accounts, maxMemberInfo); !ok {
		return a
	}
	if g.Type == typeAV {
		return fail(10007, "get_specified_group_member_info is not supported for AVChatRoom groups")
	}
	want := func(field string) bool { return len(req.Filter) == 0 || slices.Contains(req.Filter, field) }
	now := s.now()
	list := make([]map[string]any, 0, len(req.Accounts))
	for _, id := range req.Accounts {
		role, ok := g.roles[id]
		if !ok {
			continue
		}
		m := map[string]any{"Member_Account": id}
		if want("Role") {
			m["Role"] = role
		}
		if want("NameCard") {
			m["NameCard"] = g.NameCards[id]
		}
		if want("MuteUntil") {
			until := int64(0)
			if st := g.muteState(id, now); st.Forever {
				until = MuteForever
			} else if st.Muted {
				until = st.Until.Unix()
			}
			m["MuteUntil"] = until
		}
		list = append(list, m)
	}
	return success(map[string]any{"MemberList": list})
}

// portraitGet serves profile/portrait_get for the nickname tag: at most
// 100 accounts (the docs only recommend it; the fake refuses more with
// 40001, its code for a bad request). An account the app does not know
// gets ResultCode 40003 in its item, as the profile error table says
// ("account does not exist").
func (s *Server) portraitGet(raw []byte) answer {
	var req struct {
		To      []string `json:"To_Account"`
		TagList []string `json:"TagList"`
	}
	if !decode(raw, &req) || len(req.To) == 0 || len(req.TagList) == 0 {
		return fail(40001, "To_Account and TagList are required")
	}
	if len(req.To) > maxPortrait {
		return fail(40001, "too many accounts (limit 100)")
	}
	items := make([]map[string]any, 0, len(req.To))
	for _, id := range req.To {
		if !s.knownAccount(id) {
			items = append(items, map[string]any{"To_Account": id, "ResultCode": 40003, "ResultInfo": "account does not exist"})
			continue
		}
		var profile []map[string]any
		for _, tag := range req.TagList {
			if tag == tagNick {
				profile = append(profile, map[string]any{"Tag": tagNick, "Value": s.nicks[id]})
			}
		}
		items = append(items, map[string]any{"To_Account": id, "ProfileItem": profile, "ResultCode": 0, "ResultInfo": ""})
	}
	return success(map[string]any{"UserProfileItem": items, "ErrorDisplay": ""})
}

// MentionText returns what a client inserts in the text when its user
// picks account from the @ list of a group: '@' and the member's name
// card, else nickname, else account.
func (s *Server) MentionText(groupID, account string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g, ok := s.groups[groupID]; ok && g.NameCards[account] != "" {
		return "@" + g.NameCards[account]
	}
	if n := s.nicks[account]; n != "" {
		return "@" + n
	}
	return "@" + account
}

// At is a member picked from a client's @ list, for Say.
type At string

// Say returns the Message a client sends when its user types parts in
// order, separated by spaces: an At part becomes the member's MentionText
// (name cards and nicknames may hold spaces) and an entry of GroupAtInfo.
func (s *Server) Say(groupID, from string, parts ...any) Message {
	m := Message{GroupID: groupID, From: from}
	words := make([]string, 0, len(parts))
	for _, p := range parts {
		switch v := p.(type) {
		case At:
			words = append(words, s.MentionText(groupID, string(v)))
			m.AtAccounts = append(m.AtAccounts, string(v))
		case string:
			words = append(words, v)
		default:
			panic("timtest: Say takes strings and At values")
		}
	}
	m.Text = strings.Join(words, " ")
	return m
}

// msgElem is one element of a message's MsgBody.
type msgElem struct {
	MsgType    string          `json:"MsgType"`
	MsgContent json.RawMessage `json:"MsgContent"`
}

// bodyText is the text of a MsgBody's TIMTextElem elements; a malformed
// element is refused with code (send_group_msg 10004, modify_group_msg
// 20001), a text over the size limit with 80002.
func (s *Server) bodyText(body []msgElem, code int) (string, *answer) {
	var text strings.Builder
	for _, el := range body {
		if el.MsgType == "" || len(el.MsgContent) == 0 {
			a := fail(code, "invalid MsgBody element")
			return "", &a
		}
		if el.MsgType == "TIMTextElem" {
			var tc struct {
				Text *string `json:"Text"`
			}
			if json.Unmarshal(el.MsgContent, &tc) != nil || tc.Text == nil {
				a := fail(code, "TIMTextElem needs MsgContent.Text")
				return "", &a
			}
			text.WriteString(*tc.Text)
		}
	}
	if text.Len() > s.maxMsg {
		a := fail(80002, "message too long")
		return "", &a
	}
	return text.String(), nil
}
