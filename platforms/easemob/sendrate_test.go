package easemob_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"gavel/moderation"
	"gavel/platforms/easemob"
	"gavel/platforms/easemob/easemobtest"
)

// TestReplyPacedPerKind: a burst of replies is paced by the kind's own
// send limiter, so the fake (documented 20 messages/s for groups, 100/s
// for chat rooms) refuses none; the shared 100/s App Key limiter alone
// let group sends through at 100/s.
func TestReplyPacedPerKind(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		kind    string
		replies int
		minTook time.Duration
	}{
		{name: "group", kind: easemobtest.KindGroup, replies: 45, minTook: 2 * time.Second},     // 45 at 18/s
		{name: "chat room", kind: easemobtest.KindChatRoom, replies: 130, minTook: time.Second}, // 130 at 90/s
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(c *easemob.Config) { c.Rate.MaxAttempts = 1 }) // a refusal would fail the reply
			e.srv.AddChat(easemobtest.Chat{ID: roomID, Kind: tc.kind, Owner: "owner1"})
			msg := &moderation.Message{Chat: moderation.ChatRef{Platform: easemob.Name, ID: roomID, Kind: tc.kind}, MessageID: "1", SenderID: "owner1"}
			start := time.Now()
			var wg sync.WaitGroup
			errs := make(chan error, tc.replies)
			for range tc.replies {
				wg.Go(func() {
					if err := e.c.Reply(ctx, msg, "done"); err != nil {
						errs <- err
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatalf("reply failed: %v", err)
			}
			if n := e.srv.SendRejections(); n != 0 {
				t.Fatalf("the fake refused %d sends", n)
			}
			if took := time.Since(start); took < tc.minTook {
				t.Fatalf("%d replies in %s: not paced", tc.replies, took)
			}
		})
	}
}

func TestConfigSendRates(t *testing.T) {
	t.Parallel()
	d := easemob.Config{}.WithDefaults()
	if d.GroupSendRate != 18 || d.RoomSendRate != 90 {
		t.Fatalf("defaults %v/%v, want 18/90", d.GroupSendRate, d.RoomSendRate)
	}
	srv := easemobtest.NewServer()
	defer srv.Close()
	for _, mut := range []func(*easemob.Config){
		func(c *easemob.Config) { c.GroupSendRate = -1 },
		func(c *easemob.Config) { c.RoomSendRate = -1 },
	} {
		c := testConfig(srv)
		mut(&c)
		if err := c.Validate(); err == nil {
			t.Fatal("negative send rate accepted")
		}
	}
}

// TestFakeSendLimits: the fake answers the documented errors — 429 for
// calls over the limit, 403 "message send reach limit" for messages.
func TestFakeSendLimits(t *testing.T) {
	t.Parallel()
	srv := easemobtest.NewServer()
	defer srv.Close()
	base := srv.URL + "/" + srv.Org + "/" + srv.App
	post := func(path, tok string, body any) (int, map[string]any) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, base+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	_, tr := post("/token", "", map[string]string{"grant_type": "client_credentials", "client_id": srv.ClientID, "client_secret": srv.ClientSecret})
	tok, _ := tr["access_token"].(string)
	msg := func(to ...string) map[string]any {
		return map[string]any{"from": "bot", "to": to, "type": "txt", "body": map[string]string{"msg": "hi"}}
	}
	tests := []struct {
		name      string
		path      string
		calls     int
		to        []string
		wantCode  int
		wantError string
	}{
		{name: "group calls", path: "/messages/chatgroups", calls: 21, to: []string{"g1"}, wantCode: 429, wantError: "This request has reached api limit"},
		{name: "group messages", path: "/messages/chatgroups", calls: 7, to: []string{"g2", "g3", "g4"}, wantCode: 403, wantError: "message send reach limit"},
		{name: "room calls", path: "/messages/chatrooms", calls: 101, to: []string{"r1"}, wantCode: 429, wantError: "This request has reached api limit"},
		{name: "room messages", path: "/messages/chatrooms", calls: 11, to: []string{"r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10"}, wantCode: 403, wantError: "message send reach limit"},
	}
	for _, tc := range tests { // one after the other: the windows are per App Key
		var last int
		var body map[string]any
		for range tc.calls {
			last, body = post(tc.path, tok, msg(tc.to...))
		}
		if last != tc.wantCode || body["error_description"] != tc.wantError {
			t.Errorf("%s: call %d answered %d %v, want %d %q", tc.name, tc.calls, last, body, tc.wantCode, tc.wantError)
		}
		time.Sleep(1100 * time.Millisecond)
	}
}

// TestReplyTooLarge: body+ext over 5,000 bytes is refused by the fake with
// the documented 400 message_send_error "message is too large".
func TestReplyTooLarge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		size    int
		wantErr bool
	}{
		{name: "fits", size: 4900},
		{name: "over 5,000 bytes", size: 5001, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(c *easemob.Config) { c.Rate.MaxAttempts = 1 })
			e.srv.AddGroup(roomID, "owner1", nil, nil)
			msg := &moderation.Message{Chat: moderation.ChatRef{Platform: easemob.Name, ID: roomID, Kind: easemob.KindGroup}}
			err := e.c.Reply(ctx, msg, strings.Repeat("x", tc.size))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v", err)
			}
			if tc.wantErr {
				var apiErr *moderation.APIError
				c := e.srv.CallsTo("send")
				if !errors.As(err, &apiErr) || apiErr.HTTPStatus != http.StatusBadRequest || apiErr.Name != "message_send_error" || len(c) != 1 {
					t.Fatalf("err %v", err)
				}
			}
		})
	}
}
