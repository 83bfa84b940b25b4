package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"gavel/moderation"
	"gavel/store/internal/sqlrow"
)

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
		reasons = append(reasons, sqlrow.FreeText(string(r.Reason)))
		details = append(details, sqlrow.FreeText(r.Detail))
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
	return sqlrow.Commit("postgres", jobID, worker, w, func(rows []sqlrow.CaseRow, ids []int64, added *bool) (lost bool, err error) {
		err = s.tx(ctx, func(tx pgx.Tx) error {
			lost = false
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
			if cl := w.Claim; cl != nil {
				n := len(w.Cases)
				id, isNew, err := addCaseNew(ctx, tx, cl.Case, rows[n])
				if err != nil {
					return fmt.Errorf("claim %s: %w", cl.Case.DeliveryID, err)
				}
				ids[n], *added = id, isNew
				if isNew && len(cl.Won.Results) > 0 {
					if err := recordResults(ctx, tx, jobID, cl.Won.Step, cl.Won.Results); err != nil {
						return fmt.Errorf("record %s results: %w", cl.Won.Step, err)
					}
				}
			}
			if !w.Finish {
				return nil
			}
			if owner != worker || finished {
				lost = true // the records above still commit
				return nil
			}
			if _, err := tx.Exec(ctx, `UPDATE jobs SET finished_at = lease_until WHERE id = $1`, jobID); err != nil {
				return fmt.Errorf("finish: %w", err)
			}
			return nil
		})
		return lost, err
	})
}

// Results returns the job's recorded results for verb by user; empty when
// none were recorded.
func (s *Store) Results(ctx context.Context, jobID int64, verb moderation.StepKey) (map[string]moderation.Result, error) {
	rs, err := collect(ctx, s.pool, sqlrow.ScanResult, q.JobResults, jobID, string(verb))
	if err != nil {
		return nil, fmt.Errorf("postgres: results of job %d: %w", jobID, err)
	}
	return sqlrow.ByUser(rs), nil
}
