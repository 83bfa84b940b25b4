package timtest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tencentyun/tls-sig-api-v2-golang/tencentyun"
)

// post calls the fake directly and returns the envelope's ErrorCode.
func post(t *testing.T, s *Server, command string, q url.Values, body string) (int, map[string]any) {
	t.Helper()
	path := "/v4/group_open_http_svc/" + command
	if strings.Contains(command, "/") { // service/command
		path = "/v4/" + command
	}
	resp, err := http.Post(s.URL+path+"?"+q.Encode(), "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("HTTP %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	code := int(out["ErrorCode"].(float64))
	if (code == 0) != (out["ActionStatus"] == "OK") {
		t.Fatalf("envelope %v", out)
	}
	return code, out
}

func query(t *testing.T, identifier, key string, expire int) url.Values {
	t.Helper()
	sig, err := tencentyun.GenUserSig(DefaultSDKAppID, key, identifier, expire)
	if err != nil {
		t.Fatal(err)
	}
	return url.Values{"sdkappid": {strconv.Itoa(DefaultSDKAppID)}, "identifier": {identifier}, "usersig": {sig},
		"random": {"12345"}, "contenttype": {"json"}}
}

func TestServerAuthAndLimits(t *testing.T) {
	t.Parallel()
	s := NewServer()
	defer s.Close()
	s.AddGroup(Group{ID: "g", Owner: "o", Members: []string{"m"}})
	s.AddGroup(Group{ID: "w", Type: "Work", Owner: "o"})
	s.AddGroup(Group{ID: "live", Type: "AVChatRoom", Owner: "o"})
	s.AddAdmin("admin2")
	good := query(t, DefaultAdmin, DefaultSecretKey, 3600)
	accounts := func(n int) string {
		list := make([]string, n)
		for i := range list {
			list[i] = `"u` + strconv.Itoa(i) + `"`
		}
		return "[" + strings.Join(list, ",") + "]"
	}
	with := func(k, v string) url.Values {
		q := url.Values{}
		for key, vs := range good {
			q[key] = vs
		}
		q.Set(k, v)
		return q
	}
	tests := []struct {
		name    string
		command string
		q       url.Values
		body    string
		want    int
	}{
		{"ok", "delete_group_member", good, `{"GroupId":"g","MemberToDel_Account":["m","nobody"]}`, 0},
		{"second admin", "get_role_in_group", query(t, "admin2", DefaultSecretKey, 3600), `{"GroupId":"g","User_Account":["o"]}`, 0},
		{"wrong key", "get_role_in_group", query(t, DefaultAdmin, "other-key", 3600), `{}`, 70009},
		{"not an admin", "get_role_in_group", query(t, "o", DefaultSecretKey, 3600), `{}`, 60010},
		{"identifier mismatch", "get_role_in_group", with("identifier", "admin2"), `{}`, 70013},
		{"empty usersig", "get_role_in_group", with("usersig", ""), `{}`, 70002},
		{"garbage usersig", "get_role_in_group", with("usersig", "not-a-sig"), `{}`, 70003},
		{"other app", "get_role_in_group", with("sdkappid", "1"), `{}`, 60006},
		{"bad random", "get_role_in_group", with("random", "-1"), `{}`, 60002},
		{"body not json", "get_role_in_group", good, `{`, 60003},
		{"unknown command", "no_such_cmd", good, `{}`, 10003},
		{"unknown group", "delete_group_member", good, `{"GroupId":"x","MemberToDel_Account":["m"]}`, 10010},
		{"delete 101", "delete_group_member", good, `{"GroupId":"g","MemberToDel_Account":` + accounts(101) + `}`, 10005},
		{"delete in AVChatRoom", "delete_group_member", good, `{"GroupId":"live","MemberToDel_Account":["m"]}`, 10004},
		{"forbid 501", "forbid_send_msg", good, `{"GroupId":"g","Members_Account":` + accounts(501) + `,"MuteTime":1}`, 10005},
		{"forbid without MuteTime", "forbid_send_msg", good, `{"GroupId":"g","Members_Account":["m"]}`, 10004},
		{"forbid in Work", "forbid_send_msg", good, `{"GroupId":"w","Members_Account":["m"],"MuteTime":1}`, 10004},
		{"roles 501", "get_role_in_group", good, `{"GroupId":"g","User_Account":` + accounts(501) + `}`, 10005},
		{"roles in AVChatRoom", "get_role_in_group", good, `{"GroupId":"live","User_Account":["o"]}`, 10007},
		{"send without Random", "send_group_msg", good, `{"GroupId":"g","MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"x"}}]}`, 10004},
		{"recall 11", "group_msg_recall", good, `{"GroupId":"g","MsgSeqList":[{"MsgSeq":1},{"MsgSeq":2},{"MsgSeq":3},{"MsgSeq":4},{"MsgSeq":5},{"MsgSeq":6},{"MsgSeq":7},{"MsgSeq":8},{"MsgSeq":9},{"MsgSeq":10},{"MsgSeq":11}]}`, 10004},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code, out := post(t, s, tt.command, tt.q, tt.body); code != tt.want {
				t.Errorf("code = %d (%v), want %d", code, out, tt.want)
			}
		})
	}
	if got := s.Members("g"); len(got) != 1 || got[0] != "o" {
		t.Errorf("members after delete = %v", got)
	}
}

func TestServerExpiryAndInjection(t *testing.T) {
	t.Parallel()
	s := NewServer()
	defer s.Close()
	s.AddGroup(Group{ID: "g", Owner: "o"})
	q := query(t, DefaultAdmin, DefaultSecretKey, 60)
	body := `{"GroupId":"g","User_Account":["o"]}`
	s.SetNow(func() time.Time { return time.Now().Add(2 * time.Minute) })
	if code, _ := post(t, s, "get_role_in_group", q, body); code != 70001 {
		t.Errorf("expired sig: %d, want 70001", code)
	}
	s.SetNow(time.Now)
	s.ExpireNextUserSig(1)
	s.FailNext("get_role_in_group", 1, 10002)
	for i, want := range []int{70001, 10002, 0} {
		if code, _ := post(t, s, "get_role_in_group", q, body); code != want {
			t.Errorf("call %d: %d, want %d", i, code, want)
		}
	}
	calls := s.CallsTo("get_role_in_group")
	if len(calls) != 4 || calls[3].Code != 0 || calls[3].Body["GroupId"] != "g" {
		t.Errorf("calls = %+v", calls)
	}
}

func TestServerRate(t *testing.T) {
	t.Parallel()
	s := NewServer()
	defer s.Close()
	s.AddGroup(Group{ID: "g", Owner: "o"})
	s.SetRate(Every, 5)
	q := query(t, DefaultAdmin, DefaultSecretKey, 3600)
	var codes []int
	for range 7 {
		code, _ := post(t, s, "get_role_in_group", q, `{"GroupId":"g","User_Account":["o"]}`)
		codes = append(codes, code)
	}
	if codes[0] != 0 || codes[4] != 0 || codes[6] != 60007 || s.Throttled("get_role_in_group") == 0 {
		t.Errorf("codes = %v", codes)
	}
	// Another API has its own bucket.
	if code, _ := post(t, s, "get_group_info", q, `{"GroupIdList":["g"]}`); code != 0 {
		t.Errorf("get_group_info throttled by another API's bucket: %d", code)
	}
}

func TestCallbackHelpers(t *testing.T) {
	t.Parallel()
	s := NewServer()
	defer s.Close()
	s.AddGroup(Group{ID: "g", Type: "Meeting", Owner: "o"})
	at := time.Unix(1669872112, 0)
	d := s.MessageDelivery("xxxxyyyy", at, Message{GroupID: "g", From: "o", Text: "/kick @A", AtAccounts: []string{"a"}})
	if d.Query.Get("Sign") != "17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061" {
		t.Errorf("Sign = %s", d.Query.Get("Sign"))
	}
	var body map[string]any
	if err := json.Unmarshal(d.Body, &body); err != nil {
		t.Fatal(err)
	}
	if body["Type"] != "Meeting" || body["MsgSeq"] != float64(1) || body["GroupAtInfo"] == nil {
		t.Errorf("body = %v", body)
	}
	req, err := CallbackRequest("http://gavel.test/webhook/tim?x=1", d)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	_, _ = got.ReadFrom(req.Body)
	if req.URL.Query().Get("x") != "1" || req.URL.Query().Get("SdkAppid") != strconv.Itoa(DefaultSDKAppID) || got.String() != string(d.Body) {
		t.Errorf("request = %s %s", req.URL, got.String())
	}
}

func TestServerNameLookups(t *testing.T) {
	t.Parallel()
	s := NewServer()
	defer s.Close()
	s.AddGroup(Group{ID: "g", Owner: "o", Members: []string{"john_s", "bob_l"}, NameCards: map[string]string{"bob_l": "Bob Lee"}})
	s.AddGroup(Group{ID: "live", Type: "AVChatRoom", Owner: "o"})
	s.SetNick("john_s", "John Smith")
	q := query(t, DefaultAdmin, DefaultSecretKey, 3600)
	many := func(n int) string {
		list := make([]string, n)
		for i := range list {
			list[i] = `"u` + strconv.Itoa(i) + `"`
		}
		return strings.Join(list, ",")
	}
	tests := []struct {
		name, command, body string
		wantCode            int
		want                string // a fragment of the answer's JSON
	}{
		{"name cards", "get_specified_group_member_info", `{"GroupId":"g","Member_List_Account":["john_s","bob_l","stranger"],"MemberInfoFilter":["NameCard"]}`,
			0, `"MemberList":[{"Member_Account":"john_s","NameCard":""},{"Member_Account":"bob_l","NameCard":"Bob Lee"}]`},
		{"member info over 50 accounts", "get_specified_group_member_info", `{"GroupId":"g","Member_List_Account":[` + many(51) + `]}`, 10005, ""},
		{"member info in AVChatRoom", "get_specified_group_member_info", `{"GroupId":"live","Member_List_Account":["o"]}`, 10007, ""},
		{"nicknames", "profile/portrait_get", `{"To_Account":["john_s","ghost"],"TagList":["Tag_Profile_IM_Nick"]}`,
			0, `"UserProfileItem":[{"ProfileItem":[{"Tag":"Tag_Profile_IM_Nick","Value":"John Smith"}],"ResultCode":0,"ResultInfo":"","To_Account":"john_s"},{"ResultCode":40003,"ResultInfo":"account does not exist","To_Account":"ghost"}]`},
		{"portrait over 100 accounts", "profile/portrait_get", `{"To_Account":[` + many(101) + `],"TagList":["Tag_Profile_IM_Nick"]}`, 40001, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := post(t, s, tt.command, q, tt.body)
			if code != tt.wantCode {
				t.Fatalf("code = %d, want %d (%v)", code, tt.wantCode, out)
			}
			b, _ := json.Marshal(out)
			if !strings.Contains(string(b), tt.want) {
				t.Errorf("answer %s lacks %s", b, tt.want)
			}
		})
	}
	if got := s.Say("g", "o", "/mute", At("john_s"), At("bob_l"), "10m"); got.Text != "/mute @John Smith @Bob Lee 10m" ||
		strings.Join(got.AtAccounts, ",") != "john_s,bob_l" {
		t.Errorf("Say = %+v", got)
	}
}

func TestServerMessageLimit(t *testing.T) {
	t.Parallel()
	s := NewServer()
	defer s.Close()
	s.AddGroup(Group{ID: "g", Owner: "o"})
	q := query(t, DefaultAdmin, DefaultSecretKey, 3600)
	send := func(random int, text string) int {
		code, _ := post(t, s, "send_group_msg", q, `{"GroupId":"g","Random":`+strconv.Itoa(random)+
			`,"MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"`+text+`"}}]}`)
		return code
	}
	if code := send(1, strings.Repeat("a", DefaultMaxMsgBytes)); code != 0 {
		t.Errorf("%d bytes: code %d", DefaultMaxMsgBytes, code)
	}
	if code := send(2, strings.Repeat("a", DefaultMaxMsgBytes+1)); code != 80002 {
		t.Errorf("%d bytes: code %d, want 80002", DefaultMaxMsgBytes+1, code)
	}
	s.SetMaxMsgBytes(12 * 1024) // the newer docs
	if code := send(3, strings.Repeat("a", DefaultMaxMsgBytes+1)); code != 0 {
		t.Errorf("12 KB limit: code %d", code)
	}
}
