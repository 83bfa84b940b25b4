// Package feishutest is an in-memory fake of the Feishu Open Platform APIs
// Gavel calls (tenant token, bot info, chat info, chat member removal,
// message reply/create/recall, the chat's speech mode, chat history, one
// message), served over real HTTP by httptest, plus builders of signed,
// encrypted webhook deliveries and the client-side acts tests need (a user
// sending, users rejoining): see sanctions.go for the routes of issue #16,
// cards.go (interactive cards, their patches and button presses) and
// members.go (members added) for those of issue #17, and ws.go for the
// long connection (endpoint discovery and the SDK's WebSocket frames:
// Push, DropConns, Acks, Redeliver).
//
// The fake enforces what the documentation states: Bearer tenant tokens on
// every API (99991663 otherwise), ≤ 50 users per removal (232001), owner
// protection (232076), tenant isolation (232010), the bot's rights (232014,
// 230026, 232017 for a speech-mode change by a bot that does not own the
// chat, 230018 for a bot the speech mode silences), recalls within a year
// (230009), 232019 for parallel removals in one chat, and a per-API limit of
// 50 calls/s (HTTP 429, code 99991400, x-ogw-ratelimit-reset) plus 5 messages/s
// per chat. Every answer has Content-Type: application/json.
//
// Modelled from the documentation, with the choices made where it is vague:
//   - GET chat omits owner_id (and owner_id_type) when a bot owns the chat
//     (SDK model comment "当群主是机器人时不返回该字段") and for p2p chats.
//   - Recalling others' messages is allowed to the chat's owner, managers
//     and creator (message/delete page, "usage limits"); nothing in any API
//     names the creator, so Chat.BotIsCreator is visible only through
//     recalls. The same page's opening paragraph (and the SDK comment on
//     Message.Delete) names only the owner ("群聊的群主可以撤回群内指定的
//     消息"); the fake follows the fuller list, which the bot must not
//     under-use.
//     Removing members as creator needs im:chat:operate_as_owner, which the
//     fake does not model: creators are refused (232014), the stricter case.
//   - A reply to a recalled message answers 230011 ("The message is
//     recalled."); a recall of one answers 230110. The reply page lists
//     230011 but not 230110; the recall page the reverse.
//   - Send and reply limit text messages to "150 KB" of request body; the
//     fake counts 150 000 bytes of the whole body (the smaller reading) and
//     answers 230025.
//
// Re-pushed events (Server.RePush). Feishu re-pushes an event whose
// delivery failed after 15 s, 5 min, 1 h and 6 h (event subscription page,
// revision 2025-04-07; older revisions and third-party copies say 5 s for
// the first retry, and 1 s instead of 3 s for the answer). Nothing in the
// documentation says whether a re-push carries a fresh
// X-Lark-Request-Timestamp and signature or the first push's, nor any
// replay window (none is documented at all). The official SDKs check the
// signature and no timestamp age (Go SDK v3.12.0 event/dispatcher), which
// fits either. larksuite/oapi-sdk-java#45 ("事件多次推送", 2021) reports
// the same event pushed several times but shows only a screenshot; no
// issue or page found (searched: GitHub issues, docs) states how re-pushes
// are signed. The fake therefore offers both (OriginalStamp, FreshStamp),
// and keeps header.create_time, which is the event's, unchanged.
package feishutest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"gavel/platforms/internal/fakekit"
)

// Operation names used by Calls, CallsTo, FailNext, SetDelay and SetRate.
const (
	OpToken         = "auth.tenant_access_token"
	OpBotInfo       = "bot.info"
	OpChatGet       = "chat.get"
	OpMembersDelete = "chat.members.delete"
	OpMessageCreate = "message.create"
	OpMessageReply  = "message.reply"
	OpMessageDelete = "message.delete"
	// Sanctions (issue #16): speech mode, chat history, one message.
	OpModerationGet    = "chat.moderation.get"
	OpModerationUpdate = "chat.moderation.update"
	OpMessageList      = "message.list"
	OpMessageGet       = "message.get"
	// Posts (issue #17): card patches and members added (cards.go,
	// members.go).
	OpMessagePatch = "message.patch"
	OpMembersAdd   = "chat.members.create"
	// Every is the op of SetRate that sets every API without a rate of
	// its own.
	Every            = fakekit.Every
	opUnknown        = "unknown"
	maxRemoveBatch   = 50
	perAPIPerSecond  = 50
	perChatPerSecond = 5
	tokenTTL         = 2 * time.Hour
	tokenRenewWithin = 30 * time.Minute
	maxTextBytes     = 150_000 // "150 KB"; the unit is not defined: the smaller reading
)

// Chat is one chat in the fake's state.
type Chat struct {
	ID     string
	Name   string
	Tenant string // tenant_key; defaults to the server's TenantKey
	Mode   string // chat_mode: group (default), topic, p2p
	// OwnerID is the owner's open_id. Ignored when BotIsOwner.
	OwnerID string
	// Managers are the user managers' open_ids.
	Managers []string
	// Members are the users' open_ids (owner and managers included or not;
	// the fake adds them).
	Members []string
	// BotInChat says whether Gavel's bot is in the chat (default true via
	// AddChat unless BotOut is set).
	BotOut bool
	// BotIsOwner: Gavel's bot owns the chat. GET chat then omits owner_id
	// (documented: "not returned when the owner is a bot").
	BotIsOwner   bool
	BotIsManager bool
	// BotIsCreator: Gavel's bot created the chat (and handed ownership to
	// OwnerID). Feishu lets a chat's creator recall others' messages, but
	// no API field names the creator. Creator kicks need the scope
	// im:chat:operate_as_owner, which the fake does not model: it refuses
	// them (232014), the stricter reading.
	BotIsCreator bool
	// OwnerIsOtherBot: another app's bot owns the chat; owner_id is
	// omitted as for BotIsOwner, but Gavel's bot has no rights from it.
	OwnerIsOtherBot bool
	// CreatorOperateAsOwner: the app holds im:chat:operate_as_owner, so a
	// creator bot (BotIsCreator) may change the speech mode as the owner
	// may (PUT …/moderation).
	CreatorOperateAsOwner bool
	// Moderation is the speech mode (moderation_setting): all_members
	// (default), only_owner (owner and managers) or moderator_list.
	Moderation string
	// Moderators are the open_ids on the moderator_list whitelist.
	Moderators []string
	// AddMemberPermission is add_member_permission: all_members (default)
	// or only_owner (the owner and managers, or the creator bot with
	// CreatorOperateAsOwner, may add members).
	AddMemberPermission string
	// ApprovalRequired is membership_approval "approval_required": users
	// added wait for the owner's or a manager's approval (Pending).
	ApprovalRequired bool
	// External is an external chat (users of other tenants may be added).
	External bool
	// MaxMembers is the member limit (232013); 0 is Feishu's default 5000.
	MaxMembers int
	// Pending are the users waiting for approval to join.
	Pending []string
}

// Call is one API request the fake received: Status is the HTTP status,
// Code the Feishu code answered, Token the bearer token presented.
type Call struct {
	fakekit.Call
}

// Message is a message known to the fake: seeded user messages and the
// bot's replies.
type Message struct {
	ID       string
	ChatID   string
	SenderID string // open_id, or the app_id for the bot's own messages
	FromBot  bool
	MsgType  string
	Content  string // JSON string, e.g. {"text":"…"}
	ParentID string // replied-to message, for replies
	UUID     string
	Deleted  bool
	Created  time.Time
	// Updated is set once the message was patched (cards).
	Updated bool
}

// Text returns the "text" of a text message's content, and for a card
// (msg_type interactive) what it shows as text (cardText).
func (m Message) Text() string {
	if m.MsgType == msgInteractive {
		return cardText(m.Content)
	}
	var c struct {
		Text string `json:"text"`
	}
	_ = json.Unmarshal([]byte(m.Content), &c)
	return c.Text
}

// Server is the fake. Its exported credential fields are random per server,
// so adapters built for different servers never share tokens.
//
// The embedded Kit gives Calls, CallsTo, Reset, FailNext, SetFailRate,
// SetDelay, SetRate and Throttled. A failure code < 600 is an HTTP status
// (429 answers code 99991400 with x-ogw-ratelimit-reset; 5xx a server
// error); anything else is a Feishu code answered with HTTP 400 (99991400
// with the reset header too, as older APIs do). Injected failures are taken
// after the token check and before the rate limit. SetRate(Every, n)
// changes the per-API limit (default 50/s, counted in a sliding second);
// the 5 messages/s per chat stay whatever it says.
type Server struct {
	*fakekit.Kit[Call]

	URL               string
	AppID             string
	AppSecret         string
	TenantKey         string
	BotOpenID         string
	VerificationToken string
	EncryptKey        string

	srv *httptest.Server
	lc  *longConn // the long connection (ws.go)

	mu         sync.Mutex
	tokens     map[string]time.Time // token → expiry
	chats      map[string]*Chat
	messages   map[string]*Message
	order      []string        // message IDs in creation order
	inflight   map[string]bool // chats with a removal in progress
	resetAfter int
	seq        int
	// recallLimit is how old a message may be to be recalled (230009).
	recallLimit time.Duration
	// users are the user states set with SetUser (members.go); every other
	// open_id is an active user of the server's tenant.
	users map[string]UserState
}

// NewServer starts a fake on 127.0.0.1. Close it when done.
func NewServer() *Server {
	s := &Server{
		Kit:               fakekit.New[Call](fakekit.Window),
		AppID:             "cli_" + randomHex(8),
		AppSecret:         randomHex(16),
		TenantKey:         "tenant_" + randomHex(4),
		BotOpenID:         "ou_bot" + randomHex(8),
		VerificationToken: "vt_" + randomHex(12),
		EncryptKey:        "ek_" + randomHex(12),
		tokens:            map[string]time.Time{},
		chats:             map[string]*Chat{},
		messages:          map[string]*Message{},
		inflight:          map[string]bool{},
		resetAfter:        1,
		recallLimit:       maxRecallAge,
		users:             map[string]UserState{},
		lc:                newLongConn(),
	}
	s.SetRate(Every, perAPIPerSecond)
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close shuts the server down, long connections included.
func (s *Server) Close() {
	s.DropConns()
	s.srv.Close()
}

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// AddChat seeds (or replaces) a chat. The owner and managers become members.
func (s *Server) AddChat(c Chat) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cc := c
	if cc.Tenant == "" {
		cc.Tenant = s.TenantKey
	}
	if cc.Mode == "" {
		cc.Mode = "group"
	}
	if cc.Name == "" {
		cc.Name = cc.ID
	}
	cc.Managers = slices.Clone(c.Managers)
	cc.Members = slices.Clone(c.Members)
	cc.Moderators = slices.Clone(c.Moderators)
	if cc.Moderation == "" {
		cc.Moderation = moderationAll
	}
	if cc.AddMemberPermission == "" {
		cc.AddMemberPermission = permissionAll
	}
	cc.Pending = slices.Clone(c.Pending)
	staff := slices.Clone(cc.Managers)
	if !cc.botOwned() && cc.OwnerID != "" {
		staff = append(staff, cc.OwnerID)
	}
	for _, u := range staff {
		if !slices.Contains(cc.Members, u) {
			cc.Members = append(cc.Members, u)
		}
	}
	s.chats[cc.ID] = &cc
}

// botOwned reports whether a bot (Gavel's or another) owns the chat, in
// which case GET chat omits owner_id.
func (c *Chat) botOwned() bool { return c.BotIsOwner || c.OwnerIsOtherBot }

// Chat returns a copy of a chat's current state.
func (s *Server) Chat(id string) (Chat, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.chats[id]
	if !ok {
		return Chat{}, false
	}
	cc := *c
	cc.Managers = slices.Clone(c.Managers)
	cc.Members = slices.Clone(c.Members)
	cc.Moderators = slices.Clone(c.Moderators)
	cc.Pending = slices.Clone(c.Pending)
	return cc, true
}

// Members returns the chat's current members.
func (s *Server) Members(chatID string) []string {
	c, _ := s.Chat(chatID)
	return c.Members
}

// SetBotRights changes whether the bot owns or manages a chat.
func (s *Server) SetBotRights(chatID string, owner, manager bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.chats[chatID]; ok {
		c.BotIsOwner, c.BotIsManager = owner, manager
	}
}

// AddMessage records a user message in a chat (so that it can be recalled)
// and returns its message_id.
func (s *Server) AddMessage(chatID, senderID, msgType, content string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addMessageLocked(&Message{ChatID: chatID, SenderID: senderID, MsgType: msgType, Content: content, Created: time.Now()})
}

func (s *Server) addMessageLocked(m *Message) string {
	s.seq++
	if m.ID == "" {
		m.ID = fmt.Sprintf("om_%s%04d", randomHex(8), s.seq)
	}
	s.messages[m.ID] = m
	s.order = append(s.order, m.ID)
	return m.ID
}

// RecallMessage marks a message recalled by its sender or another admin:
// replies to it then answer 230011, recalls 230110.
func (s *Server) RecallMessage(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.messages[id]; ok {
		m.Deleted = true
	}
}

// Message returns a copy of a message.
func (s *Server) Message(id string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.messages[id]
	if !ok {
		return Message{}, false
	}
	return *m, true
}

// Replies returns the bot's messages (replies and chat messages) in order.
func (s *Server) Replies() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, id := range s.order {
		if m := s.messages[id]; m.FromBot {
			out = append(out, *m)
		}
	}
	return out
}

// RemoveBatches returns the id_list of every accepted or refused
// chat-members DELETE, in order.
func (s *Server) RemoveBatches() [][]string {
	var out [][]string
	for _, c := range s.CallsTo(OpMembersDelete) {
		out = append(out, stringList(c.Body["id_list"]))
	}
	return out
}

// SetRateLimitReset sets the x-ogw-ratelimit-reset value (seconds) of
// throttled answers; default 1.
func (s *Server) SetRateLimitReset(seconds int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetAfter = seconds
}

// RevokeTokens invalidates every issued tenant token (a rotated secret or an
// expired token): API calls then answer 99991663 until a new one is fetched.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

// Messages of the documented error codes the fake answers.
var errMsgs = map[int]string{
	10014:    "app secret invalid",
	99991400: "request trigger frequency limit",
	99991661: "Missing access token for authorization. Please make a request with token attached.",
	99991663: "Invalid access token for authorization. Please make a request with token attached.",
	232001:   "Your request contains an invalid request parameter.",
	232006:   "Your request specifies a chat_id which is invalid.",
	232010:   "Operator and chat can NOT be in different tenants.",
	232011:   "Operator can NOT be out of the chat.",
	232014:   "The token used in the request does NOT have the permissions necessary to complete the request.",
	232019:   "The request has been rate limited.",
	232027:   "There are no valid members in the ID list specified in your request.",
	232076:   "Can't kick chat owner.",
	230001:   "Your request contains an invalid request parameter.",
	230002:   "The bot can not be outside the group.",
	230011:   "The message is recalled.",
	230009:   "Message has expired when recall message.",
	230018:   "These operations are NOT allowed at current group settings.",
	232015:   "Your request specifies a member_id_type which is NOT supported.",
	232017:   "No Permission: If the operator is NOT owner or creator with the scope, the operator can NOT complete the request.",
	230020:   "This operation triggers the frequency limit.",
	230025:   "The length of the message content reaches its limit.",
	230026:   "No permission to recall this message.",
	230110:   "Action unavailable as the message has been deleted.",
	// Cards and members added (issue #17; cards.go, members.go).
	230031: "Message can only be modified within 14 days after sending.",
	230099: "Failed to create card content.",
	232008: "Your request specifies a chat whose type is NOT supported currently.",
	232013: "You have reached the limit of maximum number of members a chat can have.",
	232043: "Your request contains unavailable ids.",
}

type answer struct {
	status int
	body   map[string]any
	header http.Header
}

func ok(data any) answer {
	body := map[string]any{"code": 0, "msg": "success"}
	if data != nil {
		body["data"] = data
	}
	return answer{status: http.StatusOK, body: body}
}

func fail(code int) answer {
	return answer{status: http.StatusBadRequest, body: map[string]any{"code": code, "msg": errMsgs[code]}}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if s.serveLongConn(w, r) {
		return
	}
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var body map[string]any
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &body)
	}
	op, params := route(r.Method, r.URL.Path)

	// A removal in a chat where another one is still running answers 232019.
	s.mu.Lock()
	busy, mine := false, false
	if op == OpMembersDelete || op == OpMembersAdd {
		busy = s.inflight[params]
		if !busy {
			s.inflight[params], mine = true, true
		}
	}
	s.mu.Unlock()
	// SetDelay(OpMembersDelete, d) holds the chat busy for d (232019).
	s.Wait(r.Context(), op)

	s.mu.Lock()
	if mine {
		delete(s.inflight, params)
	}
	a := s.handleLocked(op, params, r, body, len(raw), busy)
	s.Record(Call{fakekit.Call{Op: op, Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Body: body, Raw: raw,
		Token: strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "),
		Time:  time.Now(), Status: a.status, Code: codeOf(a.body)}})
	s.mu.Unlock()

	for k, v := range a.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Tt-Logid", "fake-"+randomHex(6))
	w.WriteHeader(a.status)
	_ = json.NewEncoder(w).Encode(a.body)
}

func codeOf(body map[string]any) int {
	if n, ok := body["code"].(int); ok {
		return n
	}
	return 0
}

// route maps a request to an operation and its path parameter.
func route(method, path string) (op, param string) {
	const im = "/open-apis/im/v1/"
	switch {
	case method == http.MethodPost && path == "/open-apis/auth/v3/tenant_access_token/internal":
		return OpToken, ""
	case method == http.MethodGet && path == "/open-apis/bot/v3/info":
		return OpBotInfo, ""
	case method == http.MethodPatch && strings.HasPrefix(path, im+"messages/") && !strings.Contains(strings.TrimPrefix(path, im+"messages/"), "/"):
		return OpMessagePatch, strings.TrimPrefix(path, im+"messages/")
	case method == http.MethodPost && path == im+"messages":
		return OpMessageCreate, ""
	case method == http.MethodGet && path == im+"messages":
		return OpMessageList, ""
	case strings.HasPrefix(path, im+"chats/"):
		rest := strings.TrimPrefix(path, im+"chats/")
		if id, ok := strings.CutSuffix(rest, "/members"); ok && id != "" && !strings.Contains(id, "/") {
			switch method {
			case http.MethodDelete:
				return OpMembersDelete, id
			case http.MethodPost:
				return OpMembersAdd, id
			}
		}
		if id, ok := strings.CutSuffix(rest, "/moderation"); ok && id != "" && !strings.Contains(id, "/") {
			switch method {
			case http.MethodGet:
				return OpModerationGet, id
			case http.MethodPut:
				return OpModerationUpdate, id
			}
		}
		if method == http.MethodGet && rest != "" && !strings.Contains(rest, "/") {
			return OpChatGet, rest
		}
	case strings.HasPrefix(path, im+"messages/"):
		rest := strings.TrimPrefix(path, im+"messages/")
		if id, ok := strings.CutSuffix(rest, "/reply"); ok && method == http.MethodPost && !strings.Contains(id, "/") {
			return OpMessageReply, id
		}
		if method == http.MethodDelete && rest != "" && !strings.Contains(rest, "/") {
			return OpMessageDelete, rest
		}
		if method == http.MethodGet && rest != "" && !strings.Contains(rest, "/") {
			return OpMessageGet, rest
		}
	}
	return opUnknown, ""
}

func (s *Server) handleLocked(op, param string, r *http.Request, body map[string]any, size int, busy bool) answer {
	if op == opUnknown {
		return answer{status: http.StatusNotFound, body: map[string]any{"code": 404, "msg": "404 page not found"}}
	}
	if op == OpToken {
		return s.tokenLocked(body)
	}
	if a, denied := s.authLocked(r); denied {
		return a
	}
	if a, injected := s.injectedLocked(op); injected {
		return a
	}
	if a, throttled := s.throttleLocked(op); throttled {
		return a
	}
	switch op {
	case OpBotInfo:
		return answer{status: http.StatusOK, body: map[string]any{"code": 0, "msg": "ok", "bot": map[string]any{
			"activate_status": 2, "app_name": "Gavel", "avatar_url": "", "ip_white_list": []string{}, "open_id": s.BotOpenID}}}
	case OpChatGet:
		return s.chatGetLocked(param, r.URL.Query())
	case OpMembersDelete:
		if busy {
			return fail(232019)
		}
		return s.membersDeleteLocked(param, r.URL.Query(), body)
	case OpMessageReply, OpMessageCreate:
		// "Text messages: request body at most 150 KB", cards 30 KB (send
		// and reply pages); checked on the whole body, the stricter reading.
		if size > maxTextBytes || (body["msg_type"] == msgInteractive && size > maxCardBytes) {
			return fail(230025)
		}
		if op == OpMessageReply {
			return s.replyLocked(param, body)
		}
		return s.createLocked(r.URL.Query(), body)
	case OpMessageDelete:
		return s.deleteMessageLocked(param)
	case OpMessagePatch:
		if size > maxCardBytes {
			return fail(230025)
		}
		return s.patchLocked(param, body)
	case OpMembersAdd:
		if busy {
			return fail(232019)
		}
		return s.membersAddLocked(param, r.URL.Query(), body)
	case OpModerationGet:
		return s.moderationGetLocked(param, r.URL.Query())
	case OpModerationUpdate:
		return s.moderationUpdateLocked(param, r.URL.Query(), body)
	case OpMessageList:
		return s.messageListLocked(r.URL.Query())
	case OpMessageGet:
		return s.messageGetLocked(param, r.URL.Query())
	}
	return answer{status: http.StatusNotFound, body: map[string]any{"code": 404, "msg": "404 page not found"}}
}

func (s *Server) tokenLocked(body map[string]any) answer {
	if body["app_id"] != s.AppID || body["app_secret"] != s.AppSecret {
		return fail(10014)
	}
	now := time.Now()
	for tok, exp := range s.tokens {
		if exp.Sub(now) > tokenRenewWithin {
			return answer{status: http.StatusOK, body: map[string]any{"code": 0, "msg": "ok", "tenant_access_token": tok, "expire": int(exp.Sub(now).Seconds())}}
		}
	}
	tok := "t-" + randomHex(20)
	s.tokens[tok] = now.Add(tokenTTL)
	return answer{status: http.StatusOK, body: map[string]any{"code": 0, "msg": "ok", "tenant_access_token": tok, "expire": int(tokenTTL.Seconds())}}
}

func (s *Server) authLocked(r *http.Request) (answer, bool) {
	tok, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !found || tok == "" {
		return fail(99991661), true
	}
	if exp, ok := s.tokens[tok]; !ok || time.Now().After(exp) {
		return fail(99991663), true
	}
	return answer{}, false
}

// injectedLocked answers the documented error of a failure injected with
// FailNext or SetFailRate.
func (s *Server) injectedLocked(op string) (answer, bool) {
	code, failed := s.Injected(op)
	if !failed {
		return answer{}, false
	}
	switch {
	case code == http.StatusTooManyRequests:
		return s.rateLimitedLocked(op, http.StatusTooManyRequests), true
	case code == 99991400:
		return s.rateLimitedLocked(op, http.StatusBadRequest), true
	case code < 600:
		return answer{status: code, body: map[string]any{"msg": http.StatusText(code)}}, true
	default:
		return fail(code), true
	}
}

func (s *Server) rateLimitedLocked(op string, status int) answer {
	return answer{status: status, body: map[string]any{"code": 99991400, "msg": errMsgs[99991400]},
		header: http.Header{"X-Ogw-Ratelimit-Limit": {strconv.Itoa(s.Rate(op))}, "X-Ogw-Ratelimit-Reset": {strconv.Itoa(s.resetAfter)}}}
}

// throttleLocked enforces the per-API limit (tier 4: 50/s).
func (s *Server) throttleLocked(op string) (answer, bool) {
	if !s.Allow(op) {
		return s.rateLimitedLocked(op, http.StatusTooManyRequests), true
	}
	return answer{}, false
}

func (s *Server) chatLocked(id string) (*Chat, answer, bool) {
	c, found := s.chats[id]
	switch {
	case !found:
		return nil, fail(232006), false
	case c.Tenant != s.TenantKey:
		return nil, fail(232010), false
	case c.BotOut:
		return nil, fail(232011), false
	}
	return c, answer{}, true
}

func (s *Server) chatGetLocked(id string, q url.Values) answer {
	if t := q.Get("user_id_type"); t != "" && t != "open_id" {
		return fail(232001)
	}
	c, a, found := s.chatLocked(id)
	if !found {
		return a
	}
	data := map[string]any{
		"name": c.Name, "description": "", "chat_mode": c.Mode, "chat_type": "private", "external": c.External,
		"tenant_key": c.Tenant, "chat_status": "normal", "moderation_permission": c.Moderation,
		"add_member_permission": c.AddMemberPermission, "membership_approval": approval(c.ApprovalRequired), "at_all_permission": "all_members", "edit_permission": "all_members",
		"user_manager_id_list": nonNil(c.Managers), "bot_manager_id_list": []string{},
		"user_count": strconv.Itoa(len(c.Members)), "bot_count": "1",
	}
	if !c.botOwned() && c.OwnerID != "" && c.Mode != "p2p" {
		data["owner_id"], data["owner_id_type"] = c.OwnerID, "open_id"
	}
	if c.BotIsManager {
		data["bot_manager_id_list"] = []string{s.AppID}
	}
	return ok(data)
}

func (s *Server) membersDeleteLocked(id string, q url.Values, body map[string]any) answer {
	if t := q.Get("member_id_type"); t != "" && t != "open_id" {
		return fail(232001)
	}
	ids := stringList(body["id_list"])
	if len(ids) == 0 || len(ids) > maxRemoveBatch {
		return fail(232001)
	}
	c, a, found := s.chatLocked(id)
	if !found {
		return a
	}
	if !c.BotIsOwner && !c.BotIsManager {
		return fail(232014)
	}
	if !c.botOwned() && slices.Contains(ids, c.OwnerID) {
		return fail(232076)
	}
	var invalid []string
	for _, u := range ids {
		if !slices.Contains(c.Members, u) {
			invalid = append(invalid, u)
		}
	}
	if len(invalid) == len(ids) {
		return fail(232027)
	}
	c.Members = slices.DeleteFunc(c.Members, func(u string) bool { return slices.Contains(ids, u) })
	c.Managers = slices.DeleteFunc(c.Managers, func(u string) bool { return slices.Contains(ids, u) })
	return ok(map[string]any{"invalid_id_list": nonNil(invalid)})
}

// BeginRemoval marks a removal in progress in chatID until the returned func
// is called: removals meanwhile answer 232019, as parallel calls do on
// Feishu.
func (s *Server) BeginRemoval(chatID string) (end func()) {
	s.mu.Lock()
	s.inflight[chatID] = true
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		delete(s.inflight, chatID)
		s.mu.Unlock()
	}
}

func (s *Server) checkTextLocked(body map[string]any) (content string, a answer, valid bool) {
	content, _ = body["content"].(string)
	if body["msg_type"] != "text" {
		return "", fail(230001), false
	}
	var c struct {
		Text *string `json:"text"`
	}
	if err := json.Unmarshal([]byte(content), &c); err != nil || c.Text == nil {
		return "", fail(230001), false
	}
	if u, _ := body["uuid"].(string); len(u) > 50 {
		return "", fail(230001), false
	}
	return content, answer{}, true
}

// sendLocked stores a bot message, honouring uuid idempotency (1 hour).
func (s *Server) sendLocked(chat *Chat, parent string, content string, body map[string]any) answer {
	uuid, _ := body["uuid"].(string)
	if uuid != "" {
		for _, id := range s.order {
			m := s.messages[id]
			if m.FromBot && m.UUID == uuid && m.ChatID == chat.ID && time.Since(m.Created) < time.Hour {
				return ok(s.messageData(m))
			}
		}
	}
	if !s.botMaySpeakLocked(chat) {
		return fail(230018)
	}
	if !s.AllowN("chat:"+chat.ID, perChatPerSecond, 1) {
		return fail(230020)
	}
	msgType, _ := body["msg_type"].(string)
	m := &Message{ChatID: chat.ID, SenderID: s.AppID, FromBot: true, MsgType: msgType, Content: content, ParentID: parent, UUID: uuid, Created: time.Now()}
	s.addMessageLocked(m)
	return ok(s.messageData(m))
}

func (s *Server) messageData(m *Message) map[string]any {
	ms := strconv.FormatInt(m.Created.UnixMilli(), 10)
	return map[string]any{
		"message_id": m.ID, "root_id": m.ParentID, "parent_id": m.ParentID, "msg_type": m.MsgType,
		"create_time": ms, "update_time": ms, "deleted": m.Deleted, "updated": m.Updated, "chat_id": m.ChatID,
		"sender":   s.senderData(m),
		"body":     map[string]any{"content": m.Content},
		"mentions": []any{},
	}
}

func (s *Server) replyLocked(parentID string, body map[string]any) answer {
	parent, found := s.messages[parentID]
	if !found {
		return fail(230001)
	}
	if parent.Deleted {
		return fail(230011)
	}
	chat, a, found := s.chatLocked(parent.ChatID)
	if !found {
		if a.body["code"] == 232011 {
			return fail(230002)
		}
		return a
	}
	content, a, valid := s.checkTextLocked(body)
	if !valid {
		return a
	}
	return s.sendLocked(chat, parentID, content, body)
}

func (s *Server) createLocked(q url.Values, body map[string]any) answer {
	if q.Get("receive_id_type") != "chat_id" {
		return fail(230001)
	}
	chatID, _ := body["receive_id"].(string)
	chat, a, found := s.chatLocked(chatID)
	if !found {
		if a.body["code"] == 232011 {
			return fail(230002)
		}
		return a
	}
	check := s.checkTextLocked
	if body["msg_type"] == msgInteractive {
		check = s.checkCardLocked
	}
	content, a, valid := check(body)
	if !valid {
		return a
	}
	return s.sendLocked(chat, "", content, body)
}

func (s *Server) deleteMessageLocked(id string) answer {
	m, found := s.messages[id]
	if !found {
		return fail(230001)
	}
	if m.Deleted {
		return fail(230110)
	}
	chat, found := s.chats[m.ChatID]
	if !found || chat.BotOut {
		return fail(230002)
	}
	// Others' messages: only the owner, managers and the chat's creator.
	if !m.FromBot && !chat.BotIsOwner && !chat.BotIsManager && !chat.BotIsCreator {
		return fail(230026)
	}
	if time.Since(m.Created) > s.recallLimit {
		return fail(230009)
	}
	m.Deleted = true
	return ok(map[string]any{})
}

func stringList(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
