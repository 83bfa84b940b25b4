package app_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"gavel/app/apptest"
	"gavel/config"
	"gavel/platforms/feishu"
	"gavel/platforms/feishu/feishutest"
)

// TestDemotedManagerLosesRightsOnEvent (#15.2): Gavel caches roles once,
// in the pipeline. A manager demoted in Feishu keeps the cached role until
// moderation.role_cache_ttl (1h here) unless Feishu tells Gavel: after
// im.chat.updated_v1, or after the manager left the chat, the next command
// is decided on fresh roles and refused.
func TestDemotedManagerLosesRightsOnEvent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// event is the delivery Feishu sends after the demotion; nil: none.
		event     func(fs *feishutest.Server) []byte
		wantReply string
		wantGone  bool
	}{
		{name: "no event: the cached role stands until the TTL", wantReply: "Removed 1: b", wantGone: true},
		{name: "im.chat.updated_v1 drops the chat's roles", event: func(fs *feishutest.Server) []byte {
			return feishutest.ChatUpdatedEventAt(fs.VerificationToken, "", "oc_roles", "ou_owner", "", "", time.Now())
		}, wantReply: "Refused: only the chat owner"},
		{name: "member deleted drops that member's role", event: func(fs *feishutest.Server) []byte {
			return feishutest.UserDeletedEventAt(fs.VerificationToken, "", "oc_roles", "ou_owner", time.Now(), "ou_mod")
		}, wantReply: "Refused: only the chat owner"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fs := feishutest.NewServer()
			t.Cleanup(fs.Close)
			chat := feishutest.Chat{ID: "oc_roles", OwnerID: "ou_owner", Managers: []string{"ou_mod"}, Members: []string{"ou_a", "ou_b"}, BotIsManager: true}
			fs.AddChat(chat)
			cfg := config.Config{Platforms: config.Platforms{Feishu: &feishu.Config{BaseURL: fs.URL, AppID: fs.AppID, AppSecret: fs.AppSecret,
				VerificationToken: fs.VerificationToken, EncryptKey: fs.EncryptKey}}}
			cfg.Moderation.RoleCacheTTL = time.Hour
			h := apptest.New(t, cfg)
			post := func(d []byte) {
				t.Helper()
				req, err := feishutest.Request("http://gavel/webhook/feishu", fs.Delivery(d, time.Now()))
				if err != nil {
					t.Fatal(err)
				}
				if status, body := h.Do(t, req); status != http.StatusOK {
					t.Fatalf("webhook %d: %s", status, body)
				}
				h.Wait()
			}
			kick := func(target string) string {
				t.Helper()
				before := len(fs.Replies())
				m := fs.NewMessage("oc_roles", "ou_mod", "@_user_1 /kick @_user_2",
					feishutest.Mention{Key: "@_user_1", OpenID: fs.BotOpenID, Name: "Gavel"}, feishutest.Mention{Key: "@_user_2", OpenID: target, Name: strings.TrimPrefix(target, "ou_")})
				post(feishutest.MessageEvent(fs.VerificationToken, m))
				replies := fs.Replies()
				if len(replies) != before+1 {
					t.Fatalf("replies %+v, want one more", replies)
				}
				return replies[before].Content
			}
			if got := kick("ou_a"); !strings.Contains(got, "Removed 1: a") {
				t.Fatalf("manager's first kick: %q", got)
			}
			// Demoted in Feishu (the fake's chat info no longer lists
			// ou_mod as a manager).
			chat.Managers = nil
			chat.Members = []string{"ou_mod", "ou_b"}
			fs.AddChat(chat)
			if tt.event != nil {
				post(tt.event(fs))
			}
			if got := kick("ou_b"); !strings.Contains(got, tt.wantReply) {
				t.Fatalf("kick after the demotion: %q, want %q", got, tt.wantReply)
			}
			if gone := !slices.Contains(fs.Members("oc_roles"), "ou_b"); gone != tt.wantGone {
				t.Fatalf("ou_b removed = %v, want %v", gone, tt.wantGone)
			}
		})
	}
}
