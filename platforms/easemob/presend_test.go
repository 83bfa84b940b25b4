package easemob_test

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"gavel/moderation"
	"gavel/platforms/easemob"
	"gavel/platforms/easemob/easemobtest"
)

// wordGate matches messages containing word; dryRun marks its hits so.
type wordGate struct {
	word   string
	dryRun bool

	mu    sync.Mutex
	calls int
	chat  moderation.ChatRef
	from  string
	text  string
}

func (g *wordGate) Screen(chat moderation.ChatRef, senderID, text string) (moderation.Screening, bool) {
	g.mu.Lock()
	g.calls++
	g.chat, g.from, g.text = chat, senderID, text
	g.mu.Unlock()
	if !strings.Contains(text, g.word) {
		return moderation.Screening{}, false
	}
	return moderation.Screening{Rule: "words", Match: `word "` + g.word + `"`, DryRun: g.dryRun}, true
}

func (g *wordGate) seen() (int, moderation.ChatRef, string, string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.calls, g.chat, g.from, g.text
}

// gateEnv is newEnv with a Gate (nil: none).
func gateEnv(tb testing.TB, gate moderation.Gate, mutate ...func(*easemob.Config)) *env {
	tb.Helper()
	srv := easemobtest.NewServer()
	tb.Cleanup(srv.Close)
	clk := newClock()
	srv.SetNow(clk.Now)
	cfg := testConfig(srv)
	for _, m := range mutate {
		m(&cfg)
	}
	c, err := easemob.New(cfg, easemob.Options{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:    clk.Now,
		Gate:   gate,
	})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return &env{srv: srv, clock: clk, c: c}
}

const (
	answerDeliver = `{"valid":true}`
	answerBlock   = `{"valid":false}`
)

func answer(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func TestPreSend(t *testing.T) {
	t.Parallel()
	spam := easemobtest.PreSend{ChatID: roomID, From: "spammer", Text: "buy spam now", MsgID: "1306371229395633404", CallID: "gavel-org#gavel-app_pre-1"}
	with := func(edit func(*easemobtest.PreSend)) easemobtest.PreSend {
		p := spam
		edit(&p)
		return p
	}
	tests := []struct {
		name      string
		gate      *wordGate // nil: no Gate
		p         easemobtest.PreSend
		want      string
		wantEvent bool
		wantKind  string
		wantText  string // what the gate saw; "" with wantCalls 0 = not called
		wantCalls int
	}{
		{name: "allow", gate: &wordGate{word: "spam"}, p: with(func(p *easemobtest.PreSend) { p.Text = "hello" }),
			want: answerDeliver, wantText: "hello", wantCalls: 1},
		{name: "block flat payload", gate: &wordGate{word: "spam"}, p: spam, want: answerBlock, wantEvent: true, wantText: "buy spam now", wantCalls: 1},
		{name: "block bodies payload split", gate: &wordGate{word: "spam"}, p: with(func(p *easemobtest.PreSend) { p.Bodies, p.Texts = true, []string{"sp", "am"} }),
			want: answerBlock, wantEvent: true, wantText: "spam", wantCalls: 1},
		{name: "chat_type chatroom", gate: &wordGate{word: "spam"}, p: with(func(p *easemobtest.PreSend) { p.ChatType = "chatroom" }),
			want: answerBlock, wantEvent: true, wantKind: easemob.KindChatRoom, wantText: "buy spam now", wantCalls: 1},
		{name: "chat_type group", gate: &wordGate{word: "spam"}, p: with(func(p *easemobtest.PreSend) { p.ChatType = "group" }),
			want: answerBlock, wantEvent: true, wantKind: easemob.KindGroup, wantText: "buy spam now", wantCalls: 1},
		{name: "dry run delivers and records", gate: &wordGate{word: "spam", dryRun: true}, p: spam, want: answerDeliver, wantEvent: true, wantText: "buy spam now", wantCalls: 1},
		{name: "image screened as empty text", gate: &wordGate{word: "spam"}, p: with(func(p *easemobtest.PreSend) { p.Image = true }), want: answerDeliver, wantCalls: 1},
		{name: "own message not screened", gate: &wordGate{word: "spam"}, p: with(func(p *easemobtest.PreSend) { p.From = strings.ToUpper(easemobtest.DefaultBotUser) }), want: answerDeliver},
		{name: "1:1 chat not screened", gate: &wordGate{word: "spam"}, p: with(func(p *easemobtest.PreSend) { p.ChatType = "chat"; p.ChatID = "bob" }), want: answerDeliver},
		{name: "nil gate delivers", p: spam, want: answerDeliver},
	}
	for _, route := range []string{"ReceivePreSend", "Receive"} {
		for _, tc := range tests {
			t.Run(route+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				var gate moderation.Gate
				if tc.gate != nil {
					gate = &wordGate{word: tc.gate.word, dryRun: tc.gate.dryRun}
				}
				e := gateEnv(t, gate)
				receive := e.c.ReceivePreSend
				if route == "Receive" {
					receive = e.c.Receive
				}
				ack, err := receive(ctx, e.srv.PreSendDelivery(tc.p))
				if err != nil {
					t.Fatal(err)
				}
				if got := answer(t, ack.Response); got != tc.want {
					t.Errorf("answer %s, want %s", got, tc.want)
				}
				if gate != nil {
					n, chat, from, text := gate.(*wordGate).seen()
					if n != tc.wantCalls || (n > 0 && (text != tc.wantText || from != tc.p.From || chat.ID != tc.p.ChatID)) {
						t.Errorf("gate saw %d calls (%v %q %q), want %d with %q", n, chat, from, text, tc.wantCalls, tc.wantText)
					}
				}
				if !tc.wantEvent {
					if ack.Events != nil {
						t.Errorf("events %+v, want none", ack.Events)
					}
					return
				}
				want := []moderation.Event{{
					Kind:       moderation.EventScreened,
					Platform:   "easemob",
					DeliveryID: "easemob:presend:" + tc.p.MsgID,
					DedupKeys:  []string{"easemob:presend:" + tc.p.MsgID},
					Message: &moderation.Message{
						Chat:      moderation.ChatRef{Platform: "easemob", ID: tc.p.ChatID, Kind: tc.wantKind},
						MessageID: tc.p.MsgID,
						SenderID:  tc.p.From,
						Text:      tc.wantText,
						SentAt:    e.clock.Now().Truncate(time.Millisecond),
					},
					Screening: &moderation.Screening{Rule: "words", Match: `word "spam"`, DryRun: tc.gate.dryRun},
				}}
				if !reflect.DeepEqual(ack.Events, want) {
					t.Errorf("events\n got %+v %+v\nwant %+v %+v", ack.Events, ack.Events[0].Message, want, want[0].Message)
				}
			})
		}
	}
}

// TestPreSendFixtures reads our own payloads, written from the documented
// field list in both payload forms and signed with a synthetic secret.
func TestPreSendFixtures(t *testing.T) {
	t.Parallel()
	const secret = "fixture-presend-secret"
	tests := []struct {
		file, chat, kind, from, text, msgID string
	}{
		{"presend_flat.json", "262318195818497", "", "spammer_01", "cheap followers at spam.example", "1306371229395633404"},
		{"presend_bodies.json", "262318195818498", easemob.KindChatRoom, "spammer_02", "buy spam now", "1306371229395633405"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			body, err := os.ReadFile("testdata/" + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			e := gateEnv(t, &wordGate{word: "spam"}, func(c *easemob.Config) { c.PreSendSecret = secret })
			e.clock.Advance(time.UnixMilli(1729499252371 + 2000).Sub(e.clock.Now()))
			ack, err := e.c.ReceivePreSend(ctx, e.srv.Delivery(body))
			if err != nil {
				t.Fatal(err)
			}
			if got := answer(t, ack.Response); got != answerBlock {
				t.Errorf("answer %s", got)
			}
			if len(ack.Events) != 1 {
				t.Fatalf("events %+v", ack.Events)
			}
			m := ack.Events[0].Message
			want := moderation.Message{Chat: moderation.ChatRef{Platform: "easemob", ID: tc.chat, Kind: tc.kind}, MessageID: tc.msgID,
				SenderID: tc.from, Text: tc.text, SentAt: time.UnixMilli(1729499252371)}
			if !reflect.DeepEqual(*m, want) {
				t.Errorf("message %+v, want %+v", *m, want)
			}
		})
	}
}

func TestPreSendAnswerShapes(t *testing.T) {
	t.Parallel()
	p := easemobtest.PreSend{ChatID: roomID, ChatType: "chatroom", From: "spammer", Text: "spam"}
	tests := []struct {
		name   string
		gate   *wordGate
		code   string
		want   string
		events int
	}{
		{"allow", &wordGate{word: "nothing-matches"}, "", answerDeliver, 0},
		{"block", &wordGate{word: "spam"}, "", answerBlock, 1},
		{"block with code", &wordGate{word: "spam"}, "GAVEL:blocked", `{"valid":false,"code":"GAVEL:blocked"}`, 1},
		{"dry run", &wordGate{word: "spam", dryRun: true}, "GAVEL:blocked", answerDeliver, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := gateEnv(t, tc.gate, func(c *easemob.Config) { c.PreSendCode = tc.code })
			ack, err := e.c.ReceivePreSend(ctx, e.srv.PreSendDelivery(p))
			if err != nil {
				t.Fatal(err)
			}
			if got := answer(t, ack.Response); got != tc.want {
				t.Errorf("answer %s, want %s", got, tc.want)
			}
			if len(ack.Events) != tc.events {
				t.Errorf("%d events, want %d", len(ack.Events), tc.events)
			}
		})
	}
}

func TestPreSendRejects(t *testing.T) {
	t.Parallel()
	gate := &wordGate{word: "spam"}
	e := gateEnv(t, gate)
	now := e.clock.Now()
	p := easemobtest.PreSend{ChatID: roomID, From: "spammer", Text: "spam", At: now}
	signed := func(mut func(map[string]any)) []byte {
		f := e.srv.PreSendFields(p)
		mut(f)
		return easemobtest.SignFields(f, e.srv.PreSendSecret)
	}
	tests := []struct {
		name string
		body []byte
		want error
	}{
		{"signed with the post-send secret", easemobtest.SignFields(e.srv.PreSendFields(p), e.srv.CallbackSecret), moderation.ErrBadSignature},
		{"signed with another secret", easemobtest.SignFields(e.srv.PreSendFields(p), "other"), moderation.ErrBadSignature},
		{"missing security", func() []byte { b, _ := json.Marshal(e.srv.PreSendFields(p)); return b }(), moderation.ErrMissingHeaders},
		{"stale, signed with another secret", func() []byte {
			f := e.srv.PreSendFields(p)
			f["timestamp"] = now.Add(-time.Hour).UnixMilli()
			return easemobtest.SignFields(f, "other")
		}(), moderation.ErrBadSignature},
		{"not json", []byte(`{"callId":`), moderation.ErrMalformed},
		{"payload not an object", signed(func(f map[string]any) { f["payload"] = "spam" }), moderation.ErrMalformed},
		{"bodies not a list", signed(func(f map[string]any) { f["payload"] = map[string]any{"bodies": "spam"} }), moderation.ErrMalformed},
		{"no from", signed(func(f map[string]any) { delete(f, "from") }), moderation.ErrMalformed},
		{"no group_id or to", signed(func(f map[string]any) { delete(f, "group_id"); delete(f, "to") }), moderation.ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ack, err := e.c.ReceivePreSend(ctx, e.srv.Delivery(tc.body))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if ack.Response != nil || ack.Events != nil {
				t.Fatalf("rejected delivery produced %+v", ack)
			}
		})
	}
	if n, _, _, _ := gate.seen(); n != 0 {
		t.Errorf("gate called %d times for rejected deliveries", n)
	}
}

// TestReceiveTellsPreSendApart: at one URL, Receive answers a pre-send
// callback as one — by its secret when presend_secret differs, by its
// shape (no eventType) when the rules share a secret — and keeps treating
// post-send callbacks as before.
func TestReceiveTellsPreSendApart(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		shared  bool
		body    func(e *env) []byte
		want    string
		wantEvt moderation.EventKind
	}{
		{"distinct secret pre-send", false, func(e *env) []byte {
			return e.srv.PreSendBody(easemobtest.PreSend{ChatID: roomID, From: "u", Text: "spam"})
		}, answerBlock, moderation.EventScreened},
		{"distinct secret pre-send without marker fields", false, func(e *env) []byte {
			f := e.srv.PreSendFields(easemobtest.PreSend{ChatID: roomID, From: "u", Text: "spam"})
			f["eventType"] = "chat"
			return easemobtest.SignFields(f, e.srv.PreSendSecret)
		}, answerBlock, moderation.EventScreened},
		{"shared secret pre-send by shape", true, func(e *env) []byte {
			return e.srv.PreSendBody(easemobtest.PreSend{ChatID: roomID, From: "u", Text: "spam"})
		}, answerBlock, moderation.EventScreened},
		{"post-send stays a message", false, func(e *env) []byte {
			return e.srv.MessageBody(easemobtest.Message{ChatID: roomID, Kind: easemobtest.KindChatRoom, From: "u", Text: "spam"})
		}, `{}`, moderation.EventMessage},
		{"shared secret post-send stays a message", true, func(e *env) []byte {
			return e.srv.MessageBody(easemobtest.Message{ChatID: roomID, Kind: easemobtest.KindChatRoom, From: "u", Text: "spam"})
		}, `{}`, moderation.EventMessage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mutate := func(*easemob.Config) {}
			if tc.shared {
				mutate = func(c *easemob.Config) { c.PreSendSecret = "" }
			}
			e := gateEnv(t, &wordGate{word: "spam"}, mutate)
			if tc.shared {
				e.srv.PreSendSecret = ""
			}
			ack, err := e.c.Receive(ctx, e.srv.Delivery(tc.body(e)))
			if err != nil {
				t.Fatal(err)
			}
			if got := answer(t, ack.Response); got != tc.want {
				t.Errorf("answer %s, want %s", got, tc.want)
			}
			if len(ack.Events) != 1 || ack.Events[0].Kind != tc.wantEvt {
				t.Errorf("events %+v, want one %s", ack.Events, tc.wantEvt)
			}
		})
	}
}

// BenchmarkPreSend measures the whole pre-send path: verify security and
// timestamp, decode, screen with a trivial gate, encode the answer.
func BenchmarkPreSend(b *testing.B) {
	for _, bc := range []struct {
		name string
		text string
	}{{"allow", "hello everyone, see you at the meeting"}, {"block", "buy spam now"}} {
		b.Run(bc.name, func(b *testing.B) {
			e := gateEnv(b, &wordGate{word: "spam"})
			d := e.srv.PreSendDelivery(easemobtest.PreSend{ChatID: roomID, ChatType: "chatroom", From: "spammer", Text: bc.text})
			b.ReportAllocs()
			for b.Loop() {
				ack, err := e.c.ReceivePreSend(ctx, d)
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
