package feishu_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gavel/moderation"
	"gavel/platforms/feishu"
	"gavel/platforms/feishu/feishutest"
)

// FuzzReceiveSigned feeds arbitrary bodies and headers to an adapter with an
// Encrypt Key. It must never panic, and it must never accept a delivery
// whose signature is wrong (an unsigned one only as a url_verification).
func FuzzReceiveSigned(f *testing.F) {
	event := feishutest.MessageEvent(testToken, feishutest.TextMessage{ChatID: "oc_1", SenderID: "ou_a", Text: "@_user_1 /kick", Mentions: []feishutest.Mention{{Key: "@_user_1", OpenID: "ou_b"}}})
	for _, d := range []moderation.Delivery{
		feishutest.SignedDelivery(testKey, ts(testNow), "n", event),
		feishutest.SignedDelivery(testKey, ts(testNow), "n", feishutest.MessageEvent(testToken, feishutest.TextMessage{ChatID: "oc_1", SenderID: "ou_a", Text: "/ban", ParentID: "om_parent"})),
		feishutest.SignedDelivery(testKey, ts(testNow), "n", feishutest.Challenge(testToken, "c")),
		feishutest.SignedDelivery(testKey, ts(testNow), "n", []byte("{}")),
		feishutest.SignedDelivery("other", ts(testNow), "n", event),
	} {
		f.Add(d.Body, d.Header.Get(feishu.HeaderTimestamp), d.Header.Get(feishu.HeaderNonce), d.Header.Get(feishu.HeaderSignature))
	}
	f.Add([]byte(`{"encrypt":"`+vecHelloEncrypt+`"}`), "", "", "")
	c := newReceiver(f, nil)
	f.Fuzz(func(t *testing.T, body []byte, timestamp, nonce, sig string) {
		d := feishutest.PlainDelivery(body)
		for k, v := range map[string]string{feishu.HeaderTimestamp: timestamp, feishu.HeaderNonce: nonce, feishu.HeaderSignature: sig} {
			if v != "" {
				d.Header.Set(k, v)
			}
		}
		ack, err := c.Receive(context.Background(), d)
		if err != nil {
			if ack.Response != nil || ack.Events != nil {
				t.Fatal("ack returned with an error")
			}
			return
		}
		if timestamp == "" && nonce == "" && sig == "" {
			if len(ack.Events) != 0 {
				t.Fatal("unsigned delivery produced events")
			}
			return
		}
		if !feishu.VerifySignature(timestamp, nonce, testKey, body, sig) {
			t.Fatal("accepted a delivery with a wrong signature")
		}
	})
}

// FuzzDecrypt must never panic and only return plaintext that re-encrypts
// to the same length class.
func FuzzDecrypt(f *testing.F) {
	f.Add(vecHelloEncrypt, vecKey)
	f.Add(vecChallengeEnc, vecKey)
	f.Add("", "")
	f.Add("AAAA", "k")
	f.Fuzz(func(t *testing.T, encrypted, key string) {
		out, err := feishu.Decrypt(encrypted, key)
		if err != nil {
			if !errors.Is(err, moderation.ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if len(out) > len(encrypted) {
			t.Fatalf("plaintext longer than its ciphertext")
		}
	})
}

// FuzzParseEvent feeds arbitrary plaintext deliveries (no Encrypt Key) to
// the event parser: it must never panic, and every event it returns must be
// well formed.
func FuzzParseEvent(f *testing.F) {
	f.Add(feishutest.MessageEvent(testToken, feishutest.TextMessage{ChatID: "oc_1", SenderID: "ou_a", Text: "@_user_1 /mute @_user_2 10m",
		Mentions: []feishutest.Mention{{Key: "@_user_1", OpenID: "ou_bot"}, {Key: "@_user_2", OpenID: "ou_x", Name: "X"}}}))
	f.Add(feishutest.MessageEvent(testToken, feishutest.TextMessage{ChatID: "oc_1", SenderID: "ou_a", MessageType: "post", Content: `{"title":"t"}`}))
	f.Add(feishutest.MessageEvent(testToken, feishutest.TextMessage{ChatID: "oc_1", SenderID: "ou_a", Text: "/ban 1d", ParentID: "om_parent"}))
	f.Add(feishutest.UserAddedEvent(testToken, "e", "oc_1", "ou_op", "ou_1", "ou_2"))
	f.Add(feishutest.Challenge(testToken, "c"))
	f.Add(feishutest.ChatUpdatedEventAt(testToken, "e2", "oc_1", "ou_op", "ou_a", "ou_b", time.Unix(0, 0)))
	f.Add(feishutest.UserDeletedEventAt(testToken, "e3", "oc_1", "ou_op", time.Unix(0, 0), "ou_1"))
	f.Add([]byte(`{"schema":"2.0","header":{"event_id":"e","event_type":"im.message.receive_v1","token":"` + testToken + `","create_time":"99999999999999999999"},"event":{"message":{"chat_type":"group","message_type":"text","content":"\"x\""}}}`))
	c := newReceiver(f, func(cfg *feishu.Config) { cfg.EncryptKey = "" })
	f.Fuzz(func(t *testing.T, body []byte) {
		ack, err := c.Receive(context.Background(), moderation.Delivery{Body: body, ReceivedAt: time.Unix(0, 0)})
		if err != nil {
			return
		}
		for _, ev := range ack.Events {
			if ev.Platform != "feishu" || len(ev.DedupKeys) == 0 || ev.DedupKeys[0] != ev.DeliveryID {
				t.Fatalf("bad event %+v", ev)
			}
			switch ev.Kind {
			case moderation.EventMessage:
				if ev.Message == nil || ev.Message.MessageID == "" || ev.Message.Chat.ID == "" || ev.Message.SenderID == "" {
					t.Fatalf("bad message %+v", ev.Message)
				}
				// A reply reference names a message, never a sender (the
				// event does not carry the parent's sender).
				if r := ev.Message.ReplyTo; r != nil && (r.ID == "" || r.SenderID != "") {
					t.Fatalf("bad reply reference %+v", r)
				}
			case moderation.EventJoin:
				if ev.Join == nil || ev.Join.Chat.ID == "" || len(ev.Join.UserIDs) == 0 {
					t.Fatalf("bad join %+v", ev.Join)
				}
			case moderation.EventRolesChanged:
				if ev.RolesChanged == nil || ev.RolesChanged.Chat.ID == "" || slices.Contains(ev.RolesChanged.UserIDs, "") {
					t.Fatalf("bad roles change %+v", ev.RolesChanged)
				}
			case moderation.EventAction:
				checkAction(t, ev.Action)
			default:
				t.Fatalf("unknown kind %q", ev.Kind)
			}
		}
	})
}

// FuzzEventAge checks the header.create_time bound: never a panic; an
// accepted time parses and lies within [-window, ttl] of now, late exactly
// when older than window; a refusal is ErrMalformed or ErrStaleTimestamp.
func FuzzEventAge(f *testing.F) {
	const window, ttl = 5 * time.Minute, 8 * time.Hour
	now := testNow
	for _, s := range []string{"1700000000000", "1699999000000", "1699971200000", "1699900000000", "1700000000", "1700000000000000",
		"1608725989000", "", "-1", "abc", " 1700000000000 ", "99999999999999999999", "1700000300001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, createTime string) {
		late, err := feishu.EventAge(createTime, now, window, ttl)
		if err != nil {
			if !errors.Is(err, moderation.ErrMalformed) && !errors.Is(err, moderation.ErrStaleTimestamp) {
				t.Fatalf("error %v is neither malformed nor stale", err)
			}
			if late {
				t.Fatal("late with an error")
			}
			return
		}
		n, perr := strconv.ParseInt(strings.TrimSpace(createTime), 10, 64)
		if perr != nil || n <= 0 {
			t.Fatalf("accepted %q, not a positive integer", createTime)
		}
		var at time.Time
		switch {
		case n >= 1e15:
			at = time.UnixMicro(n)
		case n >= 1e12:
			at = time.UnixMilli(n)
		default:
			at = time.Unix(n, 0)
		}
		age := now.Sub(at)
		if age < -window || age > ttl {
			t.Fatalf("accepted %q, %s old", createTime, age)
		}
		if late != (age > window) {
			t.Fatalf("%q (%s old): late = %v", createTime, age, late)
		}
	})
}

// checkAction is what every decoded card press must satisfy.
func checkAction(t *testing.T, a *moderation.Action) {
	t.Helper()
	switch {
	case a == nil, a.Actor == "", a.Verb == "", a.CaseID < 0, a.Chat.ID == "", a.Chat.Platform != "feishu",
		a.Card == nil, a.Card.MessageID == "", a.Card.Chat != a.Chat,
		len(a.Targets) > feishu.MaxButtonTargets, slices.Contains(a.Targets, ""):
		t.Fatalf("bad action %+v", a)
	}
}

// FuzzCardAction feeds card.action.trigger payloads to the long
// connection's decoding (the webhook's, after decryption, is the same
// envelopeEvents): never a
// panic; a refusal wraps a moderation sentinel; an accepted press names
// its presser, its card and a pressable verb, and no more targets than a
// button carries.
func FuzzCardAction(f *testing.F) {
	for _, v := range []string{
		`{"g":1,"v":"undo","c":13,"t":["ou_a","ou_b"]}`,
		`{"g":1,"v":"verify","c":"21","o":"ou_j"}`,
		`{"g":1,"v":"undo","c":7,"n":70}`,
		`{"g":1,"v":"nuke"}`,
		`"undo"`,
		`{"g":1,"v":"ban","c":1e3}`,
	} {
		f.Add(feishutest.CardActionEvent("", feishutest.CardPress{EventID: "e", MessageID: "om", ChatID: "oc", Operator: "ou_p",
			At: testNow, Value: json.RawMessage(v)}))
	}
	f.Add([]byte(`{"schema":"2.0","header":{"event_id":"e","event_type":"card.action.trigger","create_time":"1700000000000"},` +
		`"event":{"operator":{"open_id":"ou"},"action":{"tag":"button","value":{"g":1,"v":"undo","c":1,"c":2}},"context":{"open_message_id":"om","open_chat_id":"oc"}}}`))
	c := newReceiver(f, nil)
	f.Fuzz(func(t *testing.T, payload []byte) {
		events, err := feishu.SocketEvents(c, payload)
		if err != nil {
			if !errors.Is(err, moderation.ErrMalformed) && !errors.Is(err, moderation.ErrStaleTimestamp) && !errors.Is(err, moderation.ErrUnknownApp) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		for _, ev := range events {
			if ev.Kind == moderation.EventAction {
				checkAction(t, ev.Action)
			}
		}
	})
}
