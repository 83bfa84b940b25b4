package feishutest

// The long connection (长连接), as the official Go SDK v3.12.0 speaks it
// (package ws: client_transport.go, client_session.go, client_message.go,
// model.go, const.go; the Feishu documentation describes only the SDK's
// use, not the wire):
//
//   - Endpoint discovery: POST {base}/callback/ws/endpoint with JSON
//     {"AppID","AppSecret"} → {"code":0,"data":{"URL":…,"ClientConfig":
//     {"ReconnectCount","ReconnectInterval","ReconnectNonce","PingInterval"}}}
//     (intervals in seconds). Code 1 ("system busy") and 1000040343 are
//     the SDK's retryable answers; any other non-zero code stops it. The
//     code for bad credentials is not documented: the fake answers 514
//     (the SDK's AuthFailed), which the SDK treats as final.
//   - The URL is a WebSocket URL whose query names device_id (the
//     connection) and service_id (echoed in ping frames). The fake also
//     puts a one-time ticket in it. A handshake with an unknown ticket is
//     refused with HTTP 403 and Handshake-Status 514 (retryable for the
//     SDK); a 51st connection of the app with Handshake-Autherrcode
//     1000040350 ("≤ 50 connections per app", which the SDK treats as
//     final).
//   - Every message is a binary WebSocket message holding one protobuf
//     pbbp2.Frame. method 0 is a control frame: the client's "ping"
//     (header type=ping) is answered by a "pong" whose payload is the
//     ClientConfig JSON. method 1 is a data frame: headers type ("event";
//     the SDK ignores every other type, "card" included, without an
//     answer), message_id, sum/seq (a payload split into sum parts),
//     trace_id, timestamp; the payload is the event's plaintext JSON, the
//     same v2 envelope a webhook carries.
//   - The client answers each event with the same frame (headers plus
//     biz_rt) whose payload is {"code":200} when its handler succeeded and
//     {"code":500} when it failed. An event without a 200 is delivered
//     again; the fake re-sends it to the next connection that opens when
//     the one it went to is gone, and to a random connection on
//     Redeliver (standing for Feishu's re-push timer: 15 s, 5 min, 1 h,
//     6 h). With several connections each event goes to one random
//     connection (documented: "cluster mode", no broadcast).
//   - "长连接模式下接收到消息后，需要在 3 秒内处理完成" (long-connection
//     page): an answer later than HandleDeadline after the send does not
//     acknowledge the event (SetHandleDeadline changes it).
//   - Callbacks (card.action.trigger) are not events: the callback
//     overview page says they are synchronous, "不提供补推机制" (never
//     re-pushed) and fail when not answered in time. The fake sends a
//     callback once, to an open connection, or not at all; Redeliver
//     and new connections never get it again. A callback's answer is
//     the card response (the SDK puts the handler's response, e.g. "{}"
//     or a toast, in the ack's data): AckData returns it.

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	larkws "github.com/larksuite/oapi-sdk-go/v3/ws"

	"gavel/platforms/internal/fakekit"
)

// Long-connection operation names (Calls, CallsTo, FailNext).
const (
	OpLongConnEndpoint = "ws.endpoint"
	longConnPath       = "/ws/v2"
	maxConnsPerApp     = 50 // documented: each app may hold ≤ 50 connections
	codeSystemBusy     = 1
	codeAuthFailed     = 514
	codeExceedConns    = 1000040350
	// HandleDeadline: events must be handled within 3 s (long-connection
	// page).
	HandleDeadline = 3 * time.Second
)

// LongConnConfig is the ClientConfig the fake hands out at discovery and
// in every pong. The SDK applies all four as given (a zero PingInterval
// would make it ping without pause), so every field is sent.
type LongConnConfig struct {
	ReconnectCount    int           // -1: for ever
	ReconnectInterval time.Duration // between reconnect attempts (whole seconds)
	ReconnectNonce    time.Duration // the first attempt waits a random 0..nonce (whole seconds)
	PingInterval      time.Duration // whole seconds
}

// DefaultLongConnConfig keeps tests fast: reconnect within a second.
// Feishu's own values are not documented (the SDK's defaults, used until
// the first answer, are 2 min, a 30 s nonce and 2 min pings).
var DefaultLongConnConfig = LongConnConfig{ReconnectCount: -1, ReconnectInterval: time.Second, ReconnectNonce: time.Second, PingInterval: 30 * time.Second}

func (c LongConnConfig) wire() larkws.ClientConfig {
	return larkws.ClientConfig{ReconnectCount: c.ReconnectCount, ReconnectInterval: int(c.ReconnectInterval / time.Second),
		ReconnectNonce: int(c.ReconnectNonce / time.Second), PingInterval: int(c.PingInterval / time.Second)}
}

// longConn is the fake's long-connection state.
type longConn struct {
	mu       sync.Mutex
	cfg      LongConnConfig
	down     bool
	tickets  map[string]bool
	conns    map[string]*wsConn
	opening  int // handshakes admitted and not yet registered
	connects int
	pushed   map[string]*pushedEvent
	order    []string // message ids in push order
	acks     map[string][]int
	ackData  map[string][]byte
	deadline time.Duration // an answer later than this is a failure; 0: none
	loseAcks int
	fragment int
	seq      uint64
	changed  chan struct{} // closed and replaced on every change
}

type wsConn struct {
	id      string
	service int32
	ws      *websocket.Conn
	wmu     sync.Mutex
}

type pushedEvent struct {
	id       string
	payload  []byte
	to       string // the connection it was last sent to; "" if none holds it
	sends    int
	acked    bool
	callback bool      // a callback (card.action.trigger): never re-pushed
	sentAt   time.Time // the last send, for the handling deadline
}

func newLongConn() *longConn {
	return &longConn{cfg: DefaultLongConnConfig, tickets: map[string]bool{}, conns: map[string]*wsConn{},
		pushed: map[string]*pushedEvent{}, acks: map[string][]int{}, ackData: map[string][]byte{}, deadline: HandleDeadline, changed: make(chan struct{})}
}

// changedLocked wakes every waiter.
func (l *longConn) changedLocked() {
	close(l.changed)
	l.changed = make(chan struct{})
}

var upgrader = websocket.Upgrader{HandshakeTimeout: 5 * time.Second}

// serveLongConn answers the long connection's two routes; it reports
// whether r was one of them.
func (s *Server) serveLongConn(w http.ResponseWriter, r *http.Request) bool {
	switch {
	case r.URL.Path == larkws.GenEndpointUri && r.Method == http.MethodPost:
		s.discover(w, r)
	case r.URL.Path == longConnPath && r.Method == http.MethodGet:
		s.handshake(w, r)
	default:
		return false
	}
	return true
}

func (s *Server) discover(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	var req larkws.BootstrapRequest
	status, body := http.StatusOK, map[string]any{"code": 0, "msg": "success"}
	code, injected := s.Injected(OpLongConnEndpoint)
	l := s.lc
	l.mu.Lock()
	switch {
	case injected && code < 600:
		status, body = code, map[string]any{"code": code, "msg": http.StatusText(code)}
	case injected:
		body = map[string]any{"code": code, "msg": "injected failure"}
	case !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") || json.Unmarshal(raw, &req) != nil:
		status, body = http.StatusBadRequest, map[string]any{"code": 400, "msg": "bad request"}
	case subtle.ConstantTimeCompare([]byte(req.AppID), []byte(s.AppID)) != 1 ||
		subtle.ConstantTimeCompare([]byte(req.AppSecret), []byte(s.AppSecret)) != 1:
		body = map[string]any{"code": codeAuthFailed, "msg": "app_id or app_secret is invalid"}
	case l.down:
		body = map[string]any{"code": codeSystemBusy, "msg": "system busy"}
	default:
		l.seq++
		ticket := randomHex(12)
		l.tickets[ticket] = true
		u := fmt.Sprintf("ws://%s%s?device_id=%s&service_id=%d&ticket=%s", r.Host, longConnPath, "dev_"+randomHex(6), 1000+l.seq%1000, ticket)
		cfg := l.cfg.wire()
		body["data"] = map[string]any{"URL": u, "ClientConfig": cfg}
	}
	l.mu.Unlock()
	s.Record(Call{fakekit.Call{Op: OpLongConnEndpoint, Method: r.Method, Path: r.URL.Path, Raw: raw, Time: time.Now(), Status: status, Code: codeOf(body)}})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func (s *Server) handshake(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	l := s.lc
	l.mu.Lock()
	refuse := ""
	authCode := ""
	switch {
	case !l.tickets[q.Get("ticket")] || l.down:
		refuse = "ticket is invalid or used"
	case len(l.conns)+l.opening >= maxConnsPerApp:
		refuse, authCode = "exceed connection limit", strconv.Itoa(codeExceedConns)
	default:
		l.opening++
	}
	delete(l.tickets, q.Get("ticket"))
	l.mu.Unlock()
	if refuse != "" {
		w.Header().Set(larkws.HeaderHandshakeStatus, strconv.Itoa(codeAuthFailed))
		w.Header().Set(larkws.HeaderHandshakeMsg, refuse)
		if authCode != "" {
			w.Header().Set(larkws.HeaderHandshakeAuthErrCode, authCode)
		}
		w.WriteHeader(http.StatusForbidden)
		return
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		l.mu.Lock()
		l.opening--
		l.mu.Unlock()
		return
	}
	service, _ := strconv.ParseInt(q.Get("service_id"), 10, 32)
	c := &wsConn{id: q.Get("device_id"), service: int32(service), ws: ws}
	l.mu.Lock()
	l.opening--
	l.conns[c.id] = c
	l.connects++
	// Events whose connection went away before they were acknowledged
	// (or pushed while none was open) go to the new one.
	var resend []*pushedEvent
	for _, id := range l.order {
		if p := l.pushed[id]; !p.acked && !p.callback && (p.to == "" || l.conns[p.to] == nil) {
			p.to = c.id
			p.sends++
			resend = append(resend, p)
		}
	}
	l.changedLocked()
	l.mu.Unlock()
	for _, p := range resend {
		_ = s.send(c, p)
	}
	s.readLoop(c)
}

// readLoop answers pings and records acknowledgements until the
// connection fails.
func (s *Server) readLoop(c *wsConn) {
	l := s.lc
	defer func() {
		_ = c.ws.Close()
		l.mu.Lock()
		if l.conns[c.id] == c {
			delete(l.conns, c.id)
		}
		l.changedLocked()
		l.mu.Unlock()
	}()
	for {
		kind, msg, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		if kind != websocket.BinaryMessage {
			continue
		}
		var f larkws.Frame
		if err := f.Unmarshal(msg); err != nil {
			continue
		}
		h := larkws.Headers(f.Headers)
		switch {
		case f.Method == int32(larkws.FrameTypeControl) && h.GetString(larkws.HeaderType) == string(larkws.MessageTypePing):
			l.mu.Lock()
			cfg, _ := json.Marshal(l.cfg.wire())
			l.mu.Unlock()
			pong := larkws.Frame{Method: int32(larkws.FrameTypeControl), Service: c.service,
				Headers: []larkws.Header{{Key: larkws.HeaderType, Value: string(larkws.MessageTypePong)}}, Payload: cfg}
			_ = c.write(&pong)
		case f.Method == int32(larkws.FrameTypeData):
			var resp larkws.Response
			if json.Unmarshal(f.Payload, &resp) != nil {
				continue
			}
			s.ack(h.GetString(larkws.HeaderMessageID), resp.StatusCode, resp.Data)
		}
	}
}

func (s *Server) ack(id string, code int, data []byte) {
	l := s.lc
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.loseAcks > 0 {
		l.loseAcks--
		return
	}
	l.acks[id] = append(l.acks[id], code)
	if data != nil {
		l.ackData[id] = data
	}
	if p := l.pushed[id]; p != nil && code == http.StatusOK && (l.deadline <= 0 || time.Since(p.sentAt) <= l.deadline) {
		p.acked = true
	}
	l.changedLocked()
}

func (c *wsConn) write(f *larkws.Frame) error {
	b, err := f.Marshal()
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.ws.WriteMessage(websocket.BinaryMessage, b)
}

// send writes one event as data frames (split into parts of at most the
// fragment size, if set).
func (s *Server) send(c *wsConn, p *pushedEvent) error {
	l := s.lc
	l.mu.Lock()
	size := l.fragment
	l.seq++
	seq := l.seq
	p.sentAt = time.Now()
	l.mu.Unlock()
	parts := [][]byte{p.payload}
	if size > 0 && len(p.payload) > size {
		parts = nil
		for b := p.payload; len(b) > 0; {
			n := min(size, len(b))
			parts, b = append(parts, b[:n]), b[n:]
		}
	}
	for i, part := range parts {
		f := larkws.Frame{SeqID: seq, LogID: seq, Service: c.service, Method: int32(larkws.FrameTypeData), Payload: part,
			Headers: []larkws.Header{
				{Key: larkws.HeaderType, Value: string(larkws.MessageTypeEvent)},
				{Key: larkws.HeaderMessageID, Value: p.id},
				{Key: larkws.HeaderSum, Value: strconv.Itoa(len(parts))},
				{Key: larkws.HeaderSeq, Value: strconv.Itoa(i)},
				{Key: larkws.HeaderTraceID, Value: "trace_" + randomHex(6)},
				{Key: larkws.HeaderTimestamp, Value: strconv.FormatInt(time.Now().UnixMilli(), 10)},
			}}
		if err := c.write(&f); err != nil {
			return err
		}
	}
	return nil
}
