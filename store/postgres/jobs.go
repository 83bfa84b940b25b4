package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"gavel/moderation"
	"gavel/store/internal/sqlrow"
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
	if err := sqlrow.CheckLease(worker, lease); err != nil {
		return false, nil, fmt.Errorf("postgres: enqueue-claim: %w", err)
	}
	return s.enqueue(ctx, ev, now, worker, lease)
}

func (s *Store) enqueue(ctx context.Context, ev moderation.Event, now time.Time, worker string, lease time.Duration) (bool, *moderation.Job, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return false, nil, fmt.Errorf("postgres: enqueue %s: encode event: %w", ev.DeliveryID, err)
	}
	keys := sqlrow.DedupKeys(ev)
	// Sorted, so concurrent Enqueues take the key rows' locks in one order.
	slices.Sort(keys)
	ttl := s.DedupTTL
	if ttl <= 0 {
		ttl = DefaultDedupTTL
	}
	chat := sqlrow.ChatKey(ev)
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
			if err := tx.QueryRow(ctx, q.ChatWaits, *chat).Scan(&waits); err != nil {
				return fmt.Errorf("check chat: %w", err)
			}
			leased = !waits
		}
		owner := ""
		if leased {
			owner = worker
		}
		var id int64
		if err := tx.QueryRow(ctx, q.InsertJob, dialect.JobArgs(ev, chat, body, now, owner, now.Add(lease))...).Scan(&id); err != nil {
			return fmt.Errorf("insert job: %w", err)
		}
		if leased {
			var err error
			if job, err = sqlrow.LeasedJob(id, body, now); err != nil {
				return err
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
	RETURNING jobs.id, jobs.event, jobs.attempts, jobs.created_at` // sqlrow.JobColumns

// Claim leases up to n runnable jobs to worker until now+lease, oldest
// first, in one statement (see claimQuery), so no two workers — in this
// process or another — take the same job, and each chat contributes at
// most its earliest unfinished job. worker names must be unique among live
// workers.
func (s *Store) Claim(ctx context.Context, worker string, n int, lease time.Duration, now time.Time) ([]moderation.Job, error) {
	if err := sqlrow.CheckLease(worker, lease); err != nil {
		return nil, fmt.Errorf("postgres: claim: %w", err)
	}
	if n <= 0 {
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
		if jobs, err = collect(ctx, tx, sqlrow.ScanJob, claimQuery, worker, nanos(now), n, nanos(now.Add(lease))); err != nil {
			return fmt.Errorf("lease jobs: %w", err)
		}
		return nil
	})
	return jobs, err
}
