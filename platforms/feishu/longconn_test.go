package feishu_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gavel/moderation"
	"gavel/platforms/feishu"
	"gavel/platforms/feishu/feishutest"
)

// sinkRecorder is a Sink that records events and fails while told to.
type sinkRecorder struct {
	mu   sync.Mutex
	evs  []moderation.Event
	fail error
}

func (s *sinkRecorder) sink(_ context.Context, evs []moderation.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.evs = append(s.evs, evs...)
	return nil
}

func (s *sinkRecorder) setFail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = err
}

func (s *sinkRecorder) events() []moderation.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.evs)
}

// connect starts a websocket-mode client against fs and waits for its
// connection; everything stops at the test's cleanup.
func connect(t *testing.T, fs *feishutest.Server, sink feishu.Sink) *feishu.Client {
	t.Helper()
	c, err := feishu.New(feishu.Config{Mode: feishu.ModeWebSocket, BaseURL: fs.URL, AppID: fs.AppID, AppSecret: fs.AppSecret},
		feishu.Options{Logger: quietLogger(), HTTPClient: fs.Client()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Connect(ctx, sink) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Connect: %v", err)
		}
	})
	waitCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	if err := fs.WaitConns(waitCtx, 1); err != nil {
		t.Fatalf("no connection: %v", err)
	}
	for !c.ConnState().Connected {
		if waitCtx.Err() != nil {
			t.Fatal("the fake has the connection, the client does not say connected")
		}
		time.Sleep(time.Millisecond)
	}
	return c
}

func within(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// TestLongConnFrames pushes one event per case through the SDK client
// and checks the answer the fake recorded and what reached the sink.
func TestLongConnFrames(t *testing.T) {
	t.Parallel()
	msg := func() []byte {
		return feishutest.MessageEvent("", feishutest.TextMessage{ChatID: "oc_1", SenderID: "ou_a", Text: "/kick @_user_1"})
	}
	tests := []struct {
		name      string
		payload   []byte
		sinkErr   error
		wantCode  int
		wantSunk  int
		wantState string
	}{
		{name: "message stored then acknowledged", payload: msg(), wantCode: 200, wantSunk: 1},
		{name: "store failure not acknowledged", payload: msg(), sinkErr: errors.New("disk full"), wantCode: 500},
		{name: "ignored type acknowledged", payload: feishutest.Event("", "ev_bot", "im.chat.member.bot.added_v1", map[string]any{"chat_id": "oc_1"}), wantCode: 200},
		{name: "malformed event not acknowledged", payload: feishutest.Event("", "ev_bad", "im.message.receive_v1",
			map[string]any{"message": map[string]any{"chat_type": "group"}}), wantCode: 500},
		{name: "another app's event refused", payload: []byte(`{"schema":"2.0","header":{"event_id":"e","event_type":"im.message.receive_v1","app_id":"cli_other","create_time":"` +
			feishutest.Timestamp(time.Now()) + `"},"event":{}}`), wantCode: 500},
		// The SDK's dispatcher has no catch-all: a type nobody registered
		// is answered 500 (and Feishu re-sends it).
		{name: "unregistered type answered 500 by the SDK", payload: feishutest.Event("", "ev_x", "contact.user.created_v3", map[string]any{}), wantCode: 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fs := feishutest.NewServer()
			t.Cleanup(fs.Close)
			rec := &sinkRecorder{fail: tt.sinkErr}
			connect(t, fs, rec.sink)
			id := fs.Push(tt.payload)
			if err := fs.WaitAnswered(within(t, 10*time.Second), id, 1); err != nil {
				t.Fatalf("no answer: %v", err)
			}
			if got := fs.Acks(id); len(got) != 1 || got[0] != tt.wantCode {
				t.Errorf("answers = %v, want [%d]", got, tt.wantCode)
			}
			if got := len(rec.events()); got != tt.wantSunk {
				t.Errorf("events stored = %d, want %d", got, tt.wantSunk)
			}
			if tt.sinkErr != nil {
				// Re-sent once the store works: stored, acknowledged.
				rec.setFail(nil)
				if n := fs.Redeliver(); n != 1 {
					t.Fatalf("Redeliver sent %d", n)
				}
				if err := fs.WaitAcked(within(t, 10*time.Second), id); err != nil {
					t.Fatalf("not acknowledged after re-send: %v (answers %v)", err, fs.Acks(id))
				}
				if got := len(rec.events()); got != 1 {
					t.Errorf("events stored after re-send = %d, want 1", got)
				}
			}
		})
	}
}

// TestLongConnCardCallback: a card.action.trigger frame reaches the same
// decoding as the webhook's (an EventAction) and is answered with the
// webhook's toast.
func TestLongConnCardCallback(t *testing.T) {
	t.Parallel()
	fs := feishutest.NewServer()
	t.Cleanup(fs.Close)
	rec := &sinkRecorder{}
	connect(t, fs, rec.sink)
	payload := fs.PressPayload(feishutest.CardPress{MessageID: "om_card", ChatID: "oc_1", Operator: "ou_mod", AppID: fs.AppID,
		Value: []byte(`{"g":1,"v":"undo","case":7}`)})
	id := fs.Push(payload)
	if err := fs.WaitAnswered(within(t, 10*time.Second), id, 1); err != nil {
		t.Fatal(err)
	}
	if got := fs.Acks(id); !slices.Equal(got, []int{200}) {
		t.Fatalf("answers %v, want [200]", got)
	}
	if data := string(fs.AckData(id)); !strings.Contains(data, `"toast"`) {
		t.Errorf("answer data %q, want the toast", data)
	}
	hook, err := feishu.New(feishu.Config{BaseURL: fs.URL, AppID: fs.AppID, AppSecret: fs.AppSecret, VerificationToken: fs.VerificationToken},
		feishu.Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ack, err := hook.Receive(context.Background(), feishutest.PlainDelivery(payload))
	if err != nil {
		t.Fatalf("webhook: %v", err)
	}
	got := rec.events()
	if len(got) != 1 || got[0].Kind != moderation.EventAction || len(ack.Events) != 1 || !slices.Equal(got[0].DedupKeys, ack.Events[0].DedupKeys) {
		t.Errorf("socket events %+v\nwebhook events %+v", got, ack.Events)
	}
}

// TestLongConnSameEventsAsWebhook: one event JSON through Receive and
// through the socket gives the same events (same DedupKeys), so the
// de-duplication treats a webhook copy and a socket copy as one.
func TestLongConnSameEventsAsWebhook(t *testing.T) {
	t.Parallel()
	fs := feishutest.NewServer()
	t.Cleanup(fs.Close)
	rec := &sinkRecorder{}
	connect(t, fs, rec.sink)
	m := fs.NewMessage("oc_1", "ou_a", "@_user_1 /mute @_user_2 10m", feishutest.Mention{Key: "@_user_1", OpenID: fs.BotOpenID, Name: "Gavel"},
		feishutest.Mention{Key: "@_user_2", OpenID: "ou_b", Name: "b"})
	payload := feishutest.MessageEvent(fs.VerificationToken, m)
	id := fs.Push(payload)
	if err := fs.WaitAcked(within(t, 10*time.Second), id); err != nil {
		t.Fatal(err)
	}
	hook, err := feishu.New(feishu.Config{BaseURL: fs.URL, AppID: fs.AppID, AppSecret: fs.AppSecret, VerificationToken: fs.VerificationToken},
		feishu.Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ack, err := hook.Receive(context.Background(), feishutest.PlainDelivery(payload))
	if err != nil {
		t.Fatal(err)
	}
	got := rec.events()
	if len(got) != 1 || len(ack.Events) != 1 {
		t.Fatalf("socket events %d, webhook events %d", len(got), len(ack.Events))
	}
	if !slices.Equal(got[0].DedupKeys, ack.Events[0].DedupKeys) || got[0].DeliveryID != ack.Events[0].DeliveryID ||
		got[0].Message.Text != ack.Events[0].Message.Text {
		t.Errorf("socket event %+v\nwebhook event %+v", got[0], ack.Events[0])
	}
}

// TestLongConnReconnects drops the socket, pushes events while the
// platform refuses connections, and checks that the SDK reconnects and
// gets every event, each stored once.
func TestLongConnReconnects(t *testing.T) {
	t.Parallel()
	fs := feishutest.NewServer()
	t.Cleanup(fs.Close)
	rec := &sinkRecorder{}
	c := connect(t, fs, rec.sink)
	if st := c.ConnState(); !st.Connected || st.Reconnects != 0 {
		t.Fatalf("state %+v", st)
	}
	fs.SetLongConnDown(true)
	deadline := within(t, 10*time.Second)
	for c.ConnState().Connected {
		if deadline.Err() != nil {
			t.Fatal("still connected after the drop")
		}
		time.Sleep(10 * time.Millisecond)
	}
	var ids []string
	for i := range 3 {
		ids = append(ids, fs.Push(feishutest.MessageEvent("", feishutest.TextMessage{ChatID: "oc_1", SenderID: "ou_a", Text: strings.Repeat("x", i+1)})))
	}
	fs.SetLongConnDown(false)
	for _, id := range ids {
		if err := fs.WaitAcked(within(t, 15*time.Second), id); err != nil {
			t.Fatalf("event %s not acknowledged after the reconnect: %v", id, err)
		}
	}
	if got := len(rec.events()); got != 3 {
		t.Errorf("events stored = %d, want 3", got)
	}
	if st := c.ConnState(); !st.Connected || st.Reconnects != 1 || st.Events != 3 {
		t.Errorf("state %+v, want connected, 1 reconnect, 3 events", st)
	}
}

// TestLongConnOuterRestart: an answer the SDK deems final (a non-zero
// discovery code) makes its client give up; Connect starts another.
func TestLongConnOuterRestart(t *testing.T) {
	t.Parallel()
	fs := feishutest.NewServer()
	t.Cleanup(fs.Close)
	fs.FailNext(feishutest.OpLongConnEndpoint, 1, 1000040350)
	connect(t, fs, (&sinkRecorder{}).sink)
	if n := len(fs.CallsTo(feishutest.OpLongConnEndpoint)); n < 2 {
		t.Errorf("discoveries = %d, want the refused one and another", n)
	}
}

func TestLongConnReady(t *testing.T) {
	t.Parallel()
	fs := feishutest.NewServer()
	t.Cleanup(fs.Close)
	c, err := feishu.New(feishu.Config{Mode: feishu.ModeWebSocket, BaseURL: fs.URL, AppID: fs.AppID, AppSecret: fs.AppSecret, DisconnectedGrace: time.Millisecond},
		feishu.Options{Logger: quietLogger(), HTTPClient: fs.Client()})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	if err := c.LongConnReady(); err == nil || !strings.Contains(err.Error(), "disconnected_grace") {
		t.Errorf("before connecting: LongConnReady = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Connect(ctx, (&sinkRecorder{}).sink) }()
	defer func() { cancel(); <-done }()
	if err := fs.WaitConns(within(t, 10*time.Second), 1); err != nil {
		t.Fatal(err)
	}
	deadline := within(t, 5*time.Second)
	for c.LongConnReady() != nil && deadline.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	if err := c.LongConnReady(); err != nil {
		t.Errorf("connected: LongConnReady = %v", err)
	}
	hook := newReceiver(t, nil)
	if err := hook.LongConnReady(); err != nil {
		t.Errorf("webhook mode: LongConnReady = %v", err)
	}
	if err := hook.Connect(context.Background(), nil); err == nil {
		t.Error("Connect in webhook mode succeeded")
	}
}

// FuzzSocketEvents: whatever arrives on the socket is decoded without a
// panic, and every event it yields carries feishu: de-duplication keys.
func FuzzSocketEvents(f *testing.F) {
	f.Add(feishutest.MessageEvent("", feishutest.TextMessage{ChatID: "oc_1", SenderID: "ou_a", Text: "/ban"}))
	f.Add(feishutest.UserAddedEvent("", "ev1", "oc_1", "ou_op", "ou_x"))
	f.Add(feishutest.Challenge("", "c"))
	f.Add([]byte(`{"schema":"2.0","header":{"event_id":"e","event_type":"card.action.trigger","create_time":"1"},"event":{}}`))
	f.Add([]byte("{}"))
	c, err := feishu.New(feishu.Config{Mode: feishu.ModeWebSocket, AppID: "cli_fuzz", AppSecret: "s"}, feishu.Options{Logger: quietLogger()})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		evs, err := feishu.SocketEvents(c, payload)
		if err != nil {
			return
		}
		for _, ev := range evs {
			if len(ev.DedupKeys) == 0 || !strings.HasPrefix(ev.DedupKeys[0], "feishu:") {
				t.Fatalf("event without feishu: keys: %+v", ev)
			}
		}
	})
}
