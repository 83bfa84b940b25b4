// Package easemob connects Gavel to Easemob IM (环信即时通讯 IM): it verifies
// and parses the post-send callbacks (发送后回调) that carry admins'
// commands, screens pre-send callbacks (发送前回调) with a moderation.Gate
// to block messages before delivery, and it calls the chat-room and group
// REST APIs to mute, unmute and remove members and to reply in the chat.
package easemob

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"gavel/platforms/egress"
	"gavel/platforms/pathseg"
)

// Defaults applied by Config.WithDefaults.
const (
	DefaultReplayWindow = 5 * time.Minute
	// DefaultRate is Easemob's documented default for the member, mute,
	// admin and details APIs: 100 calls per second per App Key.
	DefaultRate = 100
	// DefaultGroupSendRate and DefaultRoomSendRate stay under the
	// documented 20 and 100 messages per second.
	DefaultGroupSendRate = 18
	DefaultRoomSendRate  = 90
	// DefaultNameCacheTTL is how long a looked-up nickname is cached.
	DefaultNameCacheTTL = 10 * time.Minute
	// DefaultMentionLookupTimeout bounds the nickname look-ups of one
	// callback, which is answered only after them.
	DefaultMentionLookupTimeout = 500 * time.Millisecond
	// maxMentionLookupTimeout keeps the callback's answer prompt: Easemob
	// documents no post-send deadline, but a slow answer holds the
	// delivery and repeated over-long responses count towards the
	// suspension of the app's callback rules.
	maxMentionLookupTimeout = 2 * time.Second
)

// Config is the `platforms.easemob` section of config.yaml.
type Config struct {
	// BaseURL is the REST host of the app's data center, e.g.
	// https://a1.easemob.com.
	BaseURL string `yaml:"base_url"`
	// OrgName and AppName are the two halves of the App Key org#app.
	OrgName string `yaml:"org_name"`
	AppName string `yaml:"app_name"`
	// ClientID and ClientSecret obtain the App Token.
	ClientID     string `yaml:"client_id"`
	ClientSecret string `yaml:"client_secret"`
	// CallbackSecret is the secret of the post-send callback rule; it signs
	// that rule's callbacks (security = md5(callId + secret + timestamp)).
	CallbackSecret string `yaml:"callback_secret"`
	// PreSendSecret is the secret of the pre-send callback rule (发送前回调).
	// Easemob generates one secret per rule, so it normally differs from
	// callback_secret; empty means the rule shares callback_secret.
	PreSendSecret string `yaml:"presend_secret"`
	// PreSendCode is the "code" answered with {"valid": false} when the
	// Gate blocks a message: the error text the sender's client gets when
	// the rule reports errors. Empty omits it (Easemob then reports
	// "custom logic denied").
	PreSendCode string `yaml:"presend_code"`
	// BotUser is the user ID Gavel replies as; its own messages are ignored.
	BotUser string `yaml:"bot_user"`
	// InsecureSkipVerify permits an empty CallbackSecret, which disables the
	// callback signature check. Only for local demos; a configured secret is
	// always checked.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// ReplayWindow bounds how far a callback's timestamp may be from now,
	// in both directions.
	ReplayWindow time.Duration `yaml:"replay_window"`
	// Rate paces every REST call of this App Key through one limiter,
	// message sends excepted.
	Rate egress.Limits `yaml:"rate"`
	// GroupSendRate and RoomSendRate pace replies (POST /messages/chatgroups
	// and /messages/chatrooms) in messages per second. Easemob limits group
	// sends to 20/s and chat-room sends to 100/s per App Key, apart from
	// the other APIs, and answers 429 or 403 "message send reach limit"
	// beyond; the defaults keep a margin.
	GroupSendRate float64 `yaml:"group_send_rate"`
	RoomSendRate  float64 `yaml:"room_send_rate"`
	// NameCacheTTL is how long a user's nickname (POST /metadata/user/get)
	// is cached; mentions are placed in the text by them. Default 10m.
	NameCacheTTL time.Duration `yaml:"name_cache_ttl"`
	// MentionLookupTimeout bounds the nickname look-ups made while
	// answering one callback; a mention whose nickname is not known by
	// then stays unplaced in the text. Default 500ms, at most 2s.
	MentionLookupTimeout time.Duration `yaml:"mention_lookup_timeout"`
}

// maxPreSendCode keeps the pre-send answer, JSON-escaped, far below
// Easemob's 1,000-character limit.
const maxPreSendCode = 128

var appNameRE = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)

// WithDefaults returns c with zero durations and rates replaced by their
// defaults.
func (c Config) WithDefaults() Config {
	c.BaseURL = strings.TrimRight(strings.TrimSpace(c.BaseURL), "/")
	if c.ReplayWindow == 0 {
		c.ReplayWindow = DefaultReplayWindow
	}
	if c.Rate.PerSecond == 0 {
		c.Rate.PerSecond = DefaultRate
	}
	if c.GroupSendRate == 0 {
		c.GroupSendRate = DefaultGroupSendRate
	}
	if c.RoomSendRate == 0 {
		c.RoomSendRate = DefaultRoomSendRate
	}
	if c.NameCacheTTL == 0 {
		c.NameCacheTTL = DefaultNameCacheTTL
	}
	if c.MentionLookupTimeout == 0 {
		c.MentionLookupTimeout = DefaultMentionLookupTimeout
	}
	return c
}

// Validate reports the first invalid key, named as in config.yaml.
func (c Config) Validate() error {
	c = c.WithDefaults()
	bad := func(key, msg string) error {
		return fmt.Errorf("platforms.easemob.%s: %s", key, msg)
	}
	if c.BaseURL == "" {
		return bad("base_url", "must be set")
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return bad("base_url", "must be an http(s) URL such as https://a1.easemob.com")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return bad("base_url", "must not carry a query or fragment")
	}
	if c.OrgName == "" {
		return bad("org_name", "must be set")
	}
	if strings.ContainsAny(c.OrgName, "/#?% ") || pathseg.Check(c.OrgName) != nil {
		return bad("org_name", "must be the part of the App Key before '#'")
	}
	if c.AppName == "" {
		return bad("app_name", "must be set")
	}
	if !appNameRE.MatchString(c.AppName) {
		return bad("app_name", "must be lowercase letters, digits or '-', at most 32 characters")
	}
	if c.ClientID == "" {
		return bad("client_id", "must be set")
	}
	if c.ClientSecret == "" {
		return bad("client_secret", "must be set")
	}
	if c.CallbackSecret == "" && !c.InsecureSkipVerify {
		return bad("callback_secret", "must be set (or set insecure_skip_verify: true for a local demo)")
	}
	if len(c.PreSendCode) > maxPreSendCode {
		return bad("presend_code", fmt.Sprintf("must be at most %d bytes (Easemob drops answers over 1,000 characters)", maxPreSendCode))
	}
	if c.BotUser == "" {
		return bad("bot_user", "must be set")
	}
	if c.ReplayWindow < 0 {
		return bad("replay_window", "must be positive")
	}
	if c.Rate.PerSecond < 0 {
		return bad("rate.per_second", "must not be negative")
	}
	if c.GroupSendRate < 0 {
		return bad("group_send_rate", "must not be negative")
	}
	if c.RoomSendRate < 0 {
		return bad("room_send_rate", "must not be negative")
	}
	if c.NameCacheTTL < 0 {
		return bad("name_cache_ttl", "must not be negative")
	}
	if c.MentionLookupTimeout < 0 || c.MentionLookupTimeout > maxMentionLookupTimeout {
		return bad("mention_lookup_timeout", "must be between 0 and 2s (the callback is answered only after the look-ups)")
	}
	if c.Rate.Burst < 0 {
		return bad("rate.burst", "must not be negative")
	}
	if c.Rate.MaxAttempts < 0 {
		return bad("rate.max_attempts", "must not be negative")
	}
	if c.Rate.BaseDelay < 0 || c.Rate.MaxDelay < 0 {
		return bad("rate", "delays must not be negative")
	}
	return nil
}
