package postgres

import (
	"context"
	"fmt"
	"time"

	"gavel/moderation"
	"gavel/store/internal/sqlrow"
)

// Extend moves worker's lease on the job to until.
func (s *Store) Extend(ctx context.Context, jobID int64, worker string, until time.Time) error {
	return s.leased(ctx, "extend", jobID, worker, q.ExtendJob, nanos(until))
}

// Finish marks the job done. Finish is given no clock, so the job counts
// as finished at the end of its lease, an upper bound that PurgeCases uses.
func (s *Store) Finish(ctx context.Context, jobID int64, worker string) error {
	return s.leased(ctx, "finish", jobID, worker, q.FinishJob)
}

// Retry releases the job to be claimed again from notBefore, recording
// errMsg. Later jobs of its chat keep waiting for it.
func (s *Store) Retry(ctx context.Context, jobID int64, worker string, notBefore time.Time, errMsg string) error {
	return s.leased(ctx, "retry", jobID, worker, q.RetryJob, nanos(notBefore), dialect.Text(errMsg))
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
		err = s.pool.QueryRow(ctx, q.JobExists, jobID).Scan(&exists)
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
	n, oldest, err := sqlrow.ScanPending(s.pool.QueryRow(ctx, q.Pending), now)
	if err != nil {
		return 0, 0, fmt.Errorf("postgres: pending: %w", err)
	}
	return n, oldest, nil
}
