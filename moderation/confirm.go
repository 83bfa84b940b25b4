package moderation

import (
	"fmt"
	"strconv"
	"strings"
)

// The outcomes of confirmations (issue #17): a command held until an
// admin confirms it, and the answers that end it without running it.
const (
	// OutcomeAwaiting: the command was held for an admin's confirmation
	// (policy.confirm_above, policy.confirm_verbs); nothing was done yet.
	// Its detail keeps what of the command a case has no field for (see
	// AwaitingOutcome).
	OutcomeAwaiting Outcome = "awaiting_confirmation"
	// OutcomeCancelled: an admin cancelled a held command.
	OutcomeCancelled Outcome = "cancelled"
	// OutcomeExpired: nobody answered a held command within
	// policy.confirm_timeout.
	OutcomeExpired Outcome = "expired"
)

// AwaitingOutcome is the outcome of a case holding cmd for confirmation.
// The case keeps cmd's verb, targets, reason and duration in its own
// fields; the outcome's detail keeps the rest — the flags -s and -p and a
// purge's count — so that the confirmation runs cmd exactly:
// "awaiting_confirmation", "awaiting_confirmation:silent,purge,count=50".
func AwaitingOutcome(cmd Command) Outcome {
	var flags []string
	if cmd.Silent {
		flags = append(flags, "silent")
	}
	if cmd.Purge {
		flags = append(flags, "purge")
	}
	if cmd.Count > 0 {
		flags = append(flags, "count="+strconv.Itoa(cmd.Count))
	}
	if len(flags) == 0 {
		return OutcomeAwaiting
	}
	return OutcomeAwaiting + ":" + Outcome(strings.Join(flags, ","))
}

// Held returns the command a case with an awaiting outcome holds, for
// the confirmation to run; an error for any other case or for a detail no
// Gavel version writes.
func (c Case) Held() (Command, error) {
	if c.Outcome.Kind() != OutcomeAwaiting {
		return Command{}, fmt.Errorf("case %d is %q, not a held command", c.ID, c.Outcome)
	}
	cmd := Command{Verb: c.Verb, Targets: c.Targets, Reason: c.Reason, Duration: c.Duration}
	_, detail, _ := strings.Cut(string(c.Outcome), ":")
	if detail == "" {
		return cmd, nil
	}
	for _, f := range strings.Split(detail, ",") {
		switch k, v, _ := strings.Cut(f, "="); k {
		case "silent":
			cmd.Silent = true
		case "purge":
			cmd.Purge = true
		case "count":
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return Command{}, fmt.Errorf("case %d: bad count %q: %w", c.ID, v, ErrBadOutcome)
			}
			cmd.Count = n
		default:
			return Command{}, fmt.Errorf("case %d: unknown flag %q: %w", c.ID, f, ErrBadOutcome)
		}
	}
	return cmd, nil
}

// Claim is a first-writer-wins record in a unit of work (Work.Claim):
// its Case is added as AddCase adds it — or, when a case with its
// DeliveryID, Verb and Rule is stored already, nothing is added and
// Case.ID is set to the stored one's — and Won is recorded for the job,
// in the same transaction, only when this commit added the case. A job
// re-run after a crash finds Won among its results and knows the claim
// is its own; any other job finds the stored case and knows it lost.
// A held command is answered once so: by the first confirmation,
// cancellation or expiry, across replicas.
type Claim struct {
	Case *Case
	Won  JobResults
	// Added is set by Commit: whether this commit stored Case.
	Added bool
}

// ClaimStep names the results a claim records for its winner:
// "claim:key".
func ClaimStep(key string) StepKey { return StepKey("claim:" + key) }
