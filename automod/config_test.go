package automod

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"gavel/moderation"
)

const exampleYAML = `
enabled: true
notices_per_minute: 6
exempt: ["tim:helper_bot"]
defaults:
  flood:     { enabled: true, action: mute 10m, messages: 6, per: 10s }
  blocklist:
    enabled: true
    action: delete
    normalize_width: true
    words: ["spam", "广告", "buy now"]
    patterns: ['fr[e3]{2}\s+m[o0]ney', '(a+)+$']
  mentions:  { enabled: true, action: warn, max: 8 }
  links:     { enabled: true, action: delete, dry_run: true, allow: [example.com, "*.gavel.dev"] }
  raid:      { enabled: true, action: kick, joins: 10, per: 30s, exempt: ["tim:greeter"] }
chats:
  "tim:@TGS#quiet":
    flood: { enabled: false }
  "feishu:oc_1":
    blocklist: { enabled: true, action: mute 1d, words: [eggs] }
warnings:
  expire_after: 720h
  ladder:
    - { count: 3, action: mute 1h }
    - { count: 5, action: kick }
`

func decode(t *testing.T, src string) (Config, error) {
	t.Helper()
	var c Config
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	err := dec.Decode(&c)
	return c, err
}

func TestExampleConfig(t *testing.T) {
	t.Parallel()
	cfg, err := decode(t, exampleYAML)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := cfg.Defaults.Flood.Action; got != (Action{ActionMute, 10 * time.Minute}) {
		t.Errorf("flood action = %+v", got)
	}
	if got := cfg.Warnings.Ladder[0].Action.String(); got != "mute 1h" {
		t.Errorf("ladder[0] = %q", got)
	}
	if got := cfg.Chats["feishu:oc_1"].Blocklist.Action.String(); got != "mute 1d" {
		t.Errorf("chat action = %q", got)
	}
	e, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	quiet := moderation.ChatRef{Platform: "tim", ID: "@TGS#quiet"}
	if e.rules(quiet).flood != nil || e.rules(quiet).blocklist != e.defaults.blocklist {
		t.Error("quiet chat: flood must be off and the default blocklist shared")
	}
	// Round trip: Action marshals to its string form.
	var buf bytes.Buffer
	if err := yaml.NewEncoder(&buf).Encode(cfg.Defaults.Flood); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "action: mute 10m") {
		t.Errorf("encoded: %s", buf.String())
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml, want string
	}{
		{"bad pattern", `defaults: {blocklist: {enabled: true, action: delete, patterns: ['ok', 'a(b']}}`, `automod.defaults.blocklist.patterns[1]: error parsing regexp: missing closing )`},
		{"bad pattern in disabled rule", `defaults: {blocklist: {patterns: ['[z-a]']}}`, `automod.defaults.blocklist.patterns[0]: error parsing regexp: invalid character class range`},
		{"huge repetition", `defaults: {blocklist: {enabled: true, action: delete, patterns: ['(a{1000}){1000}']}}`, `automod.defaults.blocklist.patterns[0]:`},
		{"blank word", `defaults: {blocklist: {enabled: true, action: delete, words: [a, "  "]}}`, `automod.defaults.blocklist.words[1]: must not be blank`},
		{"invisible word", `defaults: {blocklist: {enabled: true, action: delete, words: ["\u200b\u3000"], normalize_width: true}}`, `automod.defaults.blocklist.words[0]: must not be blank`},
		{"blocklist empty", `defaults: {blocklist: {enabled: true, action: delete}}`, `automod.defaults.blocklist: enabled with no words and no patterns`},
		{"missing action", `defaults: {mentions: {enabled: true, max: 3}}`, `automod.defaults.mentions.action: must be set`},
		{"delete on raid", `defaults: {raid: {enabled: true, action: delete, joins: 3, per: 10s}}`, `automod.defaults.raid.action: "delete" is not allowed here`},
		{"chat flood per", `chats: {"tim:g1": {flood: {enabled: true, action: warn, messages: 5}}}`, `automod.chats["tim:g1"].flood.per: must be a positive duration`},
		{"chat flood messages", `chats: {"tim:g1": {flood: {enabled: true, action: warn, per: 10s}}}`, `automod.chats["tim:g1"].flood.messages: must be at least 1`},
		{"flood window too long", `defaults: {flood: {enabled: true, action: warn, messages: 3, per: 48h}}`, `automod.defaults.flood.per: must be at most`},
		{"raid too many", `defaults: {raid: {enabled: true, action: kick, joins: 100000, per: 10s}}`, `automod.defaults.raid.joins: must be at most 10000`},
		{"chat key", `chats: {"g1": {}}`, `automod.chats["g1"]: key must be platform:chat_id`},
		{"exempt", `exempt: ["tim:a", "bob"]`, `automod.exempt[1]: "bob" is not platform:user_id`},
		{"rule exempt", `defaults: {mentions: {enabled: true, action: warn, max: 3, exempt: [":x"]}}`, `automod.defaults.mentions.exempt[0]`},
		{"allow url", `defaults: {links: {enabled: true, action: delete, allow: ["https://x.com/"]}}`, `automod.defaults.links.allow[0]: "https://x.com/" is not a domain`},
		{"mentions max", `defaults: {mentions: {enabled: true, action: warn}}`, `automod.defaults.mentions.max: must be at least 1`},
		{"notices", `notices_per_minute: -1`, `automod.notices_per_minute: must not be negative`},
		{"ladder order", `warnings: {ladder: [{count: 3, action: kick}, {count: 3, action: kick}]}`, `automod.warnings.ladder[1].count: 3 must be greater than the previous step's 3`},
		{"ladder action", `warnings: {ladder: [{count: 3, action: delete}]}`, `automod.warnings.ladder[0].action: "delete" is not allowed here (mute, kick, ban, purge)`},
		{"ladder lock", `warnings: {ladder: [{count: 3, action: lock 10m}]}`, `automod.warnings.ladder[0].action: a lock acts on the whole chat`},
		{"ladder without action", `warnings: {ladder: [{count: 3}]}`, `automod.warnings.ladder[0].action: must be set`},
		{"action and actions", `defaults: {raid: {enabled: true, action: kick, actions: [lock 10m], joins: 5, per: 10s}}`, `automod.defaults.raid: set action or actions, not both`},
		{"actions repeat a kind", `defaults: {raid: {enabled: true, actions: [kick, lock 10m, kick], joins: 5, per: 10s}}`, `automod.defaults.raid.actions[2]: kick is listed twice`},
		{"raid delete", `defaults: {raid: {enabled: true, actions: [kick, delete], joins: 5, per: 10s}}`, `automod.defaults.raid.actions[1]: "delete" is not allowed here`},
		{"chat raid lock", `chats: {"tim:g1": {raid: {enabled: true, action: delete, joins: 5, per: 10s}}}`, `automod.chats["tim:g1"].raid.action: "delete" is not allowed here (warn, mute, kick, ban, purge, lock)`},
		{"ok raid lock", `defaults: {raid: {enabled: true, action: lock 10m, joins: 5, per: 10s}}`, ``},
		{"ok raid kick and lock", `defaults: {raid: {enabled: true, actions: [kick, lock 10m], joins: 5, per: 10s}}`, ``},
		{"ok message rules ban and purge", `defaults: {blocklist: {enabled: true, actions: [purge, ban 1d], words: [spam]}, flood: {enabled: true, action: ban, messages: 5, per: 10s}}`, ``},
		{"ok ladder ban and purge", `warnings: {ladder: [{count: 2, action: purge}, {count: 3, action: ban 7d}, {count: 4, action: ban}]}`, ``},
		{"expiry", `warnings: {expire_after: -1h}`, `automod.warnings.expire_after: must not be negative`},
		{"ok minimal", `enabled: false`, ``},
		{"ok disabled override without fields", `chats: {"tim:g1": {flood: {enabled: false}, raid: {enabled: false}}}`, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := decode(t, tt.yaml)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			err = cfg.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want containing %q", err, tt.want)
			}
			if _, err := New(cfg, nil); err == nil {
				t.Error("New accepted an invalid config")
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	for _, src := range []string{
		`defaults: {flood: {action: "mute 10 minutes"}}`,
		`defaults: {flood: {action: explode}}`,
		`defaults: {flood: {action: [mute]}}`,
		`defaults: {raid: {actions: kick}}`,
		`defaults: {raid: {actions: [kick, lock]}}`,
		`defaults: {flood: {enabled: true, bogus: 1}}`,
	} {
		if _, err := decode(t, src); err == nil {
			t.Errorf("%s: decoded", src)
		}
	}
}

func TestParseAction(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Action
		str  string
		err  bool
	}{
		{"warn", Action{Kind: ActionWarn}, "warn", false},
		{" Delete ", Action{Kind: ActionDelete}, "delete", false},
		{"kick", Action{Kind: ActionKick}, "kick", false},
		{"mute", Action{Kind: ActionMute}, "mute", false},
		{"mute 10m", Action{ActionMute, 10 * time.Minute}, "mute 10m", false},
		{"mute 90s", Action{ActionMute, 90 * time.Second}, "mute 1m30s", false},
		{"mute 1h30m", Action{ActionMute, 90 * time.Minute}, "mute 1h30m", false},
		{"MUTE 2d", Action{ActionMute, 48 * time.Hour}, "mute 2d", false},
		{"mute 24h", Action{ActionMute, 24 * time.Hour}, "mute 1d", false},
		{"mute forever", Action{ActionMute, moderation.MuteForever}, "mute forever", false},
		{"", Action{}, "", true},
		{"ban", Action{Kind: ActionBan}, "ban", false},
		{"ban 1d", Action{ActionBan, 24 * time.Hour}, "ban 1d", false},
		{"Ban 1天", Action{ActionBan, 24 * time.Hour}, "ban 1d", false},
		{"ban forever", Action{ActionBan, moderation.Forever}, "ban forever", false},
		{"lock 10m", Action{ActionLock, 10 * time.Minute}, "lock 10m", false},
		{"lock 30分钟", Action{ActionLock, 30 * time.Minute}, "lock 30m", false},
		{"lock forever", Action{ActionLock, moderation.Forever}, "lock forever", false},
		{"purge", Action{Kind: ActionPurge}, "purge", false},
		{"lock", Action{}, "", true},
		{"lock 0s", Action{}, "", true},
		{"ban 400d", Action{}, "", true},
		{"ban 1d spam", Action{}, "", true},
		{"purge 50", Action{}, "", true},
		{"unban", Action{}, "", true},
		{"kick now", Action{}, "", true},
		{"mute 0s", Action{}, "", true},
		{"mute -5m", Action{}, "", true},
		{"mute 400d", Action{}, "", true},
		{"mute 10m extra", Action{}, "", true},
		{"mute ten", Action{}, "", true},
	}
	for _, tt := range tests {
		got, err := ParseAction(tt.in)
		if (err != nil) != tt.err {
			t.Errorf("ParseAction(%q) error = %v", tt.in, err)
			continue
		}
		if got != tt.want || (!tt.err && got.String() != tt.str) {
			t.Errorf("ParseAction(%q) = %+v (%q), want %+v (%q)", tt.in, got, got.String(), tt.want, tt.str)
		}
	}
}

func TestActionKindVerb(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind ActionKind
		want moderation.Verb
	}{
		{ActionWarn, moderation.VerbWarn},
		{ActionDelete, moderation.VerbDelete},
		{ActionKick, moderation.VerbKick},
		{ActionMute, moderation.VerbMute},
		{ActionBan, moderation.VerbBan},
		{ActionLock, moderation.VerbLock},
		{ActionPurge, moderation.VerbPurge},
		{"", moderation.VerbWarn},
		{"unban", moderation.VerbWarn},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			t.Parallel()
			if got := tt.kind.Verb(); got != tt.want {
				t.Errorf("%q.Verb() = %q, want %q", tt.kind, got, tt.want)
			}
		})
	}
}
