package feishutest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"
	larkevent "github.com/larksuite/oapi-sdk-go/v3/event"
	"github.com/larksuite/oapi-sdk-go/v3/event/dispatcher"
	"github.com/larksuite/oapi-sdk-go/v3/event/dispatcher/callback"
	larkws "github.com/larksuite/oapi-sdk-go/v3/ws"
)

// discover posts the endpoint discovery as the SDK does.
func discover(t *testing.T, s *Server, appID, secret string) larkws.EndpointResp {
	t.Helper()
	body, _ := json.Marshal(larkws.BootstrapRequest{AppID: appID, AppSecret: secret})
	resp, err := http.Post(s.URL+larkws.GenEndpointUri, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out larkws.EndpointResp
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLongConnEndpoint(t *testing.T) {
	t.Parallel()
	s := NewServer()
	t.Cleanup(s.Close)
	if got := discover(t, s, s.AppID, "wrong"); got.Code != codeAuthFailed || got.Data != nil {
		t.Errorf("bad secret: %+v", got)
	}
	s.SetLongConnDown(true)
	if got := discover(t, s, s.AppID, s.AppSecret); got.Code != codeSystemBusy {
		t.Errorf("down: %+v", got)
	}
	s.SetLongConnDown(false)
	got := discover(t, s, s.AppID, s.AppSecret)
	if got.Code != 0 || got.Data == nil || got.Data.ClientConfig == nil || got.Data.ClientConfig.PingInterval == 0 {
		t.Fatalf("discovery: %+v", got)
	}
	// The ticket is good for one handshake.
	conn, _, err := websocket.DefaultDialer.Dial(got.Data.Url, nil)
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	defer conn.Close()
	_, resp, err := websocket.DefaultDialer.Dial(got.Data.Url, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden || resp.Header.Get(larkws.HeaderHandshakeStatus) != "514" {
		t.Errorf("second handshake with one ticket: %v %+v", err, resp)
	}
	// A ping is answered by a pong carrying the ClientConfig.
	ping, _ := larkws.NewPingFrame(1).Marshal()
	if err := conn.WriteMessage(websocket.BinaryMessage, ping); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, msg, err := conn.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	var pong larkws.Frame
	if err := pong.Unmarshal(msg); err != nil || larkws.Headers(pong.Headers).GetString(larkws.HeaderType) != "pong" ||
		!strings.Contains(string(pong.Payload), "PingInterval") {
		t.Fatalf("pong %+v (%v)", pong, err)
	}
	// An event frame, its acknowledgement recorded.
	id := s.Push([]byte(`{"schema":"2.0"}`))
	_, msg, err = conn.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	var ev larkws.Frame
	if err := ev.Unmarshal(msg); err != nil || larkws.Headers(ev.Headers).GetString(larkws.HeaderMessageID) != id {
		t.Fatalf("event frame %+v (%v)", ev, err)
	}
	ev.Payload = []byte(`{"code":200}`)
	b, _ := ev.Marshal()
	if err := conn.WriteMessage(websocket.BinaryMessage, b); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.WaitAcked(ctx, id); err != nil || len(s.Unacked()) != 0 {
		t.Errorf("ack not recorded: %v, unacked %v", err, s.Unacked())
	}
}

func TestLongConnLimit(t *testing.T) {
	t.Parallel()
	s := NewServer()
	t.Cleanup(s.Close)
	for i := range maxConnsPerApp + 1 {
		got := discover(t, s, s.AppID, s.AppSecret)
		c, resp, err := websocket.DefaultDialer.Dial(got.Data.Url, nil)
		if i < maxConnsPerApp {
			if err != nil {
				t.Fatalf("connection %d: %v", i+1, err)
			}
			defer c.Close()
			continue
		}
		if err == nil || resp.Header.Get(larkws.HeaderHandshakeAuthErrCode) != "1000040350" {
			t.Errorf("connection 51 accepted or refused without the limit's code: %v", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.WaitConns(ctx, maxConnsPerApp); err != nil || len(s.Conns()) != maxConnsPerApp {
		t.Errorf("%d connections open, want %d (%v)", len(s.Conns()), maxConnsPerApp, err)
	}
}

// TestLongConnCallbacks: a card.action.trigger callback goes out once —
// never re-pushed (callback overview: "不提供补推机制"), lost when no
// connection is open — and the card response the SDK puts in the ack's
// data is kept (AckData).
func TestLongConnCallbacks(t *testing.T) {
	t.Parallel()
	s := NewServer()
	defer s.Close()
	press := func(id string) []byte {
		return s.PressPayload(CardPress{EventID: id, MessageID: "om_1", ChatID: "oc_1", Operator: "ou_a", AppID: s.AppID})
	}
	lost := s.Push(press("ev_lost")) // no connection open yet

	var fail atomic.Bool
	d := dispatcher.NewEventDispatcher("", "").OnP2CardActionTrigger(
		func(context.Context, *callback.CardActionTriggerEvent) (*callback.CardActionTriggerResponse, error) {
			if fail.Load() {
				return nil, errors.New("handler failed")
			}
			return &callback.CardActionTriggerResponse{}, nil
		})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cli := larkws.NewClient(s.AppID, s.AppSecret, larkws.WithEventHandler(d), larkws.WithDomain(s.URL),
		larkws.WithLogLevel(larkcore.LogLevelError))
	go func() { _ = cli.Start(ctx) }()
	defer cli.Close()
	if err := s.WaitConns(ctx, 1); err != nil {
		t.Fatalf("no connection: %v", err)
	}

	ok := s.Push(press("ev_ok"))
	if err := s.WaitAcked(ctx, ok); err != nil {
		t.Fatalf("callback not answered: %v", err)
	}
	if got := string(s.AckData(ok)); got != "{}" {
		t.Errorf("ack data = %q, want the card response {}", got)
	}

	fail.Store(true)
	failed := s.Push(press("ev_failed"))
	if err := s.WaitAnswered(ctx, failed, 1); err != nil {
		t.Fatalf("callback not answered: %v", err)
	}
	if got := s.Acks(failed); len(got) != 1 || got[0] != 500 {
		t.Errorf("answers = %v, want [500]", got)
	}
	if n := s.Redeliver(); n != 0 {
		t.Errorf("Redeliver re-sent %d callbacks, want 0", n)
	}
	if got := s.Unacked(); len(got) != 0 {
		t.Errorf("Unacked = %v, want no callbacks", got)
	}
	if n := s.Sends(lost); n != 0 {
		t.Errorf("a callback pushed with no connection open was sent %d times", n)
	}
}

// TestLongConnDeadline: an event answered later than the handling
// deadline (3 s on the long-connection page) is not acknowledged and is
// pushed again.
func TestLongConnDeadline(t *testing.T) {
	t.Parallel()
	s := NewServer()
	defer s.Close()
	s.SetHandleDeadline(100 * time.Millisecond)
	var slow atomic.Bool
	slow.Store(true)
	d := dispatcher.NewEventDispatcher("", "").OnCustomizedEvent("im.message.receive_v1",
		func(context.Context, *larkevent.EventReq) error {
			if slow.Load() {
				time.Sleep(300 * time.Millisecond)
			}
			return nil
		})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cli := larkws.NewClient(s.AppID, s.AppSecret, larkws.WithEventHandler(d), larkws.WithDomain(s.URL),
		larkws.WithLogLevel(larkcore.LogLevelError))
	go func() { _ = cli.Start(ctx) }()
	defer cli.Close()
	if err := s.WaitConns(ctx, 1); err != nil {
		t.Fatalf("no connection: %v", err)
	}
	id := s.Push(MessageEvent("", TextMessage{ChatID: "oc_1", SenderID: "ou_a", Text: "hi"}))
	if err := s.WaitAnswered(ctx, id, 1); err != nil {
		t.Fatalf("not answered: %v", err)
	}
	if got := s.Unacked(); len(got) != 1 || got[0] != id {
		t.Fatalf("Unacked = %v, want the late-answered event", got)
	}
	slow.Store(false)
	if n := s.Redeliver(); n != 1 {
		t.Fatalf("Redeliver sent %d, want 1", n)
	}
	if err := s.WaitAcked(ctx, id); err != nil {
		t.Fatalf("not acknowledged when answered in time: %v (answers %v)", err, s.Acks(id))
	}
}
