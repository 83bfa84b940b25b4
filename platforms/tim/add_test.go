package tim

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"gavel/moderation"
	"gavel/platforms/tim/timtest"
)

// TestAdd: add_group_member's per-member Result becomes each user's
// status; a batch over the limit and live-stream groups are refused
// without a call; transient errors are retried.
func TestAdd(t *testing.T) {
	t.Parallel()
	type want struct {
		status moderation.Status
		reason moderation.Reason
	}
	done := want{status: moderation.StatusDone}
	noop := want{status: moderation.StatusNoop}
	tests := []struct {
		name     string
		chat     moderation.ChatRef
		users    []string
		opts     moderation.ActionOptions
		setup    func(*timtest.Server)
		want     []want // one per user; nil: every user wants all
		all      want
		wantAdds int
		wantInfo int // get_group_info calls
	}{
		{name: "all added", chat: chatOf(groupPub, "Public", ""), users: []string{"kicked_1", "kicked_2"}, all: done, wantAdds: 1},
		{name: "some already members", chat: chatOf(groupPub, "Public", ""), users: []string{"kicked_1", "quiet_one", "ops_lead"},
			want: []want{done, noop, noop}, wantAdds: 1},
		{name: "a banned user is refused", chat: chatOf(groupPub, "Public", ""), users: []string{"kicked_1", "banned_1"},
			setup: func(s *timtest.Server) {
				if code, _, err := s.Call("ban_group_member", map[string]any{"GroupId": groupPub, "Members_Account": []string{"banned_1"}, "Duration": 3600}); err != nil || code != 0 {
					t.Fatalf("ban: %d %v", code, err)
				}
			},
			want: []want{done, {moderation.StatusRefused, moderation.PlatformReason(Name, "add_failed")}}, wantAdds: 1},
		{name: "work group", chat: chatOf(groupWork, "Work", ""), users: []string{"kicked_1"}, all: done, wantAdds: 1},
		{name: "community with topics: the users join the community", chat: chatOf(groupTopics, "Community", topicA),
			users: []string{"kicked_1"}, setup: addCommunity, all: done, wantAdds: 1},
		{name: "silent", chat: chatOf(groupPub, "Public", ""), users: []string{"kicked_1"}, opts: moderation.ActionOptions{Silent: true},
			all: done, wantAdds: 1},
		{name: "batch too large refused without a call", chat: chatOf(groupPub, "Public", ""), users: names(maxAddPerCall+1, "u"),
			all: want{moderation.StatusRefused, moderation.ReasonBatchTooLarge}},
		{name: "batch at the limit", chat: chatOf(groupPub, "Public", ""), users: names(maxAddPerCall, "u"), all: done, wantAdds: 1},
		{name: "live-stream group refused without a call", chat: chatOf(groupAV, "AVChatRoom", ""), users: []string{"kicked_1"},
			all: want{moderation.StatusRefused, moderation.ReasonUnsupported}},
		{name: "live-stream group learned from TIM's 10007", chat: chatOf(groupAV, "", ""), users: []string{"kicked_1"},
			all: want{moderation.StatusRefused, moderation.ReasonUnsupported}, wantAdds: 1, wantInfo: 1},
		{name: "transient error retried", chat: chatOf(groupPub, "Public", ""), users: []string{"kicked_1", "kicked_2"},
			setup: func(s *timtest.Server) { s.FailNext("add_group_member", 2, 10002) }, all: done, wantAdds: 3},
		{name: "a repeated user is added once", chat: chatOf(groupPub, "Public", ""), users: []string{"kicked_1", "kicked_1", "quiet_one"},
			want: []want{done, done, noop}, wantAdds: 1},
		{name: "an empty id is refused, the rest added", chat: chatOf(groupPub, "Public", ""), users: []string{"", "kicked_1"},
			want: []want{{moderation.StatusRefused, moderation.ReasonInvalidUserID}, done}, wantAdds: 1},
		// 10019/10037 fail the whole call without naming the account:
		// Add halves the batch until the bad account is alone.
		// [k1 ghost k2 k3] → [k1 ghost] ([k1] [ghost]) and [k2 k3].
		{name: "an unknown account is refused, the rest added", chat: chatOf(groupPub, "Public", ""),
			users: []string{"kicked_1", "ghost", "kicked_2", "kicked_3"},
			setup: func(s *timtest.Server) { s.ForgetAccount("ghost") },
			want:  []want{done, {moderation.StatusRefused, moderation.PlatformReason(Name, "10019")}, done, done}, wantAdds: 5},
		{name: "an invitee in too many groups is refused, the rest added", chat: chatOf(groupPub, "Public", ""),
			users: []string{"kicked_1", "kicked_2", "busy", "quiet_one"},
			setup: func(s *timtest.Server) { s.SetGroupLimitReached("busy") },
			want:  []want{done, done, {moderation.StatusRefused, moderation.PlatformReason(Name, "10037")}, noop}, wantAdds: 5},
		{name: "two bad accounts in one batch", chat: chatOf(groupPub, "Public", ""),
			users: []string{"ghost", "kicked_1", "kicked_2", "busy"},
			setup: func(s *timtest.Server) { s.ForgetAccount("ghost"); s.SetGroupLimitReached("busy") },
			want: []want{{moderation.StatusRefused, moderation.PlatformReason(Name, "10019")}, done, done,
				{moderation.StatusRefused, moderation.PlatformReason(Name, "10037")}}, wantAdds: 7},
		{name: "a single unknown account is refused with one call", chat: chatOf(groupPub, "Public", ""), users: []string{"ghost"},
			setup: func(s *timtest.Server) { s.ForgetAccount("ghost") },
			all:   want{moderation.StatusRefused, moderation.PlatformReason(Name, "10019")}, wantAdds: 1},
		{name: "a full group refuses the batch without retries", chat: chatOf(groupFull, "Public", ""),
			users: []string{"kicked_1", "kicked_2", "kicked_3"}, setup: addFullGroup,
			all: want{moderation.StatusRefused, moderation.PlatformReason(Name, "10014")}, wantAdds: 1},
		// [ghost a b c] in a group with room for one more: [ghost a]
		// settles to ghost 10019 and a added, then [b c] finds it full.
		{name: "the group fills while a batch is settled", chat: chatOf(groupFull, "Public", ""),
			users: []string{"ghost", "kicked_1", "kicked_2", "kicked_3"},
			setup: func(s *timtest.Server) { addFullGroup(s); s.ForgetAccount("ghost") },
			want: []want{{moderation.StatusRefused, moderation.PlatformReason(Name, "10019")}, done,
				{moderation.StatusRefused, moderation.PlatformReason(Name, "10014")},
				{moderation.StatusRefused, moderation.PlatformReason(Name, "10014")}}, wantAdds: 5},
		{name: "unknown group refused", chat: chatOf("@TGS#nope", "Public", ""), users: []string{"kicked_1"},
			all: want{moderation.StatusRefused, moderation.PlatformReason(Name, "10010")}, wantAdds: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newFake(t)
			if tt.setup != nil {
				tt.setup(s)
			}
			s.Reset()
			c := newTestClient(t, s)
			rs := c.Add(context.Background(), tt.chat, tt.users, tt.opts)
			if len(rs) != len(tt.users) {
				t.Fatalf("got %d results for %d users", len(rs), len(tt.users))
			}
			for i, r := range rs {
				w := tt.all
				if tt.want != nil {
					w = tt.want[i]
				}
				if r.UserID != tt.users[i] || r.Status != w.status || (w.reason != "" && r.Reason != w.reason) {
					t.Errorf("result %d = %+v, want %s %s for %s", i, r, w.status, w.reason, tt.users[i])
				}
				if r.Status == moderation.StatusDone && s.Role(tt.chat.ID, r.UserID) != "Member" {
					t.Errorf("%s reported added but is %s", r.UserID, s.Role(tt.chat.ID, r.UserID))
				}
			}
			adds := s.CallsTo("add_group_member")
			if len(adds) != tt.wantAdds {
				t.Errorf("add_group_member calls = %d, want %d", len(adds), tt.wantAdds)
			}
			if n := len(s.CallsTo("get_group_info")); n != tt.wantInfo {
				t.Errorf("get_group_info calls = %d, want %d", n, tt.wantInfo)
			}
			if len(adds) > 0 {
				silence := adds[len(adds)-1].Body["Silence"]
				if tt.opts.Silent != (silence != nil && silence.(json.Number).String() == "1") {
					t.Errorf("Silence = %v with opts.Silent %v", silence, tt.opts.Silent)
				}
			}
		})
	}
}

// TestAddFiresJoinCallback: TIM sends Group.CallbackAfterNewMemberJoin
// (Invited, the App admin as operator) for users add_group_member added;
// Gavel reads it as a join of exactly those users, and Roles sees them.
func TestAddFiresJoinCallback(t *testing.T) {
	t.Parallel()
	c, s := fakeCallbackClient(t, nil)
	ctx := context.Background()
	chat := chatOf(groupPub, "Public", "")
	rs := c.Add(ctx, chat, []string{"kicked_1", "quiet_one", "kicked_2"}, moderation.ActionOptions{})
	if rs[0].Status != moderation.StatusDone || rs[1].Status != moderation.StatusNoop || rs[2].Status != moderation.StatusDone {
		t.Fatalf("results = %+v", rs)
	}
	cbs := s.JoinCallbacks(testToken)
	if len(cbs) != 1 {
		t.Fatalf("join callbacks = %d, want 1", len(cbs))
	}
	ack, err := c.Receive(ctx, cbs[0])
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	if len(ack.Events) != 1 || ack.Events[0].Kind != moderation.EventJoin {
		t.Fatalf("events = %+v", ack.Events)
	}
	j := ack.Events[0].Join
	if j.Operator != timtest.DefaultAdmin || len(j.UserIDs) != 2 || j.UserIDs[0] != "kicked_1" || j.UserIDs[1] != "kicked_2" {
		t.Errorf("join = %+v", j)
	}
	roles, err := c.Roles(ctx, chat, []string{"kicked_1", "kicked_2"})
	if err != nil {
		t.Fatal(err)
	}
	for u, r := range roles {
		if r != moderation.RoleMember {
			t.Errorf("%s is %s after the add, want member", u, r)
		}
	}
	if !j.At.Equal(testNow.Truncate(time.Millisecond)) {
		t.Errorf("join at %v, want the fake's clock %v", j.At, testNow)
	}
}

// groupFull has room for one more member (owner and one member of three).
const groupFull = "@TGS#2GAVELFULL"

func addFullGroup(s *timtest.Server) {
	s.AddGroup(timtest.Group{ID: groupFull, Type: "Public", Owner: "owner_3", Members: []string{"member_f"}, MaxMemberNum: 3})
}
