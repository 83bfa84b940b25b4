package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"gavel/moderation"
)

// Enqueue stores ev as a job unless one of its dedup keys (ev.DeliveryID
// and ev.DedupKeys) is known and unexpired at now. The keys then block
// re-deliveries until now+DedupTTL. An event with no keys at all is always
// stored.
func (s *Store) Enqueue(ctx context.Context, ev moderation.Event, now time.Time) (bool, error) {
	created, _, err := s.enqueue(ctx, ev, now, "", 0)
	return created, err
}

// EnqueueClaim is Enqueue that also leases the new job to worker until
// now+lease, in the same transaction, when Claim could take it at once:
// no earlier job of its chat is unfinished. The job is then returned, as
// Claim returns it (first attempt); otherwise job is nil and a worker
// claims it in turn.
func (s *Store) EnqueueClaim(ctx context.Context, ev moderation.Event, worker string, lease time.Duration, now time.Time) (bool, *moderation.Job, error) {
	switch {
	case worker == "":
		return false, nil, errors.New("sqlite: enqueue-claim: empty worker name")
	case lease <= 0:
		return false, nil, fmt.Errorf("sqlite: enqueue-claim: lease must be positive, got %s", lease)
	}
	return s.enqueue(ctx, ev, now, worker, lease)
}

func (s *Store) enqueue(ctx context.Context, ev moderation.Event, now time.Time, worker string, lease time.Duration) (bool, *moderation.Job, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return false, nil, fmt.Errorf("sqlite: enqueue %s: encode event: %w", ev.DeliveryID, err)
	}
	keys := dedupKeys(ev)
	// json_each reads a BLOB as JSONB, so the list goes in as text.
	keysJSON, err := json.Marshal(keys)
	if err != nil {
		return false, nil, fmt.Errorf("sqlite: enqueue %s: encode keys: %w", ev.DeliveryID, err)
	}
	ttl := s.DedupTTL
	if ttl <= 0 {
		ttl = DefaultDedupTTL
	}
	var (
		created bool
		job     *moderation.Job
	)
	chat := chatKey(ev)
	err = s.write(ctx, func(tx txn) error {
		created, job = false, nil
		if len(keys) > 0 {
			var seen bool
			err := tx.QueryRowContext(ctx, `
				SELECT EXISTS (
					SELECT 1 FROM dedup_keys
					WHERE key IN (SELECT value FROM json_each(?1)) AND expires_at > ?2)`,
				string(keysJSON), nanos(now)).Scan(&seen)
			if err != nil {
				return fmt.Errorf("check dedup keys: %w", err)
			}
			if seen {
				return nil
			}
		}
		// Leased at once only if Claim could take it now: nothing of its
		// chat is unfinished (a new job is its chat's latest).
		leased := worker != ""
		if leased && chat.Valid {
			var waits bool
			if err := tx.QueryRowContext(ctx, `
				SELECT EXISTS (SELECT 1 FROM jobs WHERE finished_at IS NULL AND chat_key = ?)`,
				chat).Scan(&waits); err != nil {
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
		err := tx.QueryRowContext(ctx, `
			INSERT INTO jobs (delivery_id, chat_key, event, created_at, lease_owner, lease_until, attempts)
			VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
			RETURNING id`,
			ev.DeliveryID, chat, string(body), nanos(now), owner, until, attempts).Scan(&id)
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
		if len(keys) > 0 {
			// WHERE true: an upsert after INSERT … SELECT needs it to parse.
			_, err := tx.ExecContext(ctx, `
				INSERT INTO dedup_keys (key, job_id, expires_at)
				SELECT value, ?1, ?2 FROM json_each(?3) WHERE true
				ON CONFLICT (key) DO UPDATE SET job_id = excluded.job_id, expires_at = excluded.expires_at`,
				id, nanos(now.Add(ttl)), string(keysJSON))
			if err != nil {
				return fmt.Errorf("insert dedup keys: %w", err)
			}
		}
		created = true
		return nil
	})
	if err != nil {
		return false, nil, fmt.Errorf("sqlite: enqueue %s: %w", ev.DeliveryID, err)
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

// chatKey returns "platform:chat_id" for the event's chat, or NULL when it
// names none (such a job waits for no other).
func chatKey(ev moderation.Event) sql.NullString {
	var chat moderation.ChatRef
	switch {
	case ev.Message != nil:
		chat = ev.Message.Chat
	case ev.Join != nil:
		chat = ev.Join.Chat
	}
	if chat.ID == "" {
		return sql.NullString{}
	}
	platform := chat.Platform
	if platform == "" {
		platform = ev.Platform
	}
	return sql.NullString{String: platform + ":" + chat.ID, Valid: true}
}

// Claim leases up to n runnable jobs to worker until now+lease, oldest
// first. One UPDATE … RETURNING selects and leases them, inside an
// IMMEDIATE transaction, so no two workers — in this process or another —
// can take the same job. Each chat contributes at most its earliest
// unfinished job. worker names must be unique among live workers.
func (s *Store) Claim(ctx context.Context, worker string, n int, lease time.Duration, now time.Time) ([]moderation.Job, error) {
	switch {
	case worker == "":
		return nil, errors.New("sqlite: claim: empty worker name")
	case lease <= 0:
		return nil, fmt.Errorf("sqlite: claim: lease must be positive, got %s", lease)
	case n <= 0:
		return nil, nil
	}
	// Workers claim far more often than there is work (after every job,
	// on every wake-up); a read on a pooled connection answers "nothing
	// to do" without taking the write lock or committing.
	var candidate bool
	if err := s.queryRow(ctx, `
		SELECT EXISTS (
			SELECT 1 FROM jobs
			WHERE finished_at IS NULL AND not_before <= ?1 AND lease_until <= ?1)`,
		nanos(now)).Scan(&candidate); err != nil {
		return nil, fmt.Errorf("sqlite: claim for %s: probe: %w", worker, err)
	}
	if !candidate {
		return nil, nil
	}
	var jobs []moderation.Job
	err := s.write(ctx, func(tx txn) error {
		jobs = jobs[:0]
		rows, err := tx.QueryContext(ctx, `
			UPDATE jobs
			SET lease_owner = ?1, lease_until = ?2, attempts = attempts + 1
			WHERE id IN (
				SELECT j.id FROM jobs AS j
				WHERE j.finished_at IS NULL
				  AND j.not_before <= ?3
				  AND j.lease_until <= ?3
				  AND NOT EXISTS (
					SELECT 1 FROM jobs AS e
					WHERE e.finished_at IS NULL AND e.chat_key = j.chat_key AND e.id < j.id)
				ORDER BY j.id
				LIMIT ?4)
			RETURNING id, event, attempts, created_at`,
			worker, nanos(now.Add(lease)), nanos(now), n)
		if err != nil {
			return fmt.Errorf("lease jobs: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var (
				j       moderation.Job
				body    string
				created int64
			)
			if err := rows.Scan(&j.ID, &body, &j.Attempts, &created); err != nil {
				return fmt.Errorf("scan job: %w", err)
			}
			if err := json.Unmarshal([]byte(body), &j.Event); err != nil {
				return fmt.Errorf("decode job %d: %w", j.ID, err)
			}
			j.CreatedAt = fromNanos(created)
			jobs = append(jobs, j)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("lease jobs: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim for %s: %w", worker, err)
	}
	slices.SortFunc(jobs, func(a, b moderation.Job) int { return cmp.Compare(a.ID, b.ID) })
	return jobs, nil
}

// Extend moves worker's lease on the job to until.
func (s *Store) Extend(ctx context.Context, jobID int64, worker string, until time.Time) error {
	return s.leased(ctx, "extend", jobID, worker, `
		UPDATE jobs SET lease_until = ?3
		WHERE id = ?1 AND lease_owner = ?2 AND finished_at IS NULL`, nanos(until))
}

// Finish marks the job done. Finish is given no clock, so the job counts
// as finished at the end of its lease, an upper bound that PurgeCases uses.
func (s *Store) Finish(ctx context.Context, jobID int64, worker string) error {
	return s.leased(ctx, "finish", jobID, worker, `
		UPDATE jobs SET finished_at = lease_until
		WHERE id = ?1 AND lease_owner = ?2 AND finished_at IS NULL`)
}

// Retry releases the job to be claimed again from notBefore, recording
// errMsg. Later jobs of its chat keep waiting for it.
func (s *Store) Retry(ctx context.Context, jobID int64, worker string, notBefore time.Time, errMsg string) error {
	return s.leased(ctx, "retry", jobID, worker, `
		UPDATE jobs SET lease_owner = '', lease_until = 0, not_before = ?3, last_error = ?4
		WHERE id = ?1 AND lease_owner = ?2 AND finished_at IS NULL`, nanos(notBefore), errMsg)
}

// leased runs query, an UPDATE whose ?1 is the job id and ?2 the worker;
// when it changes nothing the job is missing (ErrNotFound) or worker does
// not hold it (ErrLeaseLost).
func (s *Store) leased(ctx context.Context, op string, jobID int64, worker, query string, args ...any) error {
	if worker == "" {
		// An empty owner marks a released job; nobody holds it.
		return fmt.Errorf("sqlite: %s job %d: empty worker name: %w", op, jobID, moderation.ErrLeaseLost)
	}
	err := s.write(ctx, func(tx txn) error {
		res, err := tx.ExecContext(ctx, query, append([]any{jobID, worker}, args...)...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 1 {
			return nil
		}
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM jobs WHERE id = ?)`, jobID).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return moderation.ErrNotFound
		}
		return moderation.ErrLeaseLost
	})
	if err != nil {
		return fmt.Errorf("sqlite: %s job %d for %s: %w", op, jobID, worker, err)
	}
	return nil
}

// Pending counts unfinished jobs (leased or not) and returns how long the
// oldest has waited at now.
func (s *Store) Pending(ctx context.Context, now time.Time) (int, time.Duration, error) {
	var (
		n      int
		oldest sql.NullInt64
	)
	err := s.queryRow(ctx, `SELECT count(*), min(created_at) FROM jobs WHERE finished_at IS NULL`).Scan(&n, &oldest)
	if err != nil {
		return 0, 0, fmt.Errorf("sqlite: pending: %w", err)
	}
	if !oldest.Valid {
		return n, 0, nil
	}
	return n, max(now.Sub(fromNanos(oldest.Int64)), 0), nil
}

// RecordResults upserts the job's results for verb, one row per user.
func (s *Store) RecordResults(ctx context.Context, jobID int64, verb moderation.StepKey, results []moderation.Result) error {
	if len(results) == 0 {
		return nil
	}
	err := s.write(ctx, func(tx txn) error {
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM jobs WHERE id = ?)`, jobID).Scan(&exists); err != nil {
			return fmt.Errorf("find job: %w", err)
		}
		if !exists {
			return moderation.ErrNotFound
		}
		return recordResults(ctx, tx, jobID, verb, results)
	})
	if err != nil {
		return fmt.Errorf("sqlite: record %s results of job %d: %w", verb, jobID, err)
	}
	return nil
}

// recordResults upserts results in tx; the job is known to exist.
func recordResults(ctx context.Context, tx txn, jobID int64, verb moderation.StepKey, results []moderation.Result) error {
	stmt, err := tx.PrepareContext(ctx, `
		INSERT INTO job_results (job_id, verb, user_id, status, reason, detail)
		VALUES (?1, ?2, ?3, ?4, ?5, ?6)
		ON CONFLICT (job_id, verb, user_id) DO UPDATE
		SET status = excluded.status, reason = excluded.reason, detail = excluded.detail`)
	if err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	defer stmt.Close()
	for _, r := range results {
		if _, err := stmt.ExecContext(ctx, jobID, string(verb), r.UserID, string(r.Status), r.Reason, r.Detail); err != nil {
			return fmt.Errorf("upsert %s %s: %w", verb, r.UserID, err)
		}
	}
	return nil
}

// Commit writes w for the job in one transaction: its results (as
// RecordResults), its cases (as AddCase, setting their IDs) and, if
// w.Finish, the job's finish (as Finish). Either all of it is stored or,
// on an error, none. One exception keeps Finish's meaning: when worker no
// longer holds the job, the results and cases are still committed (as
// RecordResults and AddCase would have been, they need no lease) and the
// error wraps ErrLeaseLost; the job stays with its new holder, which
// then skips what they record.
func (s *Store) Commit(ctx context.Context, jobID int64, worker string, w moderation.Work) error {
	if w.Empty() {
		return nil
	}
	if w.Finish && worker == "" {
		return fmt.Errorf("sqlite: commit job %d: empty worker name: %w", jobID, moderation.ErrLeaseLost)
	}
	rows := make([]caseRow, len(w.Cases))
	for i, c := range w.Cases {
		if c == nil {
			return fmt.Errorf("sqlite: commit job %d: nil case", jobID)
		}
		var err error
		if rows[i], err = encodeCase(c); err != nil {
			return fmt.Errorf("sqlite: commit job %d: case for %s: %w", jobID, c.DeliveryID, err)
		}
	}
	ids := make([]int64, len(w.Cases))
	var leaseErr error
	err := s.write(ctx, func(tx txn) error {
		leaseErr = nil
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM jobs WHERE id = ?)`, jobID).Scan(&exists); err != nil {
			return fmt.Errorf("find job: %w", err)
		}
		if !exists {
			return moderation.ErrNotFound
		}
		for _, r := range w.Results {
			if err := recordResults(ctx, tx, jobID, r.Step, r.Results); err != nil {
				return err
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
		res, err := tx.ExecContext(ctx, `
			UPDATE jobs SET finished_at = lease_until
			WHERE id = ?1 AND lease_owner = ?2 AND finished_at IS NULL`, jobID, worker)
		if err != nil {
			return fmt.Errorf("finish: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("finish: %w", err)
		} else if n != 1 {
			leaseErr = moderation.ErrLeaseLost // the records above still commit
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: commit job %d: %w", jobID, err)
	}
	for i, c := range w.Cases {
		c.ID = ids[i]
	}
	if leaseErr != nil {
		return fmt.Errorf("sqlite: commit job %d: finish for %s: %w", jobID, worker, leaseErr)
	}
	return nil
}

// Results returns the job's recorded results for verb by user; empty when
// none were recorded.
func (s *Store) Results(ctx context.Context, jobID int64, verb moderation.StepKey) (map[string]moderation.Result, error) {
	rows, err := s.query(ctx, `
		SELECT user_id, status, reason, detail FROM job_results
		WHERE job_id = ? AND verb = ?`, jobID, string(verb))
	if err != nil {
		return nil, fmt.Errorf("sqlite: results of job %d: %w", jobID, err)
	}
	defer rows.Close()
	out := map[string]moderation.Result{}
	for rows.Next() {
		var (
			r      moderation.Result
			status string
		)
		if err := rows.Scan(&r.UserID, &status, &r.Reason, &r.Detail); err != nil {
			return nil, fmt.Errorf("sqlite: results of job %d: %w", jobID, err)
		}
		r.Status = moderation.Status(status)
		out[r.UserID] = r
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: results of job %d: %w", jobID, err)
	}
	return out, nil
}
