package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"gavel/moderation"
)

// Enqueue stores ev as a job unless one of its dedup keys (ev.DeliveryID
// and ev.DedupKeys) is known and unexpired at now. The keys then block
// re-deliveries until now+DedupTTL. An event with no keys at all is always
// stored.
//
// One transaction: it first takes an advisory lock on the event's chat, so
// that of two jobs of one chat the one with the lower id commits first and
// Claim never sees a later job of a chat without its earlier one. It then
// upserts the keys, taking over only expired ones; the unique index makes
// a concurrent Enqueue of the same key wait for this one and then see the
// key as live. If any key is live, everything rolls back.
func (s *Store) Enqueue(ctx context.Context, ev moderation.Event, now time.Time) (bool, error) {
	created, _, err := s.enqueue(ctx, ev, now, "", 0)
	return created, err
}

// EnqueueClaim is Enqueue that also leases the new job to worker until
// now+lease, in the same transaction, when Claim could take it at once:
// no earlier job of its chat is unfinished (the chat's advisory lock,
// taken first, makes that answer hold until the commit). The job is then
// returned, as Claim returns it (first attempt); otherwise job is nil
// and a worker claims it in turn.
func (s *Store) EnqueueClaim(ctx context.Context, ev moderation.Event, worker string, lease time.Duration, now time.Time) (bool, *moderation.Job, error) {
	switch {
	case worker == "":
		return false, nil, errors.New("postgres: enqueue-claim: empty worker name")
	case lease <= 0:
		return false, nil, fmt.Errorf("postgres: enqueue-claim: lease must be positive, got %s", lease)
	}
	return s.enqueue(ctx, ev, now, worker, lease)
}

func (s *Store) enqueue(ctx context.Context, ev moderation.Event, now time.Time, worker string, lease time.Duration) (bool, *moderation.Job, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return false, nil, fmt.Errorf("postgres: enqueue %s: encode event: %w", ev.DeliveryID, err)
	}
	keys := dedupKeys(ev)
	// Sorted, so concurrent Enqueues take the key rows' locks in one order.
	slices.Sort(keys)
	ttl := s.DedupTTL
	if ttl <= 0 {
		ttl = DefaultDedupTTL
	}
	chat := chatKey(ev)
	var (
		created bool
		job     *moderation.Job
	)
	err = s.tx(ctx, func(tx pgx.Tx) error {
		created, job = false, nil
		if chat != nil {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, lockChat, lockKey(s.schema, *chat)); err != nil {
				return fmt.Errorf("lock chat: %w", err)
			}
		}
		if len(keys) > 0 {
			// An INSERT … ON CONFLICT DO UPDATE counts the rows it
			// inserted or updated: fewer than the keys means one is live.
			tag, err := tx.Exec(ctx, `
				INSERT INTO dedup_keys (key, job_id, expires_at)
				SELECT k, 0, $2 FROM unnest($1::text[]) WITH ORDINALITY AS u (k, n) ORDER BY n
				ON CONFLICT (key) DO UPDATE SET job_id = 0, expires_at = excluded.expires_at
				WHERE dedup_keys.expires_at <= $3`,
				keys, nanos(now.Add(ttl)), nanos(now))
			if err != nil {
				return fmt.Errorf("claim dedup keys: %w", err)
			}
			if tag.RowsAffected() < int64(len(keys)) {
				return errRollback
			}
		}
		// Leased at once only if Claim could take it now: nothing of its
		// chat is unfinished (a new job is its chat's latest).
		leased := worker != ""
		if leased && chat != nil {
			var waits bool
			if err := tx.QueryRow(ctx, `
				SELECT EXISTS (SELECT 1 FROM jobs WHERE finished_at IS NULL AND chat_key = $1)`,
				*chat).Scan(&waits); err != nil {
				return fmt.Errorf("check chat: %w", err)
			}
			leased = !waits
		}
		var (
			id       int64
			owner    string
			until    int64
			attempts int
		)
		if leased {
			owner, until, attempts = worker, nanos(now.Add(lease)), 1
		}
		err := tx.QueryRow(ctx, `
			INSERT INTO jobs (delivery_id, chat_key, event, created_at, lease_owner, lease_until, attempts)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			RETURNING id`,
			ev.DeliveryID, chat, body, nanos(now), owner, until, attempts).Scan(&id)
		if err != nil {
			return fmt.Errorf("insert job: %w", err)
		}
		if leased {
			// The event as Claim would return it: decoded from what is stored.
			job = &moderation.Job{ID: id, Attempts: 1, CreatedAt: fromNanos(nanos(now))}
			if err := json.Unmarshal(body, &job.Event); err != nil {
				return fmt.Errorf("decode job %d: %w", id, err)
			}
		}
		if s.afterJobInsert != nil {
			s.afterJobInsert(ev.DeliveryID)
		}
		if len(keys) > 0 {
			if _, err := tx.Exec(ctx, `UPDATE dedup_keys SET job_id = $1 WHERE key = ANY($2)`, id, keys); err != nil {
				return fmt.Errorf("link dedup keys: %w", err)
			}
		}
		created = true
		return nil
	})
	if err != nil {
		return false, nil, fmt.Errorf("postgres: enqueue %s: %w", ev.DeliveryID, err)
	}
	return created, job, nil
}

// dedupKeys returns ev's delivery id and dedup keys, without blanks or
// repeats.
func dedupKeys(ev moderation.Event) []string {
	keys := make([]string, 0, len(ev.DedupKeys)+1)
	for _, k := range append([]string{ev.DeliveryID}, ev.DedupKeys...) {
		if k != "" && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys
}

// chatKey returns "platform:chat_id" for the event's chat, or nil when it
// names none (such a job waits for no other).
func chatKey(ev moderation.Event) *string {
	var chat moderation.ChatRef
	switch {
	case ev.Message != nil:
		chat = ev.Message.Chat
	case ev.Join != nil:
		chat = ev.Join.Chat
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

// claimQuery leases up to $3 runnable jobs, oldest first. The CTE is
// MATERIALIZED so the locking SELECT runs exactly once and its LIMIT
// holds. SKIP LOCKED passes over jobs another Claim is leasing right now;
// that cannot let a later job of a chat run beside an earlier one, because
// the NOT EXISTS test reads the earlier job as unfinished whether or not it
// is locked: leasing a job never finishes it. A job whose row changed
// since the statement began (another Claim committed its lease) is
// re-checked on its new version, and a fresh lease fails lease_until <= $2.
const claimQuery = `
	WITH picked AS MATERIALIZED (
		SELECT j.id FROM jobs AS j
		WHERE j.finished_at IS NULL
		  AND j.not_before <= $2
		  AND j.lease_until <= $2
		  AND NOT EXISTS (
			SELECT 1 FROM jobs AS e
			WHERE e.finished_at IS NULL AND e.chat_key = j.chat_key AND e.id < j.id)
		ORDER BY j.id
		LIMIT $3
		FOR UPDATE OF j SKIP LOCKED)
	UPDATE jobs SET lease_owner = $1, lease_until = $4, attempts = jobs.attempts + 1
	FROM picked
	WHERE jobs.id = picked.id
	RETURNING jobs.id, jobs.event, jobs.attempts, jobs.created_at`

// Claim leases up to n runnable jobs to worker until now+lease, oldest
// first, in one statement (see claimQuery), so no two workers — in this
// process or another — take the same job, and each chat contributes at
// most its earliest unfinished job. worker names must be unique among live
// workers.
func (s *Store) Claim(ctx context.Context, worker string, n int, lease time.Duration, now time.Time) ([]moderation.Job, error) {
	switch {
	case worker == "":
		return nil, errors.New("postgres: claim: empty worker name")
	case lease <= 0:
		return nil, fmt.Errorf("postgres: claim: lease must be positive, got %s", lease)
	case n <= 0:
		return nil, nil
	}
	jobs, err := s.claim(ctx, worker, n, lease, now)
	if err != nil {
		return nil, fmt.Errorf("postgres: claim for %s: %w", worker, err)
	}
	slices.SortFunc(jobs, func(a, b moderation.Job) int { return cmp.Compare(a.ID, b.ID) })
	return jobs, nil
}

// claim runs claimQuery in a transaction, so that if a job cannot be
// decoded the leases roll back with the error instead of hiding the batch
// until they expire.
func (s *Store) claim(ctx context.Context, worker string, n int, lease time.Duration, now time.Time) ([]moderation.Job, error) {
	var jobs []moderation.Job
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		jobs, err = scanJobs(tx.Query(ctx, claimQuery, worker, nanos(now), n, nanos(now.Add(lease))))
		return err
	})
	return jobs, err
}

// scanJobs reads the rows of claimQuery.
func scanJobs(rows pgx.Rows, err error) ([]moderation.Job, error) {
	if err != nil {
		return nil, fmt.Errorf("lease jobs: %w", err)
	}
	defer rows.Close()
	var jobs []moderation.Job
	for rows.Next() {
		var (
			j       moderation.Job
			body    []byte
			created int64
		)
		if err := rows.Scan(&j.ID, &body, &j.Attempts, &created); err != nil {
			return nil, fmt.Errorf("scan job: %w", err)
		}
		if err := json.Unmarshal(body, &j.Event); err != nil {
			return nil, fmt.Errorf("decode job %d: %w", j.ID, err)
		}
		j.CreatedAt = fromNanos(created)
		jobs = append(jobs, j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("lease jobs: %w", err)
	}
	return jobs, nil
}

// Extend moves worker's lease on the job to until.
func (s *Store) Extend(ctx context.Context, jobID int64, worker string, until time.Time) error {
	return s.leased(ctx, "extend", jobID, worker, `
		UPDATE jobs SET lease_until = $3
		WHERE id = $1 AND lease_owner = $2 AND finished_at IS NULL`, nanos(until))
}

// Finish marks the job done. Finish is given no clock, so the job counts
// as finished at the end of its lease, an upper bound that PurgeCases uses.
func (s *Store) Finish(ctx context.Context, jobID int64, worker string) error {
	return s.leased(ctx, "finish", jobID, worker, `
		UPDATE jobs SET finished_at = lease_until
		WHERE id = $1 AND lease_owner = $2 AND finished_at IS NULL`)
}

// Retry releases the job to be claimed again from notBefore, recording
// errMsg. Later jobs of its chat keep waiting for it.
func (s *Store) Retry(ctx context.Context, jobID int64, worker string, notBefore time.Time, errMsg string) error {
	return s.leased(ctx, "retry", jobID, worker, `
		UPDATE jobs SET lease_owner = '', lease_until = 0, not_before = $3, last_error = $4
		WHERE id = $1 AND lease_owner = $2 AND finished_at IS NULL`, nanos(notBefore), freeText(errMsg))
}

// leased runs query, an UPDATE whose $1 is the job id and $2 the worker;
// when it changes nothing the job is missing (ErrNotFound) or worker does
// not hold it (ErrLeaseLost).
func (s *Store) leased(ctx context.Context, op string, jobID int64, worker, query string, args ...any) error {
	if worker == "" {
		// An empty owner marks a released job; nobody holds it.
		return fmt.Errorf("postgres: %s job %d: empty worker name: %w", op, jobID, moderation.ErrLeaseLost)
	}
	tag, err := s.pool.Exec(ctx, query, append([]any{jobID, worker}, args...)...)
	if err == nil && tag.RowsAffected() == 1 {
		return nil
	}
	if err == nil {
		var exists bool
		err = s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM jobs WHERE id = $1)`, jobID).Scan(&exists)
		switch {
		case err != nil:
		case !exists:
			err = moderation.ErrNotFound
		default:
			err = moderation.ErrLeaseLost
		}
	}
	return fmt.Errorf("postgres: %s job %d for %s: %w", op, jobID, worker, err)
}

// Pending counts unfinished jobs (leased or not) and returns how long the
// oldest has waited at now.
func (s *Store) Pending(ctx context.Context, now time.Time) (int, time.Duration, error) {
	var (
		n      int
		oldest *int64
	)
	err := s.pool.QueryRow(ctx, `SELECT count(*), min(created_at) FROM jobs WHERE finished_at IS NULL`).Scan(&n, &oldest)
	if err != nil {
		return 0, 0, fmt.Errorf("postgres: pending: %w", err)
	}
	if oldest == nil {
		return n, 0, nil
	}
	return n, max(now.Sub(fromNanos(*oldest)), 0), nil
}

// RecordResults upserts the job's results for verb, one row per user; of
// several results for one user in results the last wins.
func (s *Store) RecordResults(ctx context.Context, jobID int64, verb moderation.StepKey, results []moderation.Result) error {
	if len(results) == 0 {
		return nil
	}
	err := recordResults(ctx, s.pool, jobID, verb, results)
	if isForeignKeyViolation(err) {
		err = moderation.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("postgres: record %s results of job %d: %w", verb, jobID, err)
	}
	return nil
}

// execer is what recordResults needs of a pool or a transaction.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// recordResults upserts results in one statement on db.
func recordResults(ctx context.Context, db execer, jobID int64, verb moderation.StepKey, results []moderation.Result) error {
	// One statement may not upsert a row twice: keep each user's last.
	last := make(map[string]int, len(results))
	for i, r := range results {
		last[r.UserID] = i
	}
	var users, statuses, reasons, details []string
	for i, r := range results {
		if last[r.UserID] != i {
			continue
		}
		users = append(users, r.UserID)
		statuses = append(statuses, string(r.Status))
		reasons = append(reasons, freeText(string(r.Reason)))
		details = append(details, freeText(r.Detail))
	}
	_, err := db.Exec(ctx, `
		INSERT INTO job_results (job_id, verb, user_id, status, reason, detail)
		SELECT $1, $2, u, st, re, de FROM unnest($3::text[], $4::text[], $5::text[], $6::text[]) AS r (u, st, re, de)
		ON CONFLICT (job_id, verb, user_id) DO UPDATE
		SET status = excluded.status, reason = excluded.reason, detail = excluded.detail`,
		jobID, string(verb), users, statuses, reasons, details)
	return err
}

// Commit writes w for the job in one transaction: its results (as
// RecordResults), its cases (as AddCase, setting their IDs) and, if
// w.Finish, the job's finish (as Finish). Either all of it is stored or,
// on an error, none. One exception keeps Finish's meaning: when worker no
// longer holds the job, the results and cases are still committed (as
// RecordResults and AddCase would have been, they need no lease) and the
// error wraps ErrLeaseLost.
func (s *Store) Commit(ctx context.Context, jobID int64, worker string, w moderation.Work) error {
	if w.Empty() {
		return nil
	}
	if w.Finish && worker == "" {
		return fmt.Errorf("postgres: commit job %d: empty worker name: %w", jobID, moderation.ErrLeaseLost)
	}
	rows := make([]caseRow, len(w.Cases))
	for i, c := range w.Cases {
		if c == nil {
			return fmt.Errorf("postgres: commit job %d: nil case", jobID)
		}
		var err error
		if rows[i], err = encodeCase(c); err != nil {
			return fmt.Errorf("postgres: commit job %d: case for %s: %w", jobID, c.DeliveryID, err)
		}
	}
	ids := make([]int64, len(w.Cases))
	var leaseErr error
	err := s.tx(ctx, func(tx pgx.Tx) error {
		leaseErr = nil
		// The job's row lock orders this against Claim, Extend and
		// Finish of the same job, and tells a missing job apart.
		var owner string
		var finished bool
		err := tx.QueryRow(ctx, `SELECT lease_owner, finished_at IS NOT NULL FROM jobs WHERE id = $1 FOR UPDATE`, jobID).Scan(&owner, &finished)
		if errors.Is(err, pgx.ErrNoRows) {
			return moderation.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("find job: %w", err)
		}
		for _, r := range w.Results {
			if len(r.Results) == 0 {
				continue
			}
			if err := recordResults(ctx, tx, jobID, r.Step, r.Results); err != nil {
				return fmt.Errorf("record %s results: %w", r.Step, err)
			}
		}
		for i, c := range w.Cases {
			id, err := addCase(ctx, tx, c, rows[i])
			if err != nil {
				return fmt.Errorf("case for %s: %w", c.DeliveryID, err)
			}
			ids[i] = id
		}
		if !w.Finish {
			return nil
		}
		if owner != worker || finished {
			leaseErr = moderation.ErrLeaseLost // the records above still commit
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE jobs SET finished_at = lease_until WHERE id = $1`, jobID); err != nil {
			return fmt.Errorf("finish: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: commit job %d: %w", jobID, err)
	}
	for i, c := range w.Cases {
		c.ID = ids[i]
	}
	if leaseErr != nil {
		return fmt.Errorf("postgres: commit job %d: finish for %s: %w", jobID, worker, leaseErr)
	}
	return nil
}

// Results returns the job's recorded results for verb by user; empty when
// none were recorded.
func (s *Store) Results(ctx context.Context, jobID int64, verb moderation.StepKey) (map[string]moderation.Result, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT user_id, status, reason, detail FROM job_results
		WHERE job_id = $1 AND verb = $2`, jobID, string(verb))
	if err != nil {
		return nil, fmt.Errorf("postgres: results of job %d: %w", jobID, err)
	}
	defer rows.Close()
	out := map[string]moderation.Result{}
	for rows.Next() {
		var (
			r      moderation.Result
			status string
		)
		if err := rows.Scan(&r.UserID, &status, &r.Reason, &r.Detail); err != nil {
			return nil, fmt.Errorf("postgres: results of job %d: %w", jobID, err)
		}
		r.Status = moderation.Status(status)
		out[r.UserID] = r
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: results of job %d: %w", jobID, err)
	}
	return out, nil
}
