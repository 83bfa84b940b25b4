package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"gavel/moderation"
	"gavel/store/internal/sqlrow"
)

// AddCase stores c and sets c.ID. When a case with c's DeliveryID, Verb
// and Rule is already stored (a delivery re-run after a crash), nothing is
// written and c.ID is set to the stored case's ID.
//
// IDs come from an identity column: increasing, never reused, and from 1
// in a new schema. A sequence does not roll back, so an AddCase that fails,
// or loses a race with a concurrent AddCase of the same delivery, leaves a
// gap; the stored case is looked up first so a plain re-run does not.
func (s *Store) AddCase(ctx context.Context, c *moderation.Case) error {
	if c == nil {
		return errors.New("postgres: add case: nil case")
	}
	row, err := sqlrow.EncodeCase(c)
	if err != nil {
		return fmt.Errorf("postgres: add case: %w", err)
	}
	var id int64
	err = s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		id, err = addCase(ctx, tx, c, row)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: add case for %s: %w", c.DeliveryID, err)
	}
	c.ID = id
	return nil
}

// insertCase is the shared insert that, when a concurrent AddCase of the
// same delivery won, waits for it and then inserts nothing: the case it
// stored is then visible.
var insertCase = q.InsertCase + `
	ON CONFLICT (delivery_id, verb, rule) WHERE delivery_id <> '' DO NOTHING
	RETURNING id`

// addCase stores c (encoded as row) in tx unless a case of its delivery,
// verb and rule is stored, and returns the case's ID.
func addCase(ctx context.Context, tx pgx.Tx, c *moderation.Case, row sqlrow.CaseRow) (int64, error) {
	id, _, err := addCaseNew(ctx, tx, c, row)
	return id, err
}

// addCaseNew is addCase that also reports whether it stored c (false:
// the case of its delivery, verb and rule was stored already, or a
// concurrent transaction stored it first).
func addCaseNew(ctx context.Context, tx pgx.Tx, c *moderation.Case, row sqlrow.CaseRow) (int64, bool, error) {
	var id int64
	stored := func() (bool, error) {
		if c.DeliveryID == "" {
			return false, nil
		}
		err := tx.QueryRow(ctx, q.CaseByDelivery, c.DeliveryID, string(c.Verb), c.Rule).Scan(&id)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return false, nil
		case err != nil:
			return false, fmt.Errorf("find by delivery: %w", err)
		}
		return true, nil
	}
	if found, err := stored(); found || err != nil {
		return id, false, err
	}
	err := tx.QueryRow(ctx, insertCase, dialect.CaseArgs(c, row)...).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		found, err := stored()
		if err == nil && !found {
			err = errors.New("insert conflicted but no stored case found")
		}
		return id, false, err
	}
	if err != nil {
		return 0, false, fmt.Errorf("insert: %w", err)
	}
	if len(row.Users) > 0 {
		_, err := tx.Exec(ctx, `INSERT INTO case_users (case_id, user_id) SELECT $1, unnest($2::text[])`, id, row.Users)
		if err != nil {
			return 0, false, fmt.Errorf("index users: %w", err)
		}
	}
	return id, true, nil
}

// Case returns the case with id, or an error wrapping ErrNotFound.
func (s *Store) Case(ctx context.Context, id int64) (moderation.Case, error) {
	c, err := sqlrow.ScanCase(s.pool.QueryRow(ctx, q.CaseByID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		err = moderation.ErrNotFound
	}
	if err != nil {
		return moderation.Case{}, fmt.Errorf("postgres: case %d: %w", id, err)
	}
	return c, nil
}

// Cases returns the cases f selects, newest first. UserID matches the
// actor or any target; Since is inclusive; Limit ≤ 0 means no limit.
func (s *Store) Cases(ctx context.Context, f moderation.CaseFilter) ([]moderation.Case, error) {
	query, args := dialect.CasesQuery(f)
	out, err := collect(ctx, s.pool, sqlrow.ScanCase, query, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: cases: %w", err)
	}
	return out, nil
}

// PurgeCases deletes, in one transaction, the cases from before `before`
// (their user index goes with them), the jobs finished before it (with
// their results) and the dedup keys that expired by then. It returns how
// many cases went. Case IDs are never reused; mutes and sanctions stay,
// whatever their case.
func (s *Store) PurgeCases(ctx context.Context, before time.Time) (int, error) {
	cut := nanos(before)
	var n int64
	err := s.tx(ctx, func(tx pgx.Tx) error {
		steps := []struct {
			name, query string
			count       bool
		}{
			{"case links", `DELETE FROM case_links WHERE case_id IN (SELECT id FROM cases WHERE at < $1)`, false},
			{"cases", `DELETE FROM cases WHERE at < $1`, true},
			{"jobs", `DELETE FROM jobs WHERE finished_at IS NOT NULL AND finished_at < $1`, false},
			{"dedup keys", `DELETE FROM dedup_keys WHERE expires_at <= $1`, false},
		}
		for _, st := range steps {
			tag, err := tx.Exec(ctx, st.query, cut)
			if err != nil {
				return fmt.Errorf("delete %s: %w", st.name, err)
			}
			if st.count {
				n = tag.RowsAffected()
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: purge before %s: %w", before.Format(time.RFC3339), err)
	}
	return int(n), nil
}
