package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"gavel/moderation"
)

// AddCase stores c and sets c.ID. When a case with c's DeliveryID, Verb
// and Rule is already stored (a delivery re-run after a crash), nothing is
// written and c.ID is set to the stored case's ID.
func (s *Store) AddCase(ctx context.Context, c *moderation.Case) error {
	if c == nil {
		return errors.New("sqlite: add case: nil case")
	}
	row, err := encodeCase(c)
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

// caseRow is a case's JSON columns, encoded before the write lock is
// taken.
type caseRow struct {
	targets, decisions, results string
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
	return caseRow{string(targets), string(decisions), string(results), c.Users()}, nil
}

// addCase stores c (encoded as row) in tx unless a case of its delivery,
// verb and rule is stored, and returns the case's ID.
func addCase(ctx context.Context, tx txn, c *moderation.Case, row caseRow) (int64, error) {
	var id int64
	if c.DeliveryID != "" {
		// delivery_id <> '' lets SQLite use the partial index.
		err := tx.QueryRowContext(ctx, `
			SELECT id FROM cases WHERE delivery_id = ? AND delivery_id <> '' AND verb = ? AND rule = ?`,
			c.DeliveryID, string(c.Verb), c.Rule).Scan(&id)
		switch {
		case err == nil:
			return id, nil
		case !errors.Is(err, sql.ErrNoRows):
			return 0, fmt.Errorf("find by delivery: %w", err)
		}
	}
	err := tx.QueryRowContext(ctx, `
		INSERT INTO cases (delivery_id, platform, chat_id, actor, rule, verb, targets,
			reason, duration_ns, dry_run, decisions, results, outcome, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		RETURNING id`,
		c.DeliveryID, c.Platform, c.ChatID, c.Actor, c.Rule, string(c.Verb), row.targets,
		c.Reason, int64(c.Duration), c.DryRun, row.decisions, row.results, c.Outcome, nanos(c.At),
	).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("insert: %w", err)
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO case_users (case_id, user_id) VALUES (?, ?)`)
	if err != nil {
		return 0, fmt.Errorf("prepare case users: %w", err)
	}
	defer stmt.Close()
	for _, u := range row.users {
		if _, err := stmt.ExecContext(ctx, id, u); err != nil {
			return 0, fmt.Errorf("index user %s: %w", u, err)
		}
	}
	return id, nil
}

const caseColumns = `id, delivery_id, platform, chat_id, actor, rule, verb, targets,
	reason, duration_ns, dry_run, decisions, results, outcome, at`

// Case returns the case with id, or an error wrapping ErrNotFound.
func (s *Store) Case(ctx context.Context, id int64) (moderation.Case, error) {
	row := s.queryRow(ctx, `SELECT `+caseColumns+` FROM cases WHERE id = ?`, id)
	c, err := scanCase(row)
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
	var (
		where []string
		args  []any
	)
	if f.Platform != "" {
		where = append(where, "platform = ?")
		args = append(args, f.Platform)
	}
	if f.ChatID != "" {
		where = append(where, "chat_id = ?")
		args = append(args, f.ChatID)
	}
	if f.UserID != "" {
		where = append(where, "id IN (SELECT case_id FROM case_users WHERE user_id = ?)")
		args = append(args, f.UserID)
	}
	if !f.Since.IsZero() {
		where = append(where, "at >= ?")
		args = append(args, nanos(f.Since))
	}
	q := `SELECT ` + caseColumns + ` FROM cases`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: cases: %w", err)
	}
	defer rows.Close()
	var out []moderation.Case
	for rows.Next() {
		c, err := scanCase(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: cases: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: cases: %w", err)
	}
	return out, nil
}

// scanCase reads one row of caseColumns.
func scanCase(row interface{ Scan(...any) error }) (moderation.Case, error) {
	var (
		c                           moderation.Case
		verb                        string
		targets, decisions, results string
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
	if err := json.Unmarshal([]byte(targets), &c.Targets); err != nil {
		return moderation.Case{}, fmt.Errorf("case %d: decode targets: %w", c.ID, err)
	}
	if err := json.Unmarshal([]byte(decisions), &c.Decisions); err != nil {
		return moderation.Case{}, fmt.Errorf("case %d: decode decisions: %w", c.ID, err)
	}
	if err := json.Unmarshal([]byte(results), &c.Results); err != nil {
		return moderation.Case{}, fmt.Errorf("case %d: decode results: %w", c.ID, err)
	}
	return c, nil
}

// PurgeCases deletes, in one transaction, the cases from before `before`,
// the jobs finished before it (with their results) and the dedup keys that
// expired by then. It returns how many cases went. Case IDs are never
// reused.
func (s *Store) PurgeCases(ctx context.Context, before time.Time) (int, error) {
	cut := nanos(before)
	var n int64
	err := s.write(ctx, func(tx txn) error {
		steps := []struct {
			name, query string
			count       bool
		}{
			{"case users", `DELETE FROM case_users WHERE case_id IN (SELECT id FROM cases WHERE at < ?)`, false},
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
