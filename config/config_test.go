package config

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func env(kv map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := kv[k]; return v, ok }
}

var secrets = map[string]string{
	"FEISHU_APP_SECRET": "s3cret", "FEISHU_VERIFICATION_TOKEN": "vtok", "FEISHU_ENCRYPT_KEY": "ekey",
	"TIM_SECRET_KEY": "timkey", "TIM_CALLBACK_TOKEN": "cbtok",
	"EASEMOB_CLIENT_ID": "cid", "EASEMOB_CLIENT_SECRET": "csec", "EASEMOB_CALLBACK_SECRET": "cbsec",
}

func TestShippedExampleLoads(t *testing.T) {
	t.Parallel()
	data := readFile(t, "../config.yaml")
	cfg, err := Parse(data, env(secrets))
	if err != nil {
		t.Fatalf("config.yaml with its variables set: %v", err)
	}
	if cfg.Platforms.Feishu == nil || cfg.Platforms.TIM == nil || cfg.Platforms.Easemob == nil {
		t.Fatal("example should enable all three platforms")
	}
	if got := cfg.Platforms.Feishu.AppSecret; got != "s3cret" {
		t.Errorf("app_secret = %q, want expanded from env", got)
	}
	if cfg.Platforms.TIM.SDKAppID != 1400000000 {
		t.Errorf("sdk_app_id = %d", cfg.Platforms.TIM.SDKAppID)
	}
	if cfg.Moderation.DefaultMute != 10*time.Minute || cfg.Policy.MaxTargets != 20 {
		t.Errorf("durations/ints not decoded: %+v %+v", cfg.Moderation, cfg.Policy)
	}
}

func TestShippedExampleWithoutSecretsFailsClosed(t *testing.T) {
	t.Parallel()
	_, err := Parse(readFile(t, "../config.yaml"), env(nil))
	if err == nil || !strings.Contains(err.Error(), "platforms.feishu.") {
		t.Fatalf("err = %v, want a platforms.feishu key named", err)
	}
	// And the variables that were not set, the likely cause.
	if !strings.Contains(err.Error(), "not set in the environment, so empty: FEISHU_APP_SECRET, FEISHU_VERIFICATION_TOKEN") {
		t.Fatalf("err = %v, want the unset variables named", err)
	}
	// A valid file says nothing of unset variables it does not need.
	if _, err := Parse([]byte("platforms:\n  tim: {sdk_app_id: 1400000001, secret_key: k, admin_identifier: a, callback_token: t}\nredis: {password: \"${NOT_SET}\"}\n"), env(nil)); err != nil {
		t.Fatalf("an unset optional variable: %v", err)
	}
}

func TestParseErrorsNameTheKey(t *testing.T) {
	t.Parallel()
	base := `
platforms:
  tim: {sdk_app_id: 1400000001, secret_key: k, admin_identifier: admin, callback_token: t}
`
	feishuBase := `
platforms:
  feishu: {app_id: cli_x, app_secret: s, verification_token: v, encrypt_key: k}
`
	tests := []struct {
		name, yaml, want string
	}{
		{"ok", base, ""},
		{"unknown key", base + "bogus: 1\n", "field bogus not found"},
		{"bad language", base + "language: fr\n", "language:"},
		{"bad log level", base + "log: {level: loud}\n", "log.level:"},
		{"no platform", "language: en\n", "platforms:"},
		{"bad admin entry", base + "policy: {admins: [ou_x]}\n", "policy.admins[0]"},
		{"negative mute", base + "moderation: {default_mute: -1m}\n", "moderation.default_mute"},
		{"bad duration", base + "moderation: {default_mute: soon}\n", "moderation.default_mute (line 4): bad duration"},
		{"bad duration in a map", base + "server: {dedup_ttl: 3x}\n", "server.dedup_ttl"},
		{"tim without token", "platforms:\n  tim: {sdk_app_id: 1400000001, secret_key: k, admin_identifier: a}\n", "platforms.tim.callback_token"},
		{"not yaml", "platforms: [", "parsing YAML"},
		{"confirmation", base + "policy: {max_targets: 500, confirm_above: 50, confirm_verbs: [ban, lock], confirm_timeout: 10分钟}\n", ""},
		{"confirm_above at max_targets", base + "policy: {confirm_above: 20}\n", "policy.confirm_above: 20 is not below policy.max_targets (20)"},
		{"confirm verb unknown", base + "policy: {confirm_verbs: [ban, nuke]}\n", "policy.confirm_verbs[1]"},
		{"confirm timeout bad", base + "policy: {confirm_timeout: soon}\n", "policy.confirm_timeout"},
		{"short dedup_ttl without feishu", base + "server: {dedup_ttl: 1h}\n", ""},
		{"feishu with default dedup_ttl", feishuBase, ""},
		{"feishu with 8h dedup_ttl", feishuBase + "server: {dedup_ttl: 8h}\n", ""},
		{"modlog", base + "modlog: {tim: \"@TGS#ml\", chats: {\"tim:@TGS#g1\": \"@TGS#ml1\"}}\n", ""},
		{"modlog budget", base + "modlog: {tim: \"@TGS#ml\", per_minute: 3}\n", ""},
		{"modlog negative budget", base + "modlog: {tim: \"@TGS#ml\", per_minute: -1}\n", "modlog.per_minute: must not be negative"},
		{"modlog of a platform not configured", base + "modlog: {feishu: oc_ml}\n", "modlog.feishu: platforms.feishu is not configured"},
		{"modlog chat key without platform", base + "modlog: {chats: {g1: ml}}\n", "modlog.chats: key \"g1\""},
		{"modlog chat of a platform not configured", base + "modlog: {chats: {\"easemob:1\": \"2\"}}\n", "names platform \"easemob\""},
		{"modlog unknown key", base + "modlog: {slack: x}\n", "field slack not found"},
		{"console on its own listener", base + "console: {listen: \"127.0.0.1:8081\"}\n", ""},
		{"console without base_url", base + "console: {listen: \"127.0.0.1:8081\"}\n", ""},
		{"console on the webhook listener", base + "console: {listen: \"127.0.0.1:8080\"}\n", "console.listen: \"127.0.0.1:8080\" is the address of server.listen"},
		{"console on a wildcard beside the webhook", base + "server: {listen: \"0.0.0.0:9000\"}\nconsole: {listen: \"127.0.0.1:9000\"}\n", "console.listen: \"127.0.0.1:9000\" is the address of server.listen"},
		{"admin and pprof on one address", base + "server: {admin_listen: \":9090\", pprof_listen: \":9090\"}\n", "server.pprof_listen: \":9090\" is the address of server.admin_listen"},
		{"console listen without a host", base + "console: {listen: \"8081\"}\n", "console.listen: \"8081\" is not host:port"},
		{"server listen port out of range", base + "server: {listen: \"127.0.0.1:80800\"}\n", "server.listen: \"127.0.0.1:80800\": the port"},
		{"listeners on port 0", base + "server: {listen: \"127.0.0.1:0\"}\nconsole: {listen: \"127.0.0.1:0\"}\n", ""},
		{"console base_url without listen", base + "console: {base_url: \"https://gavel.example/\"}\n", "console.base_url: set without console.listen"},
		{"verification", base + "moderation: {verification: {\"tim:@TGS#1\": {mode: text, timeout: 5m, on_timeout: kick}}}\n", ""},
		{"verification of a platform not configured", base + "moderation: {verification: {\"feishu:oc_1\": {mode: button}}}\n", "moderation.verification: key \"feishu:oc_1\" names platform \"feishu\", which is not configured"},
		{"verification button on TIM", base + "moderation: {verification: {\"tim:@TGS#1\": {mode: button}}}\n", "button needs a card; only Feishu"},
		{"feishu with dedup_ttl inside its retries", feishuBase + "server: {dedup_ttl: 7h}\n", "server.dedup_ttl: 7h0m0s does not exceed Feishu's retry schedule"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tt.yaml), env(nil))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestDurationsUseTheCommandGrammar(t *testing.T) {
	t.Parallel()
	data := `
platforms:
  tim: {sdk_app_id: 1400000001, secret_key: k, admin_identifier: admin, callback_token: t, replay_window: 90s}
server: {dedup_ttl: 1d, shutdown_timeout: 1.5s}
moderation: {default_mute: 10分钟}
storage: {retention: 30d}
`
	cfg, err := Parse([]byte(data), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]struct{ got, want time.Duration }{
		"server.dedup_ttl":            {cfg.Server.DedupTTL, 24 * time.Hour},
		"server.shutdown_timeout":     {cfg.Server.ShutdownTimeout, 1500 * time.Millisecond},
		"moderation.default_mute":     {cfg.Moderation.DefaultMute, 10 * time.Minute},
		"storage.retention":           {cfg.Storage.Retention, 30 * 24 * time.Hour},
		"platforms.tim.replay_window": {cfg.Platforms.TIM.ReplayWindow, 90 * time.Second},
	} {
		if got.got != got.want {
			t.Errorf("%s = %v, want %v", name, got.got, got.want)
		}
	}
}

func TestExpansionKeepsValuesAsData(t *testing.T) {
	t.Parallel()
	y := `
platforms:
  tim: {sdk_app_id: "${APPID}", secret_key: "${KEY}", admin_identifier: admin, callback_token: "${TOK}"}
`
	cfg, err := Parse([]byte(y), env(map[string]string{"APPID": "1400000002", "KEY": "a: b # not yaml", "TOK": "123"}))
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Platforms.TIM
	if c.SDKAppID != 1400000002 || c.SecretKey != "a: b # not yaml" || c.CallbackToken != "123" {
		t.Fatalf("expanded = %d %q %q", c.SDKAppID, c.SecretKey, c.CallbackToken)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMovedKeys: keys that moved to one owner (#15.2) are still accepted
// with a warning; the old value sets the new key only when that is unset.
func TestMovedKeys(t *testing.T) {
	t.Parallel()
	const plats = `
platforms:
  tim: {sdk_app_id: 1400000001, secret_key: k, admin_identifier: admin, callback_token: t%s}
  feishu: {app_id: cli_x, app_secret: s, verification_token: v, encrypt_key: k%s}
`
	tests := []struct {
		name                string
		yaml                string
		wantTTL             time.Duration
		wantWarnings        int
		wantWarningContains string
	}{
		{name: "none", yaml: fmt.Sprintf(plats, "", ""), wantTTL: 0},
		{name: "one platform's moves", yaml: fmt.Sprintf(plats, ", role_cache_ttl: 30s", ""), wantTTL: 30 * time.Second, wantWarnings: 1, wantWarningContains: "platforms.tim.role_cache_ttl is deprecated: its value now sets moderation.role_cache_ttl"},
		{name: "the shortest of two moves", yaml: fmt.Sprintf(plats, ", role_cache_ttl: 2m", ", role_cache_ttl: 1分钟"), wantTTL: time.Minute, wantWarnings: 2},
		{name: "an empty moderation block", yaml: "moderation:\n" + fmt.Sprintf(plats, ", role_cache_ttl: 45s", ""), wantTTL: 45 * time.Second, wantWarnings: 1},
		{name: "moderation's key wins", yaml: "moderation: {role_cache_ttl: 5m}\n" + fmt.Sprintf(plats, ", role_cache_ttl: 30s", ""), wantTTL: 5 * time.Minute, wantWarnings: 1, wantWarningContains: "platforms.tim.role_cache_ttl is deprecated and ignored"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := Parse([]byte(tt.yaml), env(nil))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Moderation.RoleCacheTTL != tt.wantTTL {
				t.Errorf("moderation.role_cache_ttl = %s, want %s", cfg.Moderation.RoleCacheTTL, tt.wantTTL)
			}
			if len(cfg.Warnings) != tt.wantWarnings || tt.wantWarningContains != "" && !strings.Contains(strings.Join(cfg.Warnings, "\n"), tt.wantWarningContains) {
				t.Errorf("warnings = %q", cfg.Warnings)
			}
		})
	}
	// A bad old value is reported under the key it now sets.
	_, err := Parse([]byte(fmt.Sprintf(plats, ", role_cache_ttl: soon", "")), env(nil))
	if err == nil || !strings.Contains(err.Error(), "moderation.role_cache_ttl") {
		t.Fatalf("err = %v, want moderation.role_cache_ttl named", err)
	}
}

// TestMovedMuteDefaults: the Easemob block's mute defaults moved under
// moderation: (#15.2); they still load, with a warning.
func TestMovedMuteDefaults(t *testing.T) {
	t.Parallel()
	const easemob = `
platforms:
  easemob: {base_url: "https://a1.easemob.com", org_name: org, app_name: app, client_id: i, client_secret: s, callback_secret: c, bot_user: gavel%s}
`
	tests := []struct {
		name          string
		yaml          string
		wantMute      time.Duration
		wantPermanent bool
		wantWarnings  int
	}{
		{name: "none", yaml: fmt.Sprintf(easemob, ""), wantMute: 10 * time.Minute},
		{name: "moved", yaml: fmt.Sprintf(easemob, ", default_mute: 30m, allow_permanent_mute: true"), wantMute: 30 * time.Minute, wantPermanent: true, wantWarnings: 2},
		{name: "moderation's win", yaml: "moderation: {default_mute: 5m, allow_permanent_mute: false}\n" + fmt.Sprintf(easemob, ", default_mute: 30m, allow_permanent_mute: true"),
			wantMute: 5 * time.Minute, wantWarnings: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := Parse([]byte(tt.yaml), env(nil))
			if err != nil {
				t.Fatal(err)
			}
			got := cfg.Moderation.DefaultMute
			if got == 0 {
				got = 10 * time.Minute // the pipeline's default
			}
			if got != tt.wantMute || cfg.Moderation.AllowPermanentMute != tt.wantPermanent || len(cfg.Warnings) != tt.wantWarnings {
				t.Fatalf("default_mute %s, allow_permanent_mute %v, warnings %q; want %s, %v, %d",
					got, cfg.Moderation.AllowPermanentMute, cfg.Warnings, tt.wantMute, tt.wantPermanent, tt.wantWarnings)
			}
		})
	}
}

// TestUnusedKeysWarn: keys valid but without effect in the chosen Feishu
// mode load with a warning naming them.
func TestUnusedKeysWarn(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, feishu, want string
		extra              string
	}{
		{"websocket", "{mode: websocket, app_id: cli_x, app_secret: s}", "", ""},
		{"websocket with a token", "{mode: websocket, app_id: cli_x, app_secret: s, verification_token: v}", "platforms.feishu.verification_token is not used in websocket mode", ""},
		{"webhook", "{app_id: cli_x, app_secret: s, verification_token: v, encrypt_key: k}", "", ""},
		{"webhook with a grace", "{app_id: cli_x, app_secret: s, verification_token: v, disconnected_grace: 2m}", "platforms.feishu.disconnected_grace is used only in websocket mode", ""},
		{"one reporter acts alone", "{mode: websocket, app_id: cli_x, app_secret: s}", "moderation.reports.act_at is 1", "moderation: {reports: {enabled: true, act_at: 1}}\n"},
		{"reporters agree", "{mode: websocket, app_id: cli_x, app_secret: s}", "", "moderation: {reports: {enabled: true, act_at: 3}}\n"},
	} {
		cfg, err := Parse([]byte(tt.extra+"platforms:\n  feishu: "+tt.feishu+"\n"), env(nil))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got := strings.Join(cfg.Warnings, "\n")
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("%s: warnings %q, want %q", tt.name, got, tt.want)
		}
	}
}
