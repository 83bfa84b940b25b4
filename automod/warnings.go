package automod

import (
	"fmt"
	"time"
)

// WarningsConfig is the warning ladder. Gavel stores warnings (the
// pipeline's store); this only says when they expire and what they lead to.
type WarningsConfig struct {
	// ExpireAfter is how long a warning counts; default 720h (30 days).
	ExpireAfter time.Duration `yaml:"expire_after"`
	// Ladder steps, by strictly increasing Count.
	Ladder []Step `yaml:"ladder"`
}

// Step is one rung of the ladder: reaching Count active warnings applies
// Action to the user: mute [duration], kick, ban [duration] or purge.
type Step struct {
	Count  int    `yaml:"count"`
	Action Action `yaml:"action"`
}

// DefaultWarningExpiry is used when warnings.expire_after is unset.
const DefaultWarningExpiry = 720 * time.Hour

// Expiry returns ExpireAfter or its default.
func (w WarningsConfig) Expiry() time.Duration {
	if w.ExpireAfter <= 0 {
		return DefaultWarningExpiry
	}
	return w.ExpireAfter
}

// Escalation returns the ladder action for a user who has just reached
// count active warnings. It matches exactly: with steps 3 → mute 1h and
// 5 → kick, the 3rd warning mutes, the 4th does nothing more, the 5th
// kicks, and a 6th does nothing (the user is gone or was re-admitted on
// purpose).
func (w WarningsConfig) Escalation(count int) (Action, bool) {
	for _, s := range w.Ladder {
		if s.Count == count {
			return s.Action, true
		}
	}
	return Action{}, false
}

// Active counts the warnings issued within Expiry before now.
func (w WarningsConfig) Active(issued []time.Time, now time.Time) int {
	cutoff := now.Add(-w.Expiry())
	n := 0
	for _, t := range issued {
		if t.After(cutoff) && !t.After(now) {
			n++
		}
	}
	return n
}

func (w WarningsConfig) validate(prefix string) error {
	if w.ExpireAfter < 0 {
		return fmt.Errorf("%s.expire_after: must not be negative", prefix)
	}
	last := 0
	for i, s := range w.Ladder {
		key := fmt.Sprintf("%s.ladder[%d]", prefix, i)
		switch {
		case s.Count < 1:
			return fmt.Errorf("%s.count: must be at least 1", key)
		case s.Count <= last:
			return fmt.Errorf("%s.count: %d must be greater than the previous step's %d", key, s.Count, last)
		case s.Action.Kind == ActionLock:
			return fmt.Errorf("%s.action: a lock acts on the whole chat, a ladder step on one user (%s)", key, kindList(ladderActions))
		}
		if err := validateAction(key+".action", s.Action, ladderActions); err != nil {
			return err
		}
		last = s.Count
	}
	return nil
}
