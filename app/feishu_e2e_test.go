package app_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"gavel/app/apptest"
	"gavel/config"
	"gavel/platforms/feishu"
	"gavel/platforms/feishu/feishutest"
	"gavel/policy"
)

// TestFeishuCommandsThroughHTTP drives issue 2's cases through Gavel's
// router: an encrypted, signed delivery goes in, the Feishu fake records
// the API calls, the reply is checked.
func TestFeishuCommandsThroughHTTP(t *testing.T) {
	t.Parallel()
	var fifty []string
	for i := range 51 {
		fifty = append(fifty, fmt.Sprintf("ou_m%02d", i))
	}
	type delivery struct {
		from, text string
		mentions   []feishutest.Mention
	}
	m := func(key, id string) feishutest.Mention {
		return feishutest.Mention{Key: key, OpenID: id, Name: strings.TrimPrefix(id, "ou_")}
	}
	tests := []struct {
		name        string
		policy      policy.Config
		setup       func(fs *feishutest.Server)
		send        delivery
		wantBatches [][]string // removal calls, in order
		wantReply   string
		wantGone    []string
		wantStay    []string
	}{
		{name: "non-admin actor refused", send: delivery{"ou_alice", "@_user_1 /kick @_user_2", []feishutest.Mention{m("@_user_2", "ou_bob")}},
			wantReply: "Refused: only the chat owner", wantStay: []string{"ou_bob"}},
		{name: "owner target refused", send: delivery{"ou_mod", "@_user_1 /kick @_user_2 @_user_3", []feishutest.Mention{m("@_user_2", "ou_owner"), m("@_user_3", "ou_bob")}},
			wantBatches: [][]string{{"ou_bob"}}, wantReply: "the chat owner cannot be a target", wantGone: []string{"ou_bob"}},
		{name: "manager on manager refused", send: delivery{"ou_mod", "@_user_1 /kick @_user_2", []feishutest.Mention{m("@_user_2", "ou_mod2")}},
			wantReply: "a manager cannot act on another manager", wantStay: []string{"ou_mod2"}},
		{name: "owner on manager allowed", send: delivery{"ou_owner", "@_user_1 /kick @_user_2", []feishutest.Mention{m("@_user_2", "ou_mod2")}},
			wantBatches: [][]string{{"ou_mod2"}}, wantReply: "Removed 1: mod2", wantGone: []string{"ou_mod2"}},
		{name: "protected target refused", policy: policy.Config{Protected: []string{"feishu:ou_bob"}},
			send:      delivery{"ou_mod", "@_user_1 /kick @_user_2", []feishutest.Mention{m("@_user_2", "ou_bob")}},
			wantReply: "protected user", wantStay: []string{"ou_bob"}},
		{name: "too many targets", policy: policy.Config{MaxTargets: 2},
			send:      delivery{"ou_mod", "@_user_1 /kick @ou_a @ou_b @ou_c", nil},
			wantReply: "Too many targets (3); at most 2"},
		{name: "dry run chat", policy: policy.Config{Chats: map[string]policy.ChatConfig{"feishu:oc_e2e": {DryRun: true}}},
			send:      delivery{"ou_mod", "@_user_1 /kick @_user_2", []feishutest.Mention{m("@_user_2", "ou_bob")}},
			wantReply: "[dry run] Would remove 1: bob", wantStay: []string{"ou_bob"}},
		{name: "51 targets in two batches", policy: policy.Config{MaxTargets: 100},
			send:        delivery{"ou_mod", "@_user_1 /kick @" + strings.Join(fifty, " @"), nil},
			wantBatches: [][]string{fifty[:50], fifty[50:]}, wantReply: "Removed 51", wantGone: fifty},
		{name: "not in chat reported", send: delivery{"ou_mod", "@_user_1 /kick @_user_2 @_user_3", []feishutest.Mention{m("@_user_2", "ou_bob"), m("@_user_3", "ou_stranger")}},
			wantBatches: [][]string{{"ou_bob", "ou_stranger"}}, wantReply: "stranger (not in this chat)", wantGone: []string{"ou_bob"}},
		{name: "232019 retried then success", setup: func(fs *feishutest.Server) { fs.FailNext(feishutest.OpMembersDelete, 1, 232019) },
			send:        delivery{"ou_mod", "@_user_1 /kick @_user_2", []feishutest.Mention{m("@_user_2", "ou_bob")}},
			wantBatches: [][]string{{"ou_bob"}, {"ou_bob"}}, wantReply: "Removed 1: bob", wantGone: []string{"ou_bob"}},
		{name: "232014 bot lacks rights, not retried", setup: func(fs *feishutest.Server) { fs.FailNext(feishutest.OpMembersDelete, 1, 232014) },
			send:        delivery{"ou_mod", "@_user_1 /kick @_user_2", []feishutest.Mention{m("@_user_2", "ou_bob")}},
			wantBatches: [][]string{{"ou_bob"}}, wantReply: "Not done 1", wantStay: []string{"ou_bob"}},
		{name: "chinese kick", send: delivery{"ou_mod", "@_user_1 /踢 @_user_2 刷屏", []feishutest.Mention{m("@_user_2", "ou_bob")}},
			wantBatches: [][]string{{"ou_bob"}}, wantReply: "Removed 1: bob. Reason: 刷屏", wantGone: []string{"ou_bob"}},
		{name: "chinese mute with chinese duration", send: delivery{"ou_mod", "@_user_1 /禁言 @_user_2 10分钟", []feishutest.Mention{m("@_user_2", "ou_bob")}},
			wantReply: "Muted for 10m 1: bob", wantStay: []string{"ou_bob"}},
		{name: "bad duration usage", send: delivery{"ou_mod", "@_user_1 /mute @_user_2 5x", []feishutest.Mention{m("@_user_2", "ou_bob")}},
			wantReply: "Bad duration", wantStay: []string{"ou_bob"}},
		// Not one of Gavel's commands (perhaps another bot's): no job,
		// no reply, even from a manager.
		{name: "unknown verb ignored", send: delivery{"ou_mod", "@_user_1 /frobnicate @_user_2", []feishutest.Mention{m("@_user_2", "ou_bob")}},
			wantStay: []string{"ou_bob"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fs := feishutest.NewServer()
			t.Cleanup(fs.Close)
			fs.AddChat(feishutest.Chat{ID: "oc_e2e", OwnerID: "ou_owner", Managers: []string{"ou_mod", "ou_mod2"},
				Members: append([]string{"ou_alice", "ou_bob", "ou_a", "ou_b", "ou_c"}, fifty...), BotIsManager: true})
			if tt.setup != nil {
				tt.setup(fs)
			}
			h := apptest.New(t, config.Config{
				Platforms: config.Platforms{Feishu: &feishu.Config{BaseURL: fs.URL, AppID: fs.AppID, AppSecret: fs.AppSecret,
					VerificationToken: fs.VerificationToken, EncryptKey: fs.EncryptKey}},
				Policy: tt.policy,
			})
			mentions := append([]feishutest.Mention{{Key: "@_user_1", OpenID: fs.BotOpenID, Name: "Gavel"}}, tt.send.mentions...)
			req, err := fs.MessageRequest("http://gavel/webhook/feishu", fs.NewMessage("oc_e2e", tt.send.from, tt.send.text, mentions...), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if status, body := h.Do(t, req); status != http.StatusOK {
				t.Fatalf("webhook %d: %s", status, body)
			}
			h.Wait()
			if got := fs.RemoveBatches(); fmt.Sprint(got) != fmt.Sprint(tt.wantBatches) && !(len(got) == 0 && len(tt.wantBatches) == 0) {
				t.Errorf("removal calls = %v, want %v", got, tt.wantBatches)
			}
			replies := fs.Replies()
			if tt.wantReply == "" && len(replies) != 0 {
				t.Errorf("replies = %+v, want none", replies)
			} else if tt.wantReply != "" && (len(replies) != 1 || !strings.Contains(replies[0].Content, tt.wantReply)) {
				t.Errorf("replies = %+v, want one containing %q", replies, tt.wantReply)
			}
			members := fs.Members("oc_e2e")
			for _, u := range tt.wantGone {
				if slices.Contains(members, u) {
					t.Errorf("%s still in the chat", u)
				}
			}
			for _, u := range tt.wantStay {
				if !slices.Contains(members, u) {
					t.Errorf("%s was removed", u)
				}
			}
		})
	}
}

// TestFeishuBadDeliveriesThroughHTTP: forged, stale, wrong-token and
// malformed deliveries are refused with a status and never act.
func TestFeishuBadDeliveriesThroughHTTP(t *testing.T) {
	t.Parallel()
	fs := feishutest.NewServer()
	t.Cleanup(fs.Close)
	fs.AddChat(feishutest.Chat{ID: "oc_bad", OwnerID: "ou_owner", Managers: []string{"ou_mod"}, Members: []string{"ou_bob"}, BotIsManager: true})
	h := apptest.New(t, config.Config{Platforms: config.Platforms{Feishu: &feishu.Config{BaseURL: fs.URL, AppID: fs.AppID,
		AppSecret: fs.AppSecret, VerificationToken: fs.VerificationToken, EncryptKey: fs.EncryptKey}}})
	kick := func() feishutest.TextMessage {
		return fs.NewMessage("oc_bad", "ou_mod", "@_user_1 /kick @_user_2",
			feishutest.Mention{Key: "@_user_1", OpenID: fs.BotOpenID}, feishutest.Mention{Key: "@_user_2", OpenID: "ou_bob"})
	}
	tests := []struct {
		name string
		req  func() *http.Request
		want int
	}{
		{"forged signature", func() *http.Request {
			r, _ := fs.MessageRequest("http://gavel/webhook/feishu", kick(), time.Now())
			r.Header.Set("X-Lark-Signature", strings.Repeat("0", 64))
			return r
		}, http.StatusUnauthorized},
		{"timestamp older than dedup_ttl", func() *http.Request {
			// 10 minutes old would be a genuine re-push (accepted, late).
			r, _ := fs.MessageRequest("http://gavel/webhook/feishu", kick(), time.Now().Add(-9*time.Hour))
			return r
		}, http.StatusUnauthorized},
		{"timestamp from the future", func() *http.Request {
			r, _ := fs.MessageRequest("http://gavel/webhook/feishu", kick(), time.Now().Add(10*time.Minute))
			return r
		}, http.StatusUnauthorized},
		{"wrong verification token", func() *http.Request {
			r, _ := feishutest.Request("http://gavel/webhook/feishu", feishutest.SignedDelivery(fs.EncryptKey,
				feishutest.Timestamp(time.Now()), "n1", feishutest.MessageEvent("not-the-token", kick())))
			return r
		}, http.StatusUnauthorized},
		{"malformed body", func() *http.Request {
			r, _ := feishutest.Request("http://gavel/webhook/feishu", feishutest.SignBody(fs.EncryptKey, feishutest.Timestamp(time.Now()), "n2", []byte(`{"encrypt":`)))
			return r
		}, http.StatusBadRequest},
	}
	for _, tt := range tests {
		if status, body := h.Do(t, tt.req()); status != tt.want {
			t.Errorf("%s: %d %s, want %d", tt.name, status, body, tt.want)
		}
	}
	// A good delivery re-delivered acts once.
	d := fs.MessageDelivery(kick(), time.Now())
	for range 3 {
		r, _ := feishutest.Request("http://gavel/webhook/feishu", d)
		if status, _ := h.Do(t, r); status != http.StatusOK {
			t.Fatalf("good delivery: %d", status)
		}
	}
	h.Wait()
	if n := len(fs.RemoveBatches()); n != 1 {
		t.Fatalf("%d removal calls after 5 bad and 3 identical good deliveries, want 1", n)
	}
}
