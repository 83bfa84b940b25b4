package sqlite

import (
	"context"
	"fmt"

	"gavel/moderation"
	"gavel/store/internal/sqlrow"
)

// RecordResults upserts the job's results for verb, one row per user.
func (s *Store) RecordResults(ctx context.Context, jobID int64, verb moderation.StepKey, results []moderation.Result) error {
	if len(results) == 0 {
		return nil
	}
	err := s.write(ctx, func(tx txn) error {
		var exists bool
		if err := tx.QueryRowContext(ctx, q.JobExists, jobID).Scan(&exists); err != nil {
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
	return sqlrow.Commit("sqlite", jobID, worker, w, func(rows []sqlrow.CaseRow, ids []int64, added *bool) (lost bool, err error) {
		err = s.write(ctx, func(tx txn) error {
			lost = false
			var exists bool
			if err := tx.QueryRowContext(ctx, q.JobExists, jobID).Scan(&exists); err != nil {
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
			if cl := w.Claim; cl != nil {
				n := len(w.Cases)
				id, isNew, err := addCaseNew(ctx, tx, cl.Case, rows[n])
				if err != nil {
					return fmt.Errorf("claim %s: %w", cl.Case.DeliveryID, err)
				}
				ids[n], *added = id, isNew
				if isNew {
					if err := recordResults(ctx, tx, jobID, cl.Won.Step, cl.Won.Results); err != nil {
						return err
					}
				}
			}
			if !w.Finish {
				return nil
			}
			res, err := tx.ExecContext(ctx, q.FinishJob, jobID, worker)
			if err != nil {
				return fmt.Errorf("finish: %w", err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return fmt.Errorf("finish: %w", err)
			}
			lost = n != 1 // the records above still commit
			return nil
		})
		return lost, err
	})
}

// Results returns the job's recorded results for verb by user; empty when
// none were recorded.
func (s *Store) Results(ctx context.Context, jobID int64, verb moderation.StepKey) (map[string]moderation.Result, error) {
	rs, err := collect(ctx, s, sqlrow.ScanResult, q.JobResults, jobID, string(verb))
	if err != nil {
		return nil, fmt.Errorf("sqlite: results of job %d: %w", jobID, err)
	}
	return sqlrow.ByUser(rs), nil
}
