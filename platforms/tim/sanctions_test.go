package tim

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"gavel/moderation"
	"gavel/platforms/tim/timtest"
)

// TestBan: ban_group_member gets the duration in seconds (Forever: the
// longest uint32), the reason as Description; the fake removes the users
// and keeps them banned. Durations TIM cannot express are refused
// without a call.
func TestBan(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	chat := moderation.ChatRef{ID: groupPub, Kind: "Public"}
	tests := []struct {
		name      string
		d         time.Duration
		wantSecs  string // "" = no call
		wantState moderation.Status
	}{
		{"one hour", time.Hour, "3600", moderation.StatusDone},
		{"rounded up", 1500 * time.Millisecond, "2", moderation.StatusDone},
		{"forever", moderation.Forever, "4294967295", moderation.StatusDone},
		{"longest", 4294967295 * time.Second, "4294967295", moderation.StatusDone},
		{"too long", 4294967296 * time.Second, "", moderation.StatusRefused},
		{"zero", 0, "", moderation.StatusRefused},
		{"negative", -2 * time.Second, "", moderation.StatusRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newFake(t)
			c := newTestClient(t, s)
			users := []string{"spam_bot_77", "flooder_9"}
			rs := c.Ban(ctx, chat, users, tt.d, moderation.ActionOptions{Reason: "raid"})
			wantStatus(t, rs, users, tt.wantState)
			calls := s.CallsTo("ban_group_member")
			if tt.wantSecs == "" {
				if len(calls) != 0 || rs[0].Reason != moderation.ReasonInvalidDuration {
					t.Fatalf("calls %d, result %+v", len(calls), rs[0])
				}
				return
			}
			if len(calls) != 1 {
				t.Fatalf("%d ban calls, want 1", len(calls))
			}
			body := calls[0].Body
			if got := body["Duration"].(json.Number).String(); got != tt.wantSecs || body["Description"] != "raid" {
				t.Fatalf("body %v, want Duration %s and Description raid", body, tt.wantSecs)
			}
			banned := s.Banned(groupPub)
			for _, u := range users {
				if _, ok := banned[u]; !ok {
					t.Errorf("%s not banned: %v", u, banned)
				}
				if s.Role(groupPub, u) != "NotMember" {
					t.Errorf("%s still a member", u)
				}
			}
		})
	}
}

// TestBanLongDescription: a reason over TIM's 1000-byte Description is
// shortened on a rune boundary rather than refused by TIM (the case keeps
// the whole reason).
func TestBanLongDescription(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	c := newTestClient(t, s)
	reason := strings.Repeat("禁", 400) // 1200 bytes
	rs := c.Ban(context.Background(), moderation.ChatRef{ID: groupPub, Kind: "Public"}, []string{"quiet_one"}, time.Minute,
		moderation.ActionOptions{Reason: reason})
	wantStatus(t, rs, []string{"quiet_one"}, moderation.StatusDone)
	desc := s.CallsTo("ban_group_member")[0].Body["Description"].(string)
	if len(desc) > 1000 || !strings.HasPrefix(reason, desc) || len(desc) < 990 {
		t.Fatalf("Description of %d bytes", len(desc))
	}
}

// TestBanErrors: transient errors are retried, documented refusals
// reported per user with TIM's reason.
func TestBanErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	chat := moderation.ChatRef{ID: groupPub, Kind: "Public"}
	users := []string{"spam_bot_77"}
	tests := []struct {
		name       string
		code, n    int
		want       moderation.Status
		wantReason moderation.Reason
		wantCalls  int
	}{
		{"internal error retried", 10002, 2, moderation.StatusDone, "", 3},
		{"rate limit retried", 10006, 1, moderation.StatusDone, "", 2},
		{"too many accounts", 10005, 1, moderation.StatusRefused, "tim:10005", 1},
		{"group gone", 10010, 1, moderation.StatusRefused, "tim:10010", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newFake(t)
			c := newTestClient(t, s)
			s.FailNext("ban_group_member", tt.n, tt.code)
			rs := c.Ban(ctx, chat, users, time.Hour, moderation.ActionOptions{})
			wantStatus(t, rs, users, tt.want)
			if rs[0].Reason != tt.wantReason {
				t.Errorf("reason %q, want %q", rs[0].Reason, tt.wantReason)
			}
			if n := len(s.CallsTo("ban_group_member")); n != tt.wantCalls {
				t.Errorf("%d ban calls, want %d", n, tt.wantCalls)
			}
			if n := len(s.CallsTo("delete_group_member")); n != 0 {
				t.Errorf("%d removals: not an unavailable ban API", n)
			}
		})
	}
}

// TestBanEmulatedWithoutBanAPI: an app without the ban API (10007) gets
// the users removed, the ban reported as emulated, and from then on no
// ban call at all; Capabilities says Emulated, Unban has nothing to lift.
func TestBanEmulatedWithoutBanAPI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newFake(t)
	s.SetBanAPI(false)
	c := newTestClient(t, s)
	chat := moderation.ChatRef{ID: groupPub, Kind: "Public"}

	caps, err := c.Capabilities(ctx, chat)
	if err != nil || caps[moderation.VerbBan] != moderation.Native {
		t.Fatalf("before: %v %v", caps, err)
	}
	rs := c.Ban(ctx, chat, []string{"spam_bot_77"}, time.Hour, moderation.ActionOptions{})
	wantStatus(t, rs, []string{"spam_bot_77"}, moderation.StatusDone)
	if !strings.Contains(rs[0].Detail, "emulated") {
		t.Errorf("detail %q does not say emulated", rs[0].Detail)
	}
	if s.Role(groupPub, "spam_bot_77") != "NotMember" {
		t.Error("user not removed")
	}
	rs = c.Ban(ctx, chat, []string{"flooder_9"}, moderation.Forever, moderation.ActionOptions{})
	wantStatus(t, rs, []string{"flooder_9"}, moderation.StatusDone)
	if n := len(s.CallsTo("ban_group_member")); n != 1 {
		t.Errorf("%d ban calls, want 1 (then remembered)", n)
	}
	if n := len(s.CallsTo("delete_group_member")); n != 2 {
		t.Errorf("%d removals, want 2", n)
	}
	for _, tt := range []struct {
		chat      moderation.ChatRef
		ban, unbn moderation.Support
	}{
		{chat, moderation.Emulated, moderation.Emulated},
		{moderation.ChatRef{ID: "x", Kind: "Work"}, moderation.Emulated, moderation.Emulated},
		{moderation.ChatRef{ID: "x", Kind: "AVChatRoom"}, moderation.Unsupported, moderation.Unsupported},
	} {
		caps, err := c.Capabilities(ctx, tt.chat)
		if err != nil || caps[moderation.VerbBan] != tt.ban || caps[moderation.VerbUnban] != tt.unbn {
			t.Errorf("%s: %v %v", tt.chat.Kind, caps, err)
		}
	}
	rs = c.Unban(ctx, chat, []string{"spam_bot_77"}, moderation.ActionOptions{})
	wantStatus(t, rs, []string{"spam_bot_77"}, moderation.StatusDone)
	if n := len(s.CallsTo("unban_group_member")); n != 0 {
		t.Errorf("%d unban calls where bans are emulated", n)
	}
	// Nobody can be removed from an AVChatRoom: refused, not emulated.
	rs = c.Ban(ctx, moderation.ChatRef{ID: groupAV, Kind: "AVChatRoom"}, []string{"viewer"}, time.Hour, moderation.ActionOptions{})
	wantStatus(t, rs, []string{"viewer"}, moderation.StatusRefused)
}

// TestBanUnavailableForGroupType: 10004 outside AVChatRoom (the 2024
// docs' "AVChatRoom only") emulates bans for that group type only.
func TestBanUnavailableForGroupType(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newFake(t)
	c := newTestClient(t, s)
	s.FailNext("ban_group_member", 1, 10004)
	rs := c.Ban(ctx, moderation.ChatRef{ID: groupPub, Kind: "Public"}, []string{"quiet_one"}, time.Hour, moderation.ActionOptions{})
	wantStatus(t, rs, []string{"quiet_one"}, moderation.StatusDone)
	if !strings.Contains(rs[0].Detail, "emulated") {
		t.Errorf("detail %q", rs[0].Detail)
	}
	pub, _ := c.Capabilities(ctx, moderation.ChatRef{ID: "x", Kind: "Public"})
	meet, _ := c.Capabilities(ctx, moderation.ChatRef{ID: "x", Kind: "ChatRoom"})
	if pub[moderation.VerbBan] != moderation.Emulated || meet[moderation.VerbBan] != moderation.Native {
		t.Fatalf("public %v, meeting %v", pub, meet)
	}
	// AVChatRoom's 10004 is a plain refusal: bans there stay native.
	s.FailNext("ban_group_member", 1, 10004)
	rs = c.Ban(ctx, moderation.ChatRef{ID: groupAV, Kind: "AVChatRoom"}, []string{"viewer"}, time.Hour, moderation.ActionOptions{})
	if rs[0].Status != moderation.StatusRefused || rs[0].Reason != "tim:10004" {
		t.Fatalf("%+v", rs[0])
	}
	if av, _ := c.Capabilities(ctx, moderation.ChatRef{ID: "x", Kind: "AVChatRoom"}); av[moderation.VerbBan] != moderation.Native {
		t.Fatalf("avchatroom %v", av)
	}
}

func TestUnban(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newFake(t)
	c := newTestClient(t, s)
	chat := moderation.ChatRef{ID: groupPub, Kind: "Public"}
	users := names(20, "u")
	wantStatus(t, c.Ban(ctx, chat, users, time.Hour, moderation.ActionOptions{}), users, moderation.StatusDone)
	if n := len(s.Banned(groupPub)); n != 20 {
		t.Fatalf("%d banned", n)
	}
	wantStatus(t, c.Unban(ctx, chat, users, moderation.ActionOptions{}), users, moderation.StatusDone)
	if b := s.Banned(groupPub); len(b) != 0 {
		t.Fatalf("still banned: %v", b)
	}
	calls := s.CallsTo("unban_group_member")
	if len(calls) != 1 || len(calls[0].Body["Members_Account"].([]any)) != 20 {
		t.Fatalf("unban calls %v", calls)
	}
	s.FailNext("unban_group_member", 1, 10010)
	rs := c.Unban(ctx, chat, []string{"x"}, moderation.ActionOptions{})
	if rs[0].Status != moderation.StatusRefused || rs[0].Reason != "tim:10010" {
		t.Fatalf("%+v", rs[0])
	}
}

// TestLockUnlock: modify_group_base_info with MuteAllMember; the fake then
// refuses members' messages (10017) and lets admins speak.
func TestLockUnlock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newFake(t)
	c := newTestClient(t, s)
	chat := moderation.ChatRef{ID: groupPub, Kind: "Public"}

	r := c.Lock(ctx, chat, nil, moderation.ActionOptions{})
	if r.Status != moderation.StatusDone || r.UserID != "" || !s.MutedAll(groupPub) {
		t.Fatalf("lock: %+v, muted %v", r, s.MutedAll(groupPub))
	}
	body := s.CallsTo("modify_group_base_info")[0].Body
	if body["MuteAllMember"] != "On" || body["GroupId"] != groupPub || len(body) != 2 {
		t.Fatalf("lock body %v", body)
	}
	r = c.Unlock(ctx, chat, moderation.ActionOptions{})
	if r.Status != moderation.StatusDone || s.MutedAll(groupPub) {
		t.Fatalf("unlock: %+v", r)
	}
	if got := s.CallsTo("modify_group_base_info")[1].Body["MuteAllMember"]; got != "Off" {
		t.Fatalf("unlock sent %v", got)
	}

	// Work groups cannot mute: refused without a call.
	r = c.Lock(ctx, moderation.ChatRef{ID: groupWork, Kind: "Work"}, nil, moderation.ActionOptions{})
	if r.Status != moderation.StatusRefused || r.Reason != moderation.ReasonUnsupported {
		t.Fatalf("work: %+v", r)
	}
	if n := len(s.CallsTo("modify_group_base_info")); n != 2 {
		t.Fatalf("%d calls", n)
	}
	// Errors: retried when transient, refused with TIM's reason.
	s.FailNext("modify_group_base_info", 1, 10002)
	if r := c.Lock(ctx, chat, nil, moderation.ActionOptions{}); r.Status != moderation.StatusDone {
		t.Fatalf("retry: %+v", r)
	}
	s.FailNext("modify_group_base_info", 1, 10007)
	if r := c.Unlock(ctx, chat, moderation.ActionOptions{}); r.Status != moderation.StatusRefused || r.Reason != "tim:10007" || r.Detail == "" {
		t.Fatalf("refused: %+v", r)
	}
}

// seed stores messages in the fake through its after-send callbacks and
// returns their MsgSeqs.
func seed(s *timtest.Server, groupID, topic string, at time.Time, n int) []string {
	out := make([]string, n)
	for i := range out {
		d := s.MessageDelivery(testToken, at, timtest.Message{GroupID: groupID, TopicID: topic, From: "spam_bot_77", Text: "buy"})
		var b struct{ MsgSeq uint64 }
		_ = json.Unmarshal(d.Body, &b)
		out[i] = strconv.FormatUint(b.MsgSeq, 10)
	}
	return out
}

func refs(ids ...string) []moderation.MessageRef {
	out := make([]moderation.MessageRef, len(ids))
	for i, id := range ids {
		out[i] = moderation.MessageRef{ID: id}
	}
	return out
}

// TestRecallMessages: one group_msg_recall for every valid MsgSeq, one
// Result per message in order, RetCodes mapped.
func TestRecallMessages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newFake(t)
	c := newTestClient(t, s)
	chat := moderation.ChatRef{ID: groupPub, Kind: "Public"}
	ids := seed(s, groupPub, "", time.Now(), 3)

	in := []string{ids[0], "not-a-seq", ids[1], "99999", ids[2], "+5"}
	rs := c.RecallMessages(ctx, chat, refs(in...), moderation.ActionOptions{})
	want := []moderation.Status{moderation.StatusDone, moderation.StatusRefused, moderation.StatusDone,
		moderation.StatusNoop, moderation.StatusDone, moderation.StatusRefused}
	if len(rs) != len(in) {
		t.Fatalf("%d results", len(rs))
	}
	for i, r := range rs {
		if r.UserID != in[i] || r.Status != want[i] {
			t.Errorf("result %d = %+v, want %s %s", i, r, in[i], want[i])
		}
	}
	calls := s.CallsTo("group_msg_recall")
	if len(calls) != 1 || len(calls[0].Body["MsgSeqList"].([]any)) != 4 {
		t.Fatalf("calls %v", calls)
	}
	if got := s.Recalled(groupPub); len(got) != 3 {
		t.Fatalf("recalled %v", got)
	}
	// Recalled again: already gone.
	rs = c.RecallMessages(ctx, chat, refs(ids[0]), moderation.ActionOptions{})
	wantStatus(t, rs, ids[:1], moderation.StatusNoop)
}

func TestRecallMessagesTooOld(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	s.SetRecallWindow(time.Hour)
	c := newTestClient(t, s)
	old := seed(s, groupPub, "", time.Now().Add(-2*time.Hour), 1)
	fresh := seed(s, groupPub, "", time.Now(), 1)
	rs := c.RecallMessages(context.Background(), moderation.ChatRef{ID: groupPub, Kind: "Public"}, refs(old[0], fresh[0]), moderation.ActionOptions{})
	if rs[0].Status != moderation.StatusRefused || rs[0].Reason != "tim:10031" || rs[0].Detail == "" {
		t.Errorf("old: %+v", rs[0])
	}
	if rs[1].Status != moderation.StatusDone {
		t.Errorf("fresh: %+v", rs[1])
	}
}

// TestRecallMessagesTopic: the topic (chat.Thread) goes in TopicId; the
// topic's own sequence is recalled, not the group's.
func TestRecallMessagesTopic(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	s.AddGroup(timtest.Group{ID: "@TGS#_community", Type: "Community", Owner: "o", Members: []string{"spam_bot_77"}, Topics: []string{"@TGS#_community@TOPIC#_a"}})
	c := newTestClient(t, s)
	topic := "@TGS#_community@TOPIC#_a"
	ids := seed(s, "@TGS#_community", topic, time.Now(), 2)
	chat := moderation.ChatRef{ID: "@TGS#_community", Kind: "Community", Thread: topic}
	rs := c.RecallMessages(context.Background(), chat, refs(ids...), moderation.ActionOptions{})
	wantStatus(t, rs, ids, moderation.StatusDone)
	if got := s.RecalledIn("@TGS#_community", topic); len(got) != 2 {
		t.Fatalf("recalled in topic %v", got)
	}
	if got := s.CallsTo("group_msg_recall")[0].Body["TopicId"]; got != topic {
		t.Fatalf("TopicId %v", got)
	}
}

func TestRecallMessagesRefusals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newFake(t)
	c := newTestClient(t, s)
	// AVChatRoom: refused without a call.
	rs := c.RecallMessages(ctx, moderation.ChatRef{ID: groupAV, Kind: "AVChatRoom"}, refs("1", "2"), moderation.ActionOptions{})
	wantStatus(t, rs, []string{"1", "2"}, moderation.StatusRefused)
	// Only invalid ids: no call.
	rs = c.RecallMessages(ctx, moderation.ChatRef{ID: groupPub}, refs("x"), moderation.ActionOptions{})
	wantStatus(t, rs, []string{"x"}, moderation.StatusRefused)
	if n := len(s.CallsTo("group_msg_recall")); n != 0 {
		t.Fatalf("%d calls", n)
	}
	// A failed call fails every valid message and keeps the refusals.
	s.FailNext("group_msg_recall", 1, 10010)
	rs = c.RecallMessages(ctx, moderation.ChatRef{ID: groupPub}, refs("1", "y"), moderation.ActionOptions{})
	if rs[0].Status != moderation.StatusRefused || rs[0].Reason != "tim:10010" || rs[1].Reason != moderation.ReasonInvalidUserID {
		t.Fatalf("%+v", rs)
	}
	// Ten is the batch; eleven is refused without a call.
	rs = c.RecallMessages(ctx, moderation.ChatRef{ID: groupPub}, refs(names(11, "")...), moderation.ActionOptions{})
	if rs[0].Reason != moderation.ReasonBatchTooLarge {
		t.Fatalf("%+v", rs[0])
	}
}

func TestHistoryUnsupported(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, newFake(t))
	if _, err := c.RecentMessages(context.Background(), moderation.ChatRef{ID: groupPub}, 10); !errors.Is(err, moderation.ErrUnsupported) {
		t.Errorf("RecentMessages: %v", err)
	}
	if _, err := c.MessageSender(context.Background(), moderation.ChatRef{ID: groupPub}, "1"); !errors.Is(err, moderation.ErrUnsupported) {
		t.Errorf("MessageSender: %v", err)
	}
}

func TestSanctionLimits(t *testing.T) {
	t.Parallel()
	l := newTestClient(t, newFake(t)).Limits()
	if err := l.Validate(); err != nil {
		t.Fatal(err)
	}
	for v, want := range map[moderation.Verb]int{moderation.VerbBan: 20, moderation.VerbUnban: 20, moderation.VerbPurge: 10} {
		if l.Batch[v] != want {
			t.Errorf("%s batch %d, want %d", v, l.Batch[v], want)
		}
	}
}

// TestLockSaysSpeakersStaySilent: TIM cannot exempt Gavel's admins who
// are plain members from the all-member mute; the lock holds and says so.
func TestLockSaysSpeakersStaySilent(t *testing.T) {
	t.Parallel()
	s := newFake(t)
	c := newTestClient(t, s)
	r := c.Lock(context.Background(), moderation.ChatRef{ID: groupPub, Kind: "Public"}, []string{"alice"}, moderation.ActionOptions{})
	if r.Status != moderation.StatusDone || !s.MutedAll(groupPub) || !strings.Contains(r.Detail, "cannot speak") {
		t.Fatalf("lock with speakers: %+v, muted %v", r, s.MutedAll(groupPub))
	}
}
