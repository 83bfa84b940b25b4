package easemob_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"gavel/moderation"
	"gavel/platforms/easemob"
	"gavel/platforms/easemob/easemobtest"
)

// TestAdd: members are found first and answered noop; the rest are added
// in one call, a refusal naming one user settles that user and the call
// goes on for the others; a batch over the limit is refused without a
// call; transient errors are retried.
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
		setup    func(*easemobtest.Server)
		want     []want // one per user; nil: every user wants all
		all      want
		wantAdds int
		wantSent [][]string // usernames of each add call, when checked
	}{
		{name: "group: all added", chat: group(groupID), users: []string{"erin", "frank"}, all: done, wantAdds: 1},
		{name: "chat room: all added", chat: room(roomID), users: []string{"erin", "frank"}, all: done, wantAdds: 1},
		{name: "group: some already members", chat: group(groupID), users: []string{"erin", "carol", "mod2", "owner2"},
			want: []want{done, noop, noop, noop}, wantAdds: 1, wantSent: [][]string{{"erin"}}},
		{name: "chat room: some already members", chat: room(roomID), users: []string{"alice", "erin"},
			want: []want{noop, done}, wantAdds: 1, wantSent: [][]string{{"erin"}}},
		{name: "all already members: no add call", chat: group(groupID), users: []string{"carol", "dave"}, all: noop},
		{name: "kind learned from the details", chat: moderation.ChatRef{Platform: easemob.Name, ID: roomID}, users: []string{"erin"},
			all: done, wantAdds: 1},
		{name: "unknown user refused, the rest added", chat: group(groupID), users: []string{"erin", "ghost", "frank"},
			setup: func(s *easemobtest.Server) { s.DeleteUser("ghost") },
			want:  []want{done, {moderation.StatusRefused, moderation.ReasonInvalidUserID}, done}, wantAdds: 2,
			wantSent: [][]string{{"erin", "ghost", "frank"}, {"erin", "frank"}}},
		{name: "block-listed user refused, the rest added", chat: room(roomID), users: []string{"mallory", "erin"},
			setup: func(s *easemobtest.Server) { s.Block(roomID, "mallory") },
			want:  []want{{moderation.StatusRefused, moderation.PlatformReason(easemob.Name, "blocked")}, done}, wantAdds: 2},
		{name: "batch too large refused without a call", chat: group(groupID), users: users("u", easemob.MaxAddPerCall+1),
			all: want{moderation.StatusRefused, moderation.ReasonBatchTooLarge}},
		{name: "group batch at the limit", chat: group(groupID), users: users("u", easemob.MaxAddPerCall), all: done, wantAdds: 1},
		{name: "chat-room batch at the limit", chat: room(roomID), users: users("u", easemob.MaxAddPerCall), all: done, wantAdds: 1},
		{name: "transient error retried", chat: group(groupID), users: []string{"erin"},
			setup: func(s *easemobtest.Server) { s.FailNext("add", 2, http.StatusServiceUnavailable) }, all: done, wantAdds: 3},
		{name: "silent group add", chat: group(groupID), users: []string{"erin"}, opts: moderation.ActionOptions{Silent: true},
			all: done, wantAdds: 1},
		{name: "unknown chat refused", chat: group("999999"), users: []string{"erin"},
			all: want{status: moderation.StatusRefused}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newPostEnv(t)
			if tt.setup != nil {
				tt.setup(e.srv)
			}
			e.srv.Reset()
			rs := e.c.Add(ctx, tt.chat, tt.users, tt.opts)
			checkOrder(t, rs, tt.users)
			for i, r := range rs {
				w := tt.all
				if tt.want != nil {
					w = tt.want[i]
				}
				if r.Status != w.status || (w.reason != "" && r.Reason != w.reason) {
					t.Errorf("result %d = %+v, want %s %s", i, r, w.status, w.reason)
				}
				if r.Status.Succeeded() && !e.srv.IsMember(tt.chat.ID, r.UserID) {
					t.Errorf("%s reported %s but is not a member: %s", r.UserID, r.Status, e.srv.Describe(tt.chat.ID))
				}
			}
			adds := e.srv.CallsTo("add")
			if len(adds) != tt.wantAdds {
				t.Errorf("add calls = %d, want %d", len(adds), tt.wantAdds)
			}
			for i, want := range tt.wantSent {
				if i < len(adds) && !slices.Equal(adds[i].Users, want) {
					t.Errorf("add call %d sent %v, want %v", i, adds[i].Users, want)
				}
			}
			for _, c := range adds {
				silent := c.Query.Get("need_notify") == "false"
				if silent != tt.opts.Silent {
					t.Errorf("need_notify=%q with opts.Silent %v", c.Query.Get("need_notify"), tt.opts.Silent)
				}
			}
		})
	}
}

// TestAddFiresJoin: the users added come back as one join event (INVITE
// for a group, DIRECT for a chat room, as Easemob fires them), which
// Gavel reads as a join of exactly those users.
func TestAddFiresJoin(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		chat moderation.ChatRef
		typ  string
	}{{group(groupID), "INVITE"}, {room(roomID), "DIRECT"}} {
		t.Run(tc.typ, func(t *testing.T) {
			t.Parallel()
			e := newPostEnv(t)
			e.srv.Reset()
			rs := e.c.Add(ctx, tc.chat, []string{"erin", "frank"}, moderation.ActionOptions{})
			if statuses(rs)[moderation.StatusDone] != 2 {
				t.Fatalf("results %+v", rs)
			}
			fired := e.srv.Fired()
			if len(fired) != 1 {
				t.Fatalf("fired %d callbacks, want 1", len(fired))
			}
			var cb struct {
				Operation string `json:"operation"`
				Payload   struct {
					Type string `json:"type"`
				} `json:"payload"`
			}
			if err := json.Unmarshal(fired[0], &cb); err != nil || cb.Operation != "JOIN" || cb.Payload.Type != tc.typ {
				t.Fatalf("callback %s (%v)", fired[0], err)
			}
			evs := receiveFired(t, e)
			if len(evs) != 1 || evs[0].Kind != moderation.EventJoin || !slices.Equal(evs[0].Join.UserIDs, []string{"erin", "frank"}) {
				t.Fatalf("events %+v", evs)
			}
			roles, err := e.c.Roles(ctx, tc.chat, []string{"erin", "frank"})
			if err != nil {
				t.Fatal(err)
			}
			for u, r := range roles {
				if r != moderation.RoleMember {
					t.Errorf("%s is %s after the add", u, r)
				}
			}
		})
	}
}
