package timtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tencentyun/tls-sig-api-v2-golang/tencentyun"
)

// Call makes one REST call to the fake as DefaultAdmin, with a fresh
// UserSig, as any server-side client of the app would (a test's "someone
// else" acting on the group: adding a member, a member's client sending).
// command is "service/command" or, for the group service, the command
// alone. It returns the ErrorCode and the decoded answer.
func (s *Server) Call(command string, body any) (int, map[string]any, error) {
	path := "/v4/" + groupSvc + "/" + command
	if strings.Contains(command, "/") {
		path = "/v4/" + command
	}
	sig, err := tencentyun.GenUserSig(s.SDKAppID, s.SecretKey, DefaultAdmin, 3600)
	if err != nil {
		return 0, nil, fmt.Errorf("timtest: UserSig: %w", err)
	}
	q := url.Values{"sdkappid": {strconv.Itoa(s.SDKAppID)}, "identifier": {DefaultAdmin}, "usersig": {sig},
		"random": {strconv.FormatUint(uint64(rand.Uint32()), 10)}, "contenttype": {"json"}}
	raw, err := json.Marshal(body)
	if err != nil {
		return 0, nil, fmt.Errorf("timtest: %s body: %w", command, err)
	}
	resp, err := http.Post(s.URL+path+"?"+q.Encode(), "application/json", bytes.NewReader(raw))
	if err != nil {
		return 0, nil, fmt.Errorf("timtest: %s: %w", command, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return 0, nil, fmt.Errorf("timtest: %s answer: %w", command, err)
	}
	code, _ := out["ErrorCode"].(float64)
	return int(code), out, nil
}

// AddGroupMember calls add_group_member for accounts and returns each
// account's Result (0 failed, 1 added, 2 already a member).
func (s *Server) AddGroupMember(groupID string, accounts ...string) (map[string]int, error) {
	list := make([]map[string]string, len(accounts))
	for i, a := range accounts {
		list[i] = map[string]string{"Member_Account": a}
	}
	code, out, err := s.Call("add_group_member", map[string]any{"GroupId": groupID, "MemberList": list})
	if err != nil {
		return nil, err
	}
	if code != 0 {
		return nil, fmt.Errorf("timtest: add_group_member: ErrorCode %d: %v", code, out["ErrorInfo"])
	}
	res := make(map[string]int, len(accounts))
	items, _ := out["MemberList"].([]any)
	for _, it := range items {
		m, _ := it.(map[string]any)
		id, _ := m["Member_Account"].(string)
		r, _ := m["Result"].(float64)
		res[id] = int(r)
	}
	return res, nil
}

// SendAs calls send_group_msg with From_Account from (a member's message
// sent through the REST API, as a muted or locked member's would be
// refused) and returns the ErrorCode.
func (s *Server) SendAs(groupID, topicID, from, text string) (int, error) {
	body := map[string]any{"GroupId": groupID, "From_Account": from, "Random": rand.Uint32(),
		"MsgBody": []map[string]any{{"MsgType": "TIMTextElem", "MsgContent": map[string]string{"Text": text}}}}
	if topicID != "" {
		body["TopicId"] = topicID
	}
	code, _, err := s.Call("send_group_msg", body)
	return code, err
}
