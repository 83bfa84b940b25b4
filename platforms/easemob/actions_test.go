package easemob_test

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gavel/moderation"
	"gavel/platforms/easemob"
	"gavel/platforms/easemob/easemobtest"
)

const roomID = "185145305923585"

// TestUnmuteSeed checks the seed request exactly: DELETE
// /{org}/{app}/chatrooms/{id}/mute/{u1}%2C{u2} with the bearer App Token,
// at most 60 names per call.
func TestUnmuteSeed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		n         int
		wantPaths []string // suffix after /{org}/{app}
	}{
		{name: "one member", n: 1, wantPaths: []string{"/chatrooms/" + roomID + "/mute/u000"}},
		{name: "two members", n: 2, wantPaths: []string{"/chatrooms/" + roomID + "/mute/u000%2Cu001"}},
		{name: "60 members (one batch) in one call", n: 60, wantPaths: []string{
			"/chatrooms/" + roomID + "/mute/" + strings.Join(users("u", 60), "%2C"),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			targets := users("u", tc.n)
			e.srv.AddChatRoom(roomID, "owner1", nil, targets)
			for _, u := range targets {
				e.srv.Mute(roomID, u, e.clock.Now().Add(time.Hour).UnixMilli())
			}
			res := e.c.Unmute(ctx, room(roomID), targets, moderation.ActionOptions{})
			checkOrder(t, res, targets)
			if got := statuses(res); got[moderation.StatusDone] != tc.n {
				t.Fatalf("statuses = %v, want %d done", got, tc.n)
			}
			calls := e.srv.CallsTo("unmute")
			if len(calls) != len(tc.wantPaths) {
				t.Fatalf("%d unmute calls, want %d", len(calls), len(tc.wantPaths))
			}
			tokens := e.srv.CallsTo("token")
			if len(tokens) != 1 {
				t.Fatalf("%d token calls, want 1", len(tokens))
			}
			for i, c := range calls {
				want := "/" + easemobtest.DefaultOrg + "/" + easemobtest.DefaultApp + tc.wantPaths[i]
				if c.Method != http.MethodDelete || c.RawPath != want {
					t.Errorf("call %d = %s %s, want DELETE %s", i, c.Method, c.RawPath, want)
				}
				if c.Token == "" || c.Status != http.StatusOK {
					t.Errorf("call %d: token %q status %d", i, c.Token, c.Status)
				}
				if c.Body != nil {
					t.Errorf("call %d sent a body: %v", i, c.Body)
				}
			}
			for _, u := range targets {
				if _, muted := e.srv.MuteExpiry(roomID, u); muted {
					t.Errorf("%s still muted", u)
				}
			}
		})
	}
}

func TestUnmuteBearerToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.AddChatRoom(roomID, "owner1", nil, []string{"bob"})
	e.c.Unmute(ctx, room(roomID), []string{"bob"}, moderation.ActionOptions{})
	var issued string
	for _, c := range e.srv.Calls() {
		if c.Op == "token" {
			if c.Body["grant_type"] != "client_credentials" || c.Body["client_id"] != easemobtest.DefaultClientID || c.Body["client_secret"] != easemobtest.DefaultClientSecret {
				t.Fatalf("token request body = %v", c.Body)
			}
			if c.Token != "" {
				t.Fatal("token request carried an Authorization header")
			}
			continue
		}
		issued = c.Token
	}
	if !strings.HasPrefix(issued, "YWMt") {
		t.Fatalf("unmute sent token %q, want the issued App Token", issued)
	}
}

func TestUnmuteNotMutedIsNoop(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.AddChatRoom(roomID, "owner1", nil, []string{"bob", "carol"})
	e.srv.Mute(roomID, "bob", e.clock.Now().Add(time.Minute).UnixMilli())
	res := e.c.Unmute(ctx, room(roomID), []string{"bob", "carol"}, moderation.ActionOptions{})
	if res[0].Status != moderation.StatusDone {
		t.Errorf("bob: %+v, want done", res[0])
	}
	if res[1].Status != moderation.StatusNoop || res[1].Reason != moderation.ReasonNotMuted {
		t.Errorf("carol: %+v, want noop not_muted", res[1])
	}
}

func TestMute(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		chat     moderation.ChatRef
		d        time.Duration
		n        int
		wantMS   float64
		wantColl string
		calls    int
	}{
		{name: "room 10m is 600000 ms", chat: room(roomID), d: 10 * time.Minute, n: 1, wantMS: 600000, wantColl: "chatrooms", calls: 1},
		{name: "group 1h", chat: group(roomID), d: time.Hour, n: 2, wantMS: 3600000, wantColl: "chatgroups", calls: 1},
		{name: "forever is -1", chat: room(roomID), d: moderation.MuteForever, n: 1, wantMS: -1, wantColl: "chatrooms", calls: 1},
		{name: "60 users (one batch) in one call", chat: room(roomID), d: 90 * time.Second, n: 60, wantMS: 90000, wantColl: "chatrooms", calls: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			targets := users("m", tc.n)
			e.srv.AddChat(easemobtest.Chat{ID: roomID, Kind: tc.chat.Kind, Owner: "owner1", Members: targets})
			res := e.c.Mute(ctx, tc.chat, targets, tc.d, moderation.ActionOptions{})
			checkOrder(t, res, targets)
			if got := statuses(res); got[moderation.StatusDone] != tc.n {
				t.Fatalf("statuses %v, want all done", got)
			}
			calls := e.srv.CallsTo("mute")
			if len(calls) != tc.calls {
				t.Fatalf("%d mute calls, want %d", len(calls), tc.calls)
			}
			sent := 0
			for _, c := range calls {
				wantPath := "/" + e.srv.Org + "/" + e.srv.App + "/" + tc.wantColl + "/" + roomID + "/mute"
				if c.Method != http.MethodPost || c.RawPath != wantPath {
					t.Errorf("call = %s %s, want POST %s", c.Method, c.RawPath, wantPath)
				}
				if c.Body["mute_duration"] != tc.wantMS {
					t.Errorf("mute_duration = %v, want %v", c.Body["mute_duration"], tc.wantMS)
				}
				if !strings.HasPrefix(c.ContentType, "application/json") {
					t.Errorf("Content-Type %q", c.ContentType)
				}
				if len(c.Users) > easemob.MaxMutePerCall {
					t.Errorf("%d users in one call", len(c.Users))
				}
				sent += len(c.Users)
			}
			if sent != tc.n {
				t.Errorf("sent %d users, want %d", sent, tc.n)
			}
			exp, muted := e.srv.MuteExpiry(roomID, targets[0])
			if !muted {
				t.Fatal("not muted on the fake")
			}
			if tc.d == moderation.MuteForever {
				if exp != easemob.PermanentMuteExpiry {
					t.Errorf("expire = %d, want permanent", exp)
				}
			} else if want := e.clock.Now().Add(tc.d).UnixMilli(); exp != want {
				t.Errorf("expire = %d, want %d", exp, want)
			}
		})
	}
}

func TestMuteRefusesNonPositiveDuration(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.AddChatRoom(roomID, "owner1", nil, []string{"bob"})
	res := e.c.Mute(ctx, room(roomID), []string{"bob"}, 0, moderation.ActionOptions{})
	if res[0].Status != moderation.StatusRefused || res[0].Reason != moderation.ReasonInvalidDuration {
		t.Fatalf("%+v", res[0])
	}
	if n := len(e.srv.CallsTo("mute")); n != 0 {
		t.Fatalf("%d mute calls, want 0", n)
	}
}

func TestMuteNonMembersRetriedWithoutThem(t *testing.T) {
	t.Parallel()
	for _, chat := range []moderation.ChatRef{room(roomID), group(roomID)} {
		t.Run(chat.Kind, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.srv.AddChat(easemobtest.Chat{ID: roomID, Kind: chat.Kind, Owner: "owner1", Members: []string{"bob", "dave"}})
			res := e.c.Mute(ctx, chat, []string{"bob", "stranger", "dave"}, time.Minute, moderation.ActionOptions{})
			want := []moderation.Status{moderation.StatusDone, moderation.StatusRefused, moderation.StatusDone}
			for i, r := range res {
				if r.Status != want[i] {
					t.Errorf("%s: %+v, want %s", r.UserID, r, want[i])
				}
			}
			if res[1].Reason != moderation.ReasonNotMember {
				t.Errorf("stranger reason %q", res[1].Reason)
			}
			if n := len(e.srv.CallsTo("mute")); n != 2 {
				t.Errorf("%d mute calls, want 2 (refused, then retried without the non-member)", n)
			}
		})
	}
}

func TestMuteOwnerRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.AddGroup(roomID, "owner1", nil, []string{"bob"})
	res := e.c.Mute(ctx, group(roomID), []string{"owner1"}, time.Minute, moderation.ActionOptions{})
	r := res[0]
	if r.Status != moderation.StatusRefused || r.Reason != "easemob:forbidden_op" || !strings.Contains(r.Detail, "owner") {
		t.Fatalf("%+v, want refused forbidden_op mentioning the owner", r)
	}
	if n := len(e.srv.CallsTo("mute")); n != 1 {
		t.Fatalf("%d mute calls, want 1 (permanent errors are not retried)", n)
	}
}

func TestRemoveBatching(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// One batch (MaxKickPerCall) of members and non-members: one call.
	members := users("k", easemob.MaxKickPerCall-2)
	e.srv.AddChatRoom(roomID, "owner1", nil, members)
	targets := append(append([]string{}, members...), "ghost1", "ghost2")
	res := e.c.Remove(ctx, room(roomID), targets, moderation.ActionOptions{})
	checkOrder(t, res, targets)
	st := statuses(res)
	if st[moderation.StatusDone] != len(members) || st[moderation.StatusNoop] != 2 {
		t.Fatalf("statuses %v, want %d done + 2 noop", st, len(members))
	}
	for _, r := range res[len(members):] {
		if r.Reason != moderation.ReasonNotMember {
			t.Errorf("%s: reason %q", r.UserID, r.Reason)
		}
	}
	calls := e.srv.CallsTo("kick")
	if len(calls) != 1 {
		t.Fatalf("%d kick calls, want 1", len(calls))
	}
	wantSizes := []int{60}
	for i, c := range calls {
		if len(c.Users) != wantSizes[i] {
			t.Errorf("call %d: %d users, want %d", i, len(c.Users), wantSizes[i])
		}
		wantPrefix := "/" + e.srv.Org + "/" + e.srv.App + "/chatrooms/" + roomID + "/users/"
		if c.Method != http.MethodDelete || !strings.HasPrefix(c.RawPath, wantPrefix) || strings.Contains(c.RawPath, ",") {
			t.Errorf("call %d: %s %s", i, c.Method, c.RawPath)
		}
		if strings.Count(c.RawPath, "%2C") != wantSizes[i]-1 {
			t.Errorf("call %d: %d escaped commas, want %d", i, strings.Count(c.RawPath, "%2C"), wantSizes[i]-1)
		}
	}
	if e.srv.IsMember(roomID, members[0]) {
		t.Error("member still in the room")
	}
}

func TestRemoveSingle(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		chat       moderation.ChatRef
		target     string
		wantStatus moderation.Status
		wantReason moderation.Reason
	}{
		{name: "room member", chat: room(roomID), target: "bob", wantStatus: moderation.StatusDone},
		{name: "group member", chat: group(roomID), target: "bob", wantStatus: moderation.StatusDone},
		{name: "room non-member (400)", chat: room(roomID), target: "ghost", wantStatus: moderation.StatusNoop, wantReason: moderation.ReasonNotMember},
		{name: "group non-member (403)", chat: group(roomID), target: "ghost", wantStatus: moderation.StatusNoop, wantReason: moderation.ReasonNotMember},
		{name: "group owner", chat: group(roomID), target: "owner1", wantStatus: moderation.StatusRefused, wantReason: "easemob:forbidden_op"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.srv.AddChat(easemobtest.Chat{ID: roomID, Kind: tc.chat.Kind, Owner: "owner1", Members: []string{"bob"}})
			res := e.c.Remove(ctx, tc.chat, []string{tc.target}, moderation.ActionOptions{})
			if res[0].Status != tc.wantStatus || res[0].Reason != tc.wantReason {
				t.Fatalf("%+v, want %s %q", res[0], tc.wantStatus, tc.wantReason)
			}
			calls := e.srv.CallsTo("kick")
			if want := "/" + e.srv.Org + "/" + e.srv.App + "/" + map[string]string{"chatroom": "chatrooms", "group": "chatgroups"}[tc.chat.Kind] + "/" + roomID + "/users/" + tc.target; calls[0].RawPath != want {
				t.Errorf("path %s, want %s", calls[0].RawPath, want)
			}
		})
	}
}

func TestExpiredTokenRefreshedOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.AddChatRoom(roomID, "owner1", nil, []string{"bob"})
	first := e.c.Unmute(ctx, room(roomID), []string{"bob"}, moderation.ActionOptions{})
	if !first[0].Status.Succeeded() {
		t.Fatalf("first: %+v", first[0])
	}
	e.srv.ExpireTokens()
	e.srv.Reset()
	res := e.c.Unmute(ctx, room(roomID), []string{"bob"}, moderation.ActionOptions{})
	if !res[0].Status.Succeeded() {
		t.Fatalf("after expiry: %+v", res[0])
	}
	var ops []string
	for _, c := range e.srv.Calls() {
		ops = append(ops, c.Op+":"+http.StatusText(c.Status))
	}
	want := []string{"unmute:Unauthorized", "token:OK", "unmute:OK"}
	if strings.Join(ops, ",") != strings.Join(want, ",") {
		t.Fatalf("calls %v, want %v", ops, want)
	}
	calls := e.srv.Calls()
	if calls[0].Token == calls[2].Token {
		t.Fatal("retried with the expired token")
	}
}

func TestTokenRefreshedBeforeExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.SetTokenTTL(2 * time.Hour)
	e.srv.AddChatRoom(roomID, "owner1", nil, []string{"bob"})
	e.c.Unmute(ctx, room(roomID), []string{"bob"}, moderation.ActionOptions{})
	e.clock.Advance(30 * time.Minute) // a quarter of the lifetime: reuse
	e.c.Unmute(ctx, room(roomID), []string{"bob"}, moderation.ActionOptions{})
	if n := len(e.srv.CallsTo("token")); n != 1 {
		t.Fatalf("%d token calls before half-life, want 1", n)
	}
	e.clock.Advance(40 * time.Minute) // past half of the lifetime: refresh
	e.c.Unmute(ctx, room(roomID), []string{"bob"}, moderation.ActionOptions{})
	if n := len(e.srv.CallsTo("token")); n != 2 {
		t.Fatalf("%d token calls after half-life, want 2", n)
	}
	for _, c := range e.srv.CallsTo("unmute") {
		if c.Status != http.StatusOK {
			t.Fatalf("unmute answered %d", c.Status)
		}
	}
}

func TestPersistent401NotLooped(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.AddChatRoom(roomID, "owner1", nil, []string{"bob"})
	e.srv.FailNext("unmute", 5, http.StatusUnauthorized)
	res := e.c.Unmute(ctx, room(roomID), []string{"bob"}, moderation.ActionOptions{})
	if res[0].Status != moderation.StatusFailed || res[0].Reason != "easemob:unauthorized" {
		t.Fatalf("%+v, want failed easemob:unauthorized", res[0])
	}
	if n := len(e.srv.CallsTo("unmute")); n != 2 {
		t.Fatalf("%d unmute calls, want 2 (one renewal)", n)
	}
	if n := len(e.srv.CallsTo("token")); n != 2 {
		t.Fatalf("%d token calls, want 2", n)
	}
}

func TestBadCredentials(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *easemob.Config) { c.ClientSecret = "wrong" })
	e.srv.AddChatRoom(roomID, "owner1", nil, []string{"bob"})
	res := e.c.Unmute(ctx, room(roomID), []string{"bob"}, moderation.ActionOptions{})
	if res[0].Status != moderation.StatusRefused || res[0].Reason != "easemob:invalid_grant" {
		t.Fatalf("%+v", res[0])
	}
	if n := len(e.srv.CallsTo("token")); n != 1 {
		t.Fatalf("%d token calls, want 1", n)
	}
}

func TestUnknownChat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		chat moderation.ChatRef
		ops  string
	}{
		{name: "known kind", chat: room("404404"), ops: "unmute"},
		{name: "resolved kind", chat: moderation.ChatRef{Platform: easemob.Name, ID: "404404"}, ops: "details,details"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			res := e.c.Unmute(ctx, tc.chat, []string{"bob", "carol"}, moderation.ActionOptions{})
			for _, r := range res {
				if r.Status != moderation.StatusRefused || !strings.Contains(r.Detail, "Unknown chat room or group") {
					t.Fatalf("%+v, want refused unknown chat", r)
				}
			}
			var ops []string
			for _, c := range e.srv.Calls() {
				if c.Op != "token" {
					ops = append(ops, c.Op)
					if c.Status != http.StatusNotFound {
						t.Errorf("%s answered %d", c.Op, c.Status)
					}
				}
			}
			if strings.Join(ops, ",") != tc.ops {
				t.Fatalf("ops %v, want %s", ops, tc.ops)
			}
		})
	}
}

func TestRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
	}{
		{name: "429 then success", status: http.StatusTooManyRequests},
		{name: "503 then success", status: http.StatusServiceUnavailable},
		{name: "500 then success", status: http.StatusInternalServerError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.srv.AddChatRoom(roomID, "owner1", nil, []string{"bob"})
			e.srv.Mute(roomID, "bob", e.clock.Now().Add(time.Hour).UnixMilli())
			e.srv.FailNext("unmute", 1, tc.status)
			res := e.c.Unmute(ctx, room(roomID), []string{"bob"}, moderation.ActionOptions{})
			if res[0].Status != moderation.StatusDone {
				t.Fatalf("%+v", res[0])
			}
			calls := e.srv.CallsTo("unmute")
			if len(calls) != 2 || calls[0].Status != tc.status || calls[1].Status != http.StatusOK {
				t.Fatalf("calls %+v", calls)
			}
		})
	}
}

func TestRetriesExhausted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.AddChatRoom(roomID, "owner1", nil, users("x", 60))
	e.srv.FailNext("kick", 100, http.StatusTooManyRequests)
	res := e.c.Remove(ctx, room(roomID), users("x", 60), moderation.ActionOptions{})
	for _, r := range res {
		if r.Status != moderation.StatusFailed || r.Reason != "easemob:resource_limited" {
			t.Fatalf("%+v", r)
		}
	}
	// 5 attempts for the one batch (the pipeline carries on with the
	// next batch: pipeline.TestBatchesFollowLimits).
	if n := len(e.srv.CallsTo("kick")); n != 5 {
		t.Fatalf("%d kick calls, want 5", n)
	}
}

// TestSharedRateLimit runs more calls than the fake allows per second
// through the adapter's one limiter: the fake must never answer 429. (The
// limiter runs at 90/s: a token bucket at exactly 100/s admits 101 calls in
// some 1 s windows, and arrival jitter can bunch them.)
func TestSharedRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *easemob.Config) { c.Rate.PerSecond = 90; c.Rate.Burst = 1 })
	e.srv.AddChatRoom(roomID, "owner1", nil, users("r", 130))
	var wg sync.WaitGroup
	for _, u := range users("r", 130) {
		wg.Go(func() {
			e.c.Unmute(ctx, room(roomID), []string{u}, moderation.ActionOptions{})
		})
	}
	wg.Wait()
	for _, c := range e.srv.Calls() {
		if c.Status == http.StatusTooManyRequests {
			t.Fatal("the fake answered 429: the adapter exceeded 100 calls/s")
		}
	}
	if n := len(e.srv.CallsTo("unmute")); n != 130 {
		t.Fatalf("%d unmute calls, want 130", n)
	}
}

func TestFakeEnforcesRateLimit(t *testing.T) {
	t.Parallel()
	// Without pacing the adapter overruns the fake and recovers by retrying.
	e := newEnv(t, func(c *easemob.Config) { c.Rate.PerSecond = 0; c.Rate.MaxAttempts = 50 })
	e.srv.SetRate(easemobtest.Every, 20)
	e.srv.AddChatRoom(roomID, "owner1", nil, users("r", 40))
	var wg sync.WaitGroup
	for _, u := range users("r", 40) {
		wg.Go(func() {
			if r := e.c.Unmute(ctx, room(roomID), []string{u}, moderation.ActionOptions{}); !r[0].Status.Succeeded() {
				t.Errorf("%+v", r[0])
			}
		})
	}
	wg.Wait()
	limited := 0
	for _, c := range e.srv.CallsTo("unmute") {
		if c.Status == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited == 0 {
		t.Fatal("fake never answered 429 to 40 unpaced calls at 20/s")
	}
}

func TestKindResolution(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		seed     string
		wantOps  string
		wantColl string
	}{
		// GET /chatgroups/{id} first: its answer for a missing group is
		// documented; the fake answers GET /chatrooms/{group id} with the
		// group in the room shape (undocumented), which must not be taken
		// for a room.
		{name: "chat room", seed: easemobtest.KindChatRoom, wantOps: "details,details,admins,unmute", wantColl: "chatrooms"},
		{name: "group", seed: easemobtest.KindGroup, wantOps: "details,admins,unmute", wantColl: "chatgroups"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.srv.AddChat(easemobtest.Chat{ID: roomID, Kind: tc.seed, Owner: "owner1", Members: []string{"bob"}})
			chat := moderation.ChatRef{Platform: easemob.Name, ID: roomID}
			e.c.Unmute(ctx, chat, []string{"bob"}, moderation.ActionOptions{})
			e.c.Unmute(ctx, chat, []string{"bob"}, moderation.ActionOptions{}) // kind cached
			var ops []string
			for _, c := range e.srv.Calls() {
				if c.Op != "token" {
					ops = append(ops, c.Op)
				}
			}
			if got := strings.Join(ops, ","); got != tc.wantOps+",unmute" {
				t.Fatalf("ops %s, want %s,unmute", got, tc.wantOps)
			}
			for _, c := range e.srv.CallsTo("unmute") {
				if !strings.Contains(c.RawPath, "/"+tc.wantColl+"/") {
					t.Errorf("unmute went to %s", c.RawPath)
				}
			}
		})
	}
}

func TestRoles(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{easemobtest.KindChatRoom, easemobtest.KindGroup} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.srv.AddChat(easemobtest.Chat{ID: roomID, Kind: kind, Owner: "Owner1", Admins: []string{"adm"}, Members: []string{"bob"}})
			chat := moderation.ChatRef{Platform: easemob.Name, ID: roomID, Kind: kind}
			want := map[string]moderation.Role{
				"owner1": moderation.RoleOwner, "adm": moderation.RoleAdmin, "BOB": moderation.RoleMember, "ghost": moderation.RoleNotMember,
			}
			ids := []string{"owner1", "adm", "BOB", "ghost"}
			for range 3 {
				got, err := e.c.Roles(ctx, chat, ids)
				if err != nil {
					t.Fatal(err)
				}
				for u, r := range want {
					if got[u] != r {
						t.Errorf("%s: %q, want %q", u, got[u], r)
					}
				}
			}
			// No cache in the adapter: the pipeline's is the one.
			if d, a := len(e.srv.CallsTo("details")), len(e.srv.CallsTo("admins")); d != 3 || a != 3 {
				t.Fatalf("details %d admins %d, want 3/3 (the adapter caches no roles)", d, a)
			}
		})
	}
}

// TestRoleChangeEvents: the operation callbacks that change who runs a
// chat become EventRolesChanged naming the users (canonical), so that the
// pipeline's role cache drops them.
func TestRoleChangeEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cases := []struct {
		name      string
		fields    map[string]any
		wantUsers []string
	}{
		{name: "admin removed", fields: map[string]any{"operation": "ADMIN", "payload": map[string]any{"admin": []string{"Bob"}, "type": "REMOVE"}}, wantUsers: []string{"bob"}},
		{name: "admin added", fields: map[string]any{"operation": "ADMIN", "payload": map[string]any{"admin": []string{"ann", "cy"}, "type": "ADD"}}, wantUsers: []string{"ann", "cy"}},
		{name: "owner transferred", fields: map[string]any{"operation": "UPDATE", "payload": map[string]any{"owner": "owner1", "new_owner": "Ann", "type": "OWNER"}}, wantUsers: []string{"owner1", "ann"}},
		{name: "member kicked", fields: map[string]any{"operation": "LEAVE", "payload": map[string]any{"member": []string{"bob"}, "type": "KICK"}}, wantUsers: []string{"bob"}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := map[string]any{
				"callId": fmt.Sprintf("k#a_roles-%d", i), "id": roomID, "type": "CHATROOM", "event": "group_op_event",
				"operator": "owner1", "timestamp": e.clock.Now().UnixMilli(),
			}
			for k, v := range tc.fields {
				f[k] = v
			}
			ack, err := e.c.Receive(ctx, e.srv.Delivery(easemobtest.SignFields(f, e.srv.CallbackSecret)))
			if err != nil || len(ack.Events) != 1 {
				t.Fatalf("ack %+v err %v, want one event", ack, err)
			}
			ev := ack.Events[0]
			if ev.Kind != moderation.EventRolesChanged || ev.RolesChanged == nil || ev.RolesChanged.Chat.ID != roomID ||
				ev.RolesChanged.Chat.Kind != easemob.KindChatRoom || !slices.Equal(ev.RolesChanged.UserIDs, tc.wantUsers) {
				t.Fatalf("event %+v (%+v), want roles of %v in %s changed", ev, ev.RolesChanged, tc.wantUsers, roomID)
			}
		})
	}
}

func TestRolesUnknownChat(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := e.c.Roles(ctx, group("999"), []string{"bob"})
	var apiErr *moderation.APIError
	if !errors.As(err, &apiErr) || apiErr.HTTPStatus != http.StatusNotFound || apiErr.Kind != moderation.Permanent {
		t.Fatalf("err %v, want permanent 404 APIError", err)
	}
}

func TestReply(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		kind string
		path string
	}{
		{name: "chat room", kind: easemobtest.KindChatRoom, path: "/messages/chatrooms"},
		{name: "group", kind: easemobtest.KindGroup, path: "/messages/chatgroups"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.srv.AddChat(easemobtest.Chat{ID: roomID, Kind: tc.kind, Owner: "owner1"})
			msg := &moderation.Message{Chat: moderation.ChatRef{Platform: easemob.Name, ID: roomID, Kind: tc.kind}, MessageID: "1", SenderID: "owner1"}
			if err := e.c.Reply(ctx, msg, "@bob muted for 10 minutes"); err != nil {
				t.Fatal(err)
			}
			calls := e.srv.CallsTo("send")
			if len(calls) != 1 || calls[0].RawPath != "/"+e.srv.Org+"/"+e.srv.App+tc.path {
				t.Fatalf("calls %+v", calls)
			}
			b := calls[0].Body
			if b["from"] != easemobtest.DefaultBotUser || b["type"] != "txt" {
				t.Errorf("body %v", b)
			}
			msgs := e.srv.Messages()
			if len(msgs) != 1 || msgs[0].Text != "@bob muted for 10 minutes" || msgs[0].To[0] != roomID || msgs[0].Kind != tc.kind {
				t.Fatalf("messages %+v", msgs)
			}
		})
	}
}

func TestRecall(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.AddGroup(roomID, "owner1", nil, nil)
	e.srv.MessageBody(easemobtest.Message{ChatID: roomID, Kind: easemobtest.KindGroup, From: "u1", Text: "hi", MsgID: "1028442084794698104"})
	if err := e.c.Recall(ctx, group(roomID), "1028442084794698104"); err != nil {
		t.Fatal(err)
	}
	c := e.srv.CallsTo("recall")
	if len(c) != 1 || c[0].Body["msg_id"] != "1028442084794698104" || c[0].Body["chat_type"] != "groupchat" || c[0].Body["to"] != roomID {
		t.Fatalf("%+v", c)
	}
	e.srv.FailNext("recall", 1, http.StatusForbidden)
	err := e.c.Recall(ctx, room(roomID), "2")
	var apiErr *moderation.APIError
	if !errors.As(err, &apiErr) || apiErr.Kind != moderation.Permanent || apiErr.HTTPStatus != http.StatusForbidden {
		t.Fatalf("err %v", err)
	}
}

func TestCapabilitiesAndIdentity(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	caps, err := e.c.Capabilities(ctx, room(roomID))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []moderation.Verb{moderation.VerbKick, moderation.VerbMute, moderation.VerbUnmute,
		moderation.VerbBan, moderation.VerbUnban, moderation.VerbLock, moderation.VerbUnlock, moderation.VerbPurge} {
		if caps[v] != moderation.Native {
			t.Errorf("%s: %s", v, caps[v])
		}
	}
	if id, _ := e.c.BotID(ctx); id != easemobtest.DefaultBotUser {
		t.Errorf("BotID %q", id)
	}
	if e.c.Name() != "easemob" {
		t.Error("name/default mute/allow permanent mismatch")
	}
	if len(e.srv.Calls()) != 0 {
		t.Error("capabilities made API calls")
	}
}

// TestOversizedBatchRefused: the pipeline does the batching; handed one
// user more than Limits says a call takes, each action method refuses
// them all (batch_too_large) without calling Easemob (not even for a
// token).
func TestOversizedBatchRefused(t *testing.T) {
	t.Parallel()
	for _, verb := range moderation.ActionVerbs {
		t.Run(string(verb), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			targets := users("o", e.c.Limits().Batch[verb]+1)
			e.srv.AddChatRoom(roomID, "owner1", nil, targets)
			var rs []moderation.Result
			switch verb {
			case moderation.VerbKick:
				rs = e.c.Remove(ctx, room(roomID), targets, moderation.ActionOptions{})
			case moderation.VerbMute:
				rs = e.c.Mute(ctx, room(roomID), targets, time.Minute, moderation.ActionOptions{})
			case moderation.VerbUnmute:
				rs = e.c.Unmute(ctx, room(roomID), targets, moderation.ActionOptions{})
			case moderation.VerbBan:
				rs = e.c.Ban(ctx, room(roomID), targets, time.Hour, moderation.ActionOptions{})
			case moderation.VerbUnban:
				rs = e.c.Unban(ctx, room(roomID), targets, moderation.ActionOptions{})
			case moderation.VerbPurge:
				msgs := make([]moderation.MessageRef, len(targets))
				for i, id := range targets {
					msgs[i] = moderation.MessageRef{ID: id}
				}
				rs = e.c.RecallMessages(ctx, room(roomID), msgs, moderation.ActionOptions{})
			case moderation.VerbAdd:
				rs = e.c.Add(ctx, room(roomID), targets, moderation.ActionOptions{})
			default:
				t.Fatalf("no case for action verb %s", verb)
			}
			checkOrder(t, rs, targets)
			for _, r := range rs {
				if r.Status != moderation.StatusRefused || r.Reason != moderation.ReasonBatchTooLarge {
					t.Fatalf("%+v", r)
				}
			}
			if calls := e.srv.Calls(); len(calls) != 0 {
				t.Fatalf("%d calls to Easemob, want none", len(calls))
			}
		})
	}
}
