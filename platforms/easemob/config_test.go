package easemob_test

import (
	"strings"
	"testing"
	"time"

	"gavel/platforms/easemob"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	valid := easemob.Config{
		BaseURL: "https://a1.easemob.com", OrgName: "1122161011178276", AppName: "demo-app",
		ClientID: "YXA6id", ClientSecret: "YXA6secret", CallbackSecret: "s", BotUser: "modbot",
	}
	tests := []struct {
		name    string
		mut     func(*easemob.Config)
		wantKey string
	}{
		{name: "valid", mut: func(*easemob.Config) {}},
		{name: "insecure without secret", mut: func(c *easemob.Config) { c.CallbackSecret = ""; c.InsecureSkipVerify = true }},
		{name: "no base_url", mut: func(c *easemob.Config) { c.BaseURL = "" }, wantKey: "base_url"},
		{name: "bad base_url", mut: func(c *easemob.Config) { c.BaseURL = "a1.easemob.com" }, wantKey: "base_url"},
		{name: "no org", mut: func(c *easemob.Config) { c.OrgName = "" }, wantKey: "org_name"},
		{name: "app key pasted as org", mut: func(c *easemob.Config) { c.OrgName = "org#app" }, wantKey: "org_name"},
		{name: "no app", mut: func(c *easemob.Config) { c.AppName = "" }, wantKey: "app_name"},
		{name: "uppercase app", mut: func(c *easemob.Config) { c.AppName = "Demo" }, wantKey: "app_name"},
		{name: "no client_id", mut: func(c *easemob.Config) { c.ClientID = "" }, wantKey: "client_id"},
		{name: "no client_secret", mut: func(c *easemob.Config) { c.ClientSecret = "" }, wantKey: "client_secret"},
		{name: "no callback_secret", mut: func(c *easemob.Config) { c.CallbackSecret = "" }, wantKey: "callback_secret"},
		{name: "no bot_user", mut: func(c *easemob.Config) { c.BotUser = "" }, wantKey: "bot_user"},
		{name: "negative replay_window", mut: func(c *easemob.Config) { c.ReplayWindow = -time.Second }, wantKey: "replay_window"},
		{name: "negative rate", mut: func(c *easemob.Config) { c.Rate.PerSecond = -1 }, wantKey: "rate.per_second"},
		{name: "presend secret and code", mut: func(c *easemob.Config) { c.PreSendSecret = "p"; c.PreSendCode = "GAVEL:blocked" }},
		{name: "name cache and lookup timeout", mut: func(c *easemob.Config) { c.NameCacheTTL = time.Hour; c.MentionLookupTimeout = 2 * time.Second }},
		{name: "negative name_cache_ttl", mut: func(c *easemob.Config) { c.NameCacheTTL = -time.Second }, wantKey: "name_cache_ttl"},
		{name: "negative mention_lookup_timeout", mut: func(c *easemob.Config) { c.MentionLookupTimeout = -time.Millisecond }, wantKey: "mention_lookup_timeout"},
		{name: "mention_lookup_timeout too long", mut: func(c *easemob.Config) { c.MentionLookupTimeout = 3 * time.Second }, wantKey: "mention_lookup_timeout"},
		{name: "presend code too long", mut: func(c *easemob.Config) { c.PreSendCode = strings.Repeat("x", 129) }, wantKey: "presend_code"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := valid
			tc.mut(&c)
			err := c.Validate()
			if tc.wantKey == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), "platforms.easemob."+tc.wantKey+": ") {
				t.Fatalf("err %v, want platforms.easemob.%s: …", err, tc.wantKey)
			}
			if _, nerr := easemob.New(c, easemob.Options{}); nerr == nil {
				t.Fatal("New accepted an invalid config")
			}
		})
	}
	d := valid.WithDefaults()
	if d.ReplayWindow != 5*time.Minute || d.Rate.PerSecond != 100 ||
		d.NameCacheTTL != 10*time.Minute || d.MentionLookupTimeout != 500*time.Millisecond {
		t.Fatalf("defaults %+v", d)
	}
}
