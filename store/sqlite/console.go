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

var cq = sqlrow.ConsoleFor(dialect)

// PutConsoleUser adds u or replaces the user of its name.
func (s *Store) PutConsoleUser(ctx context.Context, u moderation.ConsoleUser) error {
	args, err := dialect.UserArgs(u)
	if err != nil {
		return fmt.Errorf("sqlite: put console user %s: %w", u.Name, err)
	}
	err = s.write(ctx, func(tx txn) error {
		_, err := tx.ExecContext(ctx, cq.PutUser, args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: put console user %s: %w", u.Name, err)
	}
	return nil
}

// DeleteConsoleUser removes the user and its sessions.
func (s *Store) DeleteConsoleUser(ctx context.Context, name string) (bool, error) {
	var n int64
	err := s.write(ctx, func(tx txn) error {
		if _, err := tx.ExecContext(ctx, cq.DeleteUserSessions, name); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, cq.DeleteUser, name)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("sqlite: delete console user %s: %w", name, err)
	}
	return n > 0, nil
}

// ConsoleUser returns the user of name.
func (s *Store) ConsoleUser(ctx context.Context, name string) (moderation.ConsoleUser, error) {
	u, err := sqlrow.ScanUser(s.queryRow(ctx, cq.User, name))
	if errors.Is(err, sql.ErrNoRows) {
		err = moderation.ErrNotFound
	}
	if err != nil {
		return u, fmt.Errorf("sqlite: console user %s: %w", name, err)
	}
	return u, nil
}

// ConsoleUsers lists the users by name.
func (s *Store) ConsoleUsers(ctx context.Context) ([]moderation.ConsoleUser, error) {
	out, err := collect(ctx, s, sqlrow.ScanUser, cq.Users)
	if err != nil {
		return nil, fmt.Errorf("sqlite: console users: %w", err)
	}
	return out, nil
}

// PutConsoleSession stores a new session.
func (s *Store) PutConsoleSession(ctx context.Context, cs moderation.ConsoleSession) error {
	err := s.write(ctx, func(tx txn) error {
		_, err := tx.ExecContext(ctx, cq.PutSession, sqlrow.SessionArgs(cs)...)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: put console session: %w", err)
	}
	return nil
}

// ConsoleSession returns the session of id.
func (s *Store) ConsoleSession(ctx context.Context, id string) (moderation.ConsoleSession, error) {
	cs, err := sqlrow.ScanSession(s.queryRow(ctx, cq.Session, id))
	if errors.Is(err, sql.ErrNoRows) {
		err = moderation.ErrNotFound
	}
	if err != nil {
		return cs, fmt.Errorf("sqlite: console session: %w", err)
	}
	return cs, nil
}

// TouchConsoleSession records the session's use at seen.
func (s *Store) TouchConsoleSession(ctx context.Context, id string, seen time.Time) error {
	return s.consoleExec(ctx, "touch console session", cq.TouchSession, nanos(seen), id)
}

// DeleteConsoleSession ends the session.
func (s *Store) DeleteConsoleSession(ctx context.Context, id string) error {
	return s.consoleExec(ctx, "delete console session", cq.DeleteSession, id)
}

// PurgeConsoleSessions deletes sessions idle since idle or created
// before created.
func (s *Store) PurgeConsoleSessions(ctx context.Context, idle, created time.Time) (int, error) {
	var n int64
	err := s.write(ctx, func(tx txn) error {
		res, err := tx.ExecContext(ctx, cq.PurgeSessions, nanos(idle), nanos(created))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: purge console sessions: %w", err)
	}
	return int(n), nil
}

func (s *Store) consoleExec(ctx context.Context, what, query string, args ...any) error {
	err := s.write(ctx, func(tx txn) error {
		_, err := tx.ExecContext(ctx, query, args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	return nil
}

// uncached runs a query built from a filter: the console's filters
// combine in many ways, and a page is not worth a cached statement each.
func uncached[T any](ctx context.Context, s *Store, scan func(sqlrow.Scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return sqlrow.Collect(rows, scan)
}

// SearchCases returns the cases f selects, newest first: a query per
// grant of the scope, merged.
func (s *Store) SearchCases(ctx context.Context, f moderation.CaseQuery) ([]moderation.Case, error) {
	queries, args := dialect.SearchQueries(f)
	lists := make([][]moderation.Case, len(queries))
	for i, query := range queries {
		var err error
		if lists[i], err = uncached(ctx, s, sqlrow.ScanCase, query, args[i]...); err != nil {
			return nil, fmt.Errorf("sqlite: search cases: %w", err)
		}
	}
	return sqlrow.MergeNewest(lists, f.Limit), nil
}

// CountCases counts cases per hour and verb or rule: the rolled-up
// hours plus the cases above the mark.
func (s *Store) CountCases(ctx context.Context, scope []string, since time.Time, by string) ([]moderation.CaseCount, error) {
	hours, hargs, tail, targs, err := dialect.CountQueries(scope, since, by)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	var mark int64
	if err := s.queryRow(ctx, sqlrow.RollupMark).Scan(&mark); err != nil {
		return nil, fmt.Errorf("sqlite: count cases: mark: %w", err)
	}
	targs[0] = mark
	rolled, err := uncached(ctx, s, sqlrow.ScanCount, hours, hargs...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: count cases by %s: %w", by, err)
	}
	recent, err := uncached(ctx, s, sqlrow.ScanCount, tail, targs...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: count recent cases by %s: %w", by, err)
	}
	return sqlrow.MergeCounts(rolled, recent), nil
}

// RollupCases adds settled cases to the hourly counts, in the write
// transaction, so replicas sharing the file count each case once.
func (s *Store) RollupCases(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := s.write(ctx, func(tx txn) error {
		var mark, upto int64
		if err := tx.QueryRowContext(ctx, sqlrow.RollupMark).Scan(&mark); err != nil {
			return fmt.Errorf("mark: %w", err)
		}
		if err := tx.QueryRowContext(ctx, sqlrow.RollupUpto, mark, nanos(now.Add(-sqlrow.RollupSettle)), sqlrow.RollupChunk).Scan(&upto); err != nil {
			return fmt.Errorf("chunk: %w", err)
		}
		if upto <= mark {
			return nil
		}
		if _, err := tx.ExecContext(ctx, sqlrow.RollupInsert, mark, upto); err != nil {
			return fmt.Errorf("count: %w", err)
		}
		if _, err := tx.ExecContext(ctx, sqlrow.RollupSetMark, upto); err != nil {
			return fmt.Errorf("set mark: %w", err)
		}
		n = upto - mark
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: roll up cases: %w", err)
	}
	return int(n), nil
}

// ChatsSeen lists the chats of scope with a case, mute or sanction.
func (s *Store) ChatsSeen(ctx context.Context, scope []string) ([]moderation.ChatSeen, error) {
	others, err := uncached(ctx, s, sqlrow.ScanChatRef, sqlrow.OtherChats)
	if err != nil {
		return nil, fmt.Errorf("sqlite: chats seen: %w", err)
	}
	row := func(query string, args ...any) sqlrow.Scanner { return s.queryRow(ctx, query, args...) }
	out, err := dialect.WalkChats(row, scope, others)
	if err != nil {
		return nil, fmt.Errorf("sqlite: chats seen: %w", err)
	}
	return out, nil
}

const (
	addStat = `INSERT INTO console_stats (series, key, hour, n) VALUES (?, ?, ?, ?)
		ON CONFLICT (series, hour, key) DO UPDATE SET n = console_stats.n + excluded.n`
	maxStat = `INSERT INTO console_stats (series, key, hour, n) VALUES (?, ?, ?, ?)
		ON CONFLICT (series, hour, key) DO UPDATE SET n = max(console_stats.n, excluded.n)`
)

// AddStats adds (or, for gauges, raises to) each point's hourly value.
func (s *Store) AddStats(ctx context.Context, gauge bool, points ...moderation.StatPoint) error {
	if len(points) == 0 {
		return nil
	}
	query := addStat
	if gauge {
		query = maxStat
	}
	err := s.write(ctx, func(tx txn) error {
		for _, p := range points {
			if _, err := tx.ExecContext(ctx, query, p.Series, p.Key, sqlrow.HourOf(p.Hour), p.N); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: add %d stats: %w", len(points), err)
	}
	return nil
}

// Stats returns series' points since since, oldest first.
func (s *Store) Stats(ctx context.Context, series string, since time.Time) ([]moderation.StatPoint, error) {
	out, err := collect(ctx, s, sqlrow.ScanStat, cq.StatsOf, series, sqlrow.HourOf(since))
	if err != nil {
		return nil, fmt.Errorf("sqlite: stats %s: %w", series, err)
	}
	return out, nil
}
