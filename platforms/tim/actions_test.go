package tim

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"gavel/moderation"
	"gavel/platforms/egress"
	"gavel/platforms/tim/timtest"
)

// bodyJSON re-encodes a recorded body with sorted keys for comparison.
func bodyJSON(tb testing.TB, c timtest.Call) string {
	tb.Helper()
	b, err := json.Marshal(c.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func mustJSON(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func wantStatus(tb testing.TB, results []moderation.Result, users []string, st moderation.Status) {
	tb.Helper()
	if len(results) != len(users) {
		tb.Fatalf("got %d results for %d users", len(results), len(users))
	}
	for i, r := range results {
		if r.UserID != users[i] || r.Status != st {
			tb.Fatalf("result %d = %+v, want %s %s", i, r, users[i], st)
		}
	}
}

func TestRemoveBatches(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		silentKick  bool
		opts        moderation.ActionOptions
		wantSilence any
		wantReason  any
	}{
		{"reason and silent", false, moderation.ActionOptions{Reason: "spam links", Silent: true}, 1, "spam links"},
		{"silent_kick config", true, moderation.ActionOptions{}, 1, nil},
		{"loud without reason", false, moderation.ActionOptions{}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newFake(t)
			cfg := testConfig(s.URL)
			cfg.SilentKick = tt.silentKick
			c := newClient(t, cfg, Options{Logger: discardLogger()})
			users := names(maxDeletePerCall, "u")
			results := c.Remove(context.Background(), moderation.ChatRef{Platform: "tim", ID: groupPub, Kind: "Public"}, users, tt.opts)
			wantStatus(t, results, users, moderation.StatusDone)

			calls := s.CallsTo("delete_group_member")
			if len(calls) != 1 {
				t.Fatalf("calls = %d, want 1", len(calls))
			}
			for i, batch := range [][]string{users} {
				want := map[string]any{"GroupId": groupPub, "MemberToDel_Account": batch}
				if tt.wantSilence != nil {
					want["Silence"] = tt.wantSilence
				}
				if tt.wantReason != nil {
					want["Reason"] = tt.wantReason
				}
				if got, w := bodyJSON(t, calls[i]), mustJSON(t, want); got != w {
					t.Errorf("call %d body\n got %s\nwant %s", i, got, w)
				}
				if calls[i].Code != 0 || calls[i].Query.Get("identifier") != timtest.DefaultAdmin ||
					calls[i].Query.Get("contenttype") != "json" || calls[i].Query.Get("usersig") == "" {
					t.Errorf("call %d: code %d query %v", i, calls[i].Code, calls[i].Query)
				}
			}
		})
	}
}

func TestRemoveMembersAndNonMembers(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	c := newTestClient(t, s)
	chat := moderation.ChatRef{Platform: "tim", ID: groupPub}
	users := []string{"spam_bot_77", "never_joined"}
	wantStatus(t, c.Remove(context.Background(), chat, users, moderation.ActionOptions{}), users, moderation.StatusDone)
	if got := s.Role(groupPub, "spam_bot_77"); got != "NotMember" {
		t.Errorf("fake role after removal = %s", got)
	}
	roles, err := c.Roles(context.Background(), chat, []string{"spam_bot_77"})
	if err != nil || roles["spam_bot_77"] != moderation.RoleNotMember {
		t.Errorf("Roles after removal = %v, %v", roles, err)
	}
}

func TestRemoveFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		chat      moderation.ChatRef
		inject    int
		injectN   int
		want      moderation.Status
		reason    moderation.Reason
		wantCalls int
	}{
		{"transient 10002 then success", moderation.ChatRef{ID: groupPub}, 10002, 1, moderation.StatusDone, "", 2},
		{"rate limited 10006 then success", moderation.ChatRef{ID: groupPub}, 10006, 2, moderation.StatusDone, "", 3},
		{"rate limited 60018 then success", moderation.ChatRef{ID: groupPub}, 60018, 1, moderation.StatusDone, "", 2},
		{"unknown group not retried", moderation.ChatRef{ID: "@TGS#gone"}, 0, 0, moderation.StatusRefused, "tim:10010", 1},
		{"no permission not retried", moderation.ChatRef{ID: groupPub}, 10007, 1, moderation.StatusRefused, "tim:10007", 1},
		{"AVChatRoom refused by TIM", moderation.ChatRef{ID: groupAV}, 0, 0, moderation.StatusRefused, "tim:10004", 1},
		{"AVChatRoom known kind not called", moderation.ChatRef{ID: groupAV, Kind: "AVChatRoom"}, 0, 0, moderation.StatusRefused, moderation.ReasonUnsupported, 0},
		{"transient gives up", moderation.ChatRef{ID: groupPub}, 10002, 10, moderation.StatusFailed, "tim:10002", 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newFake(t)
			c := newTestClient(t, s)
			if tt.injectN > 0 {
				s.FailNext("delete_group_member", tt.injectN, tt.inject)
			}
			users := []string{"flooder_9"}
			res := c.Remove(context.Background(), tt.chat, users, moderation.ActionOptions{})
			wantStatus(t, res, users, tt.want)
			if res[0].Reason != tt.reason {
				t.Errorf("reason = %q, want %q", res[0].Reason, tt.reason)
			}
			if got := len(s.CallsTo("delete_group_member")); got != tt.wantCalls {
				t.Errorf("calls = %d, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestPartialBatchFailure(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	cfg := testConfig(s.URL)
	c := newClient(t, cfg, Options{Logger: discardLogger()})
	// A batch that fails permanently is refused; the next call (the
	// pipeline's next batch) still runs.
	s.FailNext("delete_group_member", 1, 10004)
	users := names(120, "p")
	res := c.Remove(context.Background(), moderation.ChatRef{ID: groupPub}, users[:100], moderation.ActionOptions{})
	wantStatus(t, res, users[:100], moderation.StatusRefused)
	res = c.Remove(context.Background(), moderation.ChatRef{ID: groupPub}, users[100:], moderation.ActionOptions{})
	wantStatus(t, res, users[100:], moderation.StatusDone)
}

func TestUserSigRenewedAfterExpiry(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	c := newTestClient(t, s)
	before := c.sig.generated
	s.ExpireNextUserSig(1)
	users := []string{"flooder_9"}
	wantStatus(t, c.Remove(context.Background(), moderation.ChatRef{ID: groupPub}, users, moderation.ActionOptions{}), users, moderation.StatusDone)
	calls := s.CallsTo("delete_group_member")
	if len(calls) != 2 || calls[0].Code != 70001 || calls[1].Code != 0 {
		t.Fatalf("calls = %+v", calls)
	}
	if got := c.sig.generated - before; got != 1 {
		t.Errorf("UserSig regenerated %d times, want 1", got)
	}

	// A second expiry in the same Do is not renewed again.
	s.ExpireNextUserSig(2)
	res := c.Remove(context.Background(), moderation.ChatRef{ID: groupPub}, []string{"quiet_one"}, moderation.ActionOptions{})
	if res[0].Status != moderation.StatusFailed || res[0].Reason != "tim:70001" {
		t.Errorf("double expiry result = %+v", res[0])
	}
}

func TestUserSigRegeneratedBeforeExpiry(t *testing.T) {
	t.Parallel()
	now := time.Unix(1760000000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	cfg := testConfig("http://127.0.0.1:1")
	c := newClient(t, cfg, Options{Logger: discardLogger(), Now: clock})
	if _, err := c.sig.get(); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		advance time.Duration
		want    int
	}{
		{21 * time.Hour, 1},                // 3h left of 24h: keep
		{time.Hour, 2},                     // 2h left < 2.4h margin: regenerate
		{21*time.Hour + 30*time.Minute, 2}, // new sig has 2.5h left
		{time.Hour, 3},
	}
	for i, st := range steps {
		mu.Lock()
		now = now.Add(st.advance)
		mu.Unlock()
		if _, err := c.sig.get(); err != nil {
			t.Fatal(err)
		}
		if c.sig.generated != st.want {
			t.Fatalf("step %d: generated %d, want %d", i, c.sig.generated, st.want)
		}
	}
}

func TestMuteUnmute(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	c := newTestClient(t, s)
	chat := moderation.ChatRef{Platform: "tim", ID: groupPub, Kind: "Public"}
	users := []string{"spam_bot_77", "flooder_9"}
	ctx := context.Background()

	wantStatus(t, c.Mute(ctx, chat, users, 10*time.Minute+500*time.Millisecond, moderation.ActionOptions{}), users, moderation.StatusDone)
	wantStatus(t, c.Mute(ctx, chat, users[:1], moderation.MuteForever, moderation.ActionOptions{}), users[:1], moderation.StatusDone)
	if st := s.Mute(groupPub, "spam_bot_77"); !st.Forever {
		t.Errorf("spam_bot_77 mute = %+v, want forever", st)
	}
	if st := s.Mute(groupPub, "flooder_9"); !st.Muted || st.Forever || time.Until(st.Until) < 9*time.Minute {
		t.Errorf("flooder_9 mute = %+v", st)
	}
	wantStatus(t, c.Unmute(ctx, chat, users, moderation.ActionOptions{}), users, moderation.StatusDone)
	for _, u := range users {
		if st := s.Mute(groupPub, u); st.Muted {
			t.Errorf("%s still muted: %+v", u, st)
		}
	}

	want := []string{
		`{"GroupId":"` + groupPub + `","Members_Account":["spam_bot_77","flooder_9"],"MuteTime":601}`,
		`{"GroupId":"` + groupPub + `","Members_Account":["spam_bot_77"],"MuteTime":4294967295}`,
		`{"GroupId":"` + groupPub + `","Members_Account":["spam_bot_77","flooder_9"],"MuteTime":0}`,
	}
	calls := s.CallsTo("forbid_send_msg")
	if len(calls) != len(want) {
		t.Fatalf("calls = %d, want %d", len(calls), len(want))
	}
	for i, w := range want {
		if got := bodyJSON(t, calls[i]); got != w {
			t.Errorf("call %d\n got %s\nwant %s", i, got, w)
		}
	}
}

func TestMuteBatchesAndRefusals(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	c := newTestClient(t, s)
	ctx := context.Background()
	users := names(maxForbidPerCall, "m")
	wantStatus(t, c.Mute(ctx, moderation.ChatRef{ID: groupPub}, users, time.Minute, moderation.ActionOptions{}), users, moderation.StatusDone)
	calls := s.CallsTo("forbid_send_msg")
	if len(calls) != 1 || len(calls[0].Body["Members_Account"].([]any)) != 500 {
		t.Fatalf("forbid calls = %d", len(calls))
	}

	tests := []struct {
		name   string
		chat   moderation.ChatRef
		d      time.Duration
		reason moderation.Reason
	}{
		{"zero duration", moderation.ChatRef{ID: groupPub}, 0, moderation.ReasonInvalidDuration},
		{"negative duration", moderation.ChatRef{ID: groupPub}, -2 * time.Second, moderation.ReasonInvalidDuration},
		{"beyond uint32 seconds", moderation.ChatRef{ID: groupPub}, 4294967295 * time.Second, moderation.ReasonInvalidDuration},
		{"work group", moderation.ChatRef{ID: groupWork, Kind: "Work"}, time.Minute, moderation.ReasonUnsupported},
		{"legacy private group", moderation.ChatRef{ID: groupWork, Kind: "Private"}, time.Minute, moderation.ReasonUnsupported},
		{"work group unknown kind", moderation.ChatRef{ID: groupWork}, time.Minute, "tim:10004"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := c.Mute(ctx, tt.chat, []string{"member_a"}, tt.d, moderation.ActionOptions{})
			wantStatus(t, res, []string{"member_a"}, moderation.StatusRefused)
			if res[0].Reason != tt.reason {
				t.Errorf("reason = %q, want %q", res[0].Reason, tt.reason)
			}
		})
	}
}

func TestCapabilities(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	c := newTestClient(t, s)
	N, U := moderation.Native, moderation.Unsupported
	caps := func(kick, mute, lock, purge moderation.Support) moderation.Capabilities {
		return moderation.Capabilities{
			moderation.VerbKick: kick, moderation.VerbMute: mute, moderation.VerbUnmute: mute,
			moderation.VerbBan: N, moderation.VerbUnban: N,
			moderation.VerbLock: lock, moderation.VerbUnlock: lock, moderation.VerbPurge: purge,
		}
	}
	all := caps(N, N, N, N)
	noKick := caps(U, N, N, U) // AVChatRoom: no removal, no recall
	noMute := caps(N, U, U, N) // Work: no mute, no all-member mute
	tests := []struct {
		name string
		chat moderation.ChatRef
		want moderation.Capabilities
	}{
		{"public kind", moderation.ChatRef{ID: "x", Kind: "Public"}, all},
		{"meeting kind", moderation.ChatRef{ID: "x", Kind: "Meeting"}, all},
		{"community kind", moderation.ChatRef{ID: "x", Kind: "Community"}, all},
		{"avchatroom kind", moderation.ChatRef{ID: "x", Kind: "AVChatRoom"}, noKick},
		{"work kind", moderation.ChatRef{ID: "x", Kind: "Work"}, noMute},
		{"private kind", moderation.ChatRef{ID: "x", Kind: "Private"}, noMute},
		{"avchatroom looked up", moderation.ChatRef{ID: groupAV}, noKick},
		{"work looked up", moderation.ChatRef{ID: groupWork}, noMute},
		{"public looked up", moderation.ChatRef{ID: groupPub}, all},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Capabilities(context.Background(), tt.chat)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("caps = %v, want %v", got, tt.want)
			}
		})
	}
	// Lookups are cached: one get_group_info per group.
	before := len(s.CallsTo("get_group_info"))
	if _, err := c.Capabilities(context.Background(), moderation.ChatRef{ID: groupAV}); err != nil {
		t.Fatal(err)
	}
	if after := len(s.CallsTo("get_group_info")); after != before || before != 3 {
		t.Errorf("get_group_info calls %d → %d, want 3 → 3", before, after)
	}
	var apiErr *moderation.APIError
	if _, err := c.Capabilities(context.Background(), moderation.ChatRef{ID: "@TGS#gone"}); !errors.As(err, &apiErr) || apiErr.Code != 10010 {
		t.Errorf("unknown group: %v", err)
	}
}

func TestRoles(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	c := newTestClient(t, s)
	ctx := context.Background()
	chat := moderation.ChatRef{Platform: "tim", ID: groupPub}
	got, err := c.Roles(ctx, chat, []string{"owner_1", "ops_lead", "flooder_9", "stranger", timtest.DefaultAdmin})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]moderation.Role{"owner_1": moderation.RoleOwner, "ops_lead": moderation.RoleAdmin,
		"flooder_9": moderation.RoleMember, "stranger": moderation.RoleNotMember, timtest.DefaultAdmin: moderation.RoleOwner}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("roles = %v, want %v", got, want)
	}
	calls := s.CallsTo("get_role_in_group")
	if len(calls) != 1 || bodyJSON(t, calls[0]) != `{"GroupId":"`+groupPub+`","User_Account":["owner_1","ops_lead","flooder_9","stranger"]}` {
		t.Fatalf("calls = %+v", calls)
	}
	// Not cached here (the pipeline's role cache is the one): a second
	// lookup asks TIM again.
	if _, err := c.Roles(ctx, chat, []string{"ops_lead", "flooder_9"}); err != nil {
		t.Fatal(err)
	}
	if n := len(s.CallsTo("get_role_in_group")); n != 2 {
		t.Errorf("get_role_in_group calls = %d after a second lookup, want 2", n)
	}

	// 600 users → 500 + 100.
	many := names(600, "r")
	roles, err := c.Roles(ctx, chat, many)
	if err != nil || len(roles) != 600 || roles[many[599]] != moderation.RoleNotMember {
		t.Fatalf("roles of 600: %d, %v", len(roles), err)
	}
	calls = s.CallsTo("get_role_in_group")
	if len(calls) != 4 || len(calls[2].Body["User_Account"].([]any)) != 500 || len(calls[3].Body["User_Account"].([]any)) != 100 {
		t.Errorf("batches = %d", len(calls))
	}
}

func TestRolesAVChatRoom(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	c := newTestClient(t, s)
	got, err := c.Roles(context.Background(), moderation.ChatRef{ID: groupAV}, []string{"streamer", "viewer"})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]moderation.Role{"streamer": moderation.RoleOwner, "viewer": moderation.RoleMember}; !reflect.DeepEqual(got, want) {
		t.Errorf("roles = %v, want %v", got, want)
	}
	if n := len(s.CallsTo("get_role_in_group")); n != 1 {
		t.Errorf("get_role_in_group calls = %d, want 1 (answered 10007)", n)
	}
}

func TestRecall(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	c := newTestClient(t, s)
	d := s.MessageDelivery(testToken, time.Now(), timtest.Message{GroupID: groupPub, From: "spam_bot_77", Text: "buy now"})
	ack, err := c.Receive(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	msg := ack.Events[0].Message
	if err := c.Recall(context.Background(), msg.Chat, msg.MessageID); err != nil {
		t.Fatalf("Recall: %v", err)
	}
	if got := s.Recalled(groupPub); len(got) != 1 {
		t.Errorf("recalled = %v", got)
	}
	if got := bodyJSON(t, s.CallsTo("group_msg_recall")[0]); got != `{"GroupId":"`+groupPub+`","MsgSeqList":[{"MsgSeq":`+msg.MessageID+`}]}` {
		t.Errorf("body = %s", got)
	}
	var apiErr *moderation.APIError
	if err := c.Recall(context.Background(), msg.Chat, msg.MessageID); !errors.As(err, &apiErr) || apiErr.Code != 10030 {
		t.Errorf("second recall = %v, want 10030", err)
	}
	if err := c.Recall(context.Background(), msg.Chat, "abc"); !errors.Is(err, moderation.ErrMalformed) {
		t.Errorf("bad id = %v", err)
	}
	if err := c.Recall(context.Background(), moderation.ChatRef{ID: groupAV, Kind: "AVChatRoom"}, "1"); !errors.Is(err, moderation.ErrUnsupported) {
		t.Errorf("AVChatRoom recall = %v", err)
	}
}

func TestReply(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	c := newTestClient(t, s)
	msg := &moderation.Message{Chat: moderation.ChatRef{Platform: "tim", ID: groupPub}, MessageID: "3", SenderID: "ops_lead"}
	if err := c.Reply(context.Background(), msg, "@Flooder muted for 10m"); err != nil {
		t.Fatalf("Reply: %v", err)
	}
	replies := s.Replies()
	if len(replies) != 1 {
		t.Fatalf("replies = %+v", replies)
	}
	r := replies[0]
	if r.From != timtest.DefaultAdmin || r.Text != "@Flooder muted for 10m" ||
		!reflect.DeepEqual(r.ForbidCallbackControl, []string{"ForbidBeforeSendMsgCallback", "ForbidAfterSendMsgCallback"}) {
		t.Errorf("reply = %+v", r)
	}
	body := s.CallsTo("send_group_msg")[0].Body
	if body["From_Account"] != timtest.DefaultAdmin || body["Random"] == nil {
		t.Errorf("body = %v", body)
	}
	wantBody := `[{"MsgContent":{"Text":"@Flooder muted for 10m"},"MsgType":"TIMTextElem"}]`
	if got := mustJSON(t, body["MsgBody"]); got != wantBody {
		t.Errorf("MsgBody = %s, want %s", got, wantBody)
	}
}

func TestReplyFrequencyControl(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	c := newTestClient(t, s)
	s.DropNextReplies(1)
	msg := &moderation.Message{Chat: moderation.ChatRef{ID: groupPub}}
	if err := c.Reply(context.Background(), msg, "done"); err != nil {
		t.Fatalf("Reply: %v", err)
	}
	calls := s.CallsTo("send_group_msg")
	if len(calls) != 2 || len(s.Replies()) != 1 {
		t.Fatalf("calls = %d, replies = %d; want 2, 1", len(calls), len(s.Replies()))
	}
	if calls[0].Body["Random"] == calls[1].Body["Random"] {
		t.Error("retry after MsgFreqCtrl reused Random")
	}

	// Rate-limit codes are retried with the same Random.
	s.FailNext("send_group_msg", 1, 10023)
	if err := c.Reply(context.Background(), msg, "again"); err != nil {
		t.Fatalf("Reply after 10023: %v", err)
	}
	calls = s.CallsTo("send_group_msg")
	if calls[2].Code != 10023 || calls[3].Body["Random"] != calls[2].Body["Random"] {
		t.Errorf("retry after 10023: %+v / %+v", calls[2].Body["Random"], calls[3].Body["Random"])
	}
}

func TestUserSigNeverLogged(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	var buf syncBuffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := newClient(t, testConfig(s.URL), Options{Logger: logger})

	ctx := context.Background()
	users := []string{"flooder_9"}
	s.FailNext("forbid_send_msg", 1, 10004)
	c.Mute(ctx, moderation.ChatRef{ID: groupPub}, users, time.Minute, moderation.ActionOptions{})
	c.Remove(ctx, moderation.ChatRef{ID: groupPub}, users, moderation.ActionOptions{})
	sig := s.Calls()[0].Query.Get("usersig")
	if sig == "" {
		t.Fatal("no usersig recorded")
	}

	// A dead server: the transport error is a *url.Error holding the URL.
	dead := httptest.NewServer(nil)
	dead.Close()
	cfg := testConfig(dead.URL)
	cfg.Rate = egress.Limits{PerSecond: 1000, MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}
	c2 := newClient(t, cfg, Options{Logger: logger})
	res := c2.Remove(ctx, moderation.ChatRef{ID: groupPub}, users, moderation.ActionOptions{})
	if res[0].Status != moderation.StatusFailed || !strings.Contains(res[0].Detail, "after 2 attempts") {
		t.Errorf("dead server result = %+v (network errors must stay retryable)", res[0])
	}
	err := c2.Reply(ctx, &moderation.Message{Chat: moderation.ChatRef{ID: groupPub}}, "hi")
	if err == nil {
		t.Fatal("Reply to a dead server succeeded")
	}
	sig2, _ := c2.sig.get()

	logs := buf.String()
	if !strings.Contains(logs, "tim action failed") || !strings.Contains(logs, "usersig="+redacted) {
		t.Fatalf("expected failure logs with a redacted URL, got:\n%s", logs)
	}
	for _, secret := range []string{sig, sig2, timtest.DefaultSecretKey} {
		for what, text := range map[string]string{"logs": logs, "result": res[0].Detail, "error": err.Error()} {
			if strings.Contains(text, secret) {
				t.Errorf("%s contain a secret:\n%s", what, text)
			}
		}
	}
}

func TestRatePacing(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("takes 1.5 s")
	}
	// The fake refuses with 60007 once a command's one-second bucket
	// (fakeRate calls) is empty.
	run := func(t *testing.T, limits egress.Limits, fakeRate int) (*timtest.Server, time.Duration) {
		t.Helper()
		s := newFake(t)
		s.SetRate(timtest.Every, fakeRate)
		cfg := testConfig(s.URL)
		cfg.Rate = limits
		c := newClient(t, cfg, Options{Logger: discardLogger()})
		start := time.Now()
		var wg sync.WaitGroup
		for range 300 {
			wg.Go(func() {
				c.Unmute(context.Background(), moderation.ChatRef{ID: groupPub}, []string{"flooder_9"}, moderation.ActionOptions{})
			})
		}
		wg.Wait()
		return s, time.Since(start)
	}
	t.Run("paced at 200/s", func(t *testing.T) {
		t.Parallel()
		s, elapsed := run(t, fastRate, timtest.DefaultRate)
		if n := s.Throttled("forbid_send_msg"); n != 0 {
			t.Errorf("fake throttled %d calls", n)
		}
		calls := s.CallsTo("forbid_send_msg")
		if len(calls) != 300 {
			t.Errorf("calls = %d, want 300", len(calls))
		}
		if elapsed < 1400*time.Millisecond {
			t.Errorf("300 calls took %v, want ≥ 1.4 s at 200/s", elapsed)
		}
	})
	t.Run("unpaced control is throttled", func(t *testing.T) {
		t.Parallel()
		// 300 unpaced calls against a 100/s fake: unless they took over
		// two seconds, some must be refused.
		s, elapsed := run(t, egress.Limits{PerSecond: 1e6, Burst: 300, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond}, 100)
		if elapsed > 2*time.Second {
			t.Skipf("unpaced run took %v; too slow to prove throttling", elapsed)
		}
		if n := s.Throttled("forbid_send_msg"); n == 0 {
			t.Error("the fake did not enforce its rate limit")
		}
	})
}

// TestOversizedBatchRefused: the pipeline does the batching; handed one
// user more than Limits says a call takes, each action method refuses
// them all (batch_too_large) without calling TIM.
func TestOversizedBatchRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	chat := moderation.ChatRef{ID: groupPub, Kind: "Public"}
	for _, verb := range moderation.ActionVerbs {
		t.Run(string(verb), func(t *testing.T) {
			t.Parallel()
			s := newFake(t)
			c := newTestClient(t, s)
			users := names(c.Limits().Batch[verb]+1, "o")
			var rs []moderation.Result
			switch verb {
			case moderation.VerbKick:
				rs = c.Remove(ctx, chat, users, moderation.ActionOptions{})
			case moderation.VerbMute:
				rs = c.Mute(ctx, chat, users, time.Minute, moderation.ActionOptions{})
			case moderation.VerbUnmute:
				rs = c.Unmute(ctx, chat, users, moderation.ActionOptions{})
			case moderation.VerbBan:
				rs = c.Ban(ctx, chat, users, time.Hour, moderation.ActionOptions{})
			case moderation.VerbUnban:
				rs = c.Unban(ctx, chat, users, moderation.ActionOptions{})
			case moderation.VerbPurge:
				refs := make([]moderation.MessageRef, len(users))
				for i, u := range users {
					refs[i] = moderation.MessageRef{ID: u}
				}
				rs = c.RecallMessages(ctx, chat, refs, moderation.ActionOptions{})
			case moderation.VerbAdd:
				rs = c.Add(ctx, chat, users, moderation.ActionOptions{})
			default:
				t.Fatalf("verb %s not exercised", verb)
			}
			wantStatus(t, rs, users, moderation.StatusRefused)
			for _, r := range rs {
				if r.Reason != moderation.ReasonBatchTooLarge {
					t.Fatalf("%+v", r)
				}
			}
			if calls := s.Calls(); len(calls) != 0 {
				t.Fatalf("%d calls to TIM, want none", len(calls))
			}
		})
	}
}
