package automod

import (
	"slices"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"gavel/moderation"
)

func actions(tb testing.TB, ss ...string) Common {
	tb.Helper()
	c := Common{Enabled: true}
	for _, s := range ss {
		a, err := ParseAction(s)
		if err != nil {
			tb.Fatalf("ParseAction(%q): %v", s, err)
		}
		c.Actions = append(c.Actions, a)
	}
	return c
}

// hitShape is what the pipeline reads of a hit.
type hitShape struct {
	action    string
	users     []string
	messageID string
}

func shapes(hits []Hit) []hitShape {
	var out []hitShape
	for _, h := range hits {
		out = append(out, hitShape{h.Action.String(), h.Users, h.MessageID})
	}
	return out
}

func equalShapes(a, b []hitShape) bool {
	return slices.EqualFunc(a, b, func(x, y hitShape) bool {
		return x.action == y.action && slices.Equal(x.users, y.users) && x.messageID == y.messageID
	})
}

// TestRaidLock: a raid rule may lock the chat instead of, or besides,
// kicking the joiners; the lock's hit names no user.
func TestRaidLock(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		common Common
		want   []hitShape
	}{
		{"lock instead of kicking", actions(t, "lock 10m"), []hitShape{{"lock 10m", nil, ""}}},
		{"lock in the action key", on("lock 10m"), []hitShape{{"lock 10m", nil, ""}}},
		{"kick and lock, in order", actions(t, "kick", "lock 10m"),
			[]hitShape{{"kick", []string{"a", "b", "c"}, ""}, {"lock 10m", nil, ""}}},
		{"ban then lock forever", actions(t, "ban 1d", "lock forever"),
			[]hitShape{{"ban 1d", []string{"a", "b", "c"}, ""}, {"lock forever", nil, ""}}},
		{"old config: kick alone", on("kick"), []hitShape{{"kick", []string{"a", "b", "c"}, ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			e := newEngine(t, Config{Enabled: true, Defaults: Rules{Raid: &RaidRule{Common: tt.common, Joins: 2, Per: 10 * time.Second}}}, clk)
			if hits := e.Join(&moderation.Join{Chat: chat, UserIDs: []string{"a", "b"}}); len(hits) != 0 {
				t.Fatalf("below the limit: %+v", hits)
			}
			clk.Advance(time.Second)
			hits := e.Join(&moderation.Join{Chat: chat, UserIDs: []string{"c"}})
			if got := shapes(hits); !equalShapes(got, tt.want) {
				t.Fatalf("hits = %+v, want %+v", got, tt.want)
			}
			for _, h := range hits {
				if h.Rule != RuleRaid || h.Chat != chat || h.Match != "3 joins in 10s" {
					t.Errorf("hit = %+v", h)
				}
			}
		})
	}
}

// TestMessageRuleSanctions: message rules may ban, purge and lock; each
// action is its own hit carrying the offending message, but a lock's.
func TestMessageRuleSanctions(t *testing.T) {
	t.Parallel()
	e := newEngine(t, Config{Enabled: true, Defaults: Rules{
		Blocklist: &BlocklistRule{Common: actions(t, "delete", "purge", "ban 1d"), Words: []string{"spam"}},
		Links:     &LinksRule{Common: actions(t, "ban", "lock 5m")},
	}}, nil)
	got := shapes(e.Message(msg("u1", "spam")))
	want := []hitShape{{"delete", []string{"u1"}, "m-u1"}, {"purge", []string{"u1"}, "m-u1"}, {"ban 1d", []string{"u1"}, "m-u1"}}
	if !equalShapes(got, want) {
		t.Fatalf("blocklist hits = %+v, want %+v", got, want)
	}
	got = shapes(e.Message(msg("u2", "see https://evil.example")))
	want = []hitShape{{"ban", []string{"u2"}, "m-u2"}, {"lock 5m", nil, ""}}
	if !equalShapes(got, want) {
		t.Fatalf("links hits = %+v, want %+v", got, want)
	}
	// PreSend reports the rule with its first action.
	if h, reject := e.PreSend(chat, "u3", "spam"); !reject || h.Action.Kind != ActionDelete {
		t.Fatalf("PreSend = %+v, %v", h, reject)
	}
}

// TestFloodDeleteAmongActions: a flood rule that deletes, among other
// actions, hits every message over the limit (each must be recalled).
func TestFloodDeleteAmongActions(t *testing.T) {
	t.Parallel()
	clk := newClock()
	e := newEngine(t, Config{Enabled: true, Defaults: Rules{Flood: &FloodRule{Common: actions(t, "mute 1m", "delete"), Messages: 2, Per: time.Minute}}}, clk)
	var n int
	for range 5 {
		clk.Advance(time.Second)
		n += len(e.Message(msg("u1", "x")))
	}
	if n != 3*2 { // messages 3, 4 and 5, two actions each
		t.Fatalf("flood hits = %d, want 6", n)
	}
}

// TestSanctionConfigYAML: the config reads as written in config.yaml, and
// the hits carry the verbs and durations the pipeline's RuleHit takes.
func TestSanctionConfigYAML(t *testing.T) {
	t.Parallel()
	var cfg Config
	if err := yaml.Unmarshal([]byte(`
enabled: true
defaults:
  raid: {enabled: true, joins: 2, per: 10s, actions: [kick, lock 10m]}
  flood: {enabled: true, messages: 2, per: 1m, action: ban 1天}
warnings:
  ladder:
    - {count: 2, action: purge}
    - {count: 3, action: ban 7d}
`), &cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := cfg.Defaults.Raid.ActionList(); len(got) != 2 || got[1] != (Action{ActionLock, 10 * time.Minute}) {
		t.Fatalf("raid actions = %v", got)
	}
	if got := cfg.Defaults.Flood.Action; got != (Action{ActionBan, 24 * time.Hour}) {
		t.Fatalf("flood action = %v", got)
	}
	for count, want := range map[int]Action{2: {Kind: ActionPurge}, 3: {ActionBan, 7 * 24 * time.Hour}} {
		if got, ok := cfg.Warnings.Escalation(count); !ok || got != want {
			t.Errorf("Escalation(%d) = %v, %v; want %v", count, got, ok, want)
		}
	}
	out, err := yaml.Marshal(cfg.Defaults.Raid)
	if err != nil {
		t.Fatal(err)
	}
	var back RaidRule
	if err := yaml.Unmarshal(out, &back); err != nil || !slices.Equal(back.ActionList(), cfg.Defaults.Raid.ActionList()) {
		t.Fatalf("round trip %s: %+v, %v", out, back, err)
	}
}

// TestValidateBuiltActions: actions built in code (not parsed) are
// checked as strictly as parsed ones.
func TestValidateBuiltActions(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]Common{
		"lock without duration": {Enabled: true, Action: Action{Kind: ActionLock}},
		"kick with a duration":  {Enabled: true, Action: Action{ActionKick, time.Minute}},
		"ban too long":          {Enabled: true, Actions: []Action{{ActionBan, moderation.MaxMute + time.Second}}},
		"negative lock":         {Enabled: true, Actions: []Action{{ActionLock, -time.Minute}}},
		"empty in a list":       {Enabled: true, Actions: []Action{{Kind: ActionKick}, {}}},
	} {
		cfg := Config{Defaults: Rules{Raid: &RaidRule{Common: c, Joins: 2, Per: time.Second}}}
		if err := cfg.Validate(); err == nil {
			t.Errorf("%s: Validate accepted %+v", name, c)
		}
	}
}
