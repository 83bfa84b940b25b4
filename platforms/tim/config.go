package tim

import (
	"fmt"
	"net/url"
	"time"

	"gavel/platforms/egress"
)

// Defaults applied by New to zero-valued Config fields.
const (
	DefaultBaseURL      = "https://console.tim.qq.com"
	DefaultReplayWindow = 60 * time.Second
	// GroupInfoTTL is how long a group's type (get_group_info) is reused;
	// roles are not cached here (the pipeline's role cache is the one).
	GroupInfoTTL      = time.Minute
	DefaultUserSigTTL = 24 * time.Hour
	// DefaultRatePerSecond is TIM's default frequency limit per REST API.
	DefaultRatePerSecond = 200
	// DefaultNameCacheTTL is how long members' name cards and nicknames
	// are kept for matching mentions.
	DefaultNameCacheTTL = 10 * time.Minute
	// DefaultMentionLookupTimeout bounds the name look-ups of one callback,
	// well inside TIM's 2 s callback deadline.
	DefaultMentionLookupTimeout = 500 * time.Millisecond
	// maxMentionLookupTimeout keeps the look-ups under that deadline.
	maxMentionLookupTimeout = 1500 * time.Millisecond
	// maxUserSigTTL is the longest validity the UserSig doc allows (50 years).
	maxUserSigTTL = 50 * 365 * 24 * time.Hour
	// minUserSigTTL keeps regeneration from running on every call.
	minUserSigTTL = time.Minute
	// maxIdentifierLen is TIM's UserID length limit in bytes.
	maxIdentifierLen = 32
)

// Config is the `platforms.tim` section of config.yaml.
type Config struct {
	// BaseURL is the regional REST domain, e.g. https://adminapisgp.im.qcloud.com.
	BaseURL string `yaml:"base_url"`
	// SDKAppID is the application ID from the console.
	SDKAppID int `yaml:"sdk_app_id"`
	// SecretKey is the console key UserSigs are signed with.
	SecretKey string `yaml:"secret_key"`
	// AdminIdentifier is the App admin account REST calls and replies use.
	AdminIdentifier string `yaml:"admin_identifier"`
	// CallbackToken is the callback-authentication token set in the console;
	// callbacks must carry Sign = sha256(token + RequestTime).
	CallbackToken string `yaml:"callback_token"`
	// InsecureSkipVerify accepts unsigned callbacks when no CallbackToken is
	// set (mutual TLS or an allow-list in front of Gavel).
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// ReplayWindow bounds |now − RequestTime|; default 60s.
	ReplayWindow time.Duration `yaml:"replay_window"`
	// SilentKick removes members with Silence=1 even when a command does not
	// ask for it.
	SilentKick bool `yaml:"silent_kick"`
	// UserSigTTL is the validity of generated UserSigs; default 24h.
	UserSigTTL time.Duration `yaml:"usersig_ttl"`
	// Rate overrides the pacing and retry limits of every REST API caller;
	// PerSecond defaults to 200 (TIM's default per-API limit).
	Rate egress.Limits `yaml:"rate"`
	// PreSendAction is how Group.CallbackBeforeSendMsg blocks a message
	// the Gate matched: "reject" (default; ErrorCode 1, the sender's client
	// gets error 10016 and knows the message was not delivered) or "drop"
	// (ErrorCode 2, the sender sees success and nobody else sees the
	// message).
	PreSendAction string `yaml:"presend_action"`
	// NameCacheTTL is how long a member's group name card and nickname are
	// cached; mentions are matched in the text by them. Default 10m.
	NameCacheTTL time.Duration `yaml:"name_cache_ttl"`
	// MentionLookupTimeout bounds the get_specified_group_member_info and
	// portrait_get look-ups made while answering one callback; a mention
	// whose name is not known by then makes the command refused with a
	// usage reply. Default 500ms, at most 1.5s (TIM waits 2 s).
	MentionLookupTimeout time.Duration `yaml:"mention_lookup_timeout"`
}

// PreSendAction values.
const (
	PreSendReject = "reject"
	PreSendDrop   = "drop"
)

// Validate reports the first invalid key, named as in config.yaml.
func (c Config) Validate() error {
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return keyErr("base_url", "must be an absolute http(s) URL")
		}
		if u.RawQuery != "" || u.Fragment != "" {
			return keyErr("base_url", "must not carry a query or fragment")
		}
	}
	if c.SDKAppID <= 0 {
		return keyErr("sdk_app_id", "must be set to the application's SDKAppID")
	}
	if c.SecretKey == "" {
		return keyErr("secret_key", "must be set")
	}
	switch {
	case c.AdminIdentifier == "":
		return keyErr("admin_identifier", "must be set to an App admin account")
	case len(c.AdminIdentifier) > maxIdentifierLen:
		return keyErr("admin_identifier", fmt.Sprintf("must be at most %d bytes", maxIdentifierLen))
	}
	if c.CallbackToken == "" && !c.InsecureSkipVerify {
		return keyErr("callback_token", "must be set (or set insecure_skip_verify: true to accept unsigned callbacks)")
	}
	if c.ReplayWindow < 0 {
		return keyErr("replay_window", "must not be negative")
	}
	if c.UserSigTTL != 0 && (c.UserSigTTL < minUserSigTTL || c.UserSigTTL > maxUserSigTTL) {
		return keyErr("usersig_ttl", "must be between 1m and 50 years")
	}
	switch {
	case c.Rate.PerSecond < 0:
		return keyErr("rate.per_second", "must not be negative")
	case c.Rate.Burst < 0:
		return keyErr("rate.burst", "must not be negative")
	case c.Rate.MaxAttempts < 0:
		return keyErr("rate.max_attempts", "must not be negative")
	case c.Rate.BaseDelay < 0:
		return keyErr("rate.base_delay", "must not be negative")
	case c.Rate.MaxDelay < 0:
		return keyErr("rate.max_delay", "must not be negative")
	}
	if c.NameCacheTTL < 0 {
		return keyErr("name_cache_ttl", "must not be negative")
	}
	if c.MentionLookupTimeout < 0 || c.MentionLookupTimeout > maxMentionLookupTimeout {
		return keyErr("mention_lookup_timeout", "must be between 0 and 1.5s (TIM waits 2s for the callback answer)")
	}
	switch c.PreSendAction {
	case "", PreSendReject, PreSendDrop:
	default:
		return keyErr("presend_action", `must be "reject" or "drop"`)
	}
	return nil
}

func keyErr(key, msg string) error {
	return fmt.Errorf("platforms.tim.%s: %s", key, msg)
}

func (c Config) withDefaults() Config {
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	if c.ReplayWindow == 0 {
		c.ReplayWindow = DefaultReplayWindow
	}
	if c.UserSigTTL == 0 {
		c.UserSigTTL = DefaultUserSigTTL
	}
	if c.Rate.PerSecond == 0 {
		c.Rate.PerSecond = DefaultRatePerSecond
	}
	if c.PreSendAction == "" {
		c.PreSendAction = PreSendReject
	}
	if c.NameCacheTTL == 0 {
		c.NameCacheTTL = DefaultNameCacheTTL
	}
	if c.MentionLookupTimeout == 0 {
		c.MentionLookupTimeout = DefaultMentionLookupTimeout
	}
	return c
}
