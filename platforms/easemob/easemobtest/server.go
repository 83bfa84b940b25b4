// Package easemobtest is an in-memory fake of the Easemob IM REST API
// (App Token, chat-room and group details/admins/mute/kick, send message,
// recall) served by httptest on 127.0.0.1, plus helpers that build signed
// post-send callbacks. It enforces the documented per-call limits, auth,
// the 100 calls/s per-API rate limit and answers with the documented error
// bodies, so the adapter's tests, the demo and benchmarks exercise the real
// HTTP path.
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
	MaxMute           = 60
	MaxUnmute         = 60
	MaxKick           = 60
	MaxRoomTargets    = 10
	MaxGroupTargets   = 3
	TokenRate         = 300
	GroupMessageRate  = 20
	MaxMessageBytes   = 5 << 10
	PermanentMuteTime = int64(4638873600000)
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

// Call is one recorded API request.
type Call struct {
	// Op is "token", "details", "admins", "mute", "mutelist", "unmute",
	// "kick", "send" or "recall"; "unknown" for anything else.
	Op string
	// Kind is KindChatRoom or KindGroup for chat APIs, "" otherwise.
	Kind   string
	ChatID string
	// Users are the user IDs of a mute/unmute/kick call, in order.
	Users  []string
	Method string
	// Path is the decoded path; RawPath the path exactly as sent on the
	// request line ("/org/app/chatrooms/1/mute/a%2Cb").
	Path    string
	RawPath string
	Query   url.Values
	// Token is the bearer token presented ("" when none).
	Token       string
	ContentType string
	// Body is the decoded JSON body (nil when empty).
	Body   map[string]any
	Status int
	Time   time.Time
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
}

type failure struct {
	status int
	left   int
}

// Server is the fake Easemob REST API.
type Server struct {
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
	calls    []Call
	fails    map[string][]*failure
	rate     int
	window   map[string][]time.Time // op → recent call times (real clock)
	seq      int64
	sent     []SentMessage
	stored   []storedCallback
}

type storedCallback struct {
	body []byte
	at   time.Time
}

// NewServer starts a fake on 127.0.0.1 with the Default* credentials.
func NewServer() *Server {
	s := &Server{
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
		fails:          map[string][]*failure{},
		rate:           DefaultRate,
		window:         map[string][]time.Time{},
		seq:            1100000000000000000,
	}
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

// SetRateLimit sets the per-API limit in calls per second (0 = off); the
// token API stays at 300/s and group sends at 20/s.
func (s *Server) SetRateLimit(perSecond int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rate = perSecond
}

// AddChat seeds (or replaces) a chat room or group.
func (s *Server) AddChat(c Chat) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.Kind != KindGroup {
		c.Kind = KindChatRoom
	}
	st := &chatState{Chat: c, members: map[string]bool{}, admins: map[string]bool{}, mutes: map[string]int64{}, created: s.now().UnixMilli()}
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

// Calls returns every recorded request, in arrival order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// CallsTo returns the recorded requests of op ("mute", "kick", …).
func (s *Server) CallsTo(op string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if c.Op == op {
			out = append(out, c)
		}
	}
	return out
}

// Messages returns the messages sent through the REST API.
func (s *Server) Messages() []SentMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sent)
}

// Reset forgets recorded calls and messages (state and tokens stay).
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls, s.sent = nil, nil
}

// FailNext makes the next n requests of op fail with status (default 503)
// and the documented error body for it. Op names are those of Call.Op.
func (s *Server) FailNext(op string, n int, status ...int) {
	st := http.StatusServiceUnavailable
	if len(status) > 0 {
		st = status[0]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fails[op] = append(s.fails[op], &failure{status: st, left: n})
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
	call := Call{Method: r.Method, Path: r.URL.Path, RawPath: r.URL.EscapedPath(), Query: r.URL.Query(), ContentType: r.Header.Get("Content-Type"), Time: time.Now(), Op: "unknown"}
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
	if len(raw) > 0 {
		var m map[string]any
		if json.Unmarshal(raw, &m) == nil {
			call.Body = m
		}
	}
	status, body := s.handle(&call, r, raw)
	call.Status = status
	s.mu.Lock()
	s.calls = append(s.calls, call)
	s.mu.Unlock()
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
	case len(segs) == 2 && segs[0] == "messages" && segs[1] == "msg_recall":
		call.Op = "recall"
	case len(segs) == 2 && segs[0] == "messages" && kindOf(segs[1]) != "":
		call.Op, call.Kind = "send", kindOf(segs[1])
	case len(segs) >= 2 && kindOf(segs[0]) != "":
		call.Kind, call.ChatID = kindOf(segs[0]), segs[1]
		switch {
		case len(segs) == 2:
			call.Op = "details"
		case len(segs) == 3 && segs[2] == "admin":
			call.Op = "admins"
		case len(segs) == 3 && segs[2] == "mute":
			call.Op = "mute"
			if call.Method == http.MethodGet {
				call.Op = "mutelist"
			}
		case len(segs) == 4 && segs[2] == "mute":
			call.Op, call.Users = "unmute", splitUsers(segs[3])
		case len(segs) == 4 && segs[2] == "users":
			call.Op, call.Users = "kick", splitUsers(segs[3])
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
	"token": http.MethodPost, "recall": http.MethodPost, "send": http.MethodPost,
	"details": http.MethodGet, "admins": http.MethodGet, "mutelist": http.MethodGet,
	"mute": http.MethodPost, "unmute": http.MethodDelete, "kick": http.MethodDelete,
}

func (s *Server) handle(call *Call, r *http.Request, raw []byte) (int, any) {
	if _, ok := route(call, s.Org, s.App); !ok {
		return s.fail(errf(404, "service_resource_not_found", "ResourceNotFoundException", "Service resource not found"))
	}
	if allowedMethod[call.Op] != r.Method {
		return s.fail(errf(405, "method_not_allowed", "MethodNotAllowedException", "Request method '%s' not supported", r.Method))
	}
	if e := s.injected(call.Op); e != nil {
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
		return s.send(call, len(raw))
	case "recall":
		return s.recall(call)
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

func (s *Server) injected(op string) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.fails[op]
	if len(q) == 0 {
		return nil
	}
	f := q[0]
	f.left--
	if f.left <= 0 {
		s.fails[op] = q[1:]
	}
	return statusError(f.status)
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

// limit enforces the per-API rate on the real clock with a 1 s sliding
// window.
func (s *Server) limit(call *Call) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, key := s.rate, call.Op
	switch {
	case call.Op == "token":
		n = TokenRate
	case call.Op == "send" && call.Kind == KindGroup:
		n, key = GroupMessageRate, "send.group"
	case call.Op == "send":
		key = "send.room"
	}
	if n <= 0 {
		return nil
	}
	now := time.Now()
	w := s.window[key]
	i := 0
	for i < len(w) && now.Sub(w[i]) >= time.Second {
		i++
	}
	w = w[i:]
	if len(w) >= n {
		s.window[key] = w
		return errf(429, "resource_limited", "EasemobLimitException", "This request has reached api limit")
	}
	s.window[key] = append(w, now)
	return nil
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
			return nil, errf(404, "resource_not_found", "EasemobResourceNotFoundException", "group id doesn't exist")
		}
		return nil, errf(404, "service_resource_not_found", "EasemobResourceNotFoundException", "do not find this group:%s", call.ChatID)
	}
	return nil, errf(404, "resource_not_found", "EasemobResourceNotFoundException", "grpID %s does not exist!", call.ChatID)
}

func (s *Server) details(call *Call) (int, any) {
	c, e := s.chat(call, true)
	if e != nil {
		return s.fail(e)
	}
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
		"affiliations_count": len(aff), "affiliations": aff, "public": true, "mute": false,
	}
	if c.Kind == KindGroup {
		d["avatar"] = ""
		d["disabled"] = false
		return 200, s.envelope("get", call, []any{d}, map[string]any{"count": 1, "properties": map[string]any{}})
	}
	return 200, map[string]any{"data": d}
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

func ownerError() *apiError {
	return errf(403, "forbidden_op", "EasemobForbiddenOpException", "forbidden operation on group owner!")
}

func (s *Server) mute(call *Call) (int, any) {
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
		return s.fail(errf(400, "invalid_parameter", "IllegalArgumentException", "usernames must be provided"))
	}
	if len(users) > MaxMute {
		return s.fail(errf(400, "invalid_parameter", "IllegalArgumentException", "userNames size is more than max limit : %d", MaxMute))
	}
	durF, ok := call.Body["mute_duration"].(float64)
	if !ok || durF != float64(int64(durF)) || durF < -1 {
		return s.fail(errf(400, "invalid_parameter", "IllegalArgumentException", "mute_duration must be -1, 0 or a positive number of milliseconds"))
	}
	dur := int64(durF)
	c, e := s.chat(call, false)
	if e != nil {
		return s.fail(e)
	}
	var outsiders []string
	for _, u := range users {
		if strings.EqualFold(u, c.Owner) {
			return s.fail(ownerError())
		}
		if !c.members[strings.ToLower(u)] {
			outsiders = append(outsiders, u)
		}
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
		return s.fail(errf(400, "message_send_error", "MessageSendException", "message is too large"))
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
	}
	return 200, s.envelope("post", call, data, map[string]any{"path": "/messages/" + map[string]string{KindChatRoom: "chatrooms", KindGroup: "chatgroups"}[call.Kind]})
}

func (s *Server) recall(call *Call) (int, any) {
	b := call.Body
	msgID, _ := b["msg_id"].(string)
	to, _ := b["to"].(string)
	ct, _ := b["chat_type"].(string)
	if msgID == "" || to == "" {
		return s.fail(errf(400, "invalid_parameter", "IllegalArgumentException", "msg_id and to must be provided"))
	}
	switch ct {
	case "chat", "groupchat", "chatroom":
	default:
		return s.fail(errf(400, "invalid_parameter", "IllegalArgumentException", "chat_type must be chat, groupchat or chatroom"))
	}
	from, _ := b["from"].(string)
	if from == "" {
		from = "admin"
	}
	return 200, s.envelope("post", call, map[string]any{"recalled": "yes", "chattype": ct, "from": from, "to": to, "msg_id": msgID}, map[string]any{"path": "/messages/msg_recall"})
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
