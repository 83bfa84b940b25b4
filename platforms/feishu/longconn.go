package feishu

// longconn.go: the long connection (长连接, mode: websocket). Gavel opens
// an outbound WebSocket with the official SDK's client
// (github.com/larksuite/oapi-sdk-go/v3/ws) and receives on it the same v2
// event JSON a webhook carries, decoded by the same code (envelopeEvents)
// into the same moderation.Events with the same DedupKeys, so a replica
// that gets a webhook and one that gets the socket copy de-duplicate.
//
// How the SDK (v3.12.0) behaves, read from its source:
//   - It runs each data frame in its own goroutine and answers it with
//     code 200 when the dispatcher's Do returns nil, 500 otherwise; Feishu
//     re-sends an event without a 200. Gavel's handler returns nil only
//     after the sink stored the events (Intake: de-dup front, Submit,
//     Mark), within ackBudget of Feishu's 3 s.
//   - Do routes by header.event_type and has no catch-all: an event type
//     with no handler is answered 500 (NotFoundEventHandlerErr), so
//     Feishu would re-send it. Every type in eventTypes is registered
//     (those Gavel decodes and the usual ones it ignores); subscribe to
//     no other in the console.
//   - Only frames whose header type is "event" reach the dispatcher;
//     "card" frames are dropped without an answer (its card handler is
//     commented out). New-style card callbacks (card.action.trigger) come
//     as "event" frames (the SDK's documented long-connection callback
//     sample registers them on this dispatcher) and reach the same
//     decoding as the webhook's, answered with the same toast; the old
//     card callbacks are, per the documentation, webhook-only.
//   - Split events (headers sum/seq) are reassembled in one goroutine per
//     frame sharing a buffer without a lock (ws/client_message.go
//     combine): a data race (go test -race reports it). A part lost to
//     it leaves the event unanswered, so Feishu re-sends it; a double
//     completion hands it over twice and de-duplication keeps one.
//   - Reconnects: on by default. The server's ClientConfig (discovery
//     answer and every pong) sets them: the first attempt after a drop
//     waits a random 0..ReconnectNonce s (the only jitter), later ones
//     ReconnectInterval s each (no exponential growth), ReconnectCount
//     attempts (-1: for ever). The SDK gives up — Start returns — after
//     ReconnectCount attempts or on an answer it deems final (bad
//     credentials, 403, more than 50 connections); Connect then starts a
//     new client after its own backoff (outerBackoff).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"
	larkevent "github.com/larksuite/oapi-sdk-go/v3/event"
	"github.com/larksuite/oapi-sdk-go/v3/event/dispatcher"
	"github.com/larksuite/oapi-sdk-go/v3/event/dispatcher/callback"
	larkws "github.com/larksuite/oapi-sdk-go/v3/ws"

	"gavel/moderation"
)

// Sink stores the events of one delivery. It returns nil only once every
// event is stored (or known); an error leaves the delivery unacknowledged.
type Sink func(ctx context.Context, evs []moderation.Event) error

// LongConnObserver sees the long connection: its state, each reconnect,
// and each event frame's result ("acked", "ignored", "rejected_malformed",
// "store_failed") with the time from the frame to its answer.
type LongConnObserver interface {
	LongConnState(platform string, connected bool)
	LongConnReconnect(platform string)
	LongConnEvent(platform, result string, took time.Duration)
}

// ConnState is the long connection's state.
type ConnState struct {
	Connected bool
	// Since is when the connection last came up or went down (or when the
	// client was made, before the first connection).
	Since time.Time
	// Reconnects counts connections made after one was lost.
	Reconnects int
	// Events counts event frames received.
	Events int64
}

const (
	// ackBudget bounds storing one frame's events: Feishu waits 3 s for
	// the answer, then re-sends.
	ackBudget = 2500 * time.Millisecond
	// outerBackoff is the first wait before a new SDK client when one gave
	// up; it doubles up to outerBackoffMax, with ±50 % jitter.
	outerBackoff    = time.Second
	outerBackoffMax = 2 * time.Minute
	// handshakeTimeout bounds the WebSocket handshake (gorilla's default
	// is 45 s).
	handshakeTimeout = 10 * time.Second
)

// eventTypes are the event types registered with the SDK's dispatcher,
// which answers any other type 500: the ones parseEvent decodes, card
// callbacks, and the usual ones Gavel ignores (acknowledged, no action).
var eventTypes = []string{
	eventMessageReceive, eventUserAdded, eventChatUpdated, eventUserDeleted, eventUserWithdrawn,
	eventCardAction,
	"im.chat.member.bot.added_v1", "im.chat.member.bot.deleted_v1", "im.chat.disbanded_v1",
	"im.message.message_read_v1", "im.message.recalled_v1",
	"im.message.reaction.created_v1", "im.message.reaction.deleted_v1",
}

type connState struct {
	obs LongConnObserver
	now func() time.Time

	mu    sync.Mutex
	state ConnState
	ever  bool
}

func newConnState(obs LongConnObserver, now func() time.Time) *connState {
	return &connState{obs: obs, now: now, state: ConnState{Since: now()}}
}

func (s *connState) set(up bool) (reconnect bool) {
	s.mu.Lock()
	changed := s.state.Connected != up
	if changed {
		s.state.Connected, s.state.Since = up, s.now()
	}
	if up {
		reconnect = s.ever
		s.ever = true
		if reconnect {
			s.state.Reconnects++
		}
	}
	s.mu.Unlock()
	if s.obs != nil {
		if changed {
			s.obs.LongConnState(Name, up)
		}
		if reconnect {
			s.obs.LongConnReconnect(Name)
		}
	}
	return reconnect
}

func (s *connState) event(result string, took time.Duration) {
	s.mu.Lock()
	s.state.Events++
	s.mu.Unlock()
	if s.obs != nil {
		s.obs.LongConnEvent(Name, result, took)
	}
}

// ConnState returns the long connection's state.
func (c *Client) ConnState() ConnState {
	c.conn.mu.Lock()
	defer c.conn.mu.Unlock()
	return c.conn.state
}

// LongConnReady reports an error when, in websocket mode, the long
// connection has been down (or never up) for more than disconnected_grace.
func (c *Client) LongConnReady() error {
	if !c.cfg.WebSocket() {
		return nil
	}
	st := c.ConnState()
	if down := c.now().Sub(st.Since); !st.Connected && down > c.cfg.DisconnectedGrace {
		return fmt.Errorf("feishu long connection down for %s (more than disconnected_grace %s)", down.Round(time.Second), c.cfg.DisconnectedGrace)
	}
	return nil
}

// Connect holds the long connection until ctx ends, handing each event's
// decoded moderation.Events to sink and acknowledging the event only when
// sink returns nil. It returns nil when ctx ends, and an error only if
// the config is not in websocket mode.
func (c *Client) Connect(ctx context.Context, sink Sink) error {
	if !c.cfg.WebSocket() {
		return errors.New("feishu: Connect needs platforms.feishu.mode: websocket")
	}
	d := sharedDispatcher()
	ctx = context.WithValue(ctx, frameHandlerKey{}, frameHandler(func(ctx context.Context, payload []byte) error {
		return c.handleFrame(ctx, payload, sink)
	}))
	wait := outerBackoff
	for {
		connected, err := c.runClient(ctx, d)
		if ctx.Err() != nil {
			return nil
		}
		if connected {
			wait = outerBackoff
		}
		delay := wait/2 + rand.N(wait)
		c.log.WarnContext(ctx, "feishu long connection client gave up; starting a new one", "err", err, "after", delay.Round(time.Millisecond))
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return nil
		}
		wait = min(2*wait, outerBackoffMax)
	}
}

// frameHandler handles one event frame's payload; Connect puts it in the
// context it starts the SDK client with, which the SDK passes on to the
// dispatcher (ws.Client.Start → dispatcher.Do).
type frameHandler func(ctx context.Context, payload []byte) error

type frameHandlerKey struct{}

var (
	dispatcherOnce sync.Once
	dispatcherAll  *dispatcher.EventDispatcher
)

// sharedDispatcher is the one SDK dispatcher of the process, routing every
// type in eventTypes to the frameHandler in the context: the SDK's
// NewEventDispatcher prints a line to stdout each time it is called,
// whatever logger is set afterwards, so it is called once.
func sharedDispatcher() *dispatcher.EventDispatcher {
	dispatcherOnce.Do(func() {
		d := dispatcher.NewEventDispatcher("", "")
		d.InitConfig(larkevent.WithLogger(wsLogger{log: slog.Default()}), larkevent.WithLogLevel(larkcore.LogLevelError))
		handle := func(ctx context.Context, req *larkevent.EventReq) error {
			h, ok := ctx.Value(frameHandlerKey{}).(frameHandler)
			if !ok {
				return errors.New("feishu: long connection frame without its handler")
			}
			return h(ctx, req.Body)
		}
		for _, t := range eventTypes {
			if t != eventCardAction {
				d.OnCustomizedEvent(t, handle)
			}
		}
		// A card callback's answer carries the toast the webhook answers
		// (cardAck); the SDK puts it in the acknowledgement's data.
		d.OnP2CardActionTrigger(func(ctx context.Context, ev *callback.CardActionTriggerEvent) (*callback.CardActionTriggerResponse, error) {
			if ev.EventReq == nil {
				return nil, errors.New("feishu: card callback without its payload")
			}
			if err := handle(ctx, ev.EventReq); err != nil {
				return nil, err
			}
			var resp callback.CardActionTriggerResponse
			if err := json.Unmarshal(cardAck, &resp); err != nil {
				return nil, fmt.Errorf("feishu: card callback answer: %w", err)
			}
			return &resp, nil
		})
		dispatcherAll = d
	})
	return dispatcherAll
}

// runClient runs one SDK client until it gives up or ctx ends, and
// reports whether it ever connected.
func (c *Client) runClient(ctx context.Context, d *dispatcher.EventDispatcher) (connected bool, err error) {
	up := func() {
		connected = true
		if c.conn.set(true) {
			c.log.InfoContext(ctx, "feishu long connection up again", "reconnects", c.ConnState().Reconnects)
		} else {
			c.log.InfoContext(ctx, "feishu long connection up")
		}
	}
	dialer := *websocket.DefaultDialer
	dialer.HandshakeTimeout = handshakeTimeout
	dialer.Proxy = endpointGuard(c.cfg.BaseURL, dialer.Proxy)
	cli := larkws.NewClient(c.cfg.AppID, c.cfg.AppSecret,
		larkws.WithEventHandler(d),
		larkws.WithDomain(c.cfg.BaseURL),
		larkws.WithHttpClient(c.hc),
		larkws.WithWebSocketDialer(&dialer),
		larkws.WithAutoReconnect(true),
		larkws.WithLogger(wsLogger{log: c.log}),
		larkws.WithOnReady(up),
		larkws.WithOnReconnected(up),
		larkws.WithOnDisconnected(func() {
			c.conn.set(false)
			if ctx.Err() == nil {
				c.log.WarnContext(ctx, "feishu long connection down; the SDK reconnects")
			}
		}),
		larkws.WithOnError(func(err error) { c.log.WarnContext(ctx, "feishu long connection attempt failed", "err", err) }),
	)
	err = cli.Start(ctx)
	c.conn.set(false)
	return connected, err
}

// handleFrame decodes one event frame and stores its events; a nil
// answer is the acknowledgement.
func (c *Client) handleFrame(ctx context.Context, payload []byte, sink Sink) error {
	start := time.Now()
	evs, err := c.socketEvents(ctx, payload, c.now())
	if err != nil {
		// As a webhook's 400: not acknowledged, Feishu re-sends.
		c.conn.event("rejected_malformed", time.Since(start))
		c.log.WarnContext(ctx, "long connection event rejected", "err", err)
		return err
	}
	if len(evs) == 0 {
		c.conn.event("ignored", time.Since(start))
		return nil
	}
	sctx, cancel := context.WithTimeout(ctx, ackBudget)
	defer cancel()
	if err := sink(sctx, evs); err != nil {
		c.conn.event("store_failed", time.Since(start))
		c.log.ErrorContext(ctx, "long connection event not stored; not acknowledged, Feishu re-sends it", "event_id", evs[0].DeliveryID, "err", err)
		return err
	}
	c.conn.event("acked", time.Since(start))
	return nil
}

// socketEvents decodes one event from the long connection. The connection
// was authenticated when it opened (app_id/app_secret), so the event
// carries no signature and its token is not checked; an app_id other than
// Gavel's is refused all the same.
func (c *Client) socketEvents(ctx context.Context, payload []byte, receivedAt time.Time) ([]moderation.Event, error) {
	env, err := decodeEnvelope(payload)
	if err != nil {
		return nil, err
	}
	if env.Type == typeURLVerification {
		return nil, fmt.Errorf("url_verification on the long connection: %w", moderation.ErrMalformed)
	}
	if env.Header != nil && env.Header.AppID != "" && env.Header.AppID != c.cfg.AppID {
		return nil, fmt.Errorf("app_id %q: %w", env.Header.AppID, moderation.ErrUnknownApp)
	}
	return c.envelopeEvents(ctx, env, false, receivedAt, true)
}

// wsLogger sends the SDK's long-connection log lines to slog: debug and
// info at debug level (they include whole payloads), warnings and errors
// (connection failures, a failed handler: no payload) at warn level.
type wsLogger struct{ log *slog.Logger }

func (l wsLogger) Debug(ctx context.Context, args ...any) { l.emit(ctx, slog.LevelDebug, args) }
func (l wsLogger) Info(ctx context.Context, args ...any)  { l.emit(ctx, slog.LevelDebug, args) }
func (l wsLogger) Warn(ctx context.Context, args ...any)  { l.emit(ctx, slog.LevelWarn, args) }
func (l wsLogger) Error(ctx context.Context, args ...any) { l.emit(ctx, slog.LevelWarn, args) }

func (l wsLogger) emit(ctx context.Context, level slog.Level, args []any) {
	if l.log.Enabled(ctx, level) {
		l.log.Log(ctx, level, "lark sdk long connection", "msg", fmt.Sprint(args...))
	}
}

// endpointGuard wraps the dialer's proxy choice, which gorilla/websocket
// asks before it dials the endpoint Feishu's discovery answer named (the
// SDK dials whatever URL that answer holds): with an https base_url the
// endpoint must be wss://, never a plaintext ws:// one where the events
// (trusted on this connection without a token) could be read or forged on
// the way. Only the scheme and host are named in the error: the URL's
// query holds the connection's ticket.
func endpointGuard(baseURL string, next func(*http.Request) (*url.URL, error)) func(*http.Request) (*url.URL, error) {
	secure := strings.HasPrefix(strings.ToLower(baseURL), "https://")
	return func(req *http.Request) (*url.URL, error) {
		if secure && req.URL.Scheme != "https" {
			return nil, fmt.Errorf("feishu long connection endpoint on %s is not wss:// while base_url is https: refused", req.URL.Host)
		}
		if next == nil {
			return nil, nil
		}
		return next(req)
	}
}
