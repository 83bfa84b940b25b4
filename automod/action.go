package automod

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"gavel/moderation"
)

// ActionKind is what a rule does to the offender.
type ActionKind string

const (
	ActionWarn   ActionKind = "warn"
	ActionDelete ActionKind = "delete" // recall the message (where the platform can)
	ActionKick   ActionKind = "kick"
	ActionMute   ActionKind = "mute"
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
	}
	return moderation.VerbWarn
}

// Action is a rule's consequence. In YAML it is one string: "warn",
// "delete", "kick", "mute" (the pipeline's default mute), "mute 10m",
// "mute 1d" or "mute forever".
type Action struct {
	Kind ActionKind
	// Duration of a mute: positive, moderation.MuteForever, or zero for the
	// pipeline's default mute duration.
	Duration time.Duration
}

// ParseAction parses the YAML form of an Action.
func ParseAction(s string) (Action, error) {
	fields := strings.Fields(strings.ToLower(s))
	if len(fields) == 0 {
		return Action{}, errors.New("empty action (want warn, delete, kick or mute [duration])")
	}
	kind := ActionKind(fields[0])
	switch kind {
	case ActionWarn, ActionDelete, ActionKick:
		if len(fields) > 1 {
			return Action{}, fmt.Errorf("%q: %s takes no argument", truncate(s, 64), kind)
		}
		return Action{Kind: kind}, nil
	case ActionMute:
		switch len(fields) {
		case 1:
			return Action{Kind: ActionMute}, nil
		case 2:
			if fields[1] == "forever" || fields[1] == "permanent" {
				return Action{Kind: ActionMute, Duration: moderation.MuteForever}, nil
			}
			d, err := moderation.ParseMute(fields[1])
			if err != nil {
				return Action{}, fmt.Errorf("%q: %w", truncate(s, 64), err)
			}
			return Action{Kind: ActionMute, Duration: d}, nil
		}
		return Action{}, fmt.Errorf("%q: want mute [duration]", truncate(s, 64))
	}
	return Action{}, fmt.Errorf("%q: unknown action (want warn, delete, kick or mute [duration])", truncate(s, 64))
}

// String returns the YAML form: "warn", "mute 10m", "mute 1d", "mute forever".
func (a Action) String() string {
	switch {
	case a.Kind != ActionMute || a.Duration == 0:
		return string(a.Kind)
	case a.Duration == moderation.MuteForever:
		return "mute forever"
	}
	return "mute " + moderation.FormatDuration(a.Duration)
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
