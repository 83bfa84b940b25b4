package tim_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"gavel/app/apptest"
	"gavel/config"
	"gavel/moderation"
	"gavel/platforms/egress"
	"gavel/platforms/tim"
	"gavel/platforms/tim/timtest"
)

const (
	e2eToken = "e2e-callback-token"
	e2ePub   = "@TGS#2E2EPUB"
	e2eAV    = "@TGS#aE2ELIVE"
)

type e2e struct {
	fake *timtest.Server
	h    *apptest.Harness
}

func newE2E(t *testing.T) *e2e {
	t.Helper()
	fake := timtest.NewServer()
	t.Cleanup(fake.Close)
	fake.AddGroup(timtest.Group{ID: e2ePub, Type: "Public", Owner: "boss", Admins: []string{"mod"},
		Members: []string{"spammer", "flooder", "bystander"}})
	fake.AddGroup(timtest.Group{ID: e2eAV, Type: "AVChatRoom", Owner: "streamer", Members: []string{"viewer"}})
	// The texts below carry the nicknames clients insert after '@'.
	for id, nick := range map[string]string{"spammer": "Spammer", "flooder": "Flooder", "boss": "Boss", "viewer": "Viewer"} {
		fake.SetNick(id, nick)
	}
	cfg := config.Config{Platforms: config.Platforms{TIM: &tim.Config{
		BaseURL:         fake.URL,
		SDKAppID:        timtest.DefaultSDKAppID,
		SecretKey:       timtest.DefaultSecretKey,
		AdminIdentifier: timtest.DefaultAdmin,
		CallbackToken:   e2eToken,
		Rate:            egress.Limits{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond},
	}}}
	return &e2e{fake: fake, h: apptest.New(t, cfg)}
}

// post sends a signed callback for m to Gavel's TIM webhook.
func (e *e2e) post(t *testing.T, d moderation.Delivery) (int, []byte) {
	t.Helper()
	req, err := timtest.CallbackRequest(e.h.URL+"/webhook/tim", d)
	if err != nil {
		t.Fatal(err)
	}
	status, body := e.h.Do(t, req)
	e.h.Wait()
	return status, body
}

// postOK posts d and requires TIM's OK answer.
func (e *e2e) postOK(t *testing.T, d moderation.Delivery) {
	t.Helper()
	status, body := e.post(t, d)
	wantOK(t, status, body)
}

func (e *e2e) message(from, text string, at ...string) moderation.Delivery {
	return e.fake.MessageDelivery(e2eToken, time.Now(), timtest.Message{GroupID: e2ePub, From: from, Text: text,
		AtAccounts: at, MsgID: "client-" + from + "-" + text})
}

func bodyOf(t *testing.T, c timtest.Call) string {
	t.Helper()
	b, err := json.Marshal(c.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func wantOK(t *testing.T, status int, body []byte) {
	t.Helper()
	if status != http.StatusOK || string(body) != `{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}` {
		t.Fatalf("webhook answered %d %s", status, body)
	}
}

func wantReply(t *testing.T, fake *timtest.Server, n int) timtest.Reply {
	t.Helper()
	replies := fake.Replies()
	if len(replies) != n {
		t.Fatalf("replies = %+v, want %d", replies, n)
	}
	r := replies[n-1]
	if r.GroupID != e2ePub || r.From != timtest.DefaultAdmin ||
		len(r.ForbidCallbackControl) != 2 {
		t.Fatalf("reply = %+v", r)
	}
	return r
}

func TestE2EKick(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	status, body := e.post(t, e.message("mod", "/kick @Spammer posting links", "spammer"))
	wantOK(t, status, body)

	calls := e.fake.CallsTo("delete_group_member")
	if len(calls) != 1 {
		t.Fatalf("delete_group_member calls = %d", len(calls))
	}
	if got, want := bodyOf(t, calls[0]), `{"GroupId":"`+e2ePub+`","MemberToDel_Account":["spammer"],"Reason":"posting links"}`; got != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
	if e.fake.Role(e2ePub, "spammer") != "NotMember" {
		t.Error("spammer still in the group")
	}
	if r := wantReply(t, e.fake, 1); r.Text != "Removed 1: Spammer. Reason: posting links" {
		t.Errorf("reply = %q", r.Text)
	}

	// Re-delivery of the same callback is de-duplicated.
	before := len(e.fake.Calls())
	d := e.fake.MessageDelivery(e2eToken, time.Now(), timtest.Message{GroupID: e2ePub, From: "mod", Text: "/kick @Flooder",
		AtAccounts: []string{"flooder"}, MsgSeq: 500})
	e.postOK(t, d)
	e.postOK(t, d)
	if got := len(e.fake.CallsTo("delete_group_member")); got != 2 {
		t.Errorf("delete calls after a duplicate = %d, want 2", got)
	}
	if len(e.fake.Calls()) <= before {
		t.Error("second command made no calls")
	}
}

func TestE2EMuteUnmute(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.postOK(t, e.message("boss", "/mute @Flooder 10m", "flooder"))
	if st := e.fake.Mute(e2ePub, "flooder"); !st.Muted || st.Forever {
		t.Fatalf("flooder mute = %+v", st)
	}
	e.postOK(t, e.message("boss", "/unmute @Flooder", "flooder"))
	if st := e.fake.Mute(e2ePub, "flooder"); st.Muted {
		t.Fatalf("flooder still muted: %+v", st)
	}
	calls := e.fake.CallsTo("forbid_send_msg")
	want := []string{
		`{"GroupId":"` + e2ePub + `","Members_Account":["flooder"],"MuteTime":600}`,
		`{"GroupId":"` + e2ePub + `","Members_Account":["flooder"],"MuteTime":0}`,
	}
	if len(calls) != len(want) {
		t.Fatalf("forbid_send_msg calls = %d", len(calls))
	}
	for i := range want {
		if got := bodyOf(t, calls[i]); got != want[i] {
			t.Errorf("call %d\n got %s\nwant %s", i, got, want[i])
		}
	}
	wantReply(t, e.fake, 2)
	replies := e.fake.Replies()
	if replies[0].Text != "Muted for 10m 1: Flooder." || replies[1].Text != "Unmuted 1: Flooder." {
		t.Errorf("replies = %q, %q", replies[0].Text, replies[1].Text)
	}
}

func TestE2ERefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		delivery   func(e *e2e) moderation.Delivery
		wantStatus int
		wantReply  bool
		reply      string
	}{
		{"member may not kick", func(e *e2e) moderation.Delivery {
			return e.message("bystander", "/kick @Spammer", "spammer")
		}, http.StatusOK, true, "Refused: only the chat owner, chat managers and Gavel admins may use /kick"},
		{"admin may not kick the owner", func(e *e2e) moderation.Delivery {
			return e.message("mod", "/kick @Boss", "boss")
		}, http.StatusOK, true, "Not done 1 (not in chat/not muted 0, refused 1, failed 0): Boss (the chat owner cannot be a target)."},
		{"kick unsupported in AVChatRoom", func(e *e2e) moderation.Delivery {
			return e.fake.MessageDelivery(e2eToken, time.Now(), timtest.Message{GroupID: e2eAV, From: "streamer",
				Text: "/kick @Viewer", AtAccounts: []string{"viewer"}})
		}, http.StatusOK, true, "/kick is not supported in AVChatRoom chats on this platform. Nothing was done."},
		{"own message ignored", func(e *e2e) moderation.Delivery {
			return e.message(timtest.DefaultAdmin, "/kick @Spammer", "spammer")
		}, http.StatusOK, false, ""},
		{"forged sign", func(e *e2e) moderation.Delivery {
			d := e.message("mod", "/kick @Spammer", "spammer")
			d.Query.Set("Sign", timtest.Sign("guess", d.Query.Get("RequestTime")))
			return d
		}, http.StatusUnauthorized, false, ""},
		{"stale request", func(e *e2e) moderation.Delivery {
			return e.fake.MessageDelivery(e2eToken, time.Now().Add(-2*time.Minute), timtest.Message{GroupID: e2ePub,
				From: "mod", Text: "/kick @Spammer", AtAccounts: []string{"spammer"}})
		}, http.StatusUnauthorized, false, ""},
		{"other app", func(e *e2e) moderation.Delivery {
			d := e.message("mod", "/kick @Spammer", "spammer")
			d.Query.Set("SdkAppid", "1400000999")
			return d
		}, http.StatusForbidden, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newE2E(t)
			status, body := e.post(t, tt.delivery(e))
			if status != tt.wantStatus {
				t.Fatalf("status = %d (%s), want %d", status, body, tt.wantStatus)
			}
			if n := len(e.fake.CallsTo("delete_group_member")); n != 0 {
				t.Errorf("delete_group_member called %d times", n)
			}
			if got := len(e.fake.Replies()); (got == 1) != tt.wantReply || got > 1 {
				t.Errorf("replies = %+v, want reply %v", e.fake.Replies(), tt.wantReply)
			}
			if tt.wantReply && e.fake.Replies()[0].Text != tt.reply {
				t.Errorf("reply = %q, want %q", e.fake.Replies()[0].Text, tt.reply)
			}
			if e.fake.Role(e2ePub, "spammer") != "Member" {
				t.Error("spammer was removed")
			}
		})
	}
}

// TestE2EMentionNamesWithSpaces: a client inserts name cards and
// nicknames, spaces included; targets come from GroupAtInfo and the
// duration and reason from what follows the matched names.
func TestE2EMentionNamesWithSpaces(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.fake.AddGroup(timtest.Group{ID: e2ePub + "N", Owner: "boss", Admins: []string{"mod"},
		Members: []string{"john_s", "bob_l", "bystander"}, NameCards: map[string]string{"bob_l": "Bob Lee"}})
	e.fake.SetNick("john_s", "John Smith")
	m := e.fake.Say(e2ePub+"N", "mod", "/mute", timtest.At("john_s"), timtest.At("bob_l"), "10m spam")
	e.postOK(t, e.fake.MessageDelivery(e2eToken, time.Now(), m))

	for _, u := range []string{"john_s", "bob_l"} {
		if st := e.fake.Mute(e2ePub+"N", u); !st.Muted || time.Until(st.Until) < 9*time.Minute || time.Until(st.Until) > 10*time.Minute+time.Second {
			t.Errorf("%s: mute = %+v, want 10m", u, st)
		}
	}
	replies := e.fake.Replies()
	if len(replies) != 1 || replies[0].Text != "Muted for 10m 2: John Smith, Bob Lee. Reason: spam" {
		t.Errorf("replies = %+v", replies)
	}

	// The profile service is down: nobody is muted on a guess, and the
	// admin is told why.
	e.fake.SetNick("bystander", "By Stander")
	e.fake.FailNext("portrait_get", 10, 70500)
	m = e.fake.Say(e2ePub+"N", "mod", "/mute", timtest.At("bystander"), "10m")
	e.postOK(t, e.fake.MessageDelivery(e2eToken, time.Now(), m))
	if st := e.fake.Mute(e2ePub+"N", "bystander"); st.Muted {
		t.Errorf("bystander muted although the mention could not be matched: %+v", st)
	}
	replies = e.fake.Replies()
	if len(replies) != 2 || !strings.HasPrefix(replies[1].Text, "Could not match the mention @bystander") {
		t.Errorf("replies = %+v", replies)
	}
}

// TestE2ETopicCommand: a command sent in a topic of a Community group is
// answered in that topic and mutes there (forbid_send_msg takes TopicId).
func TestE2ETopicCommand(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	const comm = "@TGS#_@TGS#cE2ECOMM"
	const topic = comm + "@TOPIC#_news"
	e.fake.AddGroup(timtest.Group{ID: comm, Type: "Community", Owner: "boss", Admins: []string{"mod"},
		Members: []string{"flooder"}, Topics: []string{comm + "@TOPIC#_general", topic}})
	m := e.fake.Say(comm, "mod", "/mute", timtest.At("flooder"), "10m")
	m.TopicID = topic
	e.postOK(t, e.fake.MessageDelivery(e2eToken, time.Now(), m))
	if st := e.fake.TopicMute(comm, topic, "flooder"); !st.Muted {
		t.Errorf("flooder not muted in the topic")
	}
	replies := e.fake.Replies()
	if len(replies) != 1 || replies[0].TopicID != topic || replies[0].Text != "Muted for 10m 1: Flooder." {
		t.Errorf("replies = %+v, want one in %s", replies, topic)
	}
}
