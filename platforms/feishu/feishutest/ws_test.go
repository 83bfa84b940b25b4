package feishutest

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"
	larkevent "github.com/larksuite/oapi-sdk-go/v3/event"
	"github.com/larksuite/oapi-sdk-go/v3/event/dispatcher"
	"github.com/larksuite/oapi-sdk-go/v3/event/dispatcher/callback"
	larkws "github.com/larksuite/oapi-sdk-go/v3/ws"
)

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
