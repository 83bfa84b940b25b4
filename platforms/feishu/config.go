package feishu

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"gavel/platforms/egress"
)

// Default values applied by New for zero Config fields.
const (
	DefaultBaseURL      = "https://open.feishu.cn"
	DefaultReplayWindow = 5 * time.Minute
	// RetrySchedule is how long after a failed delivery Feishu may still
	// re-push it: retries after 15 s, 5 min, 1 h and 6 h.
	RetrySchedule = 15*time.Second + 5*time.Minute + time.Hour + 6*time.Hour
	// DefaultDedupTTL is server.dedup_ttl's default, with the margin the
	// de-duplication needs over RetrySchedule.
	DefaultDedupTTL = 8 * time.Hour
	// DefaultRefusalCacheTTL is how long a chat where Feishu refused a
	// recall (230026) is remembered as one where Gavel cannot mute.
	DefaultRefusalCacheTTL = 10 * time.Minute
	// DefaultPerSecond is Feishu's tier-4 limit (1000/min & 50/s), which
	// covers every API the adapter calls.
	DefaultPerSecond = 50
	// DefaultDisconnectedGrace is how long the long connection may be down
	// before /readyz reports Gavel not ready: the SDK's first reconnect
	// waits a random 0–30 s (Feishu's ReconnectNonce), so a minute covers
	// one dropped connection that comes back at the first attempt.
	DefaultDisconnectedGrace = time.Minute
)

// Event delivery modes (platforms.feishu.mode).
const (
	// ModeWebhook: Feishu POSTs events to /webhook/feishu (a public URL,
	// verification_token, optionally encrypt_key).
	ModeWebhook = "webhook"
	// ModeWebSocket: Gavel opens the long connection (长连接) with the
	// official SDK; only app_id and app_secret are needed.
	ModeWebSocket = "websocket"
)

// Config is the platforms.feishu section of config.yaml.
type Config struct {
	// Mode is how events arrive: "webhook" (default) or "websocket" (the
	// long connection; no public URL, no verification_token/encrypt_key).
	Mode string `yaml:"mode"`
	// BaseURL is the Open Platform host: https://open.feishu.cn (Feishu) or
	// https://open.larksuite.com (Lark). The REST API and, in websocket
	// mode, the long connection's endpoint discovery
	// (POST {base_url}/callback/ws/endpoint) both use it.
	BaseURL   string `yaml:"base_url"`
	AppID     string `yaml:"app_id"`
	AppSecret string `yaml:"app_secret"`
	// VerificationToken is compared with the token inside every delivery.
	VerificationToken string `yaml:"verification_token"`
	// EncryptKey, when set, makes Feishu encrypt and sign every delivery;
	// plaintext deliveries are then rejected.
	EncryptKey string `yaml:"encrypt_key"`
	// BotOpenID is the bot's own open_id; fetched once from
	// GET /open-apis/bot/v3/info when empty.
	BotOpenID string `yaml:"bot_open_id"`
	// ReplayWindow is how old a delivery (X-Lark-Request-Timestamp, and
	// header.create_time) may be and still count as on time, and how far
	// ahead either may be at all. An older one, up to DedupTTL, is a
	// re-push: accepted, marked late, not counted by rate rules.
	ReplayWindow time.Duration `yaml:"replay_window"`
	// DedupTTL is how long de-duplication remembers a delivery
	// (server.dedup_ttl, composed by the app; DefaultDedupTTL when zero).
	// A signed delivery older than ReplayWindow but younger than DedupTTL is
	// a re-push: it is accepted and marked late, because de-duplication
	// still knows whether it ran. Events whose header.create_time is older
	// than DedupTTL are refused. It must exceed RetrySchedule.
	DedupTTL time.Duration `yaml:"-"`
	// InsecureSkipVerify disables the signature, timestamp and token checks.
	// Only for local development: anyone can then forge deliveries.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// RefusalCacheTTL is how long Gavel remembers that Feishu refused to
	// let it recall others' messages in a chat (230026); meanwhile /mute
	// there is refused. Feishu lets the owner, managers and the chat's
	// creator recall, and hides a bot owner (owner_id is omitted), so only
	// a refused recall proves the bot lacks the right.
	RefusalCacheTTL time.Duration `yaml:"refusal_cache_ttl"`
	// Rate overrides the pacing and retry limits used for each Feishu API.
	Rate egress.Limits `yaml:"rate"`
	// DisconnectedGrace (websocket mode) is how long the long connection
	// may be down, at start or after a drop, before /readyz reports Gavel
	// not ready; DefaultDisconnectedGrace when zero.
	DisconnectedGrace time.Duration `yaml:"disconnected_grace"`
}

// ModeSummary says how events arrive in c's mode and which keys that mode
// uses, for `gavel check-config`.
func (c Config) ModeSummary() string {
	if c.WebSocket() {
		return "platforms.feishu: mode websocket: Gavel opens the long connection (长连接) to " + c.withDefaults().BaseURL +
			" with app_id and app_secret; no public URL, verification_token or encrypt_key is needed " +
			"(developer console: 事件与回调 → 使用长连接接收事件/回调)"
	}
	keys := "app_id, app_secret, verification_token"
	if c.EncryptKey != "" {
		keys += ", encrypt_key"
	}
	return "platforms.feishu: mode webhook: Feishu POSTs events to /webhook/feishu (a public URL); uses " + keys +
		"; mode: websocket would need only app_id and app_secret"
}

// WebSocket reports whether events arrive over the long connection.
func (c Config) WebSocket() bool { return c.Mode == ModeWebSocket }

func (c Config) withDefaults() Config {
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	if c.ReplayWindow == 0 {
		c.ReplayWindow = DefaultReplayWindow
	}
	if c.DedupTTL == 0 {
		c.DedupTTL = DefaultDedupTTL
	}
	if c.RefusalCacheTTL == 0 {
		c.RefusalCacheTTL = DefaultRefusalCacheTTL
	}
	if c.Rate.PerSecond == 0 {
		c.Rate.PerSecond = DefaultPerSecond
	}
	if c.Mode == "" {
		c.Mode = ModeWebhook
	}
	if c.DisconnectedGrace == 0 {
		c.DisconnectedGrace = DefaultDisconnectedGrace
	}
	return c
}

// Validate reports every bad key of c, named as in config.yaml
// (platforms.feishu.<key>).
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("platforms.feishu.%s: "+format, append([]any{key}, args...)...))
	}
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		switch {
		case err != nil:
			bad("base_url", "not a URL: %v", err)
		case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
			bad("base_url", "must be an absolute http(s) URL, got %q", c.BaseURL)
		}
	}
	if c.AppID == "" {
		bad("app_id", "must be set")
	}
	if c.AppSecret == "" {
		bad("app_secret", "must be set")
	}
	switch c.Mode {
	case "", ModeWebhook:
		if c.VerificationToken == "" && !c.InsecureSkipVerify {
			bad("verification_token", "must be set in webhook mode (or set insecure_skip_verify: true for local development only; "+
				"mode: websocket needs only app_id and app_secret)")
		}
	case ModeWebSocket:
		// The long connection authenticates with app_id/app_secret when it
		// connects; events on it are neither signed nor encrypted.
		if c.EncryptKey != "" {
			bad("encrypt_key", "is not used in websocket mode (events on the long connection are not encrypted): remove it, or use mode: webhook")
		}
		if c.InsecureSkipVerify {
			bad("insecure_skip_verify", "has no meaning in websocket mode: remove it")
		}
	default:
		bad("mode", "must be %q (Feishu POSTs events to /webhook/feishu: needs app_id, app_secret, verification_token, optionally encrypt_key) "+
			"or %q (Gavel opens the long connection: needs app_id and app_secret only), got %q", ModeWebhook, ModeWebSocket, c.Mode)
	}
	if c.DisconnectedGrace < 0 {
		bad("disconnected_grace", "must not be negative, got %s", c.DisconnectedGrace)
	}
	if c.ReplayWindow < 0 {
		bad("replay_window", "must not be negative, got %s", c.ReplayWindow)
	}
	if c.DedupTTL != 0 && c.DedupTTL <= RetrySchedule {
		errs = append(errs, fmt.Errorf("server.dedup_ttl: %s does not exceed Feishu's retry schedule (%s after a failed delivery); "+
			"a re-pushed event would run twice (default %s)", c.DedupTTL, RetrySchedule, DefaultDedupTTL))
	}
	if c.RefusalCacheTTL < 0 {
		bad("refusal_cache_ttl", "must not be negative, got %s", c.RefusalCacheTTL)
	}
	if c.Rate.PerSecond < 0 {
		bad("rate.per_second", "must not be negative, got %v", c.Rate.PerSecond)
	}
	if c.Rate.Burst < 0 {
		bad("rate.burst", "must not be negative, got %d", c.Rate.Burst)
	}
	if c.Rate.MaxAttempts < 0 {
		bad("rate.max_attempts", "must not be negative, got %d", c.Rate.MaxAttempts)
	}
	return errors.Join(errs...)
}
