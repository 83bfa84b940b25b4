package easemob_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"gavel/moderation"
	"gavel/platforms/easemob"
	"gavel/platforms/easemob/easemobtest"
)

// TestSignVectors checks the vectors of test-vectors.txt (computed with a
// synthetic secret from the documented rule).
func TestSignVectors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, callID, secret string
		ts                   int64
		want                 string
	}{
		{"V1 message", "easemob-demo#test_0990a64f-dp01-6c50-8696-cf3b48b20e7e", "my-callback-secret", 1600060847294, "ee6d028dfe9adfb0a0728b1a632a955f"},
		{"V2 group_op_event", "XXXX#XXXX_e4b07cc0-XXXX-XXXX-b526-1e68bf8cddb5", "my-callback-secret", 1729499252371, "b96df53334931132bbe09cb1160cfb30"},
		{"V3 legacy muc", "XXXX#XXXX_976454039732488548", "my-callback-secret", 1644913222584, "a37c1bdca377adee891f3c160b230575"},
		{"V4 agreed key", "123", "123456", 0, "f22611c2fd9c1247eb399909ee368a0a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := easemob.Sign(tc.callID, tc.secret, tc.ts); got != tc.want {
				t.Fatalf("Sign = %s, want %s", got, tc.want)
			}
			if got := easemobtest.Sign(tc.callID, tc.secret, tc.ts); got != tc.want {
				t.Fatalf("easemobtest.Sign = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestReceiveVector feeds the V1 vector through Receive, and its negative
// N1 (float-formatted timestamp) and N2 (the doc's placeholder signature).
func TestReceiveVector(t *testing.T) {
	t.Parallel()
	const ts = 1600060847294
	newC := func(t *testing.T) *easemob.Client {
		t.Helper()
		cfg := testConfig(&easemobtest.Server{URL: "https://a1.easemob.com", Org: "easemob-demo", App: "test", ClientID: "id", ClientSecret: "s"})
		cfg.CallbackSecret = "my-callback-secret"
		c, err := easemob.New(cfg, easemob.Options{Now: func() time.Time { return time.UnixMilli(ts + 1500) }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	body := func(tsLit, security string) []byte {
		return []byte(`{"callId":"easemob-demo#test_0990a64f-dp01-6c50-8696-cf3b48b20e7e","eventType":"chat","timestamp":` + tsLit +
			`,"chat_type":"groupchat","group_id":"169021545","from":"user1","to":"169021545","msg_id":"8924312242322",` +
			`"payload":{"ext":{},"bodies":[{"msg":"/mute @bob 10m","type":"txt"}]},"securityVersion":"1.0.0","security":"` + security + `"}`)
	}
	tests := []struct {
		name    string
		body    []byte
		wantErr error
	}{
		{name: "V1 accepted", body: body("1600060847294", "ee6d028dfe9adfb0a0728b1a632a955f")},
		{name: "V1 uppercase hex accepted", body: body("1600060847294", "EE6D028DFE9ADFB0A0728B1A632A955F")},
		{name: "N1 float timestamp", body: body("1.600060847294e+12", "e07aded30aeec43e3d1d6b1b614af5ab"), wantErr: moderation.ErrMalformed},
		{name: "N2 doc placeholder", body: body("1600060847294", "2ca02c394bef9e7abc83958bcc3156d3"), wantErr: moderation.ErrBadSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ack, err := newC(t).Receive(ctx, moderation.Delivery{Body: tc.body})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr == nil && (len(ack.Events) != 1 || ack.Events[0].Message.Text != "/mute @bob 10m") {
				t.Fatalf("ack %+v", ack)
			}
		})
	}
}

func TestReceiveMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		msg          easemobtest.Message
		wantEvents   int
		wantKind     string
		wantMentions []moderation.Mention
	}{
		{
			name:       "chat room with em_at_list",
			msg:        easemobtest.Message{ChatID: roomID, Kind: easemobtest.KindChatRoom, From: "owner1", Text: "/mute @Bob @carol 10m", AtList: []string{"carol", "bob"}},
			wantEvents: 1, wantKind: easemob.KindChatRoom,
			wantMentions: []moderation.Mention{{Token: "@Bob", UserID: "bob"}, {Token: "@carol", UserID: "carol"}},
		},
		{
			name:       "group, nicknames found in text order",
			msg:        easemobtest.Message{ChatID: roomID, Kind: easemobtest.KindGroup, From: "owner1", Text: "/kick @Alice·Li @李四", AtList: []string{"u_lisi", "u_alice"}},
			wantEvents: 1, wantKind: easemob.KindGroup,
			wantMentions: []moderation.Mention{{Token: "@Alice·Li", UserID: "u_alice", Name: "Alice·Li"}, {Token: "@李四", UserID: "u_lisi", Name: "李四"}},
		},
		{
			name:       "nickname with spaces",
			msg:        easemobtest.Message{ChatID: roomID, Kind: easemobtest.KindGroup, From: "owner1", Text: "/mute @u_smith @bob 10m spam", AtList: []string{"u_smith", "bob"}, Render: true},
			wantEvents: 1, wantKind: easemob.KindGroup,
			wantMentions: []moderation.Mention{{Token: "@John Smith", UserID: "u_smith", Name: "John Smith"}, {Token: "@bob", UserID: "bob"}},
		},
		{
			name:       "unfound mention keeps an empty token",
			msg:        easemobtest.Message{ChatID: roomID, Kind: easemobtest.KindGroup, From: "owner1", Text: "/unmute @dan @someone", AtList: []string{"erin", "dan"}},
			wantEvents: 1, wantKind: easemob.KindGroup,
			wantMentions: []moderation.Mention{{Token: "@dan", UserID: "dan"}, {UserID: "erin"}},
		},
		{
			name:       "@ words without em_at_list are no mentions",
			msg:        easemobtest.Message{ChatID: roomID, From: "owner1", Text: "/mute @bob 5m"},
			wantEvents: 1, wantKind: "",
		},
		{
			name:       "em_at_list ALL ignored",
			msg:        easemobtest.Message{ChatID: roomID, Kind: easemobtest.KindChatRoom, From: "owner1", Text: "@all hello", AtAll: true},
			wantEvents: 1, wantKind: easemob.KindChatRoom,
		},
		{name: "offline copy ignored", msg: easemobtest.Message{ChatID: roomID, Kind: easemobtest.KindChatRoom, From: "owner1", Text: "/mute @bob", AtList: []string{"bob"}, Offline: true, OfflineTo: "bob"}},
		{name: "own message ignored", msg: easemobtest.Message{ChatID: roomID, Kind: easemobtest.KindChatRoom, From: easemobtest.DefaultBotUser, Text: "@bob muted"}},
		{name: "own message ignored case-insensitively", msg: easemobtest.Message{ChatID: roomID, Kind: easemobtest.KindGroup, From: strings.ToUpper(easemobtest.DefaultBotUser), Text: "x"}},
		{name: "single chat ignored", msg: easemobtest.Message{ChatID: "bob", Kind: "chat", From: "owner1", Text: "/kick @bob"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			for id, n := range map[string]string{"u_alice": "Alice·Li", "u_lisi": "李四", "u_smith": "John Smith"} {
				e.srv.SetNickname(id, n)
			}
			tc.msg.MsgID, tc.msg.CallID = "8924312242322", "gavel-org#gavel-app_cb-1"
			ack, err := e.c.Receive(ctx, e.srv.MessageDelivery(tc.msg))
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := json.Marshal(ack.Response); string(b) != "{}" {
				t.Errorf("response %s, want {}", b)
			}
			if len(ack.Events) != tc.wantEvents {
				t.Fatalf("%d events, want %d", len(ack.Events), tc.wantEvents)
			}
			if tc.wantEvents == 0 {
				return
			}
			ev := ack.Events[0]
			if ev.Kind != moderation.EventMessage || ev.Platform != "easemob" || ev.DeliveryID != "easemob:msg:8924312242322" {
				t.Errorf("event %+v", ev)
			}
			if !reflect.DeepEqual(ev.DedupKeys, []string{"easemob:msg:8924312242322", "easemob:call:gavel-org#gavel-app_cb-1"}) {
				t.Errorf("dedup keys %v", ev.DedupKeys)
			}
			m := ev.Message
			if m.Chat.ID != roomID || m.Chat.Kind != tc.wantKind || m.SenderID != tc.msg.From || m.MessageID != "8924312242322" {
				t.Errorf("message %+v", m)
			}
			if !m.SentAt.Equal(e.clock.Now().Truncate(time.Millisecond)) {
				t.Errorf("sent at %v, want %v", m.SentAt, e.clock.Now())
			}
			if !reflect.DeepEqual(m.Mentions, tc.wantMentions) {
				t.Errorf("mentions %+v, want %+v", m.Mentions, tc.wantMentions)
			}
		})
	}
}

// TestReceiveKindRouting: content_type decides the REST collection without
// a lookup.
func TestReceiveKindRouting(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.AddGroup(roomID, "owner1", nil, []string{"bob"})
	ack, err := e.c.Receive(ctx, e.srv.MessageDelivery(easemobtest.Message{ChatID: roomID, Kind: easemobtest.KindGroup, From: "owner1", Text: "/kick @bob", AtList: []string{"bob"}}))
	if err != nil {
		t.Fatal(err)
	}
	res := e.c.Remove(ctx, ack.Events[0].Message.Chat, []string{"bob"}, moderation.ActionOptions{})
	if res[0].Status != moderation.StatusDone {
		t.Fatalf("%+v", res[0])
	}
	if n := len(e.srv.CallsTo("details")); n != 0 {
		t.Fatalf("%d details lookups, want 0", n)
	}
	if k := e.srv.CallsTo("kick"); len(k) != 1 || !strings.Contains(k[0].RawPath, "/chatgroups/") {
		t.Fatalf("kick %+v", k)
	}
}

func TestReceiveRejects(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	now := e.clock.Now()
	base := func() map[string]any {
		return e.srv.MessageFields(easemobtest.Message{ChatID: roomID, Kind: easemobtest.KindChatRoom, From: "owner1", Text: "/mute @bob", At: now})
	}
	signed := func(mut func(map[string]any)) []byte {
		f := base()
		mut(f)
		return easemobtest.SignFields(f, e.srv.CallbackSecret)
	}
	tamper := func(b []byte, from, to string) []byte { return bytes.Replace(b, []byte(from), []byte(to), 1) }
	good := easemobtest.SignFields(base(), e.srv.CallbackSecret)
	tests := []struct {
		name string
		body []byte
		want error
	}{
		{name: "wrong secret", body: easemobtest.SignFields(base(), "other-secret"), want: moderation.ErrBadSignature},
		{name: "tampered callId", body: tamper(good, `"callId":"`, `"callId":"x`), want: moderation.ErrBadSignature},
		{name: "tampered timestamp", body: tamper(good, strconv.FormatInt(now.UnixMilli(), 10), strconv.FormatInt(now.UnixMilli()+1, 10)), want: moderation.ErrBadSignature},
		{name: "stale, wrong secret", body: easemobtest.SignFields(func() map[string]any { f := base(); f["timestamp"] = now.Add(-time.Hour).UnixMilli(); return f }(), "other-secret"), want: moderation.ErrBadSignature},
		{name: "missing security", body: func() []byte { f := base(); b, _ := json.Marshal(f); return b }(), want: moderation.ErrMissingHeaders},
		{name: "missing callId", body: signed(func(f map[string]any) { delete(f, "callId") }), want: moderation.ErrMissingHeaders},
		{name: "missing timestamp", body: func() []byte {
			f := base()
			f["security"] = "d41d8cd98f00b204e9800998ecf8427e"
			delete(f, "timestamp")
			b, _ := json.Marshal(f)
			return b
		}(), want: moderation.ErrMissingHeaders},
		{name: "empty everything md5", body: []byte(`{"callId":"","timestamp":"","security":"d41d8cd98f00b204e9800998ecf8427e"}`), want: moderation.ErrMissingHeaders},
		{name: "not json", body: []byte(`callId=1&security=x`), want: moderation.ErrMalformed},
		{name: "trailing data", body: append(append([]byte{}, good...), []byte(`{"x":1}`)...), want: moderation.ErrMalformed},
		{name: "timestamp not integer", body: []byte(`{"callId":"a","timestamp":1.5,"security":"x"}`), want: moderation.ErrMalformed},
		{name: "payload wrong type", body: signed(func(f map[string]any) { f["payload"] = "text" }), want: moderation.ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ack, err := e.c.Receive(ctx, e.srv.Delivery(tc.body))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if len(ack.Events) != 0 {
				t.Fatalf("events from a rejected delivery: %+v", ack.Events)
			}
		})
	}
	if _, err := e.c.Receive(ctx, e.srv.Delivery(good)); err != nil {
		t.Fatalf("untampered body rejected: %v", err)
	}
}

func TestReceiveInsecureSkipVerify(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *easemob.Config) { c.CallbackSecret = ""; c.InsecureSkipVerify = true })
	f := e.srv.MessageFields(easemobtest.Message{ChatID: roomID, Kind: easemobtest.KindChatRoom, From: "owner1", Text: "hi"})
	b, _ := json.Marshal(f)
	ack, err := e.c.Receive(ctx, e.srv.Delivery(b))
	if err != nil || len(ack.Events) != 1 {
		t.Fatalf("ack %+v err %v", ack, err)
	}
}

func TestReceiveJoin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ack, err := e.c.Receive(ctx, e.srv.JoinDelivery(easemobtest.Join{ChatID: roomID, Kind: easemobtest.KindGroup, Users: []string{"newbie", easemobtest.DefaultBotUser}, CallID: "k#a_join-1"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(ack.Events) != 1 {
		t.Fatalf("%d events", len(ack.Events))
	}
	ev := ack.Events[0]
	want := moderation.Join{Chat: moderation.ChatRef{Platform: "easemob", ID: roomID, Kind: easemob.KindGroup}, UserIDs: []string{"newbie"}, Operator: "@ppAdmin", At: e.clock.Now().Truncate(time.Millisecond)}
	if ev.Kind != moderation.EventJoin || ev.DeliveryID != "easemob:call:k#a_join-1" || ev.Join == nil || !reflect.DeepEqual(*ev.Join, want) {
		t.Fatalf("event %+v join %+v", ev, ev.Join)
	}
	// The group_op_event also told the adapter the chat's kind.
	e.srv.AddGroup(roomID, "owner1", nil, []string{"newbie"})
	e.c.Remove(ctx, moderation.ChatRef{Platform: "easemob", ID: roomID}, []string{"newbie"}, moderation.ActionOptions{})
	if n := len(e.srv.CallsTo("details")); n != 0 {
		t.Fatalf("%d details lookups, want 0", n)
	}
}

func TestReceiveOtherEventsIgnored(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	now := e.clock.Now().UnixMilli()
	tests := []struct {
		name       string
		fields     map[string]any
		wantEvents int
	}{
		{name: "mute remove", fields: map[string]any{"callId": "c1", "timestamp": now, "event": "group_op_event", "operation": "MUTE", "type": "CHATROOM", "id": roomID, "payload": map[string]any{"type": "REMOVE", "member": []string{"bob"}}}},
		{name: "leave kick", fields: map[string]any{"callId": "c2", "timestamp": now, "event": "group_op_event", "operation": "LEAVE", "type": "GROUP", "id": roomID, "payload": map[string]any{"type": "KICK", "member": []string{"bob"}}}},
		{name: "unknown operation", fields: map[string]any{"callId": "c3", "timestamp": now, "event": "group_op_event", "operation": "FUTURE", "id": roomID}},
		{name: "recall", fields: map[string]any{"callId": "c4", "timestamp": now, "chat_type": "recall", "eventType": "chat", "from": "bob", "to": roomID, "msg_id": "9", "recall_id": "8"}},
		{name: "image message", fields: map[string]any{"callId": "c5", "timestamp": now, "chat_type": "groupchat", "eventType": "chat", "group_id": roomID, "to": roomID, "from": "bob", "msg_id": "10", "payload": map[string]any{"bodies": []any{map[string]any{"type": "img", "url": "x"}}}}},
		{name: "legacy muc presence is a join", wantEvents: 1, fields: map[string]any{"callId": "c6", "timestamp": now, "chat_type": "muc", "eventType": "chat", "group_id": roomID, "from": "gavel-org#gavel-app_newbie@easemob.com/android_1", "to": roomID, "msg_id": "11", "payload": map[string]any{"muc_id": "gavel-org#gavel-app_" + roomID + "@conference.easemob.com", "is_chatroom": true, "operation": "presence"}}},
		{name: "legacy muc kick ignored", fields: map[string]any{"callId": "c7", "timestamp": now, "chat_type": "muc", "eventType": "chat", "group_id": roomID, "from": "x", "payload": map[string]any{"operation": "kick"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ack, err := e.c.Receive(ctx, e.srv.Delivery(easemobtest.SignFields(tc.fields, e.srv.CallbackSecret)))
			if err != nil {
				t.Fatal(err)
			}
			if len(ack.Events) != tc.wantEvents {
				t.Fatalf("%d events, want %d: %+v", len(ack.Events), tc.wantEvents, ack.Events)
			}
			if tc.wantEvents == 1 {
				j := ack.Events[0].Join
				if j == nil || j.Chat.ID != roomID || j.Chat.Kind != easemob.KindChatRoom || !reflect.DeepEqual(j.UserIDs, []string{"newbie"}) {
					t.Fatalf("join %+v", j)
				}
			}
		})
	}
}
