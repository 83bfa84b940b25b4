// The configuration of joiner verification and member reports (#19).

package pipeline

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"gavel/moderation"
)

// VerifyConfig is one chat's verification of new joiners
// (moderation.verification."platform:chat_id").
type VerifyConfig struct {
	// Mode is "text" (a question answered by the joiner's next message)
	// or "button" (a card button only the joiner may press; Feishu).
	Mode string `yaml:"mode"`
	// Question, for mode text, is "arithmetic" (default) or "phrase".
	Question string `yaml:"question"`
	// Phrase is what the joiner types for question phrase.
	Phrase string `yaml:"phrase"`
	// Timeout is how long a joiner has from the challenge; default 5m.
	Timeout time.Duration `yaml:"timeout"`
	// OnTimeout is what happens to a joiner who does not pass in time:
	// "kick" (default), "ban <duration>" ("ban" alone: until /unban) or
	// "mute [duration]".
	OnTimeout string `yaml:"on_timeout"`
	// OnWrongAnswers is how many wrong answers end the challenge as a
	// timeout does; 0: wrong answers only cost time.
	OnWrongAnswers int `yaml:"on_wrong_answers"`
	// Hold is how an unverified joiner is kept from speaking: "presend"
	// (TIM, Easemob: the pre-send hook refuses their messages before
	// delivery, no API call per joiner; the hook must be configured on
	// the platform) or "recall" (their messages are recalled, the
	// emulated mute: Feishu's only way). Default: presend on TIM and
	// Easemob, recall on Feishu.
	Hold string `yaml:"hold"`
	// Gather is how long joiners are gathered into one challenge message
	// (a raid gets one message naming many); default 3s.
	Gather time.Duration `yaml:"gather"`
}

// sanctionSpec is a configured action: a verb and its length.
type sanctionSpec struct {
	verb moderation.Verb
	d    time.Duration // 0: the default mute, or a ban until lifted
}

// parseSanction reads "kick", "mute [d]" or "ban [d]".
func parseSanction(s string) (sanctionSpec, error) {
	f := strings.Fields(s)
	if len(f) == 0 || len(f) > 2 {
		return sanctionSpec{}, fmt.Errorf("%q: want kick, mute [duration] or ban [duration]", s)
	}
	spec := sanctionSpec{verb: moderation.Verb(strings.ToLower(f[0]))}
	switch spec.verb {
	case moderation.VerbKick:
		if len(f) > 1 {
			return sanctionSpec{}, fmt.Errorf("%q: kick takes no duration", s)
		}
		return spec, nil
	case moderation.VerbMute, moderation.VerbBan:
	default:
		return sanctionSpec{}, fmt.Errorf("%q: want kick, mute [duration] or ban [duration]", s)
	}
	if len(f) == 2 {
		d, err := moderation.ParseMute(f[1])
		if err != nil {
			return sanctionSpec{}, fmt.Errorf("%q: %w", s, err)
		}
		spec.d = d
	}
	return spec, nil
}

func (c VerifyConfig) validate(key string) error {
	switch c.Mode {
	case "text", "button":
	default:
		return fmt.Errorf("%s.mode: %q is neither text nor button", key, c.Mode)
	}
	switch c.Question {
	case "", "arithmetic":
	case "phrase":
		if strings.TrimSpace(c.Phrase) == "" {
			return fmt.Errorf("%s.phrase: must be set for question phrase", key)
		}
	default:
		return fmt.Errorf("%s.question: %q is neither arithmetic nor phrase", key, c.Question)
	}
	switch {
	case c.Timeout < 0:
		return fmt.Errorf("%s.timeout: must not be negative", key)
	case c.Timeout > 0 && c.Timeout < time.Second:
		return fmt.Errorf("%s.timeout: at least 1s", key)
	case c.Timeout > 24*time.Hour:
		return fmt.Errorf("%s.timeout: at most 1d", key)
	case c.OnWrongAnswers < 0:
		return fmt.Errorf("%s.on_wrong_answers: must not be negative", key)
	case c.Gather < 0 || c.Gather > time.Minute:
		return fmt.Errorf("%s.gather: between 0 and 1m", key)
	}
	switch c.Hold {
	case "", "presend", "recall":
	default:
		return fmt.Errorf("%s.hold: %q is neither presend nor recall", key, c.Hold)
	}
	if c.OnTimeout != "" {
		if _, err := parseSanction(c.OnTimeout); err != nil {
			return fmt.Errorf("%s.on_timeout: %w", key, err)
		}
	}
	return nil
}

// forChat returns the chat's verification with defaults applied.
func (c VerifyConfig) withDefaults(platform string) VerifyConfig {
	if c.Timeout == 0 {
		c.Timeout = 5 * time.Minute
	}
	if c.OnTimeout == "" {
		c.OnTimeout = "kick"
	}
	if c.Question == "" {
		c.Question = "arithmetic"
	}
	if c.Gather == 0 {
		c.Gather = 3 * time.Second
	}
	if c.Hold == "" {
		c.Hold = "presend"
		if platform == "feishu" {
			c.Hold = "recall"
		}
	}
	return c
}

// ReportsConfig is the `moderation.reports:` block: /report by members.
type ReportsConfig struct {
	// Enabled lets every member use /report (/举报).
	Enabled bool `yaml:"enabled"`
	// Ack is what the reporter is told: "reply" (default: a short
	// acknowledgement that names nobody) or "none".
	Ack string `yaml:"ack"`
	// PerHour is how many reports one reporter may make per hour in a
	// chat; more are ignored. Default 5.
	PerHour int `yaml:"per_hour"`
	// Window is how far back reports count towards ActAt; default 1h.
	Window time.Duration `yaml:"window"`
	// ActAt is how many distinct reporters within Window make Gavel act
	// on the reported user (Action); 0: never, the moderators decide.
	ActAt int `yaml:"act_at"`
	// Action is what ActAt does: "mute [d]" (default "mute 1h"), "kick"
	// or "ban [d]". Admins and protected users are never acted on.
	Action string `yaml:"action"`
	// NewcomerAge: reports by users who joined less than this long ago
	// are recorded but do not count towards ActAt; 0: every report counts.
	NewcomerAge time.Duration `yaml:"newcomer_age"`
}

func (c ReportsConfig) validate() error {
	switch {
	case c.Ack != "" && c.Ack != "reply" && c.Ack != "none":
		return fmt.Errorf("moderation.reports.ack: %q is neither reply nor none", c.Ack)
	case c.PerHour < 0:
		return errors.New("moderation.reports.per_hour: must not be negative")
	case c.Window < 0 || c.Window > 7*24*time.Hour:
		return errors.New("moderation.reports.window: between 0 and 7d")
	case c.ActAt < 0:
		return errors.New("moderation.reports.act_at: must not be negative")
	case c.NewcomerAge < 0 || c.NewcomerAge > 30*24*time.Hour:
		return errors.New("moderation.reports.newcomer_age: between 0 and 30d")
	}
	if c.Action != "" {
		if _, err := parseSanction(c.Action); err != nil {
			return fmt.Errorf("moderation.reports.action: %w", err)
		}
	}
	return nil
}

func (c ReportsConfig) withDefaults() ReportsConfig {
	if c.Ack == "" {
		c.Ack = "reply"
	}
	if c.PerHour == 0 {
		c.PerHour = 5
	}
	if c.Window == 0 {
		c.Window = time.Hour
	}
	if c.Action == "" {
		c.Action = "mute 1h"
	}
	return c
}

// validateVerification checks every chat's verification block.
func validateVerification(m map[string]VerifyConfig) error {
	for chat, v := range m {
		platform, id, ok := strings.Cut(chat, ":")
		if !ok || platform == "" || id == "" {
			return fmt.Errorf("moderation.verification: key %q is not platform:chat_id", chat)
		}
		if err := v.validate("moderation.verification." + chat); err != nil {
			return err
		}
		if v.Mode == "button" && (platform == "tim" || platform == "easemob") {
			return fmt.Errorf("moderation.verification.%s.mode: button needs a card; only Feishu has them (use text)", chat)
		}
		if v.Hold == "presend" && platform == "feishu" {
			return fmt.Errorf("moderation.verification.%s.hold: Feishu has no pre-send hook (use recall)", chat)
		}
	}
	return nil
}
