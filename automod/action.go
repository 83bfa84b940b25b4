package automod

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"gavel/moderation"
)

// ActionKind is what a rule does to the offender (or, for a lock, to the
// chat).
type ActionKind string

const (
	ActionWarn   ActionKind = "warn"
	ActionDelete ActionKind = "delete" // recall the message (where the platform can)
	ActionKick   ActionKind = "kick"
	ActionMute   ActionKind = "mute"
	// ActionBan removes the offender and keeps them out, for Duration or
	// (zero) until /unban.
	ActionBan ActionKind = "ban"
	// ActionLock lets only the owner and admins speak in the chat for
	// Duration (always set; moderation.Forever: until /unlock). Its hit
	// names no user.
	ActionLock ActionKind = "lock"
	// ActionPurge recalls the offender's recent messages
	// (commands.purge_user_count of them).
	ActionPurge ActionKind = "purge"
)

// Verb is the moderation verb that carries the action out. Config
// validation admits only the kinds above; anything else is a warning, the
// mildest action.
func (k ActionKind) Verb() moderation.Verb {
	switch k {
	case ActionDelete:
		return moderation.VerbDelete
	case ActionKick:
		return moderation.VerbKick
	case ActionMute:
		return moderation.VerbMute
	case ActionBan:
		return moderation.VerbBan
	case ActionLock:
		return moderation.VerbLock
	case ActionPurge:
		return moderation.VerbPurge
	}
	return moderation.VerbWarn
}

// Action is a rule's consequence. In YAML it is one string: "warn",
// "delete", "kick", "purge", "mute" (the pipeline's default mute),
// "mute 10m", "mute 1d", "mute forever", "ban" (until /unban), "ban 1d",
// "lock 10m", "lock forever" (until /unlock).
type Action struct {
	Kind ActionKind
	// Duration of a mute, ban or lock: positive (at most
	// moderation.MaxMute), moderation.Forever, or zero for the pipeline's
	// default (a mute: moderation.default_mute; a ban: until /unban). A
	// lock always has one.
	Duration time.Duration
}

const actionHelp = "want warn, delete, kick, purge, mute [duration], ban [duration] or lock duration"

// ParseAction parses the YAML form of an Action.
func ParseAction(s string) (Action, error) {
	fields := strings.Fields(strings.ToLower(s))
	if len(fields) == 0 {
		return Action{}, errors.New("empty action (" + actionHelp + ")")
	}
	kind := ActionKind(fields[0])
	switch kind {
	case ActionWarn, ActionDelete, ActionKick, ActionPurge:
		if len(fields) > 1 {
			return Action{}, fmt.Errorf("%q: %s takes no argument", truncate(s, 64), kind)
		}
		return Action{Kind: kind}, nil
	case ActionMute, ActionBan, ActionLock:
		switch {
		case len(fields) == 1 && kind == ActionLock:
			return Action{}, fmt.Errorf("%q: a lock needs a duration, such as lock 10m (or lock forever)", truncate(s, 64))
		case len(fields) == 1:
			return Action{Kind: kind}, nil
		case len(fields) > 2:
			return Action{}, fmt.Errorf("%q: want %s [duration]", truncate(s, 64), kind)
		case fields[1] == "forever" || fields[1] == "permanent":
			return Action{Kind: kind, Duration: moderation.Forever}, nil
		}
		d, err := moderation.ParseMute(fields[1])
		if err != nil {
			return Action{}, fmt.Errorf("%q: %w", truncate(s, 64), err)
		}
		return Action{Kind: kind, Duration: d}, nil
	}
	return Action{}, fmt.Errorf("%q: unknown action (%s)", truncate(s, 64), actionHelp)
}

// String returns the YAML form: "warn", "mute 10m", "mute 1d", "mute
// forever", "ban", "lock 10m".
func (a Action) String() string {
	switch {
	case a.Duration == 0 || a.Kind != ActionMute && a.Kind != ActionBan && a.Kind != ActionLock:
		return string(a.Kind)
	case a.Duration == moderation.Forever:
		return string(a.Kind) + " forever"
	}
	return string(a.Kind) + " " + moderation.FormatDuration(a.Duration)
}

// UnmarshalYAML decodes the string form.
func (a *Action) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: action must be a string such as \"mute 10m\"", n.Line)
	}
	v, err := ParseAction(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: action %w", n.Line, err)
	}
	*a = v
	return nil
}

// MarshalText encodes the string form (YAML and JSON).
func (a Action) MarshalText() ([]byte, error) { return []byte(a.String()), nil }
