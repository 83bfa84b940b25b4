package easemob_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"gavel/moderation"
	"gavel/platforms/easemob"
	"gavel/platforms/easemob/easemobtest"
)

// kinds runs a sanction test in a chat room and in a group.
var kinds = []struct {
	name string
	kind string
	ref  func(string) moderation.ChatRef
}{
	{"chatroom", easemobtest.KindChatRoom, room},
	{"group", easemobtest.KindGroup, group},
}

// restJoin adds user to chat with POST …/{chatrooms|chatgroups}/{id}/users/{user}
// under a fresh App Token, as an app server would, and returns the status.
func restJoin(t *testing.T, srv *easemobtest.Server, kind, chatID, user string) int {
	t.Helper()
	tokBody, _ := json.Marshal(map[string]string{"grant_type": "client_credentials", "client_id": srv.ClientID, "client_secret": srv.ClientSecret})
	resp, err := http.Post(srv.URL+"/"+srv.Org+"/"+srv.App+"/token", "application/json", bytes.NewReader(tokBody))
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	coll := "chatrooms"
	if kind == easemobtest.KindGroup {
		coll = "chatgroups"
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/"+srv.Org+"/"+srv.App+"/"+coll+"/"+url.PathEscape(chatID)+"/users/"+url.PathEscape(user), nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// receiveFired feeds every callback the fake fired to Receive: each must
// verify and parse.
func receiveFired(t *testing.T, e *env) []moderation.Event {
	t.Helper()
	var evs []moderation.Event
	for _, body := range e.srv.Fired() {
		ack, err := e.c.Receive(ctx, e.srv.Delivery(body))
		if err != nil {
			t.Fatalf("fired callback %s: %v", body, err)
		}
		evs = append(evs, ack.Events...)
	}
	return evs
}

func TestBan(t *testing.T) {
	t.Parallel()
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			tests := []struct {
				name    string
				targets []string
				d       time.Duration
				fail    int // injected status of the first block call
				want    []moderation.Status
				calls   int
				blocked []string
			}{
				{name: "members and an outsider", targets: []string{"a", "B", "x"}, d: time.Hour,
					want: []moderation.Status{moderation.StatusDone, moderation.StatusDone, moderation.StatusDone}, calls: 1, blocked: []string{"a", "b"}},
				{name: "forever", targets: []string{"a"}, d: moderation.Forever,
					want: []moderation.Status{moderation.StatusDone}, calls: 1, blocked: []string{"a"}},
				{name: "only outsiders: 403, Gavel's record", targets: []string{"x", "y"}, d: time.Hour,
					want: []moderation.Status{moderation.StatusDone, moderation.StatusDone}, calls: 1},
				{name: "owner refused", targets: []string{"a", "owner1"}, d: time.Hour,
					want: []moderation.Status{moderation.StatusRefused, moderation.StatusRefused}, calls: 1},
				{name: "zero duration refused", targets: []string{"a"}, d: 0,
					want: []moderation.Status{moderation.StatusRefused}},
				{name: "retried after 503", targets: []string{"a"}, d: time.Hour, fail: http.StatusServiceUnavailable,
					want: []moderation.Status{moderation.StatusDone}, calls: 2, blocked: []string{"a"}},
				{name: "rate limited, retried", targets: []string{"a"}, d: time.Hour, fail: http.StatusTooManyRequests,
					want: []moderation.Status{moderation.StatusDone}, calls: 2, blocked: []string{"a"}},
				{name: "unknown chat", targets: []string{"a"}, d: time.Hour, fail: http.StatusNotFound,
					want: []moderation.Status{moderation.StatusRefused}, calls: 1},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					e := newEnv(t)
					e.srv.AddChat(easemobtest.Chat{ID: roomID, Kind: k.kind, Owner: "owner1", Admins: []string{"adm"}, Members: []string{"a", "b", "c"}})
					if tc.fail != 0 {
						e.srv.FailNext("block", 1, tc.fail)
					}
					rs := e.c.Ban(ctx, k.ref(roomID), tc.targets, tc.d, moderation.ActionOptions{})
					checkOrder(t, rs, tc.targets)
					for i, r := range rs {
						if r.Status != tc.want[i] {
							t.Fatalf("result %d %+v, want %s", i, r, tc.want[i])
						}
					}
					calls := e.srv.CallsTo("block")
					if len(calls) != tc.calls {
						t.Fatalf("%d block calls, want %d", len(calls), tc.calls)
					}
					for _, c := range calls {
						if c.Method != http.MethodPost || len(c.Users) > easemobtest.MaxBlock || c.Kind != k.kind {
							t.Fatalf("call %+v", c)
						}
					}
					for _, u := range tc.blocked {
						if !e.srv.IsBlocked(roomID, u) || e.srv.IsMember(roomID, u) {
							t.Fatalf("%s not blocked and out", u)
						}
						if err := e.srv.ClientJoin(roomID, u); !errors.Is(err, easemobtest.ErrBlocked) {
							t.Fatalf("blocked %s joined: %v", u, err)
						}
						if st := restJoin(t, e.srv, k.kind, roomID, u); st != http.StatusForbidden {
							t.Fatalf("REST add of blocked %s answered %d", u, st)
						}
					}
					if e.srv.IsBlocked(roomID, "c") || !e.srv.IsMember(roomID, "c") {
						t.Fatal("bystander touched")
					}
					if len(tc.blocked) > 0 {
						var left []string
						for _, ev := range receiveFired(t, e) {
							if ev.Kind == moderation.EventRolesChanged {
								left = append(left, ev.RolesChanged.UserIDs...)
							}
						}
						if strings.Join(left, ",") != strings.Join(tc.blocked, ",") {
							t.Fatalf("LEAVE BLOCK named %v, want %v", left, tc.blocked)
						}
					}
				})
			}
		})
	}
}

// TestBanOutsiderDetail: the Detail of a non-member's ban says it is
// Gavel's record; a member's says nothing.
func TestBanOutsiderDetail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.AddChatRoom(roomID, "owner1", nil, []string{"a"})
	rs := e.c.Ban(ctx, room(roomID), []string{"a", "x"}, time.Hour, moderation.ActionOptions{})
	if rs[0].Detail != "" || !strings.Contains(rs[1].Detail, "Gavel's record") {
		t.Fatalf("%+v", rs)
	}
}

func TestUnban(t *testing.T) {
	t.Parallel()
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			tests := []struct {
				name    string
				targets []string
				fail    int
				want    []moderation.Status
				calls   int
			}{
				{name: "banned and not", targets: []string{"a", "c"}, want: []moderation.Status{moderation.StatusDone, moderation.StatusNoop}, calls: 1},
				{name: "none banned: 403, noop", targets: []string{"c", "d"}, want: []moderation.Status{moderation.StatusNoop, moderation.StatusNoop}, calls: 1},
				{name: "retried after 500", targets: []string{"A"}, fail: http.StatusInternalServerError, want: []moderation.Status{moderation.StatusDone}, calls: 2},
				{name: "bad id refused before the call", targets: []string{"..", "a"}, want: []moderation.Status{moderation.StatusRefused, moderation.StatusDone}, calls: 1},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					e := newEnv(t)
					e.srv.AddChat(easemobtest.Chat{ID: roomID, Kind: k.kind, Owner: "owner1", Members: []string{"c"}})
					e.srv.Block(roomID, "a")
					if tc.fail != 0 {
						e.srv.FailNext("unblock", 1, tc.fail)
					}
					rs := e.c.Unban(ctx, k.ref(roomID), tc.targets, moderation.ActionOptions{})
					checkOrder(t, rs, tc.targets)
					for i, r := range rs {
						if r.Status != tc.want[i] {
							t.Fatalf("result %d %+v, want %s", i, r, tc.want[i])
						}
					}
					calls := e.srv.CallsTo("unblock")
					if len(calls) != tc.calls {
						t.Fatalf("%d unblock calls, want %d", len(calls), tc.calls)
					}
					if tc.want[len(tc.want)-1] == moderation.StatusDone {
						if e.srv.IsBlocked(roomID, "a") {
							t.Fatal("still blocked")
						}
						if err := e.srv.ClientJoin(roomID, "a"); err != nil {
							t.Fatalf("unbanned user cannot join: %v", err)
						}
						receiveFired(t, e)
					}
				})
			}
		})
	}
}

// TestBanBatchOfSixty: a full batch is one call; the fake takes 60.
func TestBanBatchOfSixty(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	targets := users("m", easemob.MaxBlockPerCall)
	e.srv.AddGroup(roomID, "owner1", nil, targets)
	if n := e.c.Limits().Batch[moderation.VerbBan]; n != easemobtest.MaxBlock || e.c.Limits().Batch[moderation.VerbUnban] != easemobtest.MaxBlock {
		t.Fatalf("ban batch %d", n)
	}
	rs := e.c.Ban(ctx, group(roomID), targets, moderation.Forever, moderation.ActionOptions{})
	if st := statuses(rs); st[moderation.StatusDone] != len(targets) {
		t.Fatalf("%v", st)
	}
	rs = e.c.Unban(ctx, group(roomID), targets, moderation.ActionOptions{})
	if st := statuses(rs); st[moderation.StatusDone] != len(targets) {
		t.Fatalf("%v", st)
	}
	if b, u := e.srv.CallsTo("block"), e.srv.CallsTo("unblock"); len(b) != 1 || len(u) != 1 || len(u[0].Users) != 60 {
		t.Fatalf("%d block, %d unblock calls", len(b), len(u))
	}
}

func TestLock(t *testing.T) {
	t.Parallel()
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.srv.AddChat(easemobtest.Chat{ID: roomID, Kind: k.kind, Owner: "owner1", Admins: []string{"adm"}, Members: []string{"a", "vip"}})
			e.srv.AddToAllowList(roomID, "vip")
			e.srv.FailNext("muteall", 1, http.StatusServiceUnavailable)
			if r := e.c.Lock(ctx, k.ref(roomID), nil, moderation.ActionOptions{}); r.Status != moderation.StatusDone || r.UserID != "" {
				t.Fatalf("lock %+v", r)
			}
			if n := len(e.srv.CallsTo("muteall")); n != 2 || !e.srv.MutedAll(roomID) {
				t.Fatalf("%d muteall calls, muted %v", n, e.srv.MutedAll(roomID))
			}
			for _, tc := range []struct {
				user string
				want error
			}{{"a", easemobtest.ErrMutedAll}, {"adm", nil}, {"owner1", nil}, {"vip", nil}} {
				if _, err := e.srv.Send(easemobtest.Message{ChatID: roomID, Kind: k.kind, From: tc.user, Text: "hi"}); !errors.Is(err, tc.want) {
					t.Fatalf("%s sending under lock: %v, want %v", tc.user, err, tc.want)
				}
			}
			if r := e.c.Unlock(ctx, k.ref(roomID), moderation.ActionOptions{}); r.Status != moderation.StatusDone {
				t.Fatalf("unlock %+v", r)
			}
			if e.srv.MutedAll(roomID) {
				t.Fatal("still muted")
			}
			if _, err := e.srv.Send(easemobtest.Message{ChatID: roomID, Kind: k.kind, From: "a", Text: "hi"}); err != nil {
				t.Fatalf("member after unlock: %v", err)
			}
			if n := len(e.srv.Fired()); n != 2 {
				t.Fatalf("%d UPDATE MUTE callbacks, want 2", n)
			}
			receiveFired(t, e)
		})
	}
}

func TestLockRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		chat   moderation.ChatRef
		fail   int
		status moderation.Status
		reason moderation.Reason
	}{
		{name: "unknown room", chat: room("404404"), status: moderation.StatusRefused, reason: "easemob:resource_not_found"},
		{name: "forbidden", chat: group(roomID), fail: http.StatusForbidden, status: moderation.StatusRefused, reason: "easemob:forbidden_op"},
		{name: "server down", chat: group(roomID), fail: http.StatusBadGateway, status: moderation.StatusFailed, reason: "easemob:internal_server_error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.srv.AddGroup(roomID, "owner1", nil, nil)
			if tc.fail != 0 {
				e.srv.SetFailRate("muteall", 1, tc.fail)
			}
			r := e.c.Lock(ctx, tc.chat, nil, moderation.ActionOptions{})
			if r.Status != tc.status || r.Reason != tc.reason || r.Detail == "" {
				t.Fatalf("%+v", r)
			}
		})
	}
}

func TestRecallMessages(t *testing.T) {
	t.Parallel()
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			tests := []struct {
				name   string
				setup  func(e *env, id string) string // returns the ID to recall
				status moderation.Status
				reason moderation.Reason
				calls  int
			}{
				{name: "recalled", setup: func(*env, string) string { return "" }, status: moderation.StatusDone, calls: 1},
				{name: "older than the recall time: forced", setup: func(e *env, _ string) string {
					e.clock.Advance(time.Hour)
					e.srv.SetNow(e.clock.Now)
					return ""
				}, status: moderation.StatusDone, calls: 1},
				{name: "already recalled", setup: func(e *env, id string) string {
					if err := e.c.Recall(ctx, moderation.ChatRef{Platform: easemob.Name, ID: roomID, Kind: k.kind}, id); err != nil {
						panic(err)
					}
					return ""
				}, status: moderation.StatusNoop, reason: "easemob:not_found_msg", calls: 2},
				{name: "unknown message", setup: func(*env, string) string { return "9999" }, status: moderation.StatusNoop, reason: "easemob:not_found_msg", calls: 1},
				{name: "recall time exceeded", setup: func(e *env, _ string) string {
					e.srv.FailNext("recall", 1, http.StatusForbidden)
					return ""
				}, status: moderation.StatusRefused, reason: "easemob:exceed_recall_time_limit", calls: 1},
				{name: "service unopened", setup: func(e *env, _ string) string {
					e.srv.SetRecallService(false)
					return ""
				}, status: moderation.StatusRefused, reason: "easemob:forbidden_op", calls: 1},
				{name: "retried after 500", setup: func(e *env, _ string) string {
					e.srv.FailNext("recall", 1, http.StatusInternalServerError)
					return ""
				}, status: moderation.StatusDone, calls: 2},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					e := newEnv(t)
					e.srv.AddChat(easemobtest.Chat{ID: roomID, Kind: k.kind, Owner: "owner1", Members: []string{"a"}})
					if _, err := e.srv.Send(easemobtest.Message{ChatID: roomID, Kind: k.kind, From: "a", Text: "spam", MsgID: "777"}); err != nil {
						t.Fatal(err)
					}
					id := "777"
					if other := tc.setup(e, id); other != "" {
						id = other
					}
					rs := e.c.RecallMessages(ctx, k.ref(roomID), []moderation.MessageRef{{ID: id, SenderID: "a"}}, moderation.ActionOptions{})
					checkOrder(t, rs, []string{id})
					if rs[0].Status != tc.status || rs[0].Reason != tc.reason {
						t.Fatalf("%+v, want %s %s", rs[0], tc.status, tc.reason)
					}
					calls := e.srv.CallsTo("recall")
					if len(calls) != tc.calls {
						t.Fatalf("%d recall calls, want %d", len(calls), tc.calls)
					}
					wantType := map[string]string{easemobtest.KindChatRoom: "chatroom", easemobtest.KindGroup: "groupchat"}[k.kind]
					last := calls[len(calls)-1]
					if last.Body["chat_type"] != wantType || last.Body["to"] != roomID || last.Body["force"] != true {
						t.Fatalf("body %v", last.Body)
					}
					if tc.status == moderation.StatusDone {
						if !e.srv.Recalled("777") {
							t.Fatal("not recalled")
						}
						if evs := receiveFired(t, e); len(evs) != 0 {
							t.Fatalf("recall callback became events %+v", evs)
						}
					}
				})
			}
		})
	}
}

// TestRecallMessagesOnePerCall: Easemob recalls one message a call; more
// are refused without a call.
func TestRecallMessagesOnePerCall(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if n := e.c.Limits().Batch[moderation.VerbPurge]; n != 1 {
		t.Fatalf("purge batch %d", n)
	}
	rs := e.c.RecallMessages(ctx, room(roomID), []moderation.MessageRef{{ID: "1"}, {ID: "2"}}, moderation.ActionOptions{})
	if rs[0].Reason != moderation.ReasonBatchTooLarge || rs[1].UserID != "2" || len(e.srv.Calls()) != 0 {
		t.Fatalf("%+v", rs)
	}
	rs = e.c.RecallMessages(ctx, room(roomID), []moderation.MessageRef{{ID: ""}}, moderation.ActionOptions{})
	if rs[0].Status != moderation.StatusRefused || len(e.srv.Calls()) != 0 {
		t.Fatalf("empty id %+v", rs)
	}
}

func TestHistoryUnsupported(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, err := e.c.RecentMessages(ctx, room(roomID), 10); !errors.Is(err, moderation.ErrUnsupported) {
		t.Fatalf("RecentMessages: %v", err)
	}
	if _, err := e.c.MessageSender(ctx, room(roomID), "1"); !errors.Is(err, moderation.ErrUnsupported) {
		t.Fatalf("MessageSender: %v", err)
	}
	if len(e.srv.Calls()) != 0 {
		t.Fatal("calls made")
	}
}

// TestLockKeepsSpeakers: Gavel's admins who are plain members go on the
// allow-list, in calls of at most 60, and keep speaking under mute-all;
// a non-member among them is answered per user and does not fail the lock.
func TestLockKeepsSpeakers(t *testing.T) {
	t.Parallel()
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			members := []string{"a", "gavel_admin"}
			var speakers []string
			for i := range 60 {
				u := fmt.Sprintf("m%02d", i)
				members = append(members, u)
				speakers = append(speakers, u)
			}
			speakers = append(speakers, "gavel_admin", "stranger")
			e.srv.AddChat(easemobtest.Chat{ID: roomID, Kind: k.kind, Owner: "owner1", Admins: []string{"adm"}, Members: members})
			r := e.c.Lock(ctx, k.ref(roomID), speakers, moderation.ActionOptions{})
			if r.Status != moderation.StatusDone || r.Detail != "" {
				t.Fatalf("lock %+v", r)
			}
			calls := e.srv.CallsTo("allow")
			if len(calls) != 2 || len(calls[0].Users) != 60 || len(calls[1].Users) != 2 {
				t.Fatalf("%d allow-list calls, want 2 of 60 and 2", len(calls))
			}
			for _, tc := range []struct {
				user string
				want error
			}{{"a", easemobtest.ErrMutedAll}, {"gavel_admin", nil}, {"m07", nil}, {"adm", nil}} {
				if _, err := e.srv.Send(easemobtest.Message{ChatID: roomID, Kind: k.kind, From: tc.user, Text: "hi"}); !errors.Is(err, tc.want) {
					t.Errorf("%s sends under lock: %v, want %v", tc.user, err, tc.want)
				}
			}
		})
	}
}
