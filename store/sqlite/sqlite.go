// Package sqlite is the embedded moderation.Store: one SQLite file in WAL
// mode, opened with the pure-Go modernc.org/sqlite driver.
//
// Writes are serialised twice over: inside the process by a one-slot
// semaphore (so workers queue in Go instead of polling the busy handler),
// and across processes by SQLite itself, every write transaction beginning
// IMMEDIATE so it holds the write lock from its first statement. Reads run
// concurrently on the other pooled connections.
//
// The WAL is folded back into the database by a background goroutine
// (checkpointEvery), not by whichever commit crosses SQLite's automatic
// threshold: that commit would otherwise pay for the checkpoint and its
// fsyncs, a pause of several milliseconds in the middle of a paced mass
// action.
//
// Times are stored as Unix nanoseconds; every "now" comes from the caller.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"gavel/moderation"
	"gavel/store/internal/nanotime"
	"gavel/store/internal/sqlrow"
)

// DefaultDedupTTL is how long dedup keys block re-deliveries unless
// Store.DedupTTL says otherwise: longer than Feishu's retry schedule (15 s,
// 5 min, 1 h, 6 h after a failed delivery); store.DefaultDedupTTL agrees.
const DefaultDedupTTL = 8 * time.Hour

// maxConns bounds the pool: one writer at a time plus concurrent readers.
const maxConns = 8

// checkpointEvery is how often the background checkpointer runs.
const checkpointEvery = time.Second

// Store is a moderation.Store on SQLite.
type Store struct {
	// DedupTTL is how long an enqueued event's dedup keys block
	// re-deliveries. Open sets DefaultDedupTTL; change it before first use.
	DedupTTL time.Duration

	db    *sql.DB
	stmts *stmtCache
	// writeSem holds one token; a write transaction takes it first.
	writeSem chan struct{}

	// The background checkpointer (file databases only).
	stopCheckpoints context.CancelFunc
	stopOnce        sync.Once
	checkpointer    sync.WaitGroup
	// What the background checkpoints report: how many have run, and of
	// the last, the WAL's frames and how many of them are in the
	// database.
	checkpoints, walFrames, walCopied atomic.Int64
	// commits counts committed write transactions (WriteCommits).
	commits atomic.Int64
	// health checks a file database for Ping; nil in memory.
	health *health
}

var _ moderation.Store = (*Store)(nil)

// Open opens (creating if needed) the database at dsn — a file path, a
// "file:" URI or ":memory:" — and applies pending schema migrations.
// Gavel's pragmas are added unless dsn sets them: busy_timeout(5000),
// journal_mode(WAL), foreign_keys(1), synchronous(NORMAL),
// wal_autocheckpoint(0); transactions always begin IMMEDIATE.
func Open(ctx context.Context, dsn string) (*Store, error) {
	return open(ctx, dsn, checkpointEvery)
}

// open is Open with the checkpointer's interval.
func open(ctx context.Context, dsn string, checkpoints time.Duration) (*Store, error) {
	full, memory, err := buildDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	db, err := sql.Open("sqlite", full)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	if memory {
		// Every connection to ":memory:" is its own database: keep exactly
		// one, forever.
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		db.SetConnMaxLifetime(0)
		db.SetConnMaxIdleTime(0)
	} else {
		db.SetMaxOpenConns(maxConns)
		db.SetMaxIdleConns(maxConns)
	}
	s := &Store{DedupTTL: DefaultDedupTTL, db: db, stmts: &stmtCache{db: db}, writeSem: make(chan struct{}, 1)}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if s.health, err = newHealth(dbPath(strings.SplitN(full, "?", 2)[0], memory)); err != nil {
		db.Close()
		return nil, err
	}
	if !memory {
		// Not Open's ctx: the checkpointer lives until Close.
		loop, stop := context.WithCancel(context.Background())
		s.stopCheckpoints = stop
		s.checkpointer.Go(func() { s.checkpointLoop(loop, checkpoints) })
	}
	return s, nil
}

// checkpointLoop copies the WAL's committed frames into the database
// every interval until Close. PASSIVE waits for no reader or writer: a
// write goes on appending to the WAL meanwhile. A failed or partial
// checkpoint is simply retried at the next tick; the WAL grows until then.
func (s *Store) checkpointLoop(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// No deadline but Close's: a checkpoint cut short by a timeout
		// would start over at the next tick, and one longer than the
		// interval (a WAL grown by a burst) would then never finish.
		var busy, frames, copied int64
		err := s.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &copied)
		if err == nil {
			s.walFrames.Store(frames)
			s.walCopied.Store(copied)
			s.checkpoints.Add(1)
		}
	}
}

// requiredPragmas are set on every connection unless the DSN names them.
var requiredPragmas = []struct{ name, value string }{
	{"busy_timeout", "5000"},
	{"journal_mode", "WAL"},
	{"foreign_keys", "1"},
	{"synchronous", "NORMAL"},
	// Checkpoints run in the background (checkpointLoop), not in a commit.
	{"wal_autocheckpoint", "0"},
}

// buildDSN adds Gavel's pragmas and _txlock=immediate to dsn and reports
// whether it names an in-memory database.
func buildDSN(dsn string) (full string, memory bool, err error) {
	if dsn == "" {
		return "", false, errors.New("empty dsn")
	}
	base, rawQuery, _ := strings.Cut(dsn, "?")
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return "", false, fmt.Errorf("dsn query: %w", err)
	}
	if v := q.Get("_txlock"); v != "" && !strings.EqualFold(v, "immediate") {
		return "", false, fmt.Errorf("dsn: _txlock=%s: Gavel needs immediate transactions", v)
	}
	q.Set("_txlock", "immediate")
	set := map[string]bool{}
	for _, p := range q["_pragma"] {
		name, _, _ := strings.Cut(p, "(")
		name, _, _ = strings.Cut(name, "=")
		set[strings.ToLower(strings.TrimSpace(name))] = true
	}
	for _, p := range requiredPragmas {
		if !set[p.name] {
			q.Add("_pragma", p.name+"("+p.value+")")
		}
	}
	memory = base == ":memory:" || base == "file::memory:" || q.Get("mode") == "memory"
	return base + "?" + q.Encode(), memory, nil
}

// Ping checks the database answers and, for a file database, that the
// path still names the file opened at start (ErrFileReplaced) and that a
// small write beside it succeeds (ErrWriteProbe; probed at most every
// 10 s, the last result reused in between).
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.queryRow(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	if s.health != nil {
		return s.health.check()
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	var final error
	if s.stopCheckpoints != nil {
		s.stopOnce.Do(func() {
			s.stopCheckpoints()
			s.checkpointer.Wait()
			final = s.foldWAL()
		})
	}
	s.stmts.close()
	if err := s.db.Close(); err != nil {
		return errors.Join(final, fmt.Errorf("sqlite: close: %w", err))
	}
	return final
}

// foldWAL copies the whole WAL into the database file and empties it, so
// that once Gavel has stopped the file alone holds everything (a copy of
// it is a complete backup). Another process still using the database
// can leave part of the WAL behind; SQLite replays it at the next open.
func (s *Store) foldWAL() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var busy, frames, copied int64
	if err := s.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &frames, &copied); err != nil {
		return fmt.Errorf("sqlite: close: final checkpoint: %w", err)
	}
	return nil
}

// write runs fn in an IMMEDIATE transaction, one at a time per Store, and
// commits when fn returns nil.
func (s *Store) write(ctx context.Context, fn func(tx txn) error) error {
	select {
	case s.writeSem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.writeSem }()

	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(txn{Tx: tx, stmts: s.stmts}); err != nil {
		if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			return errors.Join(err, fmt.Errorf("rollback: %w", rbErr))
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	s.commits.Add(1)
	s.stmts.fill(ctx)
	return nil
}

// WriteCommits returns how many write transactions this Store has
// committed since Open: what a job's durability costs, counted where it
// is paid (each takes the write lock and appends a commit to the WAL).
// Tests pin the count per command with it.
func (s *Store) WriteCommits() int64 { return s.commits.Load() }

// q are the statements the stores share, in SQLite's placeholders.
var (
	dialect = sqlrow.SQLite
	q       = sqlrow.For(dialect)
)

func nanos(t time.Time) int64 { return nanotime.From(t) }
