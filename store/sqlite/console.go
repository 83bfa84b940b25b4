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

// SearchCases returns the cases q selects, newest first.
func (s *Store) SearchCases(ctx context.Context, f moderation.CaseQuery) ([]moderation.Case, error) {
	query, args := dialect.SearchQuery(f)
	out, err := uncached(ctx, s, sqlrow.ScanCase, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: search cases: %w", err)
	}
	return out, nil
}

// CountCases counts cases per hour and verb or rule.
func (s *Store) CountCases(ctx context.Context, scope []string, since time.Time, by string) ([]moderation.CaseCount, error) {
	query, args, err := dialect.CountQuery(scope, since, by)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	out, err := uncached(ctx, s, sqlrow.ScanCount, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: count cases by %s: %w", by, err)
	}
	return out, nil
}

// ChatsSeen lists the chats of scope with a case, mute or sanction.
func (s *Store) ChatsSeen(ctx context.Context, scope []string) ([]moderation.ChatSeen, error) {
	query, args := dialect.ChatsQuery(scope)
	out, err := uncached(ctx, s, sqlrow.ScanChat, query, args...)
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
