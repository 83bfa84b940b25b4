// Package postgres is the moderation.Store on PostgreSQL, for Gavel
// deployments that run several processes against one shared database. It
// uses github.com/jackc/pgx/v5 through a pgxpool.Pool.
//
// Concurrency rests on PostgreSQL rather than on the process: Claim leases
// jobs with one UPDATE over a SELECT … FOR UPDATE SKIP LOCKED, Enqueue
// serialises the jobs of one chat with a transaction-scoped advisory lock
// (so job ids of a chat commit in id order), dedup keys are upserted under
// their unique index, and schema migrations run under an advisory lock.
//
// Times are stored as Unix nanoseconds (bigint), exactly as the SQLite
// store keeps them: timestamptz holds only microseconds. Every "now" comes
// from the caller; the database clock decides nothing.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"gavel/moderation"
	"gavel/store/internal/nanotime"
	"gavel/store/internal/sqlrow"
)

// DefaultDedupTTL is how long dedup keys block re-deliveries unless
// Store.DedupTTL says otherwise: longer than Feishu's retry schedule (15 s,
// 5 min, 1 h, 6 h after a failed delivery); store.DefaultDedupTTL agrees.
const DefaultDedupTTL = 8 * time.Hour

// Advisory lock classes (the first key of pg_advisory_xact_lock(int, int));
// the second key is a hash of what is locked. Other applications sharing
// the database are unlikely to pick these.
const (
	lockMigrate int32 = 0x47764d67 // "GvMg"
	lockChat    int32 = 0x47764368 // "GvCh"
)

// txAttempts bounds how often a transaction is run again after PostgreSQL
// aborted it for a serialization failure or a deadlock.
const txAttempts = 3

// Store is a moderation.Store on PostgreSQL.
type Store struct {
	// DedupTTL is how long an enqueued event's dedup keys block
	// re-deliveries. Open sets DefaultDedupTTL; change it before first use.
	DedupTTL time.Duration

	pool *pgxpool.Pool
	// schema is the schema Gavel's tables live in (current_schema() at
	// Open); it scopes the advisory locks.
	schema string
	// afterJobInsert, when set (by tests only), runs inside Enqueue's
	// transaction right after the job row is inserted.
	afterJobInsert func(deliveryID string)
}

var _ moderation.Store = (*Store)(nil)

// Open connects to the database dsn names and applies pending schema
// migrations. dsn is a libpq connection string, as a URL
// ("postgres://user:pass@host:5432/db?sslmode=verify-full") or as
// key=value pairs; the pgxpool settings (pool_max_conns, …) are accepted.
//
// Gavel's tables go into the first existing schema of the search_path,
// which the DSN may set like any run-time parameter:
// "postgres://host/db?search_path=gavel" or "… search_path=gavel". Open
// does not create the schema; an operator does, once. Several processes
// may Open one database at the same time: migrations run one at a time
// under an advisory lock and each is applied exactly once.
func Open(ctx context.Context, dsn string) (*Store, error) {
	if strings.TrimSpace(dsn) == "" {
		return nil, errors.New("postgres: empty dsn")
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgconn redacts the password from parse errors.
		return nil, fmt.Errorf("postgres: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	s := &Store{DedupTTL: DefaultDedupTTL, pool: pool}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// Close closes the pool, waiting for connections in use to be released.
// It may be called more than once.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// errRollback makes tx roll back and return nil: the transaction decided
// to store nothing.
var errRollback = errors.New("roll back")

// tx runs fn in a READ COMMITTED transaction and commits when fn returns
// nil; errRollback rolls back without error. When PostgreSQL aborts the
// transaction for a serialization failure or a deadlock, fn runs again in
// a new one, up to txAttempts times in all; fn must therefore set its
// results afresh on each run.
func (s *Store) tx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	var err error
	for range txAttempts {
		err = pgx.BeginFunc(ctx, s.pool, fn)
		if errors.Is(err, errRollback) {
			return nil
		}
		if !retryable(err) {
			return err
		}
	}
	return err
}

// retryable reports whether err is a transient abort worth a new
// transaction: serialization_failure or deadlock_detected.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40001" || pgErr.Code == "40P01")
}

// isForeignKeyViolation reports whether err is foreign_key_violation.
func isForeignKeyViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23503"
}

// lockKey hashes parts into the second key of an advisory lock.
func lockKey(parts ...string) int32 {
	h := fnv.New32a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return int32(h.Sum32()) // wraps: any 32 bits will do
}

// q are the statements the stores share, in PostgreSQL's placeholders.
var (
	dialect = sqlrow.Postgres
	q       = sqlrow.For(dialect)
)

func nanos(t time.Time) int64 { return nanotime.From(t) }

// querier is what collect needs of a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// collect runs query on db and reads every row with scan.
func collect[T any](ctx context.Context, db querier, scan func(sqlrow.Scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return sqlrow.Collect(rows, scan)
}
