package sqlite

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"gavel/moderation"
	"gavel/store/internal/sqlrow"
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
	if err := sqlrow.CheckLease(worker, lease); err != nil {
		return false, nil, fmt.Errorf("sqlite: enqueue-claim: %w", err)
	}
	return s.enqueue(ctx, ev, now, worker, lease)
}

func (s *Store) enqueue(ctx context.Context, ev moderation.Event, now time.Time, worker string, lease time.Duration) (bool, *moderation.Job, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return false, nil, fmt.Errorf("sqlite: enqueue %s: encode event: %w", ev.DeliveryID, err)
	}
	keys := sqlrow.DedupKeys(ev)
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
	chat := sqlrow.ChatKey(ev)
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
		if leased && chat != nil {
			var waits bool
			if err := tx.QueryRowContext(ctx, q.ChatWaits, *chat).Scan(&waits); err != nil {
				return fmt.Errorf("check chat: %w", err)
			}
			leased = !waits
		}
		owner := ""
		if leased {
			owner = worker
		}
		var id int64
		if err := tx.QueryRowContext(ctx, q.InsertJob, dialect.JobArgs(ev, chat, body, now, owner, now.Add(lease))...).Scan(&id); err != nil {
			return fmt.Errorf("insert job: %w", err)
		}
		if leased {
			var err error
			if job, err = sqlrow.LeasedJob(id, body, now); err != nil {
				return err
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

// Claim leases up to n runnable jobs to worker until now+lease, oldest
// first. One UPDATE … RETURNING selects and leases them, inside an
// IMMEDIATE transaction, so no two workers — in this process or another —
// can take the same job. Each chat contributes at most its earliest
// unfinished job. worker names must be unique among live workers.
func (s *Store) Claim(ctx context.Context, worker string, n int, lease time.Duration, now time.Time) ([]moderation.Job, error) {
	if err := sqlrow.CheckLease(worker, lease); err != nil {
		return nil, fmt.Errorf("sqlite: claim: %w", err)
	}
	if n <= 0 {
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
			RETURNING `+sqlrow.JobColumns,
			worker, nanos(now.Add(lease)), nanos(now), n)
		if err != nil {
			return fmt.Errorf("lease jobs: %w", err)
		}
		defer rows.Close()
		if jobs, err = sqlrow.Collect(rows, sqlrow.ScanJob); err != nil {
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
