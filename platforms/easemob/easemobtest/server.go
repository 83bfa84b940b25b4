// Package easemobtest is an in-memory fake of the Easemob IM REST API
// (App Token, chat-room and group details/admins/mute/kick/add members,
// block lists, mute-all, send message, rewrite message, recall) served by
// httptest on 127.0.0.1, plus helpers that build signed post-send
// callbacks and stand in for clients (Send, ClientJoin). The block-list,
// mute-all and recall behaviour and where their pages are silent are
// described in sanctions.go, adding members and rewriting messages in
// members.go. It enforces the documented per-call limits, auth, the 100
// calls/s per-API rate limit and answers with the documented error
// bodies, so the adapter's tests, the demo and benchmarks exercise the
// real HTTP path.
//
// Where the documentation disagrees with itself or is silent, the fake
// says so here and takes the stricter reading:
//
//   - callId: the post-send page says {appkey}_{uuid} (a random uuid per
//     callback); other pages and the legacy samples show {appkey}_{msg_id}.
//     The fake generates unique callIds; the adapter's callId ledger keys
//     its body digest so that per-recipient copies sharing one would not
//     be refused.
//   - Stored callbacks (回调异常缓存): kept 3 days and re-sent on request;
//     the page does not say the body is unchanged, but timestamp is "when
//     the server received the message", so Store/StoredRequests re-send it
//     byte for byte, old timestamp included.
//   - Oversize messages: body+ext "5 KB" — read as 5,000 bytes. The send
//     pages' failure sample is message_send_error "message is too large"
//     without a status; the error page documents 413 only for file
//     uploads (an older reading also for oversize sends). The fake answers
//     400.
//   - Send rates: calls over the limit answer 429, messages over the limit
//     403 "message send reach limit" (error page); chat rooms 100/s on the
//     published page, 20 calls/s on an older revision — the fake uses 100.
//   - GET /chatrooms/{id} for a group id, and GET /chatgroups/{id} for a
//     chat-room id, are undocumented. The fake answers the first with the
//     group in the chat-room shape (the misleading case) and the second
//     with the documented missing-group 404 "grpID XX does not exist!"
//     (the group page's "group id doesn't exist" is for multi-ID requests).
//   - POST /metadata/user/get: ≤100 targets, 100 calls/s; what more
//     targets or an empty list answer is not documented — 400 here.
package easemobtest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
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

// Defaults of a new Server; a Config for the adapter uses these values.
const (
	DefaultOrg            = "gavel-org"
	DefaultApp            = "gavel-app"
	DefaultClientID       = "YXA6test-client-id"
	DefaultClientSecret   = "YXA6test-client-secret"
	DefaultCallbackSecret = "test-callback-secret"
	// DefaultPreSendSecret signs pre-send callbacks: every Easemob callback
	// rule has its own server-generated secret.
	DefaultPreSendSecret = "test-presend-secret"
	DefaultBotUser       = "gavelbot"
	// DefaultTokenTTL is the expires_in of issued App Tokens.
	DefaultTokenTTL = 24 * time.Hour
	// DefaultRate is the documented per-API limit (calls per second per
	// App Key) for member, mute, admin and details APIs.
	DefaultRate = 100
)

// Documented limits the fake enforces.
const (
	MaxMute         = 60
	MaxUnmute       = 60
	MaxKick         = 60
	MaxRoomTargets  = 10
	MaxGroupTargets = 3
	TokenRate       = 300
	// Message sends are limited apart from the other APIs, per App Key:
	// calls per second (429 beyond) and messages — targets — per second
	// (403 "message send reach limit" beyond); 20 and 20 for groups, 100
	// and 100 for chat rooms (an older revision of the room page said 20
	// calls/s; the fake follows the published page). They apply whatever
	// SetRate(Every, n) says; SetRate(RateSendGroup or RateSendRoom, n)
	// changes the calls-per-second part.
	GroupMessageRate = 20
	RoomMessageRate  = 100
	// MaxMessageBytes bounds body+ext of a sent message: "5 KB", read as
	// 5,000 bytes of the request's JSON (the stricter reading of KB).
	MaxMessageBytes   = 5000
	PermanentMuteTime = int64(4638873600000)
)

// Rate keys of SetRate and Throttled beyond the ops of Call.Op: message
// sends are limited per chat kind; Every sets every op without its own.
const (
	RateSendGroup = "send.group"
	RateSendRoom  = "send.room"
	Every         = fakekit.Every
)

// Chat kinds.
const (
	KindChatRoom = "chatroom"
	KindGroup    = "group"
)

// Chat seeds one chat room or group. The owner is a member implicitly;
// admins must also be listed (or are added) as members.
type Chat struct {
	ID      string
	Kind    string // KindChatRoom or KindGroup
	Name    string
	Owner   string
	Admins  []string
	Members []string
}

// Call is one recorded API request. Op is "token", "details", "admins",
// "mute", "mutelist", "unmute", "kick", "join", "add", "block",
// "blocklist", "unblock", "muteall", "unmuteall", "send", "rewrite",
// "recall", "batch_recall" or "metadata"; "unknown" for anything else. Status is the HTTP status answered (Easemob
// bodies carry no numeric code: Code stays 0).
type Call struct {
	fakekit.Call
	// Kind is KindChatRoom or KindGroup for chat APIs, "" otherwise.
	Kind   string
	ChatID string
	// Users are the user IDs of a mute/unmute/kick call, in order.
	Users []string
	// RawPath is the path exactly as sent on the request line
	// ("/org/app/chatrooms/1/mute/a%2Cb"); Path is the decoded one.
	RawPath     string
	ContentType string
}

// SentMessage is a message posted through /messages/chatrooms or
// /messages/chatgroups.
type SentMessage struct {
	Kind  string
	From  string
	To    []string
	Type  string
	Text  string
	Ext   map[string]any
	MsgID string
}

type chatState struct {
	Chat
	members map[string]bool // lower-case IDs
	admins  map[string]bool
	mutes   map[string]int64 // lower-case ID → expire (Unix ms)
	created int64
	// blocks is the block list (黑名单): lower-case ID → the ID as added.
	blocks map[string]string
	// allow is the allow-list (白名单) beyond the owner and admins, who
	// are on it by default.
	allow map[string]bool
	// muteAll is the mute-all switch (POST/DELETE …/ban).
	muteAll bool
}

// Server is the fake Easemob REST API.
//
// The embedded Kit gives Calls, CallsTo, FailNext, SetFailRate, SetDelay,
// SetRate and Throttled (Reset is the Server's: it forgets sent messages
// too). A failure code is an HTTP status, answered with the documented
// error body for it (400, 401, 403, 404, 429, 5xx); injected failures are
// taken after the route and method checks, before the rate limit and auth.
// Rates count in a sliding second on the real clock: every op at
// DefaultRate, "token" at TokenRate, RateSendGroup and RateSendRoom at the
// send limits.
type Server struct {
	*fakekit.Kit[Call]

	// URL is the base URL to configure as base_url.
	URL string
	// Org, App, ClientID, ClientSecret and CallbackSecret are fixed at
	// NewServer.
	Org, App, ClientID, ClientSecret, CallbackSecret string
	// PreSendSecret is the pre-send rule's secret; empty signs pre-send
	// callbacks with CallbackSecret.
	PreSendSecret string

	srv *httptest.Server

	mu       sync.Mutex
	now      func() time.Time
	tokenTTL time.Duration
	tokens   map[string]time.Time // token → expiry
	chats    map[string]*chatState
	seq      int64
	sent     []SentMessage
	stored   []storedCallback
	nicks    map[string]string // lower-case user ID → nickname
	// msgs are the chat messages the fake's callbacks carried and the
	// messages sent through REST, by msg_id, for msg_recall.
	msgs map[string]*chatMessage
	// recallWindow is the console's recall time (default 2 minutes);
	// recallClosed makes msg_recall answer "service is unopened".
	recallWindow time.Duration
	recallClosed bool
	// fired are the post-send operation callbacks REST calls fired.
	fired [][]byte
	// posted are the REST-sent messages by msg_id, for messages/rewrite
	// (kept across Reset); missing are users deleted with DeleteUser;
	// rewriteClosed turns the rewrite feature off (SetRewriteService).
	posted        map[string]*postedMsg
	missing       map[string]bool
	joinLimit     map[string]bool // users SetJoinLimitReached names
	rewriteClosed bool
}

type storedCallback struct {
	body []byte
	at   time.Time
}

// NewServer starts a fake on 127.0.0.1 with the Default* credentials.
func NewServer() *Server {
	s := &Server{
		Kit:            fakekit.New[Call](fakekit.Window),
		Org:            DefaultOrg,
		App:            DefaultApp,
		ClientID:       DefaultClientID,
		ClientSecret:   DefaultClientSecret,
		CallbackSecret: DefaultCallbackSecret,
		PreSendSecret:  DefaultPreSendSecret,
		now:            time.Now,
		tokenTTL:       DefaultTokenTTL,
		tokens:         map[string]time.Time{},
		chats:          map[string]*chatState{},
		nicks:          map[string]string{},
		msgs:           map[string]*chatMessage{},
		recallWindow:   DefaultRecallWindow,
		posted:         map[string]*postedMsg{},
		missing:        map[string]bool{},
		joinLimit:      map[string]bool{},
		seq:            1100000000000000000,
	}
	s.SetRate(Every, DefaultRate)
	s.SetRate("token", TokenRate)
	s.SetRate(RateSendGroup, GroupMessageRate)
	s.SetRate(RateSendRoom, RoomMessageRate)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("easemobtest: listen: %v", err))
	}
	s.srv = &httptest.Server{Listener: l, Config: &http.Server{Handler: http.HandlerFunc(s.serve)}}
	s.srv.Start()
	s.URL = s.srv.URL
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// SetNow replaces the clock deciding token and mute expiry and callback
// timestamps (rate limiting always uses the real clock).
func (s *Server) SetNow(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// Now returns the fake's clock.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now()
}

// SetTokenTTL sets expires_in of tokens issued from now on.
func (s *Server) SetTokenTTL(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenTTL = d
}

// ExpireTokens makes every issued token expire now; the next call with one
// answers 401 "expired access token".
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for t := range s.tokens {
		s.tokens[t] = time.Time{}
	}
}

// AddChat seeds (or replaces) a chat room or group.
func (s *Server) AddChat(c Chat) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.Kind != KindGroup {
		c.Kind = KindChatRoom
	}
	st := &chatState{Chat: c, members: map[string]bool{}, admins: map[string]bool{}, mutes: map[string]int64{}, created: s.now().UnixMilli(),
		blocks: map[string]string{}, allow: map[string]bool{}}
	if c.Owner != "" {
		st.members[strings.ToLower(c.Owner)] = true
	}
	for _, m := range c.Members {
		st.members[strings.ToLower(m)] = true
	}
	for _, a := range c.Admins {
		st.admins[strings.ToLower(a)] = true
		st.members[strings.ToLower(a)] = true
	}
	s.chats[c.ID] = st
}

// AddChatRoom seeds a chat room.
func (s *Server) AddChatRoom(id, owner string, admins, members []string) {
	s.AddChat(Chat{ID: id, Kind: KindChatRoom, Owner: owner, Admins: admins, Members: members})
}

// AddGroup seeds a group.
func (s *Server) AddGroup(id, owner string, admins, members []string) {
	s.AddChat(Chat{ID: id, Kind: KindGroup, Owner: owner, Admins: admins, Members: members})
}

// Mute seeds a mute of user in chat until expire (Unix ms; PermanentMuteTime
// for a permanent one).
func (s *Server) Mute(chatID, user string, expire int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.chats[chatID]; c != nil {
		c.mutes[strings.ToLower(user)] = expire
	}
}

// MuteExpiry returns the expiry (Unix ms) of user's mute in chat and
// whether the user is muted now.
func (s *Server) MuteExpiry(chatID, user string) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chats[chatID]
	if c == nil {
		return 0, false
	}
	exp, ok := c.mutes[strings.ToLower(user)]
	if !ok || exp <= s.now().UnixMilli() {
		return 0, false
	}
	return exp, true
}

// IsMember reports whether user is a member of chat.
func (s *Server) IsMember(chatID, user string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chats[chatID]
	return c != nil && c.members[strings.ToLower(user)]
}

// Messages returns the messages sent through the REST API.
func (s *Server) Messages() []SentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sent)
}

// Reset forgets recorded calls, sent messages and fired callbacks (state
// and tokens stay).
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Kit.Reset()
	s.sent = nil
	s.fired = nil
}

// --- HTTP --------------------------------------------------------------------

type apiError struct {
	status int
	name   string
	desc   string
	exc    string
}

func errf(status int, name, exc, format string, args ...any) *apiError {
	return &apiError{status: status, name: name, exc: exc, desc: fmt.Sprintf(format, args...)}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	call := Call{Call: fakekit.Call{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Time: time.Now(), Op: "unknown"},
		RawPath: r.URL.EscapedPath(), ContentType: r.Header.Get("Content-Type")}
	if uri := r.RequestURI; uri != "" {
		if i := strings.IndexByte(uri, '?'); i >= 0 {
			uri = uri[:i]
		}
		call.RawPath = uri
	}
	if auth := r.Header.Get("Authorization"); strings.HasPrefix(auth, "Bearer ") {
		call.Token = strings.TrimPrefix(auth, "Bearer ")
	}
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	call.Raw = raw
	if len(raw) > 0 {
		var m map[string]any
		if json.Unmarshal(raw, &m) == nil {
			call.Body = m
		}
	}
	status, body := s.handle(&call, r, raw)
	call.Status = status
	s.Record(call)
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// route fills call.Op/Kind/ChatID/Users from the escaped path.
func route(call *Call, org, app string) (segs []string, ok bool) {
	parts := strings.Split(strings.TrimPrefix(call.RawPath, "/"), "/")
	if len(parts) < 3 {
		return nil, false
	}
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			return nil, false
		}
		parts[i] = u
	}
	if parts[0] != org || parts[1] != app {
		return nil, false
	}
	segs = parts[2:]
	kindOf := func(coll string) string {
		switch coll {
		case "chatrooms":
			return KindChatRoom
		case "chatgroups":
			return KindGroup
		}
		return ""
	}
	switch {
	case len(segs) == 1 && segs[0] == "token":
		call.Op = "token"
	case len(segs) == 3 && segs[0] == "metadata" && segs[1] == "user" && segs[2] == "get":
		call.Op = "metadata"
	case len(segs) == 2 && segs[0] == "messages" && segs[1] == "msg_recall":
		call.Op = "recall"
	case len(segs) == 2 && segs[0] == "messages" && segs[1] == "batch_recall":
		call.Op = "batch_recall"
	case len(segs) == 2 && segs[0] == "messages" && kindOf(segs[1]) != "":
		call.Op, call.Kind = "send", kindOf(segs[1])
	case len(segs) == 3 && segs[0] == "messages" && segs[1] == "rewrite":
		call.Op = "rewrite"
	case len(segs) >= 2 && kindOf(segs[0]) != "":
		call.Kind, call.ChatID = kindOf(segs[0]), segs[1]
		switch {
		case len(segs) == 2:
			call.Op = "details"
		case len(segs) == 3 && segs[2] == "admin":
			call.Op = "admins"
		case len(segs) == 3 && segs[2] == "users":
			call.Op = "add"
		case len(segs) == 3 && segs[2] == "mute":
			call.Op = "mute"
			if call.Method == http.MethodGet {
				call.Op = "mutelist"
			}
		case len(segs) == 4 && segs[2] == "mute":
			call.Op, call.Users = "unmute", splitUsers(segs[3])
		case len(segs) == 4 && segs[2] == "users" && call.Method == http.MethodPost:
			call.Op, call.Users = "join", []string{segs[3]}
		case len(segs) == 4 && segs[2] == "users":
			call.Op, call.Users = "kick", splitUsers(segs[3])
		case len(segs) == 3 && segs[2] == "ban":
			call.Op = "muteall"
			if call.Method == http.MethodDelete {
				call.Op = "unmuteall"
			}
		case len(segs) == 4 && segs[2] == "blocks" && segs[3] == "users":
			call.Op = "block"
			if call.Method == http.MethodGet {
				call.Op = "blocklist"
			}
		case len(segs) == 4 && segs[2] == "white" && segs[3] == "users":
			call.Op = "allow"
		case len(segs) == 5 && segs[2] == "blocks" && segs[3] == "users":
			call.Op, call.Users = "unblock", splitUsers(segs[4])
		default:
			return segs, false
		}
	default:
		return segs, false
	}
	return segs, true
}

func splitUsers(seg string) []string {
	var out []string
	for _, u := range strings.Split(seg, ",") {
		if u != "" {
			out = append(out, u)
		}
	}
	return out
}

var allowedMethod = map[string]string{
	"token": http.MethodPost, "recall": http.MethodPost, "send": http.MethodPost, "metadata": http.MethodPost,
	"details": http.MethodGet, "admins": http.MethodGet, "mutelist": http.MethodGet,
	"mute": http.MethodPost, "unmute": http.MethodDelete, "kick": http.MethodDelete,
	"join": http.MethodPost, "block": http.MethodPost, "blocklist": http.MethodGet, "unblock": http.MethodDelete,
	"muteall": http.MethodPost, "unmuteall": http.MethodDelete, "batch_recall": http.MethodPost,
	"allow": http.MethodPost, "add": http.MethodPost, "rewrite": http.MethodPut,
}

func (s *Server) handle(call *Call, r *http.Request, raw []byte) (int, any) {
	segs, ok := route(call, s.Org, s.App)
	if !ok {
		return s.fail(errf(404, "service_resource_not_found", "ResourceNotFoundException", "Service resource not found"))
	}
	if allowedMethod[call.Op] != r.Method {
		return s.fail(errf(405, "method_not_allowed", "MethodNotAllowedException", "Request method '%s' not supported", r.Method))
	}
	if e := s.injected(r, call.Op); e != nil {
		return s.fail(e)
	}
	if e := s.limit(call); e != nil {
		return s.fail(e)
	}
	if call.Op == "token" {
		return s.token(raw)
	}
	if e := s.auth(r); e != nil {
		return s.fail(e)
	}
	if r.Method == http.MethodPost && len(raw) > 0 && call.Body == nil {
		return s.fail(errf(400, "json_parse", "JsonParseException", "Unexpected character: request body is not a JSON object"))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch call.Op {
	case "details":
		return s.details(call)
	case "admins":
		return s.admins(call)
	case "mute":
		return s.mute(call)
	case "mutelist":
		return s.muteList(call)
	case "unmute":
		return s.unmute(call)
	case "kick":
		return s.kick(call)
	case "send":
		return s.send(call, messageSize(raw))
	case "recall":
		return s.recall(call)
	case "batch_recall":
		return s.batchRecall(call)
	case "join":
		return s.join(call)
	case "block":
		return s.block(call)
	case "blocklist":
		return s.blockList(call)
	case "unblock":
		return s.unblock(call)
	case "allow":
		return s.allowUsers(call)
	case "muteall", "unmuteall":
		return s.setMuteAll(call, call.Op == "muteall")
	case "metadata":
		return s.metadata(call)
	case "add":
		return s.addMembers(call)
	case "rewrite":
		return s.rewrite(call, segs[2])
	}
	return s.fail(errf(404, "service_resource_not_found", "ResourceNotFoundException", "Service resource not found"))
}

func (s *Server) fail(e *apiError) (int, any) {
	return e.status, map[string]any{
		"error":             e.name,
		"exception":         e.exc,
		"timestamp":         time.Now().UnixMilli(),
		"duration":          0,
		"error_description": e.desc,
	}
}

// injected waits op's delay (SetDelay), then takes a failure injected
// with FailNext or SetFailRate.
func (s *Server) injected(r *http.Request, op string) *apiError {
	s.Wait(r.Context(), op)
	if st, failed := s.Injected(op); failed {
		if op == "recall" && st == http.StatusForbidden {
			// msg_recall's documented 403 for a message past the
			// console's recall time.
			return errf(st, "message_recall_error", "EasemobForbiddenOpException", "exceed recall time limit")
		}
		return statusError(st)
	}
	return nil
}

// statusError is the documented body for an injected status.
func statusError(st int) *apiError {
	switch st {
	case 400:
		return errf(st, "invalid_parameter", "IllegalArgumentException", "invalid parameter")
	case 401:
		return errf(st, "unauthorized", "org.apache.usergrid.rest.exceptions.SecurityException", "Unable to authenticate due to expired access token")
	case 403:
		return errf(st, "forbidden_op", "EasemobForbiddenOpException", "forbidden operation")
	case 404:
		return errf(st, "resource_not_found", "ResourceNotFoundException", "grpID does not exist!")
	case 429:
		return errf(st, "resource_limited", "EasemobLimitException", "This request has reached api limit")
	}
	if st >= 500 {
		return errf(st, "internal_server_error", "ServiceUnavailableException", "service is temporarily unavailable")
	}
	return errf(st, "error", "Exception", "injected failure")
}

// limit enforces the per-API rate (SetRate; sends by chat kind).
func (s *Server) limit(call *Call) *apiError {
	key := call.Op
	switch {
	case call.Op == "send" && call.Kind == KindGroup:
		key = RateSendGroup
	case call.Op == "send":
		key = RateSendRoom
	}
	if s.Allow(key) {
		return nil
	}
	return errf(429, "resource_limited", "EasemobLimitException", "This request has reached api limit")
}

// SendRejections returns how many message sends were refused for the
// send-rate limits (429 or 403 "message send reach limit").
func (s *Server) SendRejections() int {
	n := 0
	for _, c := range s.CallsTo("send") {
		if c.Status == 429 || c.Status == 403 {
			n++
		}
	}
	return n
}

func (s *Server) auth(r *http.Request) *apiError {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		return errf(401, "unauthorized", "org.apache.usergrid.rest.exceptions.SecurityException", "Unable to authenticate (OAuth)")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, known := s.tokens[tok]
	switch {
	case !known:
		return errf(401, "auth_bad_access_token", "org.apache.usergrid.rest.exceptions.SecurityException", "Unable to authenticate due to corrupt access token")
	case !s.now().Before(exp):
		return errf(401, "unauthorized", "org.apache.usergrid.rest.exceptions.SecurityException", "Unable to authenticate due to expired access token")
	}
	return nil
}

func (s *Server) token(raw []byte) (int, any) {
	var req struct {
		GrantType    string          `json:"grant_type"`
		ClientID     string          `json:"client_id"`
		ClientSecret string          `json:"client_secret"`
		TTL          json.RawMessage `json:"ttl"`
	}
	if err := json.Unmarshal(raw, &req); err != nil {
		return s.fail(errf(400, "json_parse", "JsonParseException", "Unexpected character in token request"))
	}
	switch {
	case req.GrantType != "client_credentials":
		return s.fail(errf(400, "unsupported_grant_type", "UnsupportedGrantTypeException", "unsupported grant type: %q", req.GrantType))
	case req.ClientID == "":
		return s.fail(errf(400, "illegal_argument", "IllegalArgumentException", "client_id must be provided."))
	case req.ClientSecret == "":
		return s.fail(errf(400, "illegal_argument", "IllegalArgumentException", "client_secret must be provided"))
	case req.ClientID != s.ClientID:
		return s.fail(errf(400, "invalid_grant", "InvalidGrantException", "client_id does not match"))
	case req.ClientSecret != s.ClientSecret:
		return s.fail(errf(400, "invalid_grant", "InvalidGrantException", "client_secret does not match"))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ttl := s.tokenTTL
	if len(req.TTL) > 0 {
		if n, err := strconv.ParseInt(strings.Trim(string(req.TTL), `"`), 10, 64); err == nil && n > 0 {
			ttl = time.Duration(n) * time.Second
		}
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	tok := "YWMt" + hex.EncodeToString(b)
	s.tokens[tok] = s.now().Add(ttl)
	return 200, map[string]any{
		"access_token": tok,
		"expires_in":   int64(ttl / time.Second),
		"application":  "8be024f0-e978-11e8-b697-5d598d5f8402",
	}
}

// envelope wraps data in Easemob's success body.
func (s *Server) envelope(action string, call *Call, data any, extra map[string]any) map[string]any {
	out := map[string]any{
		"action":          action,
		"application":     "8be024f0-e978-11e8-b697-5d598d5f8402",
		"uri":             "http://127.0.0.1" + call.RawPath,
		"entities":        []any{},
		"data":            data,
		"timestamp":       s.now().UnixMilli(),
		"duration":        0,
		"organization":    s.Org,
		"applicationName": s.App,
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

// chat returns the chat addressed by call or the documented 404.
func (s *Server) chat(call *Call, detailsStyle bool) (*chatState, *apiError) {
	c := s.chats[call.ChatID]
	if c != nil && c.Kind == call.Kind {
		return c, nil
	}
	if detailsStyle {
		if call.Kind == KindGroup {
			// The group details page's error table; "group id doesn't
			// exist" is what it says of missing IDs in a multi-ID request.
			// A chat-room ID is not a group, so it gets this too.
			return nil, errf(404, "resource_not_found", "EasemobResourceNotFoundException", "grpID %s does not exist!", call.ChatID)
		}
		return nil, errf(404, "service_resource_not_found", "EasemobResourceNotFoundException", "do not find this group:%s", call.ChatID)
	}
	return nil, errf(404, "resource_not_found", "EasemobResourceNotFoundException", "grpID %s does not exist!", call.ChatID)
}

func (s *Server) details(call *Call) (int, any) {
	c, e := s.chat(call, true)
	if g := s.chats[call.ChatID]; e != nil && call.Kind == KindChatRoom && g != nil && g.Kind == KindGroup {
		// GET /chatrooms/{group id}: undocumented. The fake takes the
		// answer that misleads most — the group presented as a chat room,
		// as if both lived in one store (Easemob's own room errors say
		// "do not find this group") — so an adapter must not take a 200
		// here, or a 404, as telling room from group.
		c, e = g, nil
		return 200, map[string]any{"data": s.detailsData(c)}
	}
	if e != nil {
		return s.fail(e)
	}
	d := s.detailsData(c)
	if c.Kind == KindGroup {
		d["avatar"] = ""
		d["disabled"] = false
		return 200, s.envelope("get", call, []any{d}, map[string]any{"count": 1, "properties": map[string]any{}})
	}
	return 200, map[string]any{"data": d}
}

// detailsData is the documented details object of c.
func (s *Server) detailsData(c *chatState) map[string]any {
	var aff []map[string]string
	members := sortedKeys(c.members)
	for _, m := range members {
		if strings.EqualFold(m, c.Owner) {
			continue
		}
		aff = append(aff, map[string]string{"member": m})
	}
	if c.Owner != "" {
		aff = append(aff, map[string]string{"owner": c.Owner})
	}
	d := map[string]any{
		"id": c.ID, "name": c.Name, "description": "", "membersonly": false, "allowinvites": false,
		"maxusers": 10000, "owner": c.Owner, "created": c.created, "custom": "",
		"affiliations_count": len(aff), "affiliations": aff, "public": true, "mute": c.muteAll,
	}
	return d
}

func (s *Server) admins(call *Call) (int, any) {
	c, e := s.chat(call, false)
	if e != nil {
		return s.fail(e)
	}
	var admins []string
	for _, a := range c.Admins {
		if c.admins[strings.ToLower(a)] {
			admins = append(admins, a)
		}
	}
	if admins == nil {
		admins = []string{}
	}
	return 200, s.envelope("get", call, admins, map[string]any{"count": len(admins)})
}

// notMembers is the documented refusal: 400 for chat rooms, 403 for groups.
func notMembers(c *chatState, users []string) *apiError {
	st := 400
	if c.Kind == KindGroup {
		st = 403
	}
	return errf(st, "forbidden_op", "EasemobForbiddenOpException", "users [%s] are not members of this group!", strings.Join(users, ", "))
}

// nonMembers returns the users who are not members of c; the owner among
// users is the documented refusal.
func nonMembers(c *chatState, users []string) ([]string, *apiError) {
	var out []string
	for _, u := range users {
		if strings.EqualFold(u, c.Owner) {
			return nil, ownerError()
		}
		if !c.members[strings.ToLower(u)] {
			out = append(out, u)
		}
	}
	return out, nil
}

func ownerError() *apiError {
	return errf(403, "forbidden_op", "EasemobForbiddenOpException", "forbidden operation on group owner!")
}

// usernames reads the body's "usernames" into call.Users: none, or more
// than max, is the documented 400 (tooMany: the page's text, the limit
// appended).
func usernames(call *Call, max int, tooMany string) *apiError {
	var users []string
	if arr, ok := call.Body["usernames"].([]any); ok {
		for _, u := range arr {
			if str, ok := u.(string); ok && str != "" {
				users = append(users, str)
			}
		}
	}
	call.Users = users
	if len(users) == 0 {
		return errf(400, "invalid_parameter", "IllegalArgumentException", "usernames must be provided")
	}
	if len(users) > max {
		return errf(400, "invalid_parameter", "IllegalArgumentException", "%s : %d", tooMany, max)
	}
	return nil
}

func (s *Server) mute(call *Call) (int, any) {
	if e := usernames(call, MaxMute, "userNames size is more than max limit"); e != nil {
		return s.fail(e)
	}
	users := call.Users
	durF, ok := call.Body["mute_duration"].(float64)
	if !ok || durF != float64(int64(durF)) || durF < -1 {
		return s.fail(errf(400, "invalid_parameter", "IllegalArgumentException", "mute_duration must be -1, 0 or a positive number of milliseconds"))
	}
	dur := int64(durF)
	c, e := s.chat(call, false)
	if e != nil {
		return s.fail(e)
	}
	outsiders, oe := nonMembers(c, users)
	if oe != nil {
		return s.fail(oe)
	}
	if len(outsiders) > 0 {
		return s.fail(notMembers(c, outsiders))
	}
	now := s.now().UnixMilli()
	data := make([]map[string]any, 0, len(users))
	for _, u := range users {
		exp := now + dur
		switch dur {
		case -1:
			exp = PermanentMuteTime
		case 0:
			delete(c.mutes, strings.ToLower(u))
			exp = now
		}
		if dur != 0 {
			c.mutes[strings.ToLower(u)] = exp
		}
		data = append(data, map[string]any{"result": true, "expire": exp, "user": u})
	}
	return 200, s.envelope("post", call, data, nil)
}

func (s *Server) muteList(call *Call) (int, any) {
	c, e := s.chat(call, false)
	if e != nil {
		return s.fail(e)
	}
	now := s.now().UnixMilli()
	data := []map[string]any{}
	for _, u := range sortedKeys(c.mutes) {
		if exp := c.mutes[u]; exp > now {
			data = append(data, map[string]any{"expire": exp, "user": u})
		}
	}
	return 200, s.envelope("get", call, data, nil)
}

func (s *Server) unmute(call *Call) (int, any) {
	if len(call.Users) > MaxUnmute {
		// The chat-room page prints two spaces before the number.
		sep := ":  "
		if call.Kind == KindGroup {
			sep = ": "
		}
		return s.fail(errf(400, "invalid_parameter", "IllegalArgumentException", "removeMute member size more than max limit %s%d", sep, MaxUnmute))
	}
	if len(call.Users) == 0 {
		return s.fail(errf(400, "invalid_parameter", "IllegalArgumentException", "member must be provided"))
	}
	c, e := s.chat(call, false)
	if e != nil {
		return s.fail(e)
	}
	now := s.now().UnixMilli()
	data := make([]map[string]any, 0, len(call.Users))
	for _, u := range call.Users {
		exp, ok := c.mutes[strings.ToLower(u)]
		delete(c.mutes, strings.ToLower(u))
		data = append(data, map[string]any{"result": ok && exp > now, "user": u})
	}
	return 200, s.envelope("delete", call, data, nil)
}

func (s *Server) kick(call *Call) (int, any) {
	if len(call.Users) > MaxKick {
		return s.fail(errf(400, "invalid_parameter", "IllegalArgumentException", "kickMember: kickMembers number more than maxSize : %d", MaxKick))
	}
	if len(call.Users) == 0 {
		return s.fail(errf(400, "invalid_parameter", "IllegalArgumentException", "member must be provided"))
	}
	c, e := s.chat(call, false)
	if e != nil {
		return s.fail(e)
	}
	for _, u := range call.Users {
		if strings.EqualFold(u, c.Owner) {
			return s.fail(ownerError())
		}
	}
	idKey := "id"
	if c.Kind == KindGroup {
		idKey = "groupid"
	}
	if len(call.Users) == 1 {
		u := call.Users[0]
		if !c.members[strings.ToLower(u)] {
			return s.fail(notMembers(c, []string{u}))
		}
		s.removeMember(c, u)
		return 200, s.envelope("delete", call, map[string]any{"result": true, "action": "remove_member", "user": u, idKey: c.ID}, nil)
	}
	data := make([]map[string]any, 0, len(call.Users))
	for _, u := range call.Users {
		row := map[string]any{"action": "remove_member", "user": u, idKey: c.ID}
		if c.members[strings.ToLower(u)] {
			s.removeMember(c, u)
			row["result"] = true
		} else {
			row["result"] = false
			row["reason"] = fmt.Sprintf("user: %s doesn't exist in group: %s", u, c.ID)
		}
		data = append(data, row)
	}
	return 200, s.envelope("delete", call, data, nil)
}

func (s *Server) removeMember(c *chatState, u string) {
	delete(c.members, strings.ToLower(u))
	delete(c.admins, strings.ToLower(u))
}

func (s *Server) send(call *Call, size int) (int, any) {
	b := call.Body
	if size > MaxMessageBytes {
		// The send pages' failure sample; they print no status. 413 is
		// documented (error page) only for file uploads; an older reading
		// also named it for oversize sends. The fake answers 400.
		e := errf(400, "message_send_error", "MessageSendException", "message is too large")
		return s.fail(e)
	}
	from := "admin"
	if v, ok := b["from"]; ok {
		str, _ := v.(string)
		if str == "" {
			return s.fail(errf(400, "invalid_parameter", "IllegalArgumentException", "param from can't be empty"))
		}
		from = str
	}
	var to []string
	if arr, ok := b["to"].([]any); ok {
		for _, v := range arr {
			if str, ok := v.(string); ok && str != "" {
				to = append(to, str)
			}
		}
	}
	if len(to) == 0 {
		return s.fail(errf(400, "invalid_parameter", "IllegalArgumentException", "param to can't be empty"))
	}
	if limit := map[string]int{KindChatRoom: MaxRoomTargets, KindGroup: MaxGroupTargets}[call.Kind]; len(to) > limit {
		return s.fail(errf(400, "invalid_parameter", "IllegalArgumentException", "params to's size can't exceed limit %d", limit))
	}
	msgLimit, msgKey := RoomMessageRate, "msgs.room"
	if call.Kind == KindGroup {
		msgLimit, msgKey = GroupMessageRate, "msgs.group"
	}
	if !s.AllowN(msgKey, msgLimit, len(to)) {
		return s.fail(errf(403, "forbidden_op", "EasemobForbiddenOpException", "message send reach limit"))
	}
	typ, _ := b["type"].(string)
	if typ == "" {
		return s.fail(errf(400, "invalid_parameter", "IllegalArgumentException", "param type can't be empty"))
	}
	body, ok := b["body"].(map[string]any)
	if !ok || len(body) == 0 {
		return s.fail(errf(400, "invalid_parameter", "IllegalArgumentException", "param body can't be empty"))
	}
	var ext map[string]any
	if v, present := b["ext"]; present {
		if ext, ok = v.(map[string]any); !ok {
			return s.fail(errf(400, "invalid_parameter", "IllegalArgumentException", "param ext must be JSONObject"))
		}
	}
	text, _ := body["msg"].(string)
	data := map[string]string{}
	for _, id := range to {
		s.seq++
		mid := strconv.FormatInt(s.seq, 10)
		data[id] = mid
		s.sent = append(s.sent, SentMessage{Kind: call.Kind, From: from, To: []string{id}, Type: typ, Text: text, Ext: ext, MsgID: mid})
		s.posted[mid] = &postedMsg{typ: typ, text: text}
		// A REST-sent message is recallable like a client's
		// (message_recall_single: "包括客户端发送的消息以及通过 RESTful
		// API 发送的消息").
		s.msgs[mid] = &chatMessage{id: mid, chatID: id, kind: call.Kind, from: from, at: s.now()}
	}
	return 200, s.envelope("post", call, data, map[string]any{"path": "/messages/" + map[string]string{KindChatRoom: "chatrooms", KindGroup: "chatgroups"}[call.Kind]})
}

// messageSize is the size in bytes of the body and ext members of a send
// request as sent.
func messageSize(raw []byte) int {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return len(raw)
	}
	return len(m["body"]) + len(m["ext"])
}

// MaxMetadataTargets is the documented limit of users per
// POST /metadata/user/get (100 calls/s per App Key, like the other APIs).
const MaxMetadataTargets = 100

// SetNickname sets user's nickname attribute ("" removes it).
func (s *Server) SetNickname(user, nickname string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if nickname == "" {
		delete(s.nicks, strings.ToLower(user))
		return
	}
	s.nicks[strings.ToLower(user)] = nickname
}

// Nickname returns user's nickname, "" when none is set.
func (s *Server) Nickname(user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nicks[strings.ToLower(user)]
}

// metadata answers POST /metadata/user/get: data maps each target that has
// one of the requested properties to them; unknown users and properties
// are left out ("{}" when nothing is found), as documented. The page does
// not say what more than 100 targets or a missing list answer; the fake
// refuses both with 400 invalid_parameter.
func (s *Server) metadata(call *Call) (int, any) {
	targets, _ := call.Body["targets"].([]any)
	props, _ := call.Body["properties"].([]any)
	if len(targets) == 0 || len(props) == 0 {
		return s.fail(errf(400, "invalid_parameter", "IllegalArgumentException", "targets and properties must be provided"))
	}
	if len(targets) > MaxMetadataTargets {
		return s.fail(errf(400, "invalid_parameter", "IllegalArgumentException", "targets size is more than max limit : %d", MaxMetadataTargets))
	}
	data := map[string]any{}
	for _, t := range targets {
		u, _ := t.(string)
		n, ok := s.nicks[strings.ToLower(u)]
		if !ok {
			continue
		}
		for _, p := range props {
			if p == "nickname" {
				data[u] = map[string]string{"nickname": n}
			}
		}
	}
	return 200, map[string]any{"timestamp": s.now().UnixMilli(), "data": data, "duration": 0}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
