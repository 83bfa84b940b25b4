package feishutest

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
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
