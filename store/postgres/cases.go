package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"gavel/moderation"
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
	row, err := encodeCase(c)
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

// caseRow is a case's JSON columns, encoded before the transaction.
type caseRow struct {
	targets, decisions, results []byte
	users                       []string
}

func encodeCase(c *moderation.Case) (caseRow, error) {
	targets, err := json.Marshal(c.Targets)
	if err != nil {
		return caseRow{}, fmt.Errorf("encode targets: %w", err)
	}
	decisions, err := json.Marshal(c.Decisions)
	if err != nil {
		return caseRow{}, fmt.Errorf("encode decisions: %w", err)
	}
	results, err := json.Marshal(c.Results)
	if err != nil {
		return caseRow{}, fmt.Errorf("encode results: %w", err)
	}
	return caseRow{targets, decisions, results, c.Users()}, nil
}

// addCase stores c (encoded as row) in tx unless a case of its delivery,
// verb and rule is stored, and returns the case's ID.
func addCase(ctx context.Context, tx pgx.Tx, c *moderation.Case, row caseRow) (int64, error) {
	var id int64
	stored := func() (bool, error) {
		if c.DeliveryID == "" {
			return false, nil
		}
		err := tx.QueryRow(ctx, `SELECT id FROM cases WHERE delivery_id = $1 AND delivery_id <> '' AND verb = $2 AND rule = $3`,
			c.DeliveryID, string(c.Verb), c.Rule).Scan(&id)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return false, nil
		case err != nil:
			return false, fmt.Errorf("find by delivery: %w", err)
		}
		return true, nil
	}
	if found, err := stored(); found || err != nil {
		return id, err
	}
	// A concurrent AddCase of the same delivery makes this wait for it
	// and then insert nothing; the case it stored is then visible.
	err := tx.QueryRow(ctx, `
		INSERT INTO cases (delivery_id, platform, chat_id, actor, rule, verb, targets,
			reason, duration_ns, dry_run, decisions, results, outcome, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
		ON CONFLICT (delivery_id, verb, rule) WHERE delivery_id <> '' DO NOTHING
		RETURNING id`,
		c.DeliveryID, c.Platform, c.ChatID, c.Actor, c.Rule, string(c.Verb), row.targets,
		freeText(c.Reason), int64(c.Duration), c.DryRun, row.decisions, row.results, freeText(string(c.Outcome)), nanos(c.At),
	).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		found, err := stored()
		if err == nil && !found {
			err = errors.New("insert conflicted but no stored case found")
		}
		return id, err
	}
	if err != nil {
		return 0, fmt.Errorf("insert: %w", err)
	}
	if len(row.users) > 0 {
		_, err := tx.Exec(ctx, `INSERT INTO case_users (case_id, user_id) SELECT $1, unnest($2::text[])`, id, row.users)
		if err != nil {
			return 0, fmt.Errorf("index users: %w", err)
		}
	}
	return id, nil
}

const caseColumns = `id, delivery_id, platform, chat_id, actor, rule, verb, targets,
	reason, duration_ns, dry_run, decisions, results, outcome, at`

// Case returns the case with id, or an error wrapping ErrNotFound.
func (s *Store) Case(ctx context.Context, id int64) (moderation.Case, error) {
	row := s.pool.QueryRow(ctx, `SELECT `+caseColumns+` FROM cases WHERE id = $1`, id)
	c, err := scanCase(row)
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
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if f.Platform != "" {
		where = append(where, "platform = "+arg(f.Platform))
	}
	if f.ChatID != "" {
		where = append(where, "chat_id = "+arg(f.ChatID))
	}
	if f.UserID != "" {
		where = append(where, "id IN (SELECT case_id FROM case_users WHERE user_id = "+arg(f.UserID)+")")
	}
	if !f.Since.IsZero() {
		where = append(where, "at >= "+arg(nanos(f.Since)))
	}
	q := `SELECT ` + caseColumns + ` FROM cases`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ` + arg(f.Limit)
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: cases: %w", err)
	}
	defer rows.Close()
	var out []moderation.Case
	for rows.Next() {
		c, err := scanCase(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: cases: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: cases: %w", err)
	}
	return out, nil
}

// scanCase reads one row of caseColumns.
func scanCase(row pgx.Row) (moderation.Case, error) {
	var (
		c                           moderation.Case
		verb                        string
		targets, decisions, results []byte
		duration, at                int64
	)
	err := row.Scan(&c.ID, &c.DeliveryID, &c.Platform, &c.ChatID, &c.Actor, &c.Rule, &verb, &targets,
		&c.Reason, &duration, &c.DryRun, &decisions, &results, &c.Outcome, &at)
	if err != nil {
		return moderation.Case{}, err
	}
	c.Verb = moderation.Verb(verb)
	c.Duration = time.Duration(duration)
	c.At = fromNanos(at)
	if err := json.Unmarshal(targets, &c.Targets); err != nil {
		return moderation.Case{}, fmt.Errorf("case %d: decode targets: %w", c.ID, err)
	}
	if err := json.Unmarshal(decisions, &c.Decisions); err != nil {
		return moderation.Case{}, fmt.Errorf("case %d: decode decisions: %w", c.ID, err)
	}
	if err := json.Unmarshal(results, &c.Results); err != nil {
		return moderation.Case{}, fmt.Errorf("case %d: decode results: %w", c.ID, err)
	}
	return c, nil
}

// PurgeCases deletes, in one transaction, the cases from before `before`
// (their user index goes with them), the jobs finished before it (with
// their results) and the dedup keys that expired by then. It returns how
// many cases went. Case IDs are never reused.
func (s *Store) PurgeCases(ctx context.Context, before time.Time) (int, error) {
	cut := nanos(before)
	var n int64
	err := s.tx(ctx, func(tx pgx.Tx) error {
		steps := []struct {
			name, query string
			count       bool
		}{
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
