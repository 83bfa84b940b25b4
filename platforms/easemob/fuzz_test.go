package easemob_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"gavel/moderation"
	"gavel/platforms/easemob"
	"gavel/platforms/easemob/easemobtest"
)

const fuzzSecret = "fuzz-secret"

var fuzzNow = time.UnixMilli(1729499252371)

// fuzzClient returns a client whose pre-send rule shares fuzzSecret, or
// has its own presendSecret, screening with a Gate matching "spam".
func fuzzClient(tb testing.TB, presendSecret ...string) *easemob.Client {
	tb.Helper()
	cfg := easemob.Config{
		BaseURL: "http://127.0.0.1:1", OrgName: "org", AppName: "app", ClientID: "id", ClientSecret: "s",
		CallbackSecret: fuzzSecret, BotUser: "bot",
	}
	if len(presendSecret) > 0 {
		cfg.PreSendSecret = presendSecret[0]
	}
	c, err := easemob.New(cfg, easemob.Options{Now: func() time.Time { return fuzzNow },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Gate: &wordGate{word: "spam"}})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// FuzzReceive: Receive never panics, and never accepts a body whose
// security is not md5(callId + secret + timestamp) or whose timestamp is
// outside the window.
func FuzzReceive(f *testing.F) {
	srv := &easemobtest.Server{Org: "org", App: "app", CallbackSecret: fuzzSecret}
	msg := easemobtest.Message{ChatID: "1", Kind: easemobtest.KindChatRoom, From: "a", Text: "/mute @b 1m", AtList: []string{"b"}, MsgID: "5", CallID: "org#app_1", At: fuzzNow}
	f.Add(srv.MessageBody(msg))
	msg.Kind, msg.AtList, msg.AtAll = easemobtest.KindGroup, nil, true
	f.Add(srv.MessageBody(msg))
	f.Add(srv.JoinBody(easemobtest.Join{ChatID: "1", Kind: easemobtest.KindGroup, Users: []string{"x"}, CallID: "c", At: fuzzNow}))
	f.Add(srv.RoleOpBody(easemobtest.RoleOp{ChatID: "1", Kind: easemobtest.KindGroup, Admins: []string{"x"}, CallID: "c2", At: fuzzNow}))
	f.Add(srv.RoleOpBody(easemobtest.RoleOp{ChatID: "1", Owner: "a", NewOwner: "b", CallID: "c3", At: fuzzNow}))
	f.Add([]byte(`{"callId":"a","timestamp":"1729499252371","security":"00"}`))
	f.Add([]byte(`{"callId":"a","timestamp":1729499252371,"security":"x","payload":{"ext":{"em_at_list":[1,2]}}}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`[`))
	srv.PreSendSecret = ""
	f.Add(srv.PreSendBody(easemobtest.PreSend{ChatID: "1", From: "a", Text: "spam", MsgID: "6", CallID: "org#app_2", At: fuzzNow}))
	f.Add(srv.PreSendBody(easemobtest.PreSend{ChatID: "1", ChatType: "chatroom", From: "a", Bodies: true, Texts: []string{"sp", "am"}, CallID: "org#app_3", At: fuzzNow}))
	c := fuzzClient(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		ack, err := c.Receive(ctx, moderation.Delivery{Body: body})
		if err != nil {
			if len(ack.Events) != 0 {
				t.Fatal("events returned with an error")
			}
			return
		}
		var sf struct {
			CallID    string      `json:"callId"`
			Timestamp json.Number `json:"timestamp"`
			Security  string      `json:"security"`
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&sf); err != nil {
			t.Fatalf("accepted undecodable body: %v", err)
		}
		ts, perr := strconv.ParseInt(sf.Timestamp.String(), 10, 64)
		if perr != nil {
			t.Fatalf("accepted non-integer timestamp %q", sf.Timestamp)
		}
		if want := easemob.Sign(sf.CallID, fuzzSecret, ts); !strings.EqualFold(sf.Security, want) || sf.CallID == "" {
			t.Fatalf("accepted forged delivery: security %q want %q", sf.Security, want)
		}
		if d := fuzzNow.Sub(time.UnixMilli(ts)); d > 5*time.Minute || d < -5*time.Minute {
			if ack.Ignored != easemob.IgnoredStale || len(ack.Events) != 0 {
				t.Fatalf("stale timestamp %d acted on: %+v", ts, ack)
			}
		} else if ack.Ignored == easemob.IgnoredStale {
			t.Fatalf("timestamp %d inside the window ignored as stale", ts)
		}
		checkEvents(t, ack)
	})
}

// checkEvents checks the events and the answer of an accepted delivery.
func checkEvents(t *testing.T, ack moderation.Ack) {
	t.Helper()
	for _, ev := range ack.Events {
		if ev.DeliveryID == "" || len(ev.DedupKeys) == 0 || ev.DedupKeys[0] != ev.DeliveryID {
			t.Fatalf("event without delivery id: %+v", ev)
		}
		hasMsg := ev.Kind == moderation.EventMessage || ev.Kind == moderation.EventScreened
		if hasMsg != (ev.Message != nil) || (ev.Kind == moderation.EventJoin) != (ev.Join != nil) ||
			(ev.Kind == moderation.EventRolesChanged) != (ev.RolesChanged != nil) ||
			(ev.Kind == moderation.EventScreened) != (ev.Screening != nil) {
			t.Fatalf("event kind/field mismatch: %+v", ev)
		}
		if ev.Kind == moderation.EventScreened && (!strings.Contains(ev.Message.Text, "spam") || strings.EqualFold(ev.Message.SenderID, "bot") ||
			ev.Message.SenderID == "" || ev.Message.Chat.ID == "" || !strings.HasPrefix(ev.DeliveryID, "easemob:presend:")) {
			t.Fatalf("screened %+v", ev.Message)
		}
	}
	switch a := ack.Response.(type) {
	case easemob.PreSendAnswer:
		blocked := len(ack.Events) == 1 && ack.Events[0].Kind == moderation.EventScreened && !ack.Events[0].Screening.DryRun
		if a.Valid == blocked || (!a.Valid && len(ack.Events) != 1) {
			t.Fatalf("answer %+v with events %+v", a, ack.Events)
		}
	default:
		for _, ev := range ack.Events {
			if ev.Kind == moderation.EventScreened {
				t.Fatalf("screened event under post-send answer %+v", a)
			}
		}
	}
}

// FuzzReceivePreSend: ReceivePreSend never panics, accepts only bodies
// signed with the pre-send rule's secret inside the window, and blocks
// exactly the messages the Gate matched.
func FuzzReceivePreSend(f *testing.F) {
	const presendSecret = "fuzz-presend-secret"
	srv := &easemobtest.Server{Org: "org", App: "app", CallbackSecret: fuzzSecret, PreSendSecret: presendSecret}
	f.Add(srv.PreSendBody(easemobtest.PreSend{ChatID: "1", From: "a", Text: "buy spam", MsgID: "5", CallID: "org#app_1", At: fuzzNow}))
	f.Add(srv.PreSendBody(easemobtest.PreSend{ChatID: "1", ChatType: "group", From: "a", Bodies: true, Texts: []string{"sp", "am"}, CallID: "org#app_2", At: fuzzNow}))
	f.Add(srv.PreSendBody(easemobtest.PreSend{ChatID: "1", ChatType: "chatroom", From: "bot", Text: "spam", CallID: "org#app_3", At: fuzzNow}))
	f.Add(srv.PreSendBody(easemobtest.PreSend{ChatID: "u", ChatType: "chat", From: "a", Image: true, CallID: "org#app_4", At: fuzzNow}))
	f.Add(srv.MessageBody(easemobtest.Message{ChatID: "1", From: "a", Text: "spam", CallID: "org#app_5", At: fuzzNow}))
	f.Add([]byte(`{"callId":"a","timestamp":1729499252371,"security":"x","chat_type":"groupchat","payload":{"bodies":{}}}`))
	c := fuzzClient(f, presendSecret)
	f.Fuzz(func(t *testing.T, body []byte) {
		ack, err := c.ReceivePreSend(ctx, moderation.Delivery{Body: body})
		if err != nil {
			if ack.Response != nil || ack.Events != nil {
				t.Fatal("answer or events returned with an error")
			}
			for _, sentinel := range []error{moderation.ErrMissingHeaders, moderation.ErrStaleTimestamp, moderation.ErrBadSignature, moderation.ErrMalformed, moderation.ErrReusedSignature} {
				if errors.Is(err, sentinel) {
					return
				}
			}
			t.Fatalf("error %v wraps no sentinel", err)
		}
		var sf struct {
			CallID    string      `json:"callId"`
			Timestamp json.Number `json:"timestamp"`
			Security  string      `json:"security"`
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&sf); err != nil {
			t.Fatalf("accepted undecodable body: %v", err)
		}
		ts, perr := strconv.ParseInt(sf.Timestamp.String(), 10, 64)
		if perr != nil || sf.CallID == "" || !strings.EqualFold(sf.Security, easemob.Sign(sf.CallID, presendSecret, ts)) {
			t.Fatalf("accepted forged delivery %q", body)
		}
		if d := fuzzNow.Sub(time.UnixMilli(ts)); d > 5*time.Minute || d < -5*time.Minute {
			if ack.Ignored != easemob.IgnoredStale || len(ack.Events) != 0 {
				t.Fatalf("stale timestamp %d acted on: %+v", ts, ack)
			}
		} else if ack.Ignored == easemob.IgnoredStale {
			t.Fatalf("timestamp %d inside the window ignored as stale", ts)
		}
		if _, ok := ack.Response.(easemob.PreSendAnswer); !ok {
			t.Fatalf("answer %T", ack.Response)
		}
		checkEvents(t, ack)
	})
}

// fuzzSeq makes callIds unique across fuzz iterations sharing a client.
var fuzzSeq atomic.Int64

// FuzzCallIDReuse: a callId verified once is accepted again only with the
// same body (an ordinary re-send, whatever its JSON spelling); any other
// body under its signature is refused with ErrReusedSignature and yields
// no event, whether it reaches the post-send or the pre-send receiver.
func FuzzCallIDReuse(f *testing.F) {
	f.Add("hello", "/kick @bob", "bob", false)
	f.Add("/mute @bob 1m", "/mute @bob 1m", "bob", false)
	f.Add("spam", "ham", "", true)
	f.Add("same", "same", "", true)
	srv := &easemobtest.Server{Org: "org", App: "app", CallbackSecret: fuzzSecret, PreSendSecret: "fuzz-presend"}
	c := fuzzClient(f, "fuzz-presend")
	f.Fuzz(func(t *testing.T, first, second, atList string, presend bool) {
		if !utf8.ValidString(first) || !utf8.ValidString(second) || !utf8.ValidString(atList) {
			return // json.Marshal would rewrite the bytes
		}
		n := fuzzSeq.Add(1)
		callID, msgID := fmt.Sprintf("org#app_r%d", n), strconv.FormatInt(n, 10)
		build := func(text string, respell bool) []byte {
			var f map[string]any
			secret := srv.CallbackSecret
			if presend {
				f, secret = srv.PreSendFields(easemobtest.PreSend{ChatID: "1", ChatType: "chatroom", From: "a", Text: text, MsgID: msgID, CallID: callID, At: fuzzNow}), srv.PreSendSecret
			} else {
				var ids []string
				if atList != "" {
					ids = strings.Split(atList, ",")
				}
				f = srv.MessageFields(easemobtest.Message{ChatID: "1", Kind: easemobtest.KindChatRoom, From: "a", Text: text, AtList: ids, MsgID: msgID, CallID: callID, At: fuzzNow})
			}
			b := easemobtest.SignFields(f, secret)
			if respell { // the same JSON value, spelled differently
				var buf bytes.Buffer
				if err := json.Indent(&buf, b, "", "  "); err != nil {
					t.Fatal(err)
				}
				b = buf.Bytes()
			}
			return b
		}
		receive := c.Receive
		if presend {
			receive = c.ReceivePreSend
		}
		if _, err := receive(ctx, moderation.Delivery{Body: build(first, false)}); err != nil {
			t.Fatalf("first use refused: %v", err)
		}
		ack, err := receive(ctx, moderation.Delivery{Body: build(second, true)})
		if first == second {
			if err != nil {
				t.Fatalf("identical re-send refused: %v", err)
			}
			return
		}
		if !errors.Is(err, moderation.ErrReusedSignature) || len(ack.Events) != 0 || ack.Response != nil {
			t.Fatalf("second body under callId %s: ack %+v err %v, want ErrReusedSignature", callID, ack, err)
		}
	})
}

// FuzzMentions signs arbitrary text and em_at_list values: every listed
// id (but "ALL") is mentioned once, its token empty or standing in the
// text, no mention without em_at_list, and messages from the bot never
// produce events.
func FuzzMentions(f *testing.F) {
	f.Add("/mute @bob @carol 10m", "bob,carol", "alice")
	f.Add("@李四 @李四 /kick", "u1", "owner")
	f.Add("no mentions", "", "bot")
	f.Add("@ @@ @x", ",x,,y", "BOT")
	srv := &easemobtest.Server{Org: "org", App: "app", CallbackSecret: fuzzSecret}
	c := fuzzClient(f)
	f.Fuzz(func(t *testing.T, text, atList, from string) {
		if !utf8.ValidString(text) || !utf8.ValidString(atList) || !utf8.ValidString(from) {
			return // json.Marshal would rewrite the bytes
		}
		var ids []string
		if atList != "" {
			ids = strings.Split(atList, ",")
		}
		callID := fmt.Sprintf("org#app_m%d", fuzzSeq.Add(1))
		body := srv.MessageBody(easemobtest.Message{ChatID: "1", Kind: easemobtest.KindChatRoom, From: from, Text: text, AtList: ids, MsgID: "7", CallID: callID, At: fuzzNow})
		ack, err := c.Receive(ctx, moderation.Delivery{Body: body})
		if err != nil {
			t.Fatalf("signed message rejected: %v", err)
		}
		if from == "" || strings.EqualFold(from, "bot") {
			if len(ack.Events) != 0 {
				t.Fatal("event for own/anonymous message")
			}
			return
		}
		if len(ack.Events) != 1 {
			t.Fatalf("%d events", len(ack.Events))
		}
		seen := map[string]int{}
		for _, m := range ack.Events[0].Message.Mentions {
			if m.Token != "" && (!strings.HasPrefix(m.Token, "@") || !strings.Contains(text, m.Token)) {
				t.Fatalf("token %q not in the text", m.Token)
			}
			if m.UserID == "" || strings.EqualFold(m.UserID, "all") {
				t.Fatalf("mention of %q", m.UserID)
			}
			seen[strings.ToLower(m.UserID)]++
		}
		for _, id := range ids {
			if l := strings.ToLower(id); id != "" && l != "all" && seen[l] != 1 {
				t.Fatalf("id %q mentioned %d times, want once", id, seen[l])
			}
		}
		if len(ids) == 0 && len(ack.Events[0].Message.Mentions) != 0 {
			t.Fatal("mentions without em_at_list")
		}
	})
}
