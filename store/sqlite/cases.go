package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"gavel/moderation"
	"gavel/store/internal/sqlrow"
)

// AddCase stores c and sets c.ID. When a case with c's DeliveryID, Verb
// and Rule is already stored (a delivery re-run after a crash), nothing is
// written and c.ID is set to the stored case's ID.
func (s *Store) AddCase(ctx context.Context, c *moderation.Case) error {
	if c == nil {
		return errors.New("sqlite: add case: nil case")
	}
	row, err := sqlrow.EncodeCase(c)
	if err != nil {
		return fmt.Errorf("sqlite: add case: %w", err)
	}
	var id int64
	err = s.write(ctx, func(tx txn) error {
		var err error
		id, err = addCase(ctx, tx, c, row)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: add case for %s: %w", c.DeliveryID, err)
	}
	c.ID = id
	return nil
}

// insertCase adds the new case's ID to the shared insert.
var insertCase = q.InsertCase + ` RETURNING id`

// addCase stores c (encoded as row) in tx unless a case of its delivery,
// verb and rule is stored, and returns the case's ID. The write lock
// keeps a concurrent AddCase of the same delivery out between the two.
func addCase(ctx context.Context, tx txn, c *moderation.Case, row sqlrow.CaseRow) (int64, error) {
	id, _, err := addCaseNew(ctx, tx, c, row)
	return id, err
}

// addCaseNew is addCase that also reports whether it stored c (false:
// the case of its delivery, verb and rule was stored already).
func addCaseNew(ctx context.Context, tx txn, c *moderation.Case, row sqlrow.CaseRow) (int64, bool, error) {
	var id int64
	if c.DeliveryID != "" {
		err := tx.QueryRowContext(ctx, q.CaseByDelivery, c.DeliveryID, string(c.Verb), c.Rule).Scan(&id)
		switch {
		case err == nil:
			return id, false, nil
		case !errors.Is(err, sql.ErrNoRows):
			return 0, false, fmt.Errorf("find by delivery: %w", err)
		}
	}
	if err := tx.QueryRowContext(ctx, insertCase, dialect.CaseArgs(c, row)...).Scan(&id); err != nil {
		return 0, false, fmt.Errorf("insert: %w", err)
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO case_users (case_id, user_id) VALUES (?, ?)`)
	if err != nil {
		return 0, false, fmt.Errorf("prepare case users: %w", err)
	}
	defer stmt.Close()
	for _, u := range row.Users {
		if _, err := stmt.ExecContext(ctx, id, u); err != nil {
			return 0, false, fmt.Errorf("index user %s: %w", u, err)
		}
	}
	return id, true, nil
}

// Case returns the case with id, or an error wrapping ErrNotFound.
func (s *Store) Case(ctx context.Context, id int64) (moderation.Case, error) {
	c, err := sqlrow.ScanCase(s.queryRow(ctx, q.CaseByID, id))
	if errors.Is(err, sql.ErrNoRows) {
		err = moderation.ErrNotFound
	}
	if err != nil {
		return moderation.Case{}, fmt.Errorf("sqlite: case %d: %w", id, err)
	}
	return c, nil
}

// Cases returns the cases f selects, newest first. UserID matches the
// actor or any target; Since is inclusive; Limit ≤ 0 means no limit.
func (s *Store) Cases(ctx context.Context, f moderation.CaseFilter) ([]moderation.Case, error) {
	query, args := dialect.CasesQuery(f)
	out, err := collect(ctx, s, sqlrow.ScanCase, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: cases: %w", err)
	}
	return out, nil
}

// PurgeCases deletes, in one transaction, the cases from before `before`,
// the jobs finished before it (with their results) and the dedup keys that
// expired by then. It returns how many cases went. Case IDs are never
// reused; mutes and sanctions stay, whatever their case.
func (s *Store) PurgeCases(ctx context.Context, before time.Time) (int, error) {
	cut := nanos(before)
	var n int64
	err := s.write(ctx, func(tx txn) error {
		steps := []struct {
			name, query string
			count       bool
		}{
			{"case users", `DELETE FROM case_users WHERE case_id IN (SELECT id FROM cases WHERE at < ?)`, false},
			{"case links", `DELETE FROM case_links WHERE case_id IN (SELECT id FROM cases WHERE at < ?)`, false},
			{"cases", `DELETE FROM cases WHERE at < ?`, true},
			{"job results", `DELETE FROM job_results WHERE job_id IN (
				SELECT id FROM jobs WHERE finished_at IS NOT NULL AND finished_at < ?)`, false},
			{"jobs", `DELETE FROM jobs WHERE finished_at IS NOT NULL AND finished_at < ?`, false},
			{"dedup keys", `DELETE FROM dedup_keys WHERE expires_at <= ?`, false},
		}
		for _, st := range steps {
			res, err := tx.ExecContext(ctx, st.query, cut)
			if err != nil {
				return fmt.Errorf("delete %s: %w", st.name, err)
			}
			if st.count {
				if n, err = res.RowsAffected(); err != nil {
					return fmt.Errorf("delete %s: %w", st.name, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: purge before %s: %w", before.Format(time.RFC3339), err)
	}
	return int(n), nil
}
