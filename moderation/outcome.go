package moderation

import (
	"errors"
	"fmt"
	"strings"
)

// Outcome is how a case ended. It is stored as its string ("done",
// "partial", "refused:target_owner", "error:roles"): a kind, and for a
// refusal the Reason, for an error the step that failed.
type Outcome string

// The kinds of outcome. Refused and error outcomes carry what follows the
// colon and are built with RefusedOutcome and ErrorOutcome; a bare
// OutcomeRefused or OutcomeError is only ever a Kind.
const (
	// OutcomeDone: every target ended in the requested state (or was
	// skipped in a dry run).
	OutcomeDone Outcome = "done"
	// OutcomePartial: some targets did, some did not.
	OutcomePartial Outcome = "partial"
	// OutcomeFailed: no target did.
	OutcomeFailed Outcome = "failed"
	// OutcomeUnsupported: the platform does not support the verb in the
	// chat; nothing was called.
	OutcomeUnsupported Outcome = "unsupported"
	// OutcomeRefused: policy refused the whole command.
	OutcomeRefused Outcome = "refused"
	// OutcomeError: a lookup the command needed failed.
	OutcomeError Outcome = "error"
	// OutcomeAwaiting, OutcomeCancelled and OutcomeExpired are a held
	// command's (confirm.go).
)

// The steps an error outcome names.
const (
	OutcomeErrorCapabilities = Outcome("error:capabilities")
	OutcomeErrorRoles        = Outcome("error:roles")
)

// RefusedOutcome is the outcome of a command policy refused for r.
func RefusedOutcome(r Reason) Outcome { return OutcomeRefused + ":" + Outcome(r) }

// ErrorOutcome is the outcome of a command whose step failed.
func ErrorOutcome(step string) Outcome { return OutcomeError + ":" + Outcome(step) }

// Kind is the outcome without its detail: one of the Outcome constants
// above, or "" for a value ParseOutcome refuses.
func (o Outcome) Kind() Outcome {
	kind, detail, hasDetail := strings.Cut(string(o), ":")
	switch k := Outcome(kind); k {
	case OutcomeDone, OutcomePartial, OutcomeFailed, OutcomeUnsupported, OutcomeCancelled, OutcomeExpired:
		if !hasDetail {
			return k
		}
	case OutcomeAwaiting:
		if !hasDetail || detail != "" {
			return k
		}
	case OutcomeRefused, OutcomeError:
		if detail != "" {
			return k
		}
	}
	return ""
}

// Reason is why a refused outcome was refused; "" for other kinds.
func (o Outcome) Reason() Reason {
	if o.Kind() != OutcomeRefused {
		return ""
	}
	return Reason(strings.TrimPrefix(string(o), string(OutcomeRefused)+":"))
}

// Step is the step an error outcome failed at; "" for other kinds.
func (o Outcome) Step() string {
	if o.Kind() != OutcomeError {
		return ""
	}
	return strings.TrimPrefix(string(o), string(OutcomeError)+":")
}

// ErrBadOutcome is returned by ParseOutcome for a string no Gavel version
// stores.
var ErrBadOutcome = errors.New("not a case outcome")

// ParseOutcome checks s is an outcome as stored.
func ParseOutcome(s string) (Outcome, error) {
	o := Outcome(s)
	if o.Kind() == "" {
		return "", fmt.Errorf("%q: %w", s, ErrBadOutcome)
	}
	return o, nil
}
