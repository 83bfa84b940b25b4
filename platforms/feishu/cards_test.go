package feishu_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"gavel/moderation"
	"gavel/platforms/feishu"
	"gavel/platforms/feishu/feishutest"
)

// press builds a card.action.trigger delivery for the receiver of
// newReceiver, signed with key at testNow.
func press(p feishutest.CardPress, token, key string) moderation.Delivery {
	if p.At.IsZero() {
		p.At = testNow
	}
	return feishutest.SignedDelivery(key, ts(testNow), "nonce", feishutest.CardActionEvent(token, p))
}

func TestCardActionDecoded(t *testing.T) {
	t.Parallel()
	good := feishutest.CardPress{EventID: "ev1", MessageID: "om_card", ChatID: "oc_modlog", Operator: "ou_admin",
		Value: json.RawMessage(`{"g":1,"v":"undo","c":13,"t":["ou_a","ou_b"]}`)}
	with := func(mut func(*feishutest.CardPress)) feishutest.CardPress {
		p := good
		mut(&p)
		return p
	}
	chatRef := moderation.ChatRef{Platform: "feishu", ID: "oc_modlog", Kind: "group"}
	tests := []struct {
		name     string
		delivery moderation.Delivery
		want     *moderation.Action
		err      error
	}{
		{name: "good press", delivery: press(good, testToken, testKey), want: &moderation.Action{
			Actor: "ou_admin", Verb: moderation.VerbUndo, CaseID: 13, Chat: chatRef, Targets: []string{"ou_a", "ou_b"},
			Card: &moderation.PostRef{Chat: chatRef, MessageID: "om_card"}, At: testNow}},
		{name: "verification button with only", delivery: press(with(func(p *feishutest.CardPress) {
			p.Value = json.RawMessage(`{"g":1,"v":"verify","c":"21","o":"ou_joiner"}`)
		}), testToken, testKey), want: &moderation.Action{
			Actor: "ou_admin", Verb: moderation.VerbVerify, CaseID: 21, Chat: chatRef, Only: "ou_joiner",
			Card: &moderation.PostRef{Chat: chatRef, MessageID: "om_card"}, At: testNow}},
		{name: "too many targets to carry: the case's", delivery: press(with(func(p *feishutest.CardPress) {
			p.Value = json.RawMessage(`{"g":1,"v":"undo","c":7,"n":70}`)
		}), testToken, testKey), want: &moderation.Action{
			Actor: "ou_admin", Verb: moderation.VerbUndo, CaseID: 7, Chat: chatRef,
			Card: &moderation.PostRef{Chat: chatRef, MessageID: "om_card"}, At: testNow}},
		{name: "value not an object", err: moderation.ErrMalformed,
			delivery: press(with(func(p *feishutest.CardPress) { p.Value = json.RawMessage(`"undo 13"`) }), testToken, testKey)},
		{name: "value not Gavel's", err: moderation.ErrMalformed,
			delivery: press(with(func(p *feishutest.CardPress) { p.Value = json.RawMessage(`{"v":"undo","c":13}`) }), testToken, testKey)},
		{name: "unknown verb", err: moderation.ErrMalformed,
			delivery: press(with(func(p *feishutest.CardPress) { p.Value = json.RawMessage(`{"g":1,"v":"nuke","c":13}`) }), testToken, testKey)},
		{name: "negative case", err: moderation.ErrMalformed,
			delivery: press(with(func(p *feishutest.CardPress) { p.Value = json.RawMessage(`{"g":1,"v":"undo","c":-1}`) }), testToken, testKey)},
		{name: "fractional case", err: moderation.ErrMalformed,
			delivery: press(with(func(p *feishutest.CardPress) { p.Value = json.RawMessage(`{"g":1,"v":"undo","c":1.5}`) }), testToken, testKey)},
		{name: "count without a case", err: moderation.ErrMalformed,
			delivery: press(with(func(p *feishutest.CardPress) { p.Value = json.RawMessage(`{"g":1,"v":"undo","n":70}`) }), testToken, testKey)},
		{name: "empty target", err: moderation.ErrMalformed,
			delivery: press(with(func(p *feishutest.CardPress) { p.Value = json.RawMessage(`{"g":1,"v":"undo","c":1,"t":[""]}`) }), testToken, testKey)},
		{name: "missing operator", err: moderation.ErrMalformed,
			delivery: press(with(func(p *feishutest.CardPress) { p.Operator = "" }), testToken, testKey)},
		{name: "missing card", err: moderation.ErrMalformed,
			delivery: press(with(func(p *feishutest.CardPress) { p.MessageID = "" }), testToken, testKey)},
		{name: "not a button", err: moderation.ErrMalformed,
			delivery: press(with(func(p *feishutest.CardPress) { p.Tag = "select_static" }), testToken, testKey)},
		{name: "forged signature", err: moderation.ErrBadSignature, delivery: func() moderation.Delivery {
			d := press(good, testToken, testKey)
			d.Header.Set(feishutest.HeaderSignature, feishutest.Sign(ts(testNow), "nonce", "another key", d.Body))
			return d
		}()},
		{name: "wrong verification token", err: moderation.ErrBadToken, delivery: press(good, "vt-forged", testKey)},
		{name: "another app", err: moderation.ErrUnknownApp,
			delivery: press(with(func(p *feishutest.CardPress) { p.AppID = "cli_other" }), testToken, testKey)},
		{name: "stale", err: moderation.ErrStaleTimestamp,
			delivery: press(with(func(p *feishutest.CardPress) { p.At = testNow.Add(-24 * time.Hour) }), testToken, testKey)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newReceiver(t, nil)
			ack, err := c.Receive(context.Background(), tt.delivery)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(ack.Events) != 1 {
				t.Fatalf("%d events", len(ack.Events))
			}
			ev := ack.Events[0]
			if ev.Kind != moderation.EventAction || ev.DeliveryID != "feishu:event:ev1" || fmt.Sprint(ev.DedupKeys) != "[feishu:event:ev1]" {
				t.Fatalf("event %+v", ev)
			}
			got, _ := json.Marshal(ev.Action)
			want, _ := json.Marshal(tt.want)
			if string(got) != string(want) {
				t.Fatalf("action\n got %s\nwant %s", got, want)
			}
			// Feishu wants "{}" or a toast within 3 s, not the event ack.
			answer, _ := json.Marshal(ack.Response)
			var toast struct {
				Toast struct{ Type, Content string } `json:"toast"`
			}
			if json.Unmarshal(answer, &toast) != nil || toast.Toast.Type != "info" || toast.Toast.Content == "" {
				t.Fatalf("answer %s", answer)
			}
		})
	}
}

// TestCardPressRoundTrip: a card Post rendered, pressed in the fake (which
// echoes the button's value), comes back through the webhook and through
// the long connection's decoding as the button's Action.
func TestCardPressRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, 2)
	targets := []string{"ou_m0", "ou_m1"}
	id, err := f.c.Post(ctx, chat, moderation.Post{Card: modlogCard(targets...)})
	if err != nil {
		t.Fatal(err)
	}
	for i, verb := range []moderation.Verb{moderation.VerbUndo, moderation.VerbBan, moderation.VerbDismiss} {
		p, err := f.srv.PressButton(id, "ou_owner", i)
		if err != nil {
			t.Fatal(err)
		}
		p.At = f.clock.now()
		webhook, err := f.c.Receive(ctx, f.srv.PressDelivery(p, f.clock.now()))
		if err != nil {
			t.Fatalf("%s via webhook: %v", verb, err)
		}
		socket, err := feishu.SocketEvents(f.c, f.srv.PressPayload(p))
		if err != nil {
			t.Fatalf("%s via long connection: %v", verb, err)
		}
		for _, evs := range [][]moderation.Event{webhook.Events, socket} {
			a := evs[0].Action
			wantTargets := targets
			if verb == moderation.VerbDismiss {
				wantTargets = nil
			}
			if a.Verb != verb || a.CaseID != 13 || a.Actor != "ou_owner" || fmt.Sprint(a.Targets) != fmt.Sprint(wantTargets) ||
				a.Card == nil || a.Card.MessageID != id || a.Chat.ID != chatID {
				t.Fatalf("%s: action %+v", verb, a)
			}
		}
	}
	if _, err := f.srv.PressButton(id, "ou_owner", 3); !errors.Is(err, feishutest.ErrNoButton) {
		t.Fatalf("press of a missing button: %v", err)
	}
}

// TestSocketCardActionRefused: the long connection's decoding refuses
// another app's press and malformed ones.
func TestSocketCardActionRefused(t *testing.T) {
	t.Parallel()
	c := newReceiver(t, nil)
	tests := []struct {
		name    string
		payload []byte
		err     error
	}{
		{"not JSON", []byte("{"), moderation.ErrMalformed},
		{"another app", feishutest.CardActionEvent("", feishutest.CardPress{EventID: "e", MessageID: "om", ChatID: "oc", Operator: "ou",
			AppID: "cli_other", At: testNow, Value: json.RawMessage(`{"g":1,"v":"undo","c":1}`)}), moderation.ErrUnknownApp},
		{"unknown verb", feishutest.CardActionEvent("", feishutest.CardPress{EventID: "e", MessageID: "om", ChatID: "oc", Operator: "ou",
			At: testNow, Value: json.RawMessage(`{"g":1,"v":"nuke","c":1}`)}), moderation.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := feishu.SocketEvents(c, tt.payload); !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
		})
	}
}
