package moderation

import (
	"context"
	"errors"
	"time"
)

// Decision is policy's verdict for one target.
type Decision struct {
	Target  string `json:"target"`
	Allowed bool   `json:"allowed"`
	// Reason is policy's code: ReasonOK, ReasonTargetOwner, …
	Reason Reason `json:"reason"`
}

// Case is the audit record of one moderation decision and its outcome.
type Case struct {
	ID         int64  `json:"id"`
	DeliveryID string `json:"delivery_id"`
	Platform   string `json:"platform"`
	ChatID     string `json:"chat_id"`
	// Actor is the user who sent the command; empty for rule actions.
	Actor string `json:"actor,omitempty"`
	// Rule names the auto-moderation rule that acted; empty for commands.
	Rule      string        `json:"rule,omitempty"`
	Verb      Verb          `json:"verb"`
	Targets   []string      `json:"targets"`
	Reason    string        `json:"reason,omitempty"`
	Duration  time.Duration `json:"duration,omitempty"`
	DryRun    bool          `json:"dry_run,omitempty"`
	Decisions []Decision    `json:"decisions,omitempty"`
	Results   []Result      `json:"results,omitempty"`
	// Outcome is OutcomeDone, OutcomePartial, OutcomeFailed,
	// OutcomeUnsupported, RefusedOutcome(reason) or ErrorOutcome(step).
	Outcome Outcome   `json:"outcome"`
	At      time.Time `json:"at"`
	// Related is the case this one follows from: the case an undo
	// reverses, the confirmation request a confirmed command answers, the
	// report a button acted on; zero when none.
	Related int64 `json:"related,omitempty"`
}

// Users returns the distinct, non-empty users c concerns — the actor
// first, then the targets in order — as a store indexes them for "cases
// about this user". Linear in the number of targets: a mass action names
// tens of thousands.
func (c *Case) Users() []string {
	users := make([]string, 0, len(c.Targets)+1)
	seen := make(map[string]struct{}, len(c.Targets)+1)
	add := func(u string) {
		if _, dup := seen[u]; u != "" && !dup {
			seen[u] = struct{}{}
			users = append(users, u)
		}
	}
	add(c.Actor)
	for _, u := range c.Targets {
		add(u)
	}
	return users
}

// Mute is one active mute.
type Mute struct {
	Chat   ChatRef `json:"chat"`
	UserID string  `json:"user_id"`
	// Until is when the mute ends; zero means until /unmute.
	Until time.Time `json:"until"`
	// Emulated mutes are enforced by Gavel recalling the user's messages
	// (Feishu); native ones by the platform.
	Emulated bool `json:"emulated"`
	// CaseID is the case that imposed the mute.
	CaseID int64 `json:"case_id,omitempty"`
}

// Warning is one warning given to a user in a chat, by an admin's /warn
// or by an auto-moderation rule.
type Warning struct {
	ID     int64   `json:"id"`
	Chat   ChatRef `json:"chat"`
	UserID string  `json:"user_id"`
	// Key makes AddWarning idempotent: a job re-run after a crash does not
	// warn twice (delivery id + rule + user).
	Key    string    `json:"key"`
	Actor  string    `json:"actor,omitempty"`
	Rule   string    `json:"rule,omitempty"`
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
}

// Job is a durable unit of work: one event to handle.
type Job struct {
	ID    int64 `json:"id"`
	Event Event `json:"event"`
	// Attempts counts claims, this one included.
	Attempts  int       `json:"attempts"`
	CreatedAt time.Time `json:"created_at"`
}

// JobResults are the results of one of a job's actions, keyed as
// RecordResults keys them.
type JobResults struct {
	Step    StepKey
	Results []Result
}

// Work is a unit of work for Store.Commit: a job's writes that are
// adjacent — no platform call between them — and so may commit together
// without changing what a crash can repeat.
type Work struct {
	// Results are recorded as RecordResults records them.
	Results []JobResults
	// Cases are added as AddCase adds them; Commit sets their IDs.
	Cases []*Case
	// Claim, when set, is added after Cases (see Claim): a
	// first-writer-wins case.
	Claim *Claim
	// Finish finishes the job as Finish does, after the writes above.
	Finish bool
}

// Empty reports whether w writes nothing.
func (w Work) Empty() bool {
	for _, r := range w.Results {
		if len(r.Results) > 0 {
			return false
		}
	}
	return len(w.Cases) == 0 && w.Claim == nil && !w.Finish
}

// CaseFilter selects cases; zero fields match everything.
type CaseFilter struct {
	Platform string
	ChatID   string
	// UserID matches the actor or any target.
	UserID string
	// Related matches the cases that follow from this case (Case.Related):
	// its undo, the command a confirmation request led to.
	Related int64
	Since   time.Time
	// Until, when set, excludes cases at or after it.
	Until time.Time
	// Outcome, when set, matches cases whose outcome is of that kind
	// (Outcome.Kind): OutcomeAwaiting finds held commands.
	Outcome Outcome
	Limit   int
}

// CaseLink records that one delivery (a job) answers a case in some way —
// undoes it (LinkUndo) — so that no other delivery does the same: two
// presses of Undo, /undo N typed in two chats, two replicas.
type CaseLink struct {
	CaseID int64
	// Kind is what the link stands for: LinkUndo.
	Kind string
	// DeliveryID is the delivery whose job holds the link.
	DeliveryID string
	At         time.Time
}

// LinkUndo is the kind of the link an undo takes on the case it undoes.
const LinkUndo = "undo"

// ErrNotFound is returned for a missing case or job.
var ErrNotFound = errors.New("not found")

// ErrLeaseLost is returned when a worker acts on a job whose lease another
// worker has taken over.
var ErrLeaseLost = errors.New("job lease lost")

// Store is Gavel's durable state. Implementations: store/sqlite (the
// embedded default) and, later, PostgreSQL. All methods are safe for
// concurrent use by several workers and, for shared databases, several
// processes.
type Store interface {
	// SanctionStore keeps bans and locks.
	SanctionStore
	// ConsoleStore keeps the console's accounts, sessions and figures.
	ConsoleStore
	// Enqueue stores ev as a job in one transaction with its dedup keys.
	// If any of ev.DedupKeys is already known (and not expired) nothing is
	// stored and created is false: a re-delivery never makes a second job.
	Enqueue(ctx context.Context, ev Event, now time.Time) (created bool, err error)
	// EnqueueClaim is Enqueue that, in the same transaction, also leases
	// the new job to worker until now+lease when Claim could take it at
	// once (no earlier job of its chat is unfinished) and returns it as
	// Claim would (its first attempt); otherwise job is nil and the job
	// waits for Claim. The two writes are adjacent — no platform call
	// between them — and a crash after the commit is a crash after Claim:
	// the job is claimed again when the lease runs out.
	EnqueueClaim(ctx context.Context, ev Event, worker string, lease time.Duration, now time.Time) (created bool, job *Job, err error)
	// Claim leases up to n runnable jobs to worker until now+lease. A job
	// is runnable when it is unfinished, not leased (or its lease expired)
	// and its not-before time has come, and no earlier unfinished job of
	// the same chat exists (jobs of one chat run in order).
	Claim(ctx context.Context, worker string, n int, lease time.Duration, now time.Time) ([]Job, error)
	// Extend renews worker's lease on job; ErrLeaseLost if it is not held.
	Extend(ctx context.Context, jobID int64, worker string, until time.Time) error
	// Finish marks the job done; ErrLeaseLost if worker no longer holds it.
	Finish(ctx context.Context, jobID int64, worker string) error
	// Retry releases the job to run again at notBefore, recording err.
	Retry(ctx context.Context, jobID int64, worker string, notBefore time.Time, errMsg string) error
	// Pending counts unfinished jobs and returns the oldest one's age.
	Pending(ctx context.Context, now time.Time) (n int, oldest time.Duration, err error)

	// RecordResults stores per-target results of a job's step, keyed by
	// (job, step, user); a later record for the same key replaces it.
	RecordResults(ctx context.Context, jobID int64, step StepKey, results []Result) error
	// Commit writes w for the job in one transaction: all of it or, on an
	// error, none — except that a Finish whose lease worker lost does not
	// undo the records (they need no lease, as with RecordResults and
	// AddCase): they commit and the error wraps ErrLeaseLost. A job's
	// adjacent writes go through Commit so that each costs one
	// transaction; ErrNotFound if the job does not exist.
	Commit(ctx context.Context, jobID int64, worker string, w Work) error
	// Results returns the results recorded for a job's step, by user.
	Results(ctx context.Context, jobID int64, step StepKey) (map[string]Result, error)

	// AddCase stores c and sets c.ID (numbered from 1, increasing). A case
	// with the DeliveryID, Verb and Rule of a stored case (a job re-run
	// after a crash) stores nothing and gets the stored case's ID.
	AddCase(ctx context.Context, c *Case) error
	Case(ctx context.Context, id int64) (Case, error)
	Cases(ctx context.Context, f CaseFilter) ([]Case, error)
	// PurgeCases deletes cases (and finished jobs, expired dedup keys)
	// older than before; it returns how many cases went.
	PurgeCases(ctx context.Context, before time.Time) (int, error)
	// LinkCase stores l unless a link of its CaseID and Kind is stored,
	// atomically (across processes sharing the store), and returns the
	// stored link: l when it was stored now or by the same delivery
	// before, else the earlier delivery's.
	LinkCase(ctx context.Context, l CaseLink) (CaseLink, error)
	// UnlinkCase drops the link of kind on caseID if deliveryID holds it
	// (an undo that reversed nothing gives the case back).
	UnlinkCase(ctx context.Context, caseID int64, kind, deliveryID string) error
	// SetCasePost records the message posted for case id (its mod-log
	// entry), replacing an earlier one; ErrNotFound if no such case.
	SetCasePost(ctx context.Context, id int64, ref PostRef) error
	// CasePost returns the message posted for case id; ErrNotFound when
	// none was recorded (or no such case).
	CasePost(ctx context.Context, id int64) (PostRef, error)

	// PutMutes records mutes in one write, each replacing the user's
	// earlier one in its chat: all are stored or none is.
	PutMutes(ctx context.Context, ms ...Mute) error
	// DeleteMutes ends the users' mutes in chat in one write; deleting
	// none is not an error.
	DeleteMutes(ctx context.Context, chat ChatRef, userIDs ...string) error
	// ActiveMute returns the user's mute if it has not ended at now.
	ActiveMute(ctx context.Context, chat ChatRef, userID string, now time.Time) (Mute, bool, error)
	// ActiveMutes returns every mute not ended at now (emulated only when
	// emulatedOnly), for the in-memory index on the webhook path.
	ActiveMutes(ctx context.Context, now time.Time, emulatedOnly bool) ([]Mute, error)
	// ExpiredMutes returns mutes whose Until is set and not after now.
	ExpiredMutes(ctx context.Context, now time.Time, limit int) ([]Mute, error)

	// AddWarning stores w unless a warning with w.Key is stored, and
	// returns how many warnings the user has in the chat at or after since
	// (w included).
	AddWarning(ctx context.Context, w Warning, since time.Time) (count int, err error)
	// Warnings lists the user's warnings in chat at or after since,
	// oldest first.
	Warnings(ctx context.Context, chat ChatRef, userID string, since time.Time) ([]Warning, error)
	// RemoveLastWarning deletes the user's newest warning at or after
	// since; false when there was none.
	RemoveLastWarning(ctx context.Context, chat ChatRef, userID string, since time.Time) (bool, error)
	// RemoveWarning deletes the warning stored under key (exactly the one
	// a case gave: /undo of a /warn); false when there was none.
	RemoveWarning(ctx context.Context, key string) (bool, error)

	// Ping checks the store is reachable.
	Ping(ctx context.Context) error
	Close() error
}
