package timtest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// memberList is an add_group_member body for group g adding accounts.
func memberList(g string, accounts ...string) string {
	items := make([]string, len(accounts))
	for i, a := range accounts {
		items[i] = fmt.Sprintf(`{"Member_Account":%q}`, a)
	}
	return fmt.Sprintf(`{"GroupId":%q,"MemberList":[%s]}`, g, strings.Join(items, ","))
}

func accountsN(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("u%d", i)
	}
	return out
}

// TestAddGroupMemberRefusals: the per-call limit (20 by default, as the
// Chinese page says; 300 when set, as the English page says) and the
// whole-call errors of the English page's table.
func TestAddGroupMemberRefusals(t *testing.T) {
	t.Parallel()
	q := query(t, DefaultAdmin, DefaultSecretKey, 3600)
	tests := []struct {
		name  string
		setup func(*Server)
		body  string
		want  int
	}{
		{"20 accounts", nil, memberList("g", accountsN(20)...), 0},
		{"21 accounts", nil, memberList("g", accountsN(21)...), 10005},
		{"300 accounts, English page's limit", func(s *Server) { s.SetMaxAddMembers(300) }, memberList("g", accountsN(300)...), 0},
		{"301 accounts, English page's limit", func(s *Server) { s.SetMaxAddMembers(300) }, memberList("g", accountsN(301)...), 10005},
		{"unknown account", func(s *Server) { s.ForgetAccount("ghost") }, memberList("g", "new", "ghost"), 10019},
		{"joined too many groups", func(s *Server) { s.SetGroupLimitReached("busy") }, memberList("g", "busy"), 10037},
		{"a member at the join limit is not refused", func(s *Server) { s.SetGroupLimitReached("m") }, memberList("g", "m"), 0},
		{"group full", func(s *Server) {
			s.AddGroup(Group{ID: "g", Owner: "o", Members: []string{"m"}, MaxMemberNum: 3})
		}, memberList("g", "m", "new1", "new2"), 10014},
		{"group filled exactly", func(s *Server) {
			s.AddGroup(Group{ID: "g", Owner: "o", Members: []string{"m"}, MaxMemberNum: 3})
		}, memberList("g", "m", "new1"), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := NewServer()
			defer s.Close()
			s.AddGroup(Group{ID: "g", Owner: "o", Members: []string{"m"}})
			if tc.setup != nil {
				tc.setup(s)
			}
			code, out := post(t, s, "add_group_member", q, tc.body)
			if code != tc.want {
				b, _ := json.Marshal(out)
				t.Fatalf("ErrorCode %d (%s), want %d", code, b, tc.want)
			}
			if code != 0 && s.Joined("g", "new") {
				t.Error("a refused call added a member")
			}
		})
	}
}
