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

// SearchCases returns the cases f selects, newest first: a query per
// grant of the scope, merged.
func (s *Store) SearchCases(ctx context.Context, f moderation.CaseQuery) ([]moderation.Case, error) {
	queries, args := dialect.SearchQueries(f)
	lists := make([][]moderation.Case, len(queries))
	for i, query := range queries {
		var err error
		if lists[i], err = collect(ctx, s.pool, sqlrow.ScanCase, query, args[i]...); err != nil {
			return nil, fmt.Errorf("postgres: search cases: %w", err)
		}
	}
	return sqlrow.MergeNewest(lists, f.Limit), nil
}

// CountCases counts cases per hour and verb or rule: the rolled-up
// hours plus the cases above the mark.
func (s *Store) CountCases(ctx context.Context, scope []string, since time.Time, by string) ([]moderation.CaseCount, error) {
	hours, hargs, tail, targs, err := dialect.CountQueries(scope, since, by)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	var mark int64
	if err := s.pool.QueryRow(ctx, rollupMark).Scan(&mark); err != nil {
		return nil, fmt.Errorf("postgres: count cases: mark: %w", err)
	}
	targs[0] = mark
	rolled, err := collect(ctx, s.pool, sqlrow.ScanCount, hours, hargs...)
	if err != nil {
		return nil, fmt.Errorf("postgres: count cases by %s: %w", by, err)
	}
	recent, err := collect(ctx, s.pool, sqlrow.ScanCount, tail, targs...)
	if err != nil {
		return nil, fmt.Errorf("postgres: count recent cases by %s: %w", by, err)
	}
	return sqlrow.MergeCounts(rolled, recent), nil
}

var (
	rollupMark    = dialect.Q(sqlrow.RollupMark)
	rollupUpto    = dialect.Q(sqlrow.RollupUpto)
	rollupInsert  = dialect.Q(sqlrow.RollupInsert)
	rollupSetMark = dialect.Q(sqlrow.RollupSetMark)
)

// lockRollup is the advisory lock class of RollupCases ("GvRu").
const lockRollup int32 = 0x47765275

// RollupCases adds settled cases to the hourly counts, one replica at a
// time (a transaction-scoped advisory lock), so each case counts once.
func (s *Store) RollupCases(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx pgx.Tx) error {
		n = 0
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, lockRollup, lockKey(s.schema)); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		var mark, upto int64
		if err := tx.QueryRow(ctx, rollupMark).Scan(&mark); err != nil {
			return fmt.Errorf("mark: %w", err)
		}
		if err := tx.QueryRow(ctx, rollupUpto, mark, nanos(now.Add(-sqlrow.RollupSettle)), sqlrow.RollupChunk).Scan(&upto); err != nil {
			return fmt.Errorf("chunk: %w", err)
		}
		if upto <= mark {
			return nil
		}
		if _, err := tx.Exec(ctx, rollupInsert, mark, upto); err != nil {
			return fmt.Errorf("count: %w", err)
		}
		if _, err := tx.Exec(ctx, rollupSetMark, upto); err != nil {
			return fmt.Errorf("set mark: %w", err)
		}
		n = upto - mark
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: roll up cases: %w", err)
	}
	return int(n), nil
}

// ChatsSeen lists the chats of scope with a case, mute or sanction.
func (s *Store) ChatsSeen(ctx context.Context, scope []string) ([]moderation.ChatSeen, error) {
	others, err := collect(ctx, s.pool, sqlrow.ScanChatRef, sqlrow.OtherChats)
	if err != nil {
		return nil, fmt.Errorf("postgres: chats seen: %w", err)
	}
	row := func(query string, args ...any) sqlrow.Scanner { return s.pool.QueryRow(ctx, query, args...) }
	out, err := dialect.WalkChats(row, scope, others)
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
