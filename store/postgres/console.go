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

var cq = sqlrow.ConsoleFor(dialect)

// PutConsoleUser adds u or replaces the user of its name.
func (s *Store) PutConsoleUser(ctx context.Context, u moderation.ConsoleUser) error {
	args, err := dialect.UserArgs(u)
	if err == nil {
		_, err = s.pool.Exec(ctx, cq.PutUser, args...)
	}
	if err != nil {
		return fmt.Errorf("postgres: put console user %s: %w", u.Name, err)
	}
	return nil
}

// DeleteConsoleUser removes the user; its sessions go with it (ON DELETE
// CASCADE).
func (s *Store) DeleteConsoleUser(ctx context.Context, name string) (bool, error) {
	tag, err := s.pool.Exec(ctx, cq.DeleteUser, name)
	if err != nil {
		return false, fmt.Errorf("postgres: delete console user %s: %w", name, err)
	}
	return tag.RowsAffected() > 0, nil
}

// ConsoleUser returns the user of name.
func (s *Store) ConsoleUser(ctx context.Context, name string) (moderation.ConsoleUser, error) {
	u, err := sqlrow.ScanUser(s.pool.QueryRow(ctx, cq.User, name))
	if errors.Is(err, pgx.ErrNoRows) {
		err = moderation.ErrNotFound
	}
	if err != nil {
		return u, fmt.Errorf("postgres: console user %s: %w", name, err)
	}
	return u, nil
}

// ConsoleUsers lists the users by name.
func (s *Store) ConsoleUsers(ctx context.Context) ([]moderation.ConsoleUser, error) {
	out, err := collect(ctx, s.pool, sqlrow.ScanUser, cq.Users)
	if err != nil {
		return nil, fmt.Errorf("postgres: console users: %w", err)
	}
	return out, nil
}

// PutConsoleSession stores a new session.
func (s *Store) PutConsoleSession(ctx context.Context, cs moderation.ConsoleSession) error {
	if _, err := s.pool.Exec(ctx, cq.PutSession, sqlrow.SessionArgs(cs)...); err != nil {
		return fmt.Errorf("postgres: put console session: %w", err)
	}
	return nil
}

// ConsoleSession returns the session of id.
func (s *Store) ConsoleSession(ctx context.Context, id string) (moderation.ConsoleSession, error) {
	cs, err := sqlrow.ScanSession(s.pool.QueryRow(ctx, cq.Session, id))
	if errors.Is(err, pgx.ErrNoRows) {
		err = moderation.ErrNotFound
	}
	if err != nil {
		return cs, fmt.Errorf("postgres: console session: %w", err)
	}
	return cs, nil
}

// TouchConsoleSession records the session's use at seen.
func (s *Store) TouchConsoleSession(ctx context.Context, id string, seen time.Time) error {
	if _, err := s.pool.Exec(ctx, cq.TouchSession, nanos(seen), id); err != nil {
		return fmt.Errorf("postgres: touch console session: %w", err)
	}
	return nil
}

// DeleteConsoleSession ends the session.
func (s *Store) DeleteConsoleSession(ctx context.Context, id string) error {
	if _, err := s.pool.Exec(ctx, cq.DeleteSession, id); err != nil {
		return fmt.Errorf("postgres: delete console session: %w", err)
	}
	return nil
}

// PurgeConsoleSessions deletes sessions idle since idle or created
// before created.
func (s *Store) PurgeConsoleSessions(ctx context.Context, idle, created time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, cq.PurgeSessions, nanos(idle), nanos(created))
	if err != nil {
		return 0, fmt.Errorf("postgres: purge console sessions: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// SearchCases returns the cases f selects, newest first.
func (s *Store) SearchCases(ctx context.Context, f moderation.CaseQuery) ([]moderation.Case, error) {
	query, args := dialect.SearchQuery(f)
	out, err := collect(ctx, s.pool, sqlrow.ScanCase, query, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: search cases: %w", err)
	}
	return out, nil
}

// CountCases counts cases per hour and verb or rule.
func (s *Store) CountCases(ctx context.Context, scope []string, since time.Time, by string) ([]moderation.CaseCount, error) {
	query, args, err := dialect.CountQuery(scope, since, by)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	out, err := collect(ctx, s.pool, sqlrow.ScanCount, query, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: count cases by %s: %w", by, err)
	}
	return out, nil
}

// ChatsSeen lists the chats of scope with a case, mute or sanction.
func (s *Store) ChatsSeen(ctx context.Context, scope []string) ([]moderation.ChatSeen, error) {
	query, args := dialect.ChatsQuery(scope)
	out, err := collect(ctx, s.pool, sqlrow.ScanChat, query, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: chats seen: %w", err)
	}
	return out, nil
}

const (
	addStat = `INSERT INTO console_stats (series, key, hour, n) VALUES ($1, $2, $3, $4)
		ON CONFLICT (series, hour, key) DO UPDATE SET n = console_stats.n + excluded.n`
	maxStat = `INSERT INTO console_stats (series, key, hour, n) VALUES ($1, $2, $3, $4)
		ON CONFLICT (series, hour, key) DO UPDATE SET n = greatest(console_stats.n, excluded.n)`
)

// AddStats adds (or, for gauges, raises to) each point's hourly value in
// one transaction.
func (s *Store) AddStats(ctx context.Context, gauge bool, points ...moderation.StatPoint) error {
	if len(points) == 0 {
		return nil
	}
	query := addStat
	if gauge {
		query = maxStat
	}
	b := &pgx.Batch{}
	for _, p := range points {
		b.Queue(query, p.Series, p.Key, sqlrow.HourOf(p.Hour), p.N)
	}
	if err := s.tx(ctx, func(tx pgx.Tx) error { return tx.SendBatch(ctx, b).Close() }); err != nil {
		return fmt.Errorf("postgres: add %d stats: %w", len(points), err)
	}
	return nil
}

// Stats returns series' points since since, oldest first.
func (s *Store) Stats(ctx context.Context, series string, since time.Time) ([]moderation.StatPoint, error) {
	out, err := collect(ctx, s.pool, sqlrow.ScanStat, cq.StatsOf, series, sqlrow.HourOf(since))
	if err != nil {
		return nil, fmt.Errorf("postgres: stats %s: %w", series, err)
	}
	return out, nil
}
