package tim

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"gavel/moderation"
	"gavel/platforms/tim/timtest"
)

// FuzzReceive feeds arbitrary query strings and bodies to Receive, with a
// Gate matching "spam". It must never panic, must accept only deliveries
// for our app that carry the right Sign for a RequestTime inside the
// window, and must block (ErrorCode 1) only a before-send message the Gate
// matched.
func FuzzReceive(f *testing.F) {
	s := timtest.NewServer()
	defer s.Close()
	s.AddGroup(timtest.Group{ID: groupPub, Owner: "o", Members: []string{"m"}})
	seeds := []moderation.Delivery{
		s.MessageDelivery(testToken, testNow, timtest.Message{GroupID: groupPub, From: "o", Text: "/kick @M", AtAccounts: []string{"m"}, MsgID: "x-1"}),
		s.MessageDelivery(testToken, testNow, timtest.Message{GroupID: groupPub, From: "o", Text: "@All hi", AtAll: true, EventTimeString: true}),
		s.JoinDelivery(testToken, testNow, timtest.Join{GroupID: groupPub, Members: []string{"n1", "n2"}}),
		timtest.SignedDelivery(timtest.DefaultSDKAppID, "State.StateChange", testToken, testNow, []byte(`{}`)),
		timtest.SignedDelivery(timtest.DefaultSDKAppID, timtest.CommandAfterSendMsg, "wrong", testNow, []byte(`{}`)),
		s.PreSendDelivery(testToken, testNow, timtest.PreSend{GroupID: groupPub, From: "m", Texts: []string{"sp", "am"}, MsgID: "x-2"}),
		s.PreSendDelivery(testToken, testNow, timtest.PreSend{GroupID: groupPub, From: "m", Texts: []string{"hi"}, Custom: true, EventTimeString: true}),
		s.PreSendDelivery(testToken, testNow, timtest.PreSend{GroupID: groupPub, From: timtest.DefaultAdmin, Texts: []string{"spam"}}),
		s.ApplyJoinDelivery(testToken, testNow, timtest.ApplyJoin{GroupID: groupPub, Requestor: "raider"}),
		s.ApplyJoinDelivery(testToken, testNow, timtest.ApplyJoin{GroupID: groupPub, Requestor: "m"}),
		s.InviteJoinDelivery(testToken, testNow, timtest.InviteJoin{GroupID: groupPub, Operator: "o", Members: []string{"a", "raider"}}),
		s.MessageDelivery(testToken, testNow, timtest.Message{GroupID: groupPub, From: "o", Text: "/ban", CloudCustomData: timtest.ReplyCustomData("c-1", "M", 3)}),
	}
	for _, d := range seeds {
		f.Add(d.Query.Encode(), d.Body)
	}
	f.Add("SdkAppid=1400000000&Sign=&RequestTime=", []byte(`null`))
	f.Add("", []byte(`{"MsgSeq":"9","EventTime":"1"}`))
	for _, name := range []string{"before_send_msg.json", "before_send_msg_legacy.json"} {
		d := timtest.SignedDelivery(timtest.DefaultSDKAppID, timtest.CommandBeforeSendMsg, testToken, testNow, readFixture(f, name))
		f.Add(d.Query.Encode(), d.Body)
	}

	c := gateClient(f, &wordGate{word: "spam"}, nil)
	c.join = banGate{"raider": true}
	f.Fuzz(func(t *testing.T, rawQuery string, body []byte) {
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			return
		}
		ack, err := c.Receive(context.Background(), moderation.Delivery{Query: q, Body: body, ReceivedAt: testNow})
		if err != nil {
			if ack.Response != nil || ack.Events != nil {
				t.Fatalf("rejected delivery returned %+v", ack)
			}
			for _, sentinel := range []error{moderation.ErrMissingHeaders, moderation.ErrStaleTimestamp,
				moderation.ErrBadSignature, moderation.ErrUnknownApp, moderation.ErrMalformed} {
				if errors.Is(err, sentinel) {
					return
				}
			}
			t.Fatalf("error %v wraps no sentinel", err)
		}
		if q.Get("SdkAppid") != strconv.Itoa(timtest.DefaultSDKAppID) {
			t.Fatalf("accepted SdkAppid %q", q.Get("SdkAppid"))
		}
		rt := q.Get("RequestTime")
		if strings.ToLower(q.Get("Sign")) != Sign(testToken, rt) {
			t.Fatalf("accepted a forged Sign %q for %q", q.Get("Sign"), rt)
		}
		secs, perr := strconv.ParseInt(rt, 10, 64)
		if perr != nil || time.Unix(secs, 0).Sub(testNow).Abs() > DefaultReplayWindow {
			t.Fatalf("accepted RequestTime %q", rt)
		}
		screened := 0
		for _, ev := range ack.Events {
			checkEvent(t, ev)
			if ev.Kind == moderation.EventScreened {
				screened++
				if !strings.Contains(ev.Message.Text, "spam") || ev.Message.SenderID == timtest.DefaultAdmin {
					t.Fatalf("screened %+v", ev.Message)
				}
			}
		}
		cb, _ := decodeCallback(q.Get("CallbackCommand"), body)
		switch inv, isInvite := ack.Response.(inviteAnswer); {
		case sameAnswer(ack.Response, callbackOK):
		case cb != nil && cb.CallbackCommand == cmdBeforeApplyJoin:
			// applyRefused encodes as preSendReject does.
			if !sameAnswer(ack.Response, applyRefused) || cb.RequestorAccount != "raider" || len(ack.Events) != 0 {
				t.Fatalf("apply-join answer %+v for %q, events %+v", ack.Response, cb.RequestorAccount, ack.Events)
			}
		case sameAnswer(ack.Response, preSendReject):
			if screened != 1 || len(ack.Events) != 1 {
				t.Fatalf("rejected with events %+v", ack.Events)
			}
		case isInvite:
			if cb == nil || cb.CallbackCommand != cmdBeforeInviteJoin || inv.ErrorCode != 0 || len(inv.RefusedMembersAccounts) == 0 || len(ack.Events) != 0 {
				t.Fatalf("invite answer %+v", inv)
			}
			for _, u := range inv.RefusedMembersAccounts {
				if u != "raider" {
					t.Fatalf("refused %q", u)
				}
			}
		default:
			t.Fatalf("response = %+v", ack.Response)
		}
	})
}

// FuzzParseCallback feeds arbitrary bodies to the decoder and normalisers.
func FuzzParseCallback(f *testing.F) {
	for _, name := range []string{"after_send_msg_mentions.json", "after_send_msg_legacy.json", "new_member_join.json", "member_exit.json"} {
		f.Add("", readFixture(f, name))
	}
	f.Add(timtest.CommandAfterSendMsg, []byte(`{"GroupId":"g","From_Account":"u","MsgSeq":1,"MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"@a @b"}}],"GroupAtInfo":[{"GroupAtAllFlag":0,"GroupAt_Account":"x"}]}`))
	f.Fuzz(func(t *testing.T, cmd string, body []byte) {
		b, err := decodeCallback(cmd, body)
		if err != nil {
			if !errors.Is(err, moderation.ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		if cmd != "" && b.CallbackCommand != cmd {
			t.Fatalf("command %q accepted for URL command %q", b.CallbackCommand, cmd)
		}
		if ev, err := messageEvent(b, testNow); err == nil {
			checkEvent(t, ev)
		} else if !errors.Is(err, moderation.ErrMalformed) {
			t.Fatalf("messageEvent error %v", err)
		}
		if ev, err := joinEvent(b, testNow); err == nil && ev != nil {
			checkEvent(t, *ev)
		} else if err != nil && !errors.Is(err, moderation.ErrMalformed) {
			t.Fatalf("joinEvent error %v", err)
		}
	})
}

func checkEvent(t *testing.T, ev moderation.Event) {
	t.Helper()
	if ev.Platform != "tim" || ev.DeliveryID == "" || len(ev.DedupKeys) == 0 || ev.DedupKeys[0] != ev.DeliveryID {
		t.Fatalf("event ids: %+v", ev)
	}
	for _, k := range ev.DedupKeys {
		if !strings.HasPrefix(k, "tim:") {
			t.Fatalf("dedup key %q lacks the platform prefix", k)
		}
	}
	switch ev.Kind {
	case moderation.EventMessage:
		m := ev.Message
		if m == nil || m.Chat.ID == "" || m.SenderID == "" || m.Chat.Platform != "tim" {
			t.Fatalf("message: %+v", m)
		}
		if _, err := strconv.ParseUint(m.MessageID, 10, 64); err != nil {
			t.Fatalf("MessageID %q is not a MsgSeq", m.MessageID)
		}
		if r := m.ReplyTo; r != nil {
			if seq, err := strconv.ParseUint(r.ID, 10, 64); err != nil || seq == 0 || r.SenderID != "" {
				t.Fatalf("ReplyTo %+v", r)
			}
		}
		// A mention's token is its text, or empty when unknown (then
		// commands refuses rather than guess); @all has no user.
		for _, mn := range m.Mentions {
			if mn.Token != "" && (mn.UserID == "" || !strings.HasPrefix(mn.Token, "@") || !strings.Contains(m.Text, mn.Token)) {
				t.Fatalf("mention %+v in text %q", mn, m.Text)
			}
		}
	case moderation.EventScreened:
		m := ev.Message
		if m == nil || ev.Screening == nil || m.Chat.ID == "" || m.SenderID == "" || m.Chat.Platform != "tim" ||
			!strings.HasPrefix(ev.DeliveryID, "tim:presend:"+m.Chat.ID+":") {
			t.Fatalf("screened: %+v %+v", ev, m)
		}
	case moderation.EventJoin:
		if ev.Join == nil || ev.Join.Chat.ID == "" || len(ev.Join.UserIDs) == 0 {
			t.Fatalf("join: %+v", ev.Join)
		}
	default:
		t.Fatalf("kind %q", ev.Kind)
	}
}

// FuzzReplyRef feeds arbitrary CloudCustomData to the reply-reference
// parser: it never panics, and a reference it returns is a positive
// MsgSeq and nothing else.
func FuzzReplyRef(f *testing.F) {
	for _, seed := range []string{
		timtest.ReplyCustomData("144115-1-2", "Spam Bot", 42),
		`{"messageReply":{"messageSequence":"7"}}`,
		`{"messageReply":{"messageSequence":-1}}`,
		`{"messageReply":null}`,
		`your cloud custom data`,
		``,
	} {
		b, _ := json.Marshal(seed)
		f.Add(b)
	}
	f.Add([]byte(`{"messageReply":{"messageSequence":5}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		r := replyRef(raw)
		if r == nil {
			return
		}
		if seq, err := strconv.ParseUint(r.ID, 10, 64); err != nil || seq == 0 || r.SenderID != "" || !r.SentAt.IsZero() {
			t.Fatalf("ReplyTo %+v from %q", r, raw)
		}
		if len(raw) > 2*maxCloudCustomData {
			t.Fatalf("oversized input of %d bytes accepted", len(raw))
		}
	})
}
