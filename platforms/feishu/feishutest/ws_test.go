package feishutest

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"
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
