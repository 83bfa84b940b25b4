package tim

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"testing"
	"time"

	"gavel/moderation"
	"gavel/platforms/tim/timtest"
)

// callbackClient returns a client whose clock is testNow.
func callbackClient(tb testing.TB, mutate func(*Config)) *Client {
	tb.Helper()
	cfg := testConfig("http://127.0.0.1:1")
	if mutate != nil {
		mutate(&cfg)
	}
	return newClient(tb, cfg, Options{Logger: discardLogger(), Now: func() time.Time { return testNow }})
}

func readFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestSignDocVector(t *testing.T) {
	t.Parallel()
	// From the console guide (cloud.tencent.com/document/product/269/32431).
	const want = "17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061"
	if got := Sign("xxxxyyyy", "1669872112"); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	if got := timtest.Sign("xxxxyyyy", "1669872112"); got != want {
		t.Fatalf("timtest.Sign = %s, want %s", got, want)
	}
	// The English page's "xxxyyy" is a typo: it must not give the digest.
	if got := Sign("xxxyyy", "1669872112"); got == want {
		t.Fatal("Sign(xxxyyy) matched the documented digest")
	}

	c := callbackClient(t, func(cfg *Config) { cfg.CallbackToken = "xxxxyyyy" })
	c.now = func() time.Time { return time.Unix(1669872112+30, 0) }
	d := moderation.Delivery{
		Query: url.Values{"SdkAppid": {strconv.Itoa(timtest.DefaultSDKAppID)}, "CallbackCommand": {"State.StateChange"},
			"RequestTime": {"1669872112"}, "Sign": {want}},
		Body: []byte(`{"CallbackCommand":"State.StateChange"}`),
	}
	if _, err := c.Receive(context.Background(), d); err != nil {
		t.Fatalf("Receive(doc vector) = %v", err)
	}
}

// fakeCallbackClient returns a client of a fake seeded by newFake, with
// the fixed callback clock on both sides (UserSigs are made and checked at
// testNow), so callbacks can look names up.
func fakeCallbackClient(tb testing.TB, mutate func(*Config)) (*Client, *timtest.Server) {
	tb.Helper()
	s := newFake(tb)
	s.SetNow(func() time.Time { return testNow })
	cfg := testConfig(s.URL)
	if mutate != nil {
		mutate(&cfg)
	}
	return newClient(tb, cfg, Options{Logger: discardLogger(), Now: func() time.Time { return testNow }}), s
}

func TestReceiveMessageFixture(t *testing.T) {
	t.Parallel()
	c, s := fakeCallbackClient(t, nil)
	s.SetNick("spam_bot_77", "Spam Bot")
	s.SetNick("flooder_9", "Flooder")
	d := timtest.SignedDelivery(timtest.DefaultSDKAppID, timtest.CommandAfterSendMsg, testToken, testNow,
		readFixture(t, "after_send_msg_mentions.json"))
	ack, err := c.Receive(context.Background(), d)
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	wantResp, _ := json.Marshal(ack.Response)
	if string(wantResp) != `{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}` {
		t.Errorf("response = %s", wantResp)
	}
	want := []moderation.Event{{
		Kind:       moderation.EventMessage,
		Platform:   "tim",
		DeliveryID: "tim:msg:" + groupPub + ":918",
		DedupKeys:  []string{"tim:msg:" + groupPub + ":918", "tim:msgid:144115233406643804-1760000000-1234567890"},
		Message: &moderation.Message{
			Chat:      moderation.ChatRef{Platform: "tim", ID: groupPub, Kind: "Public"},
			MessageID: "918",
			SenderID:  "ops_lead",
			Text:      "/kick @All @Spam Bot @Flooder too noisy",
			// @all is no target; quiet_one is listed but not in the text.
			Mentions: []moderation.Mention{
				{},
				{Token: "@Spam Bot", UserID: "spam_bot_77", Name: "Spam Bot"},
				{Token: "@Flooder", UserID: "flooder_9", Name: "Flooder"},
				{UserID: "quiet_one"},
			},
			SentAt: time.Unix(1760000000, 0),
		},
	}}
	if !reflect.DeepEqual(ack.Events, want) {
		t.Errorf("events:\n got %+v\nwant %+v", ack.Events[0].Message, want[0].Message)
	}
}

func TestReceiveLegacyPayload(t *testing.T) {
	t.Parallel()
	c := callbackClient(t, nil)
	d := timtest.SignedDelivery(timtest.DefaultSDKAppID, timtest.CommandAfterSendMsg, testToken, testNow,
		readFixture(t, "after_send_msg_legacy.json"))
	ack, err := c.Receive(context.Background(), d)
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	if len(ack.Events) != 1 {
		t.Fatalf("events = %d, want 1", len(ack.Events))
	}
	ev := ack.Events[0]
	if got, want := ev.DedupKeys, []string{"tim:msg:" + groupWork + ":5"}; !reflect.DeepEqual(got, want) {
		t.Errorf("DedupKeys = %v, want %v", got, want)
	}
	if ev.Message.Text != "hello everyone" || ev.Message.Mentions != nil || ev.Message.Chat.Kind != "Private" {
		t.Errorf("message = %+v", ev.Message)
	}
}

func TestReceiveEventTimeForms(t *testing.T) {
	t.Parallel()
	for _, asString := range []bool{false, true} {
		c, s := fakeCallbackClient(t, nil)
		s.SetNick("flooder_9", "Flooder")
		d := s.MessageDelivery(testToken, testNow, timtest.Message{GroupID: groupPub, From: "ops_lead",
			Text: "/mute @Flooder 10m", AtAccounts: []string{"flooder_9"}, EventTimeString: asString})
		ack, err := c.Receive(context.Background(), d)
		if err != nil {
			t.Fatalf("EventTimeString=%v: %v", asString, err)
		}
		m := ack.Events[0].Message
		if want := []moderation.Mention{{Token: "@Flooder", UserID: "flooder_9", Name: "Flooder"}}; !reflect.DeepEqual(m.Mentions, want) {
			t.Errorf("mentions = %+v", m.Mentions)
		}
		if !m.SentAt.Equal(testNow) {
			t.Errorf("SentAt = %v", m.SentAt)
		}
	}
}

func TestReceiveJoin(t *testing.T) {
	t.Parallel()
	c := callbackClient(t, nil)
	d := timtest.SignedDelivery(timtest.DefaultSDKAppID, timtest.CommandAfterNewMemberJoin, testToken, testNow,
		readFixture(t, "new_member_join.json"))
	ack, err := c.Receive(context.Background(), d)
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	if len(ack.Events) != 1 || ack.Events[0].Kind != moderation.EventJoin {
		t.Fatalf("events = %+v", ack.Events)
	}
	j := ack.Events[0].Join
	want := &moderation.Join{Chat: moderation.ChatRef{Platform: "tim", ID: groupPub, Kind: "Public"},
		UserIDs: []string{"newbie_1", "newbie_2"}, Operator: "ops_lead", At: time.UnixMilli(1760000200789)}
	if !reflect.DeepEqual(j, want) {
		t.Errorf("join = %+v, want %+v", j, want)
	}
	if ack.Events[0].DeliveryID == "" || ack.Events[0].DedupKeys[0] != ack.Events[0].DeliveryID {
		t.Errorf("ids = %q %v", ack.Events[0].DeliveryID, ack.Events[0].DedupKeys)
	}
}

func TestReceiveAckedWithoutEvents(t *testing.T) {
	t.Parallel()
	c := callbackClient(t, nil)
	s := newFake(t)
	tests := []struct {
		name string
		d    moderation.Delivery
	}{
		{"own message", s.MessageDelivery(testToken, testNow, timtest.Message{GroupID: groupPub,
			From: timtest.DefaultAdmin, Text: "/kick @x"})},
		{"unknown command", timtest.SignedDelivery(timtest.DefaultSDKAppID, "Group.CallbackAfterMemberExit",
			testToken, testNow, readFixture(t, "member_exit.json"))},
		{"command only in URL", timtest.SignedDelivery(timtest.DefaultSDKAppID, "State.StateChange",
			testToken, testNow, []byte(`{"Info":{"Action":"Login","To_Account":"u"}}`))},
		{"join without members", timtest.SignedDelivery(timtest.DefaultSDKAppID, timtest.CommandAfterNewMemberJoin,
			testToken, testNow, []byte(`{"CallbackCommand":"Group.CallbackAfterNewMemberJoin","GroupId":"g","NewMemberList":[]}`))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ack, err := c.Receive(context.Background(), tt.d)
			if err != nil {
				t.Fatalf("Receive: %v", err)
			}
			if !sameAnswer(ack.Response, callbackOK) || len(ack.Events) != 0 {
				t.Errorf("ack = %+v", ack)
			}
		})
	}
}

func TestReceiveRejects(t *testing.T) {
	t.Parallel()
	c := callbackClient(t, nil)
	s := newFake(t)
	msg := timtest.Message{GroupID: groupPub, From: "ops_lead", Text: "/kick @Spam", AtAccounts: []string{"spam_bot_77"}}
	valid := func() moderation.Delivery { return s.MessageDelivery(testToken, testNow, msg) }
	with := func(edit func(q url.Values)) moderation.Delivery {
		d := valid()
		edit(d.Query)
		return d
	}
	tests := []struct {
		name string
		d    moderation.Delivery
		want error
	}{
		{"bad sign", with(func(q url.Values) { q.Set("Sign", Sign("other-token", q.Get("RequestTime"))) }), moderation.ErrBadSignature},
		{"sign for another time", with(func(q url.Values) {
			q.Set("Sign", Sign(testToken, strconv.FormatInt(testNow.Unix()-1, 10)))
		}), moderation.ErrBadSignature},
		{"truncated sign", with(func(q url.Values) { q.Set("Sign", q.Get("Sign")[:63]) }), moderation.ErrBadSignature},
		{"stale past", s.MessageDelivery(testToken, testNow.Add(-61*time.Second), msg), moderation.ErrStaleTimestamp},
		{"stale future", s.MessageDelivery(testToken, testNow.Add(61*time.Second), msg), moderation.ErrStaleTimestamp},
		{"non-numeric time", with(func(q url.Values) { q.Set("RequestTime", "+1760000000") }), moderation.ErrStaleTimestamp},
		{"huge time", with(func(q url.Values) { q.Set("RequestTime", "99999999999999999") }), moderation.ErrStaleTimestamp},
		{"wrong SdkAppid", with(func(q url.Values) { q.Set("SdkAppid", "1400000001") }), moderation.ErrUnknownApp},
		{"missing SdkAppid", with(func(q url.Values) { q.Del("SdkAppid") }), moderation.ErrUnknownApp},
		{"missing Sign", with(func(q url.Values) { q.Del("Sign") }), moderation.ErrMissingHeaders},
		{"missing RequestTime", with(func(q url.Values) { q.Del("RequestTime") }), moderation.ErrMissingHeaders},
		{"unsigned", timtest.SignedDelivery(timtest.DefaultSDKAppID, timtest.CommandAfterSendMsg, "", testNow,
			timtest.MessageBody(msg, testNow)), moderation.ErrMissingHeaders},
		{"command mismatch", with(func(q url.Values) { q.Set("CallbackCommand", timtest.CommandAfterNewMemberJoin) }), moderation.ErrMalformed},
		{"body not JSON", timtest.SignedDelivery(timtest.DefaultSDKAppID, timtest.CommandAfterSendMsg, testToken, testNow,
			[]byte(`{"GroupId":`)), moderation.ErrMalformed},
		{"no command anywhere", timtest.SignedDelivery(timtest.DefaultSDKAppID, "", testToken, testNow,
			[]byte(`{}`)), moderation.ErrMalformed},
		{"message without MsgSeq", timtest.SignedDelivery(timtest.DefaultSDKAppID, timtest.CommandAfterSendMsg, testToken, testNow,
			[]byte(`{"GroupId":"g","From_Account":"u","MsgBody":[]}`)), moderation.ErrMalformed},
		{"bad EventTime", timtest.SignedDelivery(timtest.DefaultSDKAppID, timtest.CommandAfterSendMsg, testToken, testNow,
			[]byte(`{"GroupId":"g","From_Account":"u","MsgSeq":1,"EventTime":"soon"}`)), moderation.ErrMalformed},
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
}

func TestReceiveAccepts(t *testing.T) {
	t.Parallel()
	c := callbackClient(t, nil)
	s := newFake(t)
	msg := timtest.Message{GroupID: groupPub, From: "ops_lead", Text: "hi"}
	tests := []struct {
		name string
		d    moderation.Delivery
	}{
		{"edge of window past", s.MessageDelivery(testToken, testNow.Add(-60*time.Second), msg)},
		{"edge of window future", s.MessageDelivery(testToken, testNow.Add(60*time.Second), msg)},
		{"uppercase sign", func() moderation.Delivery {
			d := s.MessageDelivery(testToken, testNow, msg)
			d.Query.Set("Sign", upper(d.Query.Get("Sign")))
			return d
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := c.Receive(context.Background(), tt.d); err != nil {
				t.Fatalf("Receive: %v", err)
			}
		})
	}
}

func upper(s string) string {
	b := []byte(s)
	for i, ch := range b {
		if ch >= 'a' && ch <= 'z' {
			b[i] = ch - 'a' + 'A'
		}
	}
	return string(b)
}

func TestReceiveInsecure(t *testing.T) {
	t.Parallel()
	c := callbackClient(t, func(cfg *Config) { cfg.CallbackToken, cfg.InsecureSkipVerify = "", true })
	s := newFake(t)
	d := s.MessageDelivery("", testNow.Add(-time.Hour), timtest.Message{GroupID: groupPub, From: "ops_lead", Text: "hi"})
	if _, err := c.Receive(context.Background(), d); err != nil {
		t.Fatalf("unsigned callback with insecure_skip_verify: %v", err)
	}
	d.Query.Set("SdkAppid", "1")
	if _, err := c.Receive(context.Background(), d); !errors.Is(err, moderation.ErrUnknownApp) {
		t.Fatalf("wrong SdkAppid with insecure_skip_verify: %v", err)
	}
}
