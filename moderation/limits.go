package moderation

import (
	"errors"
	"fmt"
)

// ActionVerbs are the verbs whose Platform methods act on a list (Remove,
// Mute, Unmute, Ban, Unban, Add: users; RecallMessages for VerbPurge:
// messages). Every platform gives each a batch size.
var ActionVerbs = []Verb{VerbKick, VerbMute, VerbUnmute, VerbBan, VerbUnban, VerbPurge, VerbAdd}

// Limits are a platform's per-call limits and mute settings, in one place.
// The pipeline batches to them; adapters make one platform call per
// invocation and refuse more users than their batch size
// (ErrBatchTooLarge).
type Limits struct {
	// Batch is how many users one call of each verb in ActionVerbs takes
	// (VerbKick: Remove). Every action verb needs a positive size: the
	// pipeline refuses a platform without one rather than guess.
	Batch map[Verb]int
	// RoleBatch is how many users one Roles call takes; 0: no limit.
	RoleBatch int
	// Reply is the most bytes of UTF-8 text one Reply may carry; the
	// pipeline fits every reply to it.
	Reply int
}

// ErrBatchTooLarge is an adapter handed more users than Limits.Batch.
var ErrBatchTooLarge = errors.New("more users than one platform call takes")

// Validate reports a limit the pipeline cannot work with.
func (l Limits) Validate() error {
	for _, v := range ActionVerbs {
		if l.Batch[v] <= 0 {
			return fmt.Errorf("limits: batch size for %q must be positive, got %d", v, l.Batch[v])
		}
	}
	switch {
	case l.RoleBatch < 0:
		return fmt.Errorf("limits: role batch must not be negative, got %d", l.RoleBatch)
	case l.Reply <= 0:
		return fmt.Errorf("limits: reply limit must be positive, got %d", l.Reply)
	}
	return nil
}

// CheckBatch returns ErrBatchTooLarge (wrapped, naming the verb) when
// users exceed l's batch size for verb; adapters call it first.
func (l Limits) CheckBatch(verb Verb, users []string) error {
	if n := l.Batch[verb]; len(users) > n {
		return fmt.Errorf("%s of %d users, at most %d a call: %w", verb, len(users), n, ErrBatchTooLarge)
	}
	return nil
}

// ReasonBatchTooLarge is the Result.Reason of users an adapter was handed
// more of than its batch size: refused, no call made.
const ReasonBatchTooLarge Reason = "batch_too_large"

// Oversized returns, when users exceed l's batch size for verb, one
// StatusRefused Result per user (ReasonBatchTooLarge); nil when they fit.
// Adapters' action methods call it before any platform call.
func (l Limits) Oversized(verb Verb, users []string) []Result {
	err := l.CheckBatch(verb, users)
	if err == nil {
		return nil
	}
	out := make([]Result, len(users))
	for i, u := range users {
		out[i] = Result{UserID: u, Status: StatusRefused, Reason: ReasonBatchTooLarge, Detail: err.Error()}
	}
	return out
}
