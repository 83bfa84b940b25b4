package automod

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gavel/moderation"
)

// Limits enforced by Validate. They keep per-user and per-chat state small
// and rule evaluation bounded.
const (
	MaxFloodMessages = 1000
	MaxRaidJoins     = 10000
	MaxWindow        = 24 * time.Hour
	MaxWordLen       = 256  // bytes, per blocklist word
	MaxPatternLen    = 2048 // bytes, per blocklist pattern
	MaxMuteDuration  = moderation.MaxMute
)

// Config is the `automod:` block of config.yaml.
type Config struct {
	// Enabled is the master switch: while false the engine never hits.
	Enabled bool `yaml:"enabled"`
	// NoticesPerMinute caps the bot's notices per chat in any 60 s window;
	// default 6.
	NoticesPerMinute int `yaml:"notices_per_minute"`
	// Defaults apply to every chat.
	Defaults Rules `yaml:"defaults"`
	// Chats holds per-chat overrides keyed "platform:chat_id". A rule block
	// present for a chat REPLACES the default block of that rule for that
	// chat (no field-by-field merge); absent blocks inherit the default.
	Chats map[string]Rules `yaml:"chats"`
	// Exempt lists "platform:user_id" that no rule ever hits.
	Exempt []string `yaml:"exempt"`
	// Warnings configures warning expiry and the escalation ladder.
	Warnings WarningsConfig `yaml:"warnings"`
}

// Rules is one set of rule blocks; a nil block is absent.
type Rules struct {
	Flood     *FloodRule     `yaml:"flood"`
	Blocklist *BlocklistRule `yaml:"blocklist"`
	Mentions  *MentionsRule  `yaml:"mentions"`
	Links     *LinksRule     `yaml:"links"`
	Raid      *RaidRule      `yaml:"raid"`
}

// Common are the keys every rule block has. A block whose Enabled is false
// is inert; its remaining keys are still checked for syntax.
type Common struct {
	Enabled bool `yaml:"enabled"`
	DryRun  bool `yaml:"dry_run"`
	// Action is what the rule does. Actions lists several, carried out in
	// order, each its own hit: a raid's `actions: [kick, lock 10m]`. Set
	// one of the two.
	Action  Action   `yaml:"action,omitempty"`
	Actions []Action `yaml:"actions,omitempty"`
	// Exempt lists "platform:user_id" this rule never hits.
	Exempt []string `yaml:"exempt"`
}

// FloodRule hits a user who sends more than Messages messages within Per
// in one chat.
type FloodRule struct {
	Common   `yaml:",inline"`
	Messages int           `yaml:"messages"`
	Per      time.Duration `yaml:"per"`
}

// BlocklistRule hits a message containing a blocklisted word or matching a
// pattern.
type BlocklistRule struct {
	Common `yaml:",inline"`
	// Words match case-insensitively; a word edge in a Latin-like script
	// must fall on a word boundary, an edge in a CJK script matches inside
	// words (substring).
	Words []string `yaml:"words"`
	// Patterns are Go RE2 regular expressions, matched case-insensitively
	// against the normalised text (lower case, whitespace runs collapsed to
	// one space, width-folded when NormalizeWidth).
	Patterns []string `yaml:"patterns"`
	// NormalizeWidth folds full-width forms (ｓｐａｍ, ＵＲＬ) to ASCII and
	// half-width katakana to full-width before matching.
	NormalizeWidth bool `yaml:"normalize_width"`
}

// MentionsRule hits a message with more than Max distinct mentions.
type MentionsRule struct {
	Common `yaml:",inline"`
	Max    int `yaml:"max"`
}

// LinksRule hits a message with a link whose domain is not Allow-listed.
// An allowed domain also allows its subdomains.
type LinksRule struct {
	Common `yaml:",inline"`
	Allow  []string `yaml:"allow"`
}

// RaidRule hits the joiners when more than Joins users join one chat
// within Per. Its actions may kick or ban the joiners, and lock the chat
// instead or as well:
//
//	raid: {enabled: true, joins: 10, per: 10s, action: lock 10m}
//	raid: {enabled: true, joins: 10, per: 10s, actions: [kick, lock 10m]}
//
// A burst's later joiners get hits of their own, and so does the lock:
// the engine keeps no lock state, so the pipeline treats a lock of a chat
// already locked as done (without extending it) — across replicas too.
type RaidRule struct {
	Common `yaml:",inline"`
	Joins  int           `yaml:"joins"`
	Per    time.Duration `yaml:"per"`
}

// The actions each kind of rule may take.
var (
	messageActions = []ActionKind{ActionWarn, ActionDelete, ActionMute, ActionKick, ActionBan, ActionPurge, ActionLock}
	raidActions    = []ActionKind{ActionWarn, ActionMute, ActionKick, ActionBan, ActionPurge, ActionLock}
	// ladderActions: a step acts on the user who reached it; a lock
	// would act on the whole chat.
	ladderActions = []ActionKind{ActionMute, ActionKick, ActionBan, ActionPurge}
)

// Validate reports the first bad key, naming it.
func (c Config) Validate() error {
	if c.NoticesPerMinute < 0 {
		return errors.New("automod.notices_per_minute: must not be negative")
	}
	if err := validateUsers("automod.exempt", c.Exempt); err != nil {
		return err
	}
	if err := c.Defaults.validate("automod.defaults"); err != nil {
		return err
	}
	keys := make([]string, 0, len(c.Chats))
	for k := range c.Chats {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		prefix := fmt.Sprintf("automod.chats[%q]", k)
		if p, id, ok := strings.Cut(k, ":"); !ok || p == "" || id == "" {
			return fmt.Errorf("%s: key must be platform:chat_id", prefix)
		}
		if err := c.Chats[k].validate(prefix); err != nil {
			return err
		}
	}
	return c.Warnings.validate("automod.warnings")
}

func (r Rules) validate(prefix string) error {
	if f := r.Flood; f != nil {
		p := prefix + ".flood"
		if err := f.Common.validate(p, messageActions...); err != nil {
			return err
		}
		if err := validateWindow(p, f.Enabled, "messages", f.Messages, MaxFloodMessages, f.Per); err != nil {
			return err
		}
	}
	if b := r.Blocklist; b != nil {
		p := prefix + ".blocklist"
		if err := b.Common.validate(p, messageActions...); err != nil {
			return err
		}
		for i, w := range b.Words {
			switch {
			case len(trimSpace(normalize(nil, w, b.NormalizeWidth))) == 0:
				return fmt.Errorf("%s.words[%d]: must not be blank", p, i)
			case len(w) > MaxWordLen:
				return fmt.Errorf("%s.words[%d]: longer than %d bytes", p, i, MaxWordLen)
			}
		}
		for i, pat := range b.Patterns {
			if len(pat) > MaxPatternLen {
				return fmt.Errorf("%s.patterns[%d]: longer than %d bytes", p, i, MaxPatternLen)
			}
			if _, err := compilePattern(pat, b.NormalizeWidth); err != nil {
				return fmt.Errorf("%s.patterns[%d]: %w", p, i, err)
			}
		}
		if b.Enabled && len(b.Words) == 0 && len(b.Patterns) == 0 {
			return fmt.Errorf("%s: enabled with no words and no patterns", p)
		}
	}
	if m := r.Mentions; m != nil {
		p := prefix + ".mentions"
		if err := m.Common.validate(p, messageActions...); err != nil {
			return err
		}
		if m.Max < 0 || (m.Enabled && m.Max < 1) {
			return fmt.Errorf("%s.max: must be at least 1", p)
		}
	}
	if l := r.Links; l != nil {
		p := prefix + ".links"
		if err := l.Common.validate(p, messageActions...); err != nil {
			return err
		}
		for i, d := range l.Allow {
			if _, ok := normalizeAllowed(d); !ok {
				return fmt.Errorf("%s.allow[%d]: %q is not a domain such as example.com", p, i, truncate(d, 64))
			}
		}
	}
	if rd := r.Raid; rd != nil {
		p := prefix + ".raid"
		if err := rd.Common.validate(p, raidActions...); err != nil {
			return err
		}
		if err := validateWindow(p, rd.Enabled, "joins", rd.Joins, MaxRaidJoins, rd.Per); err != nil {
			return err
		}
	}
	return nil
}

func (c Common) validate(prefix string, allowed ...ActionKind) error {
	if err := validateUsers(prefix+".exempt", c.Exempt); err != nil {
		return err
	}
	switch {
	case c.Action.Kind != "" && len(c.Actions) > 0:
		return fmt.Errorf("%s: set action or actions, not both", prefix)
	case c.Action.Kind == "" && len(c.Actions) == 0:
		if c.Enabled {
			return fmt.Errorf("%s.action: must be set (%s)", prefix, kindList(allowed))
		}
		return nil
	case c.Action.Kind != "":
		return validateAction(prefix+".action", c.Action, allowed)
	}
	for i, a := range c.Actions {
		key := fmt.Sprintf("%s.actions[%d]", prefix, i)
		if err := validateAction(key, a, allowed); err != nil {
			return err
		}
		for _, b := range c.Actions[:i] {
			if b.Kind == a.Kind {
				return fmt.Errorf("%s: %s is listed twice", key, a.Kind)
			}
		}
	}
	return nil
}

// ActionList returns the rule's actions in order: Actions, or Action
// alone; nil when neither is set.
func (c Common) ActionList() []Action {
	if len(c.Actions) > 0 {
		return c.Actions
	}
	if c.Action.Kind == "" {
		return nil
	}
	return []Action{c.Action}
}

// validateAction checks one action of a rule or ladder step, whether it
// came from YAML (ParseAction) or was built in code.
func validateAction(key string, a Action, allowed []ActionKind) error {
	if a.Kind == "" {
		return fmt.Errorf("%s: must be set (%s)", key, kindList(allowed))
	}
	if !slices.Contains(allowed, a.Kind) {
		return fmt.Errorf("%s: %q is not allowed here (%s)", key, a.String(), kindList(allowed))
	}
	switch a.Kind {
	case ActionMute, ActionBan, ActionLock:
		if a.Duration < 0 && a.Duration != moderation.Forever || a.Duration > moderation.MaxMute {
			return fmt.Errorf("%s: %s duration out of range (positive, at most %s, or forever)", key, a.Kind, moderation.FormatDuration(moderation.MaxMute))
		}
		if a.Kind == ActionLock && a.Duration == 0 {
			return fmt.Errorf("%s: a lock needs a duration, such as lock 10m (or lock forever)", key)
		}
	default:
		if a.Duration != 0 {
			return fmt.Errorf("%s: %s takes no duration", key, a.Kind)
		}
	}
	return nil
}

func kindList(ks []ActionKind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

func validateWindow(prefix string, enabled bool, countKey string, count, maxCount int, per time.Duration) error {
	switch {
	case count < 0 || (enabled && count < 1):
		return fmt.Errorf("%s.%s: must be at least 1", prefix, countKey)
	case count > maxCount:
		return fmt.Errorf("%s.%s: must be at most %d", prefix, countKey, maxCount)
	case per < 0 || (enabled && per == 0):
		return fmt.Errorf("%s.per: must be a positive duration such as 10s", prefix)
	case per > MaxWindow:
		return fmt.Errorf("%s.per: must be at most %s", prefix, MaxWindow)
	}
	return nil
}

func validateUsers(key string, users []string) error {
	for i, u := range users {
		if p, id, ok := strings.Cut(u, ":"); !ok || p == "" || id == "" {
			return fmt.Errorf("%s[%d]: %q is not platform:user_id", key, i, truncate(u, 64))
		}
	}
	return nil
}

// truncate cuts s to at most n runes, marking a cut with "…".
func truncate(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j] + "…"
		}
		i++
	}
	return s
}
