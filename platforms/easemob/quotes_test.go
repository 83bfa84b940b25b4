package easemob_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode"

	"gavel/moderation"
	"gavel/platforms/easemob/easemobtest"
	"gavel/platforms/wirejson"
)

// quotedBody is a signed group message callback whose ext.msgQuote is raw
// (nil: none).
func quotedBody(srv *easemobtest.Server, callID string, raw json.RawMessage) []byte {
	f := srv.MessageFields(easemobtest.Message{ChatID: roomID, Kind: easemobtest.KindGroup, From: "owner1", Text: "/kick", MsgID: "10", CallID: callID, At: fuzzNow})
	if raw != nil {
		f["payload"].(map[string]any)["ext"].(map[string]any)["msgQuote"] = raw
	}
	return easemobtest.SignFields(f, srv.CallbackSecret)
}

// TestReplyTo: a reply's ext.msgQuote (the UIKit's quote) becomes
// Message.ReplyTo; anything that cannot name a message is ignored.
func TestReplyTo(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("9", 65)
	tests := []struct {
		name string
		raw  string // "" : no msgQuote
		want *moderation.MessageRef
	}{
		{name: "none"},
		{name: "uikit object", raw: `{"msgID":"1183419561584429104","msgPreview":"buy now","msgSender":"Spammer_1","msgType":"txt"}`,
			want: &moderation.MessageRef{ID: "1183419561584429104", SenderID: "spammer_1"}},
		{name: "as a JSON string", raw: `"{\"msgID\":\"12\",\"msgSender\":\"bob\"}"`, want: &moderation.MessageRef{ID: "12", SenderID: "bob"}},
		{name: "numeric id, no sender", raw: `{"msgID":12}`, want: &moderation.MessageRef{ID: "12"}},
		{name: "sender not an id", raw: `{"msgID":"12","msgSender":"a b"}`, want: &moderation.MessageRef{ID: "12"}},
		{name: "sender object", raw: `{"msgID":"12","msgSender":{"id":"x"}}`, want: &moderation.MessageRef{ID: "12"}},
		{name: "no id", raw: `{"msgSender":"bob"}`},
		{name: "empty id", raw: `{"msgID":"","msgSender":"bob"}`},
		{name: "id too long", raw: `{"msgID":"` + long + `"}`},
		{name: "id with a newline", raw: `{"msgID":"1\n2"}`},
		{name: "array", raw: `["12"]`},
		{name: "null", raw: `null`},
		{name: "oversized", raw: `{"msgID":"12","msgPreview":"` + strings.Repeat("x", 5000) + `"}`},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			var raw json.RawMessage
			if tc.raw != "" {
				raw = json.RawMessage(tc.raw)
			}
			e.clock.t = fuzzNow
			ack, err := e.c.Receive(ctx, e.srv.Delivery(quotedBody(e.srv, fmt.Sprintf("org#app_q%d", i), raw)))
			if err != nil || len(ack.Events) != 1 {
				t.Fatalf("err %v, events %d", err, len(ack.Events))
			}
			got := ack.Events[0].Message.ReplyTo
			if (got == nil) != (tc.want == nil) || (got != nil && *got != *tc.want) {
				t.Fatalf("ReplyTo %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestReplyToFromFakeQuote: the fake's Quote (as a UIKit writes it)
// round-trips.
func TestReplyToFromFakeQuote(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := easemobtest.Message{ChatID: roomID, Kind: easemobtest.KindChatRoom, From: "owner1", Text: "/ban",
		Quote: &easemobtest.Quote{MsgID: "555", Sender: "Eve", Preview: "spam"}}
	ack, err := e.c.Receive(ctx, e.srv.MessageDelivery(m))
	if err != nil || len(ack.Events) != 1 {
		t.Fatalf("err %v", err)
	}
	if r := ack.Events[0].Message.ReplyTo; r == nil || r.ID != "555" || r.SenderID != "eve" {
		t.Fatalf("ReplyTo %+v", r)
	}
}

// FuzzReplyTo: whatever msgQuote holds, Receive accepts the signed
// message and a ReplyTo it fills names a plausible message and sender.
// "Whatever" is any JSON wirejson reads: a payload with a duplicate
// member name anywhere means two things to two parsers and is refused
// whole (platforms/wirejson), msgQuote included.
func FuzzReplyTo(f *testing.F) {
	f.Add([]byte(`{"msgID":"1","msgSender":"a"}`))
	f.Add([]byte(`"{\"msgID\":\"1\"}"`))
	f.Add([]byte(`{"msgID":1e3}`))
	f.Add([]byte(`{"msgID":"\u0000"}`))
	srv := &easemobtest.Server{Org: "org", App: "app", CallbackSecret: fuzzSecret}
	c := fuzzClient(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) || !wirejson.Value(raw).IsValid() {
			return
		}
		body := quotedBody(srv, fmt.Sprintf("org#app_f%d", fuzzSeq.Add(1)), json.RawMessage(raw))
		ack, err := c.Receive(ctx, moderation.Delivery{Body: body})
		if err != nil || len(ack.Events) != 1 {
			t.Fatalf("signed reply rejected: %v", err)
		}
		r := ack.Events[0].Message.ReplyTo
		if r == nil {
			return
		}
		for _, s := range []string{r.ID, r.SenderID} {
			if len(s) > 64 || strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
				t.Fatalf("ReplyTo %+v", r)
			}
		}
		if r.ID == "" || r.SenderID != strings.ToLower(r.SenderID) {
			t.Fatalf("ReplyTo %+v", r)
		}
	})
}
