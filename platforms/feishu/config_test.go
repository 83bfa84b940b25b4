package feishu_test

import (
	"strings"
	"testing"
	"time"

	"gavel/platforms/egress"
	"gavel/platforms/feishu"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	valid := feishu.Config{AppID: "cli_x", AppSecret: "s", VerificationToken: "v"}
	tests := []struct {
		name   string
		mutate func(*feishu.Config)
		want   string // substring of the error; "" = valid
	}{
		{name: "minimal valid", mutate: func(*feishu.Config) {}},
		{name: "missing app_id", mutate: func(c *feishu.Config) { c.AppID = "" }, want: "platforms.feishu.app_id: must be set"},
		{name: "missing app_secret", mutate: func(c *feishu.Config) { c.AppSecret = "" }, want: "platforms.feishu.app_secret: must be set"},
		{name: "empty verification token fails closed", mutate: func(c *feishu.Config) { c.VerificationToken = "" }, want: "platforms.feishu.verification_token: must be set"},
		{name: "empty token allowed when insecure", mutate: func(c *feishu.Config) { c.VerificationToken, c.InsecureSkipVerify = "", true }},
		{name: "relative base_url", mutate: func(c *feishu.Config) { c.BaseURL = "open.feishu.cn" }, want: "platforms.feishu.base_url:"},
		{name: "negative replay_window", mutate: func(c *feishu.Config) { c.ReplayWindow = -time.Second }, want: "platforms.feishu.replay_window:"},
		{name: "negative refusal_cache_ttl", mutate: func(c *feishu.Config) { c.RefusalCacheTTL = -time.Second }, want: "platforms.feishu.refusal_cache_ttl:"},
		{name: "websocket needs no verification token", mutate: func(c *feishu.Config) { c.Mode, c.VerificationToken = feishu.ModeWebSocket, "" }},
		{name: "websocket refuses an encrypt key", mutate: func(c *feishu.Config) { c.Mode, c.EncryptKey = feishu.ModeWebSocket, "k" },
			want: "platforms.feishu.encrypt_key: is not used in websocket mode"},
		{name: "webhook explains the websocket alternative", mutate: func(c *feishu.Config) { c.VerificationToken = "" }, want: "mode: websocket needs only app_id and app_secret"},
		{name: "unknown mode names both", mutate: func(c *feishu.Config) { c.Mode = "socket" }, want: `platforms.feishu.mode: must be "webhook"`},
		{name: "negative disconnected_grace", mutate: func(c *feishu.Config) { c.Mode, c.DisconnectedGrace = feishu.ModeWebSocket, -time.Second }, want: "platforms.feishu.disconnected_grace:"},
		{name: "negative rate", mutate: func(c *feishu.Config) { c.Rate = egress.Limits{PerSecond: -1} }, want: "platforms.feishu.rate.per_second:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := valid
			tt.mutate(&cfg)
			err := cfg.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if _, err := feishu.New(cfg, feishu.Options{Logger: quietLogger()}); err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want %q", err, tt.want)
			}
			if _, err := feishu.New(cfg, feishu.Options{}); err == nil {
				t.Fatal("New accepted an invalid config")
			}
		})
	}
}
