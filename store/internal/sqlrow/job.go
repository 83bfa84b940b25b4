package sqlrow

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"gavel/moderation"
	"gavel/store/internal/nanotime"
)

// CheckLease refuses a claim's worker and lease that would lease nothing
// to anyone.
func CheckLease(worker string, lease time.Duration) error {
	switch {
	case worker == "":
		return errors.New("empty worker name")
	case lease <= 0:
		return fmt.Errorf("lease must be positive, got %s", lease)
	}
	return nil
}

// DedupKeys returns ev's delivery id and dedup keys, without blanks or
// repeats.
func DedupKeys(ev moderation.Event) []string {
	keys := make([]string, 0, len(ev.DedupKeys)+1)
	for _, k := range append([]string{ev.DeliveryID}, ev.DedupKeys...) {
		if k != "" && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys
}

// ChatKey returns "platform:chat_id" for the event's chat, or nil (NULL)
// when it names none: such a job waits for no other.
func ChatKey(ev moderation.Event) *string {
	var chat moderation.ChatRef
	switch {
	case ev.Message != nil:
		chat = ev.Message.Chat
	case ev.Join != nil:
		chat = ev.Join.Chat
	case ev.Timer != nil:
		// A timer acts on its chat (a ban's end, a joiner's verification
		// deadline): it runs in order with the chat's other jobs.
		chat = ev.Timer.Chat
	case ev.Action != nil:
		chat = ev.Action.Chat
	}
	if chat.ID == "" {
		return nil
	}
	platform := chat.Platform
	if platform == "" {
		platform = ev.Platform
	}
	key := platform + ":" + chat.ID
	return &key
}

// JobArgs are the arguments of InsertJob: the job leased to worker until
// leaseUntil when worker is set, unleased otherwise.
func (d Dialect) JobArgs(ev moderation.Event, chat *string, body []byte, now time.Time, worker string, leaseUntil time.Time) []any {
	var (
		until    int64
		attempts int
	)
	if worker != "" {
		until, attempts = nanotime.From(leaseUntil), 1
	}
	return []any{ev.DeliveryID, chat, d.JSON(body), nanotime.From(now), worker, until, attempts}
}

// LeasedJob is the job EnqueueClaim returns, as Claim would: decoded from
// what is stored, on its first attempt.
func LeasedJob(id int64, body []byte, now time.Time) (*moderation.Job, error) {
	job := &moderation.Job{ID: id, Attempts: 1, CreatedAt: nanotime.To(nanotime.From(now))}
	if err := json.Unmarshal(body, &job.Event); err != nil {
		return nil, fmt.Errorf("decode job %d: %w", id, err)
	}
	return job, nil
}

// JobColumns are what a claim returns and ScanJob reads.
const JobColumns = `id, event, attempts, created_at`

// ScanJob reads one row of JobColumns.
func ScanJob(row Scanner) (moderation.Job, error) {
	var (
		j       moderation.Job
		body    []byte
		created int64
	)
	if err := row.Scan(&j.ID, &body, &j.Attempts, &created); err != nil {
		return moderation.Job{}, fmt.Errorf("scan job: %w", err)
	}
	if err := json.Unmarshal(body, &j.Event); err != nil {
		return moderation.Job{}, fmt.Errorf("decode job %d: %w", j.ID, err)
	}
	j.CreatedAt = nanotime.To(created)
	return j, nil
}

// ScanResult reads one row of Queries.Results.
func ScanResult(row Scanner) (moderation.Result, error) {
	var (
		r              moderation.Result
		status, reason string
	)
	if err := row.Scan(&r.UserID, &status, &reason, &r.Detail); err != nil {
		return moderation.Result{}, err
	}
	r.Status, r.Reason = moderation.Status(status), moderation.Reason(reason)
	return r, nil
}

// ScanPending reads Queries.Pending's row: the count of unfinished jobs
// and how long the oldest has waited at now.
func ScanPending(row Scanner, now time.Time) (int, time.Duration, error) {
	var (
		n      int
		oldest *int64
	)
	if err := row.Scan(&n, &oldest); err != nil {
		return 0, 0, err
	}
	if oldest == nil {
		return n, 0, nil
	}
	return n, max(now.Sub(nanotime.To(*oldest)), 0), nil
}

// ByUser indexes results by user, as Store.Results returns them.
func ByUser(rs []moderation.Result) map[string]moderation.Result {
	out := make(map[string]moderation.Result, len(rs))
	for _, r := range rs {
		out[r.UserID] = r
	}
	return out
}

// Commit is the part of Store.Commit that knows no database: it refuses
// a finish without a worker, encodes w's cases, runs tx — which writes
// everything in one transaction, fills ids with the cases' IDs and
// reports lost when the finish found the job no longer held by worker —
// and then sets the cases' IDs. store prefixes the errors.
//
// A claim (w.Claim) is encoded after the cases: rows and ids have one
// more entry, the claim's, last; tx reports in added whether it stored
// the claim's case (and so recorded its Won results).
func Commit(store string, jobID int64, worker string, w moderation.Work, tx func(rows []CaseRow, ids []int64, added *bool) (lost bool, err error)) error {
	if w.Empty() {
		return nil
	}
	if w.Finish && worker == "" {
		return fmt.Errorf("%s: commit job %d: empty worker name: %w", store, jobID, moderation.ErrLeaseLost)
	}
	cases := w.Cases
	if w.Claim != nil {
		if w.Claim.Case == nil || w.Claim.Case.DeliveryID == "" {
			return fmt.Errorf("%s: commit job %d: a claim needs a case with a delivery id", store, jobID)
		}
		cases = append(slices.Clip(cases), w.Claim.Case)
	}
	rows, err := EncodeCases(cases)
	if err != nil {
		return fmt.Errorf("%s: commit job %d: %w", store, jobID, err)
	}
	ids := make([]int64, len(cases))
	var added bool
	lost, err := tx(rows, ids, &added)
	if err != nil {
		return fmt.Errorf("%s: commit job %d: %w", store, jobID, err)
	}
	for i, c := range cases {
		c.ID = ids[i]
	}
	if w.Claim != nil {
		w.Claim.Added = added
	}
	if lost {
		// The records committed; only the finish did not.
		return fmt.Errorf("%s: commit job %d: finish for %s: %w", store, jobID, worker, moderation.ErrLeaseLost)
	}
	return nil
}
