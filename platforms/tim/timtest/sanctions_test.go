package timtest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func msgBody(group, from string, random int) string {
	return `{"GroupId":"` + group + `","Random":` + itoa(random) + `,"From_Account":"` + from +
		`","MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"hi"}}]}`
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func accounts(n int) string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = `"u` + itoa(i) + `"`
	}
	return "[" + strings.Join(ids, ",") + "]"
}

func TestServerBans(t *testing.T) {
	t.Parallel()
	s := NewServer()
	defer s.Close()
	s.AddGroup(Group{ID: "g", Owner: "o", Members: []string{"m", "n"}})
	q := query(t, DefaultAdmin, DefaultSecretKey, 3600)
	tests := []struct {
		name, cmd, body string
		want            int
	}{
		{"21 accounts", "ban_group_member", `{"GroupId":"g","Members_Account":` + accounts(21) + `,"Duration":60}`, 10005},
		{"no duration", "ban_group_member", `{"GroupId":"g","Members_Account":["m"]}`, 10004},
		{"zero duration", "ban_group_member", `{"GroupId":"g","Members_Account":["m"],"Duration":0}`, 10004},
		{"duration over uint32", "ban_group_member", `{"GroupId":"g","Members_Account":["m"],"Duration":4294967296}`, 10004},
		{"long description", "ban_group_member", `{"GroupId":"g","Members_Account":["m"],"Duration":60,"Description":"` + strings.Repeat("x", 1001) + `"}`, 10004},
		{"unknown group", "ban_group_member", `{"GroupId":"nope","Members_Account":["m"],"Duration":60}`, 10010},
		{"doc sample as published", "ban_group_member", `{"GroupId":"g","Members_Account":[brennanli3", "brennanli12],"Duration":3600}`, 60003},
		{"20 accounts", "ban_group_member", `{"GroupId":"g","Members_Account":` + accounts(20) + `,"Duration":60}`, 0},
		{"ban m", "ban_group_member", `{"GroupId":"g","Members_Account":["m"],"Duration":3600,"Description":"spam"}`, 0},
		{"unban 21", "unban_group_member", `{"GroupId":"g","Members_Account":` + accounts(21) + `}`, 10005},
		{"list limit 101", "get_group_ban_member", `{"GroupId":"g","Limit":101,"Offset":0}`, 10004},
	}
	for _, tt := range tests {
		if code, out := post(t, s, tt.cmd, q, tt.body); code != tt.want {
			t.Errorf("%s: code %d, want %d (%v)", tt.name, code, tt.want, out)
		}
	}
	if _, ok := s.Banned("g")["m"]; !ok || s.Role("g", "m") != "NotMember" {
		t.Fatalf("m not banned and removed: %v", s.Banned("g"))
	}
	// Paging: 21 banned, 20 a page.
	code, out := post(t, s, "get_group_ban_member", q, `{"GroupId":"g","Limit":20,"Offset":0}`)
	if code != 0 || len(out["BannedAccountList"].([]any)) != 20 || out["NextOffset"].(float64) != 20 {
		t.Fatalf("page 1: %v", out)
	}
	code, out = post(t, s, "get_group_ban_member", q, `{"GroupId":"g","Limit":20,"Offset":20}`)
	if code != 0 || len(out["BannedAccountList"].([]any)) != 1 || out["NextOffset"].(float64) != 0 {
		t.Fatalf("page 2: %v", out)
	}
	// A banned user cannot rejoin: add_group_member reports Result 0,
	// the join callback leaves them out.
	code, out = post(t, s, "add_group_member", q, `{"GroupId":"g","MemberList":[{"Member_Account":"m"},{"Member_Account":"fresh"},{"Member_Account":"n"}]}`)
	if code != 0 {
		t.Fatalf("add: %d %v", code, out)
	}
	results := map[string]float64{}
	for _, it := range out["MemberList"].([]any) {
		m := it.(map[string]any)
		results[m["Member_Account"].(string)] = m["Result"].(float64)
	}
	if results["m"] != 0 || results["fresh"] != 1 || results["n"] != 2 || s.Role("g", "m") != "NotMember" || s.Role("g", "fresh") != "Member" {
		t.Fatalf("add results %v", results)
	}
	d := s.JoinDelivery("", time.Now(), Join{GroupID: "g", Members: []string{"m", "late"}})
	if strings.Contains(string(d.Body), `"m"`) || !strings.Contains(string(d.Body), `"late"`) || s.Role("g", "m") != "NotMember" {
		t.Fatalf("join of a banned user: %s", d.Body)
	}
	// Unban lets them back.
	if code, _ := post(t, s, "unban_group_member", q, `{"GroupId":"g","Members_Account":["m"]}`); code != 0 {
		t.Fatal(code)
	}
	code, out = post(t, s, "add_group_member", q, `{"GroupId":"g","MemberList":[{"Member_Account":"m"}]}`)
	if code != 0 || out["MemberList"].([]any)[0].(map[string]any)["Result"].(float64) != 1 {
		t.Fatalf("re-add after unban: %v", out)
	}
	// Without the ban API (edition or console switch): 10007.
	s.SetBanAPI(false)
	for _, cmd := range []string{"ban_group_member", "unban_group_member", "get_group_ban_member"} {
		if code, _ := post(t, s, cmd, q, `{"GroupId":"g","Members_Account":["n"],"Duration":60,"Limit":10}`); code != 10007 {
			t.Errorf("%s without the ban API: %d", cmd, code)
		}
	}
}

func TestServerMuteAll(t *testing.T) {
	t.Parallel()
	s := NewServer()
	defer s.Close()
	s.AddGroup(Group{ID: "g", Owner: "o", Admins: []string{"a"}, Members: []string{"m"}})
	s.AddGroup(Group{ID: "w", Type: "Work", Owner: "o"})
	q := query(t, DefaultAdmin, DefaultSecretKey, 3600)
	steps := []struct {
		name, cmd, body string
		want            int
		muted           bool
	}{
		{"legacy field ignored", "modify_group_base_info", `{"GroupId":"g","ShutUpAllMember":"On"}`, 0, false},
		{"member speaks", "send_group_msg", msgBody("g", "m", 1), 0, false},
		{"bad value", "modify_group_base_info", `{"GroupId":"g","MuteAllMember":"on"}`, 10004, false},
		{"lock", "modify_group_base_info", `{"GroupId":"g","MuteAllMember":"On"}`, 0, true},
		{"member muted", "send_group_msg", msgBody("g", "m", 2), 10017, true},
		{"admin speaks", "send_group_msg", msgBody("g", "a", 3), 0, true},
		{"owner speaks", "send_group_msg", msgBody("g", "o", 4), 0, true},
		{"app admin speaks", "send_group_msg", msgBody("g", DefaultAdmin, 5), 0, true},
		{"unlock", "modify_group_base_info", `{"GroupId":"g","MuteAllMember":"Off"}`, 0, false},
		{"member speaks again", "send_group_msg", msgBody("g", "m", 6), 0, false},
		{"work group", "modify_group_base_info", `{"GroupId":"w","MuteAllMember":"On"}`, 10004, false},
	}
	for _, st := range steps {
		if code, out := post(t, s, st.cmd, q, st.body); code != st.want {
			t.Fatalf("%s: code %d, want %d (%v)", st.name, code, st.want, out)
		}
		if s.MutedAll("g") != st.muted {
			t.Fatalf("%s: muted %v", st.name, s.MutedAll("g"))
		}
	}
	post(t, s, "modify_group_base_info", q, `{"GroupId":"g","MuteAllMember":"On"}`)
	_, out := post(t, s, "get_group_info", q, `{"GroupIdList":["g"]}`)
	if got := out["GroupInfo"].([]any)[0].(map[string]any)["MuteAllMember"]; got != "On" {
		t.Fatalf("get_group_info MuteAllMember %v", got)
	}
}

func TestServerRecallWindow(t *testing.T) {
	t.Parallel()
	s := NewServer()
	defer s.Close()
	s.AddGroup(Group{ID: "g", Owner: "o", Members: []string{"m"}})
	s.SetRecallWindow(time.Hour)
	s.MessageDelivery("", time.Now().Add(-2*time.Hour), Message{GroupID: "g", From: "m", Text: "old"})
	s.MessageDelivery("", time.Now(), Message{GroupID: "g", From: "m", Text: "new"})
	q := query(t, DefaultAdmin, DefaultSecretKey, 3600)
	_, out := post(t, s, "group_msg_recall", q, `{"GroupId":"g","MsgSeqList":[{"MsgSeq":1},{"MsgSeq":2},{"MsgSeq":3}]}`)
	var codes []float64
	for _, it := range out["RecallRetList"].([]any) {
		codes = append(codes, it.(map[string]any)["RetCode"].(float64))
	}
	if len(codes) != 3 || codes[0] != 10031 || codes[1] != 0 || codes[2] != 10030 {
		t.Fatalf("RetCodes %v", codes)
	}
}

func TestPreJoinDeliveries(t *testing.T) {
	t.Parallel()
	s := NewServer()
	defer s.Close()
	s.AddGroup(Group{ID: "g", Type: "Meeting", Owner: "o"})
	at := time.Unix(1760000000, 0)
	d := s.ApplyJoinDelivery("tok", at, ApplyJoin{GroupID: "g", Requestor: "x"})
	var apply map[string]any
	if err := json.Unmarshal(d.Body, &apply); err != nil || apply["Requestor_Account"] != "x" || apply["Type"] != "Meeting" ||
		d.Query.Get("CallbackCommand") != CommandBeforeApplyJoin || d.Query.Get("Sign") != Sign("tok", "1760000000") {
		t.Fatalf("apply: %v %v", apply, d.Query)
	}
	d = s.InviteJoinDelivery("tok", at, InviteJoin{GroupID: "g", Operator: "o", Members: []string{"a", "b"}})
	if !strings.Contains(string(d.Body), `"DestinationMembers":[{"Member_Account":"a"},{"Member_Account":"b"}]`) ||
		d.Query.Get("CallbackCommand") != CommandBeforeInviteJoin {
		t.Fatalf("invite: %s", d.Body)
	}
}

// TestServerCallHelpers: Call, AddGroupMember and SendAs go through the
// REST path (signature, limits, the group's rules) like any client.
func TestServerCallHelpers(t *testing.T) {
	t.Parallel()
	s := NewServer()
	defer s.Close()
	s.AddGroup(Group{ID: "g", Owner: "o", Admins: []string{"adm"}, Members: []string{"m", "x"}})
	if code, _, err := s.Call("ban_group_member", map[string]any{"GroupId": "g", "Members_Account": []string{"x"}, "Duration": 60}); err != nil || code != 0 {
		t.Fatalf("ban: %d %v", code, err)
	}
	res, err := s.AddGroupMember("g", "x", "new", "m")
	if err != nil || res["x"] != 0 || res["new"] != 1 || res["m"] != 2 {
		t.Fatalf("AddGroupMember = %v, %v; want x 0, new 1, m 2", res, err)
	}
	if _, err := s.AddGroupMember("nosuch", "y"); err == nil {
		t.Error("AddGroupMember to a missing group: no error")
	}
	if code, _, _ := s.Call("modify_group_base_info", map[string]any{"GroupId": "g", "MuteAllMember": "On"}); code != 0 {
		t.Fatal(code)
	}
	for from, want := range map[string]int{"adm": 0, "o": 0, "m": 10017} {
		if code, err := s.SendAs("g", "", from, "hi"); err != nil || code != want {
			t.Errorf("SendAs(%s) while muted = %d, %v; want %d", from, code, err, want)
		}
	}
	if code, _, _ := s.Call("profile/portrait_get", map[string]any{"To_Account": []string{"m"}, "TagList": []string{"Tag_Profile_IM_Nick"}}); code != 0 {
		t.Errorf("profile/portrait_get through Call: %d", code)
	}
}
