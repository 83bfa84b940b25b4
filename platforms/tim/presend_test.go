package tim

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gavel/moderation"
	"gavel/platforms/tim/timtest"
)

// wordGate matches messages containing word; dryRun marks its hits so.
type wordGate struct {
	word   string
	dryRun bool

	mu    sync.Mutex
	calls int
	last  [3]string // chat, sender, text
}

func (g *wordGate) Screen(chat moderation.ChatRef, senderID, text string) (moderation.Screening, bool) {
	g.mu.Lock()
	g.calls++
	g.last = [3]string{chat.String() + "/" + chat.Kind, senderID, text}
	g.mu.Unlock()
	if !strings.Contains(text, g.word) {
		return moderation.Screening{}, false
	}
	return moderation.Screening{Rule: "words", Match: `word "` + g.word + `"`, DryRun: g.dryRun}, true
}

func (g *wordGate) seen() (int, [3]string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.calls, g.last
}

// gateClient returns a callback client screening with gate (nil: none).
func gateClient(tb testing.TB, gate moderation.Gate, mutate func(*Config)) *Client {
	tb.Helper()
	cfg := testConfig("http://127.0.0.1:1")
	if mutate != nil {
		mutate(&cfg)
	}
	opts := Options{Logger: discardLogger(), Now: func() time.Time { return testNow }}
	if gate != nil {
		opts.Gate = gate
	}
	return newClient(tb, cfg, opts)
}

func answerJSON(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

const (
	answerDeliver = `{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}`
	answerReject  = `{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":1}`
	answerDrop    = `{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":2}`
)

func TestPreSend(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	spam := timtest.PreSend{GroupID: groupPub, From: "spam_bot_77", Texts: []string{"buy ", "spam"}, MsgID: "144115-1760000000-7", Random: 7}
	tests := []struct {
		name      string
		gate      *wordGate // nil: no Gate
		mutate    func(*Config)
		p         timtest.PreSend
		want      string
		wantEvent bool
		wantText  string // text the gate saw; "" = not called
	}{
		{name: "allow", gate: &wordGate{word: "spam"}, p: timtest.PreSend{GroupID: groupPub, From: "quiet_one", Texts: []string{"hello"}},
			want: answerDeliver, wantText: "hello"},
		{name: "block rejects", gate: &wordGate{word: "spam"}, p: spam, want: answerReject, wantEvent: true, wantText: "buy spam"},
		{name: "block drops", gate: &wordGate{word: "spam"}, mutate: func(c *Config) { c.PreSendAction = PreSendDrop }, p: spam,
			want: answerDrop, wantEvent: true, wantText: "buy spam"},
		{name: "dry run delivers and records", gate: &wordGate{word: "spam", dryRun: true}, p: spam, want: answerDeliver, wantEvent: true, wantText: "buy spam"},
		{name: "text split across elements", gate: &wordGate{word: "spam"}, p: timtest.PreSend{GroupID: groupPub, From: "flooder_9",
			Texts: []string{"sp", "am"}, Custom: true, Random: 9}, want: answerReject, wantEvent: true, wantText: "spam"},
		{name: "non-text message screened as empty", gate: &wordGate{word: "spam"}, p: timtest.PreSend{GroupID: groupPub, From: "flooder_9", Custom: true},
			want: answerDeliver},
		{name: "own message not screened", gate: &wordGate{word: "spam"}, p: timtest.PreSend{GroupID: groupPub, From: timtest.DefaultAdmin, Texts: []string{"spam"}},
			want: answerDeliver},
		{name: "nil gate delivers", p: spam, want: answerDeliver},
		{name: "legacy EventTime string", gate: &wordGate{word: "spam"}, p: timtest.PreSend{GroupID: groupWork, From: "member_a", Texts: []string{"spam"},
			EventTimeString: true}, want: answerReject, wantEvent: true, wantText: "spam"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var gate moderation.Gate
			if tt.gate != nil {
				gate = tt.gate
			}
			c := gateClient(t, gate, tt.mutate)
			ack, err := c.Receive(context.Background(), s.PreSendDelivery(testToken, testNow, tt.p))
			if err != nil {
				t.Fatalf("Receive: %v", err)
			}
			if got := answerJSON(t, ack.Response); got != tt.want {
				t.Errorf("answer = %s, want %s", got, tt.want)
			}
			if tt.gate != nil {
				n, last := tt.gate.seen()
				switch {
				case tt.wantText == "" && tt.p.From == timtest.DefaultAdmin && n != 0:
					t.Errorf("gate called %d times for the bot's own message", n)
				case tt.wantText != "" && (n != 1 || last[2] != tt.wantText || last[1] != tt.p.From):
					t.Errorf("gate saw %d calls, last %q, want text %q", n, last, tt.wantText)
				}
			}
			if !tt.wantEvent {
				if ack.Events != nil {
					t.Errorf("events = %+v, want none", ack.Events)
				}
				return
			}
			if len(ack.Events) != 1 {
				t.Fatalf("events = %+v, want one", ack.Events)
			}
			ev := ack.Events[0]
			ref := tt.p.MsgID
			if ref == "" {
				r := tt.p.Random
				if r == 0 {
					r = 1
				}
				ref = tt.p.From + ":" + strconv.FormatUint(uint64(r), 10)
			}
			wantID := "tim:presend:" + tt.p.GroupID + ":" + ref
			typ := map[string]string{groupPub: "Public", groupWork: "Work"}[tt.p.GroupID]
			want := moderation.Event{
				Kind:       moderation.EventScreened,
				Platform:   "tim",
				DeliveryID: wantID,
				DedupKeys:  []string{wantID},
				Message: &moderation.Message{
					Chat:      moderation.ChatRef{Platform: "tim", ID: tt.p.GroupID, Kind: typ},
					MessageID: tt.p.MsgID,
					SenderID:  tt.p.From,
					Text:      tt.wantText,
					SentAt:    testNow,
				},
				Screening: &moderation.Screening{Rule: "words", Match: `word "spam"`, DryRun: tt.gate.dryRun},
			}
			if !reflect.DeepEqual(ev, want) {
				t.Errorf("event:\n got %+v %+v %+v\nwant %+v %+v %+v", ev, ev.Message, ev.Screening, want, want.Message, want.Screening)
			}
		})
	}
}

// TestPreSendFixtures reads our own payloads written from the documented
// field list: the 2025 form (MsgId, numeric EventTime, mixed elements) and
// the older one (no MsgId, EventTime as a string).
func TestPreSendFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file    string
		wantID  string
		chat    moderation.ChatRef
		from    string
		text    string
		msgID   string
		sentAt  time.Time
		wantAns string
	}{
		{"before_send_msg.json", "tim:presend:" + groupPub + ":144115233406643804-1760000000-3141592653",
			moderation.ChatRef{Platform: "tim", ID: groupPub, Kind: "Public"}, "spam_bot_77", "cheap followers at spam.example",
			"144115233406643804-1760000000-3141592653", time.UnixMilli(1760000000123), answerReject},
		{"before_send_msg_legacy.json", "tim:presend:" + groupWork + ":member_a:42",
			moderation.ChatRef{Platform: "tim", ID: groupWork, Kind: "Private"}, "member_a", "buy spam now",
			"", time.UnixMilli(1760000000456), answerReject},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			gate := &wordGate{word: "spam"}
			c := gateClient(t, gate, nil)
			d := timtest.SignedDelivery(timtest.DefaultSDKAppID, timtest.CommandBeforeSendMsg, testToken, testNow, readFixture(t, tt.file))
			ack, err := c.Receive(context.Background(), d)
			if err != nil {
				t.Fatalf("Receive: %v", err)
			}
			if got := answerJSON(t, ack.Response); got != tt.wantAns {
				t.Errorf("answer = %s", got)
			}
			if len(ack.Events) != 1 {
				t.Fatalf("events = %+v", ack.Events)
			}
			ev := ack.Events[0]
			m := ev.Message
			if ev.DeliveryID != tt.wantID || m.Chat != tt.chat || m.SenderID != tt.from || m.Text != tt.text ||
				m.MessageID != tt.msgID || !m.SentAt.Equal(tt.sentAt) {
				t.Errorf("event %q message %+v", ev.DeliveryID, m)
			}
		})
	}
}

func TestPreSendRejects(t *testing.T) {
	t.Parallel()
	gate := &wordGate{word: "spam"}
	c := gateClient(t, gate, nil)
	p := timtest.PreSend{GroupID: groupPub, From: "spam_bot_77", Texts: []string{"spam"}}
	valid := func() moderation.Delivery {
		return timtest.PreSendDelivery(timtest.DefaultSDKAppID, testToken, testNow, p)
	}
	with := func(edit func(q url.Values)) moderation.Delivery {
		d := valid()
		edit(d.Query)
		return d
	}
	body := func(b string) moderation.Delivery {
		return timtest.SignedDelivery(timtest.DefaultSDKAppID, timtest.CommandBeforeSendMsg, testToken, testNow, []byte(b))
	}
	tests := []struct {
		name string
		d    moderation.Delivery
		want error
	}{
		{"bad sign", with(func(q url.Values) { q.Set("Sign", Sign("other-token", q.Get("RequestTime"))) }), moderation.ErrBadSignature},
		{"missing sign", with(func(q url.Values) { q.Del("Sign") }), moderation.ErrMissingHeaders},
		{"stale", timtest.PreSendDelivery(timtest.DefaultSDKAppID, testToken, testNow.Add(-61*time.Second), p), moderation.ErrStaleTimestamp},
		{"future", timtest.PreSendDelivery(timtest.DefaultSDKAppID, testToken, testNow.Add(61*time.Second), p), moderation.ErrStaleTimestamp},
		{"other app", timtest.PreSendDelivery(timtest.DefaultSDKAppID+1, testToken, testNow, p), moderation.ErrUnknownApp},
		{"command mismatch", with(func(q url.Values) { q.Set("CallbackCommand", timtest.CommandAfterSendMsg) }), moderation.ErrMalformed},
		{"not JSON", body(`{"GroupId":`), moderation.ErrMalformed},
		{"no GroupId", body(`{"From_Account":"u","Random":1,"MsgBody":[]}`), moderation.ErrMalformed},
		{"no From_Account", body(`{"GroupId":"g","Random":1,"MsgBody":[]}`), moderation.ErrMalformed},
		{"no MsgId or Random", body(`{"GroupId":"g","From_Account":"u","MsgBody":[]}`), moderation.ErrMalformed},
		{"Random not a number", body(`{"GroupId":"g","From_Account":"u","Random":"x"}`), moderation.ErrMalformed},
		{"MsgBody not a list", body(`{"GroupId":"g","From_Account":"u","Random":1,"MsgBody":{}}`), moderation.ErrMalformed},
		{"text content not an object", body(`{"GroupId":"g","From_Account":"u","Random":1,"MsgBody":[{"MsgType":"TIMTextElem","MsgContent":"spam"}]}`), moderation.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ack, err := c.Receive(context.Background(), tt.d)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Receive err = %v, want %v", err, tt.want)
			}
			if ack.Response != nil || ack.Events != nil {
				t.Errorf("rejected delivery produced %+v", ack)
			}
		})
	}
	if n, _ := gate.seen(); n != 0 {
		t.Errorf("gate called %d times for rejected deliveries", n)
	}
}

// TestPreSendAnswerShapes pins the exact bodies TIM receives, matching the
// documented allow / reject / silent-drop samples.
func TestPreSendAnswerShapes(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	spam := timtest.PreSend{GroupID: groupPub, From: "spam_bot_77", Texts: []string{"spam"}, MsgID: "m-1"}
	tests := []struct {
		name   string
		gate   *wordGate
		action string
		want   string
		events int
	}{
		{"allow", &wordGate{word: "nothing-matches"}, PreSendReject, answerDeliver, 0},
		{"reject", &wordGate{word: "spam"}, PreSendReject, answerReject, 1},
		{"drop", &wordGate{word: "spam"}, PreSendDrop, answerDrop, 1},
		{"dry run", &wordGate{word: "spam", dryRun: true}, PreSendReject, answerDeliver, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := gateClient(t, tt.gate, func(cfg *Config) { cfg.PreSendAction = tt.action })
			ack, err := c.Receive(context.Background(), s.PreSendDelivery(testToken, testNow, spam))
			if err != nil {
				t.Fatal(err)
			}
			if got := answerJSON(t, ack.Response); got != tt.want {
				t.Errorf("answer = %s, want %s", got, tt.want)
			}
			if len(ack.Events) != tt.events {
				t.Errorf("events = %d, want %d", len(ack.Events), tt.events)
			}
		})
	}
}

// BenchmarkPreSend measures the whole before-send path: verify Sign and
// RequestTime, decode, screen with a trivial gate, encode the answer.
func BenchmarkPreSend(b *testing.B) {
	for _, bc := range []struct {
		name string
		text string
	}{{"allow", "hello everyone, see you at the meeting"}, {"block", "buy spam now"}} {
		b.Run(bc.name, func(b *testing.B) {
			c := gateClient(b, &wordGate{word: "spam"}, nil)
			d := timtest.PreSendDelivery(timtest.DefaultSDKAppID, testToken, testNow,
				timtest.PreSend{GroupID: groupPub, From: "spam_bot_77", Texts: []string{bc.text}, MsgID: "144115233406643804-1760000000-1"})
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				ack, err := c.Receive(ctx, d)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := json.Marshal(ack.Response); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
