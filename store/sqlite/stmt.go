package sqlite

import (
	"context"
	"database/sql"
	"sync"

	"gavel/store/internal/sqlrow"
)

// stmtCache holds one prepared statement per query text. The driver
// compiles SQL on every un-prepared call, and under webhook load that
// compilation cost more CPU than running the statements; database/sql
// prepares a cached statement once per pooled connection and reuses it
// in transactions (Tx.StmtContext). Query texts are the package's own
// constants and a bounded set of filter combinations, so the cache stays
// small.
type stmtCache struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
	// missed are query texts a transaction ran uncached; fill prepares
	// them once the transaction has given its connection back (an
	// in-memory database has only the one).
	missed map[string]struct{}
}

// get returns the cached statement for query, preparing it if needed.
// Not for use inside a transaction: preparing needs a free connection.
func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := c.lookup(query, false); ok {
		return st, nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.m[query]; ok {
		st.Close()
		return prev, nil
	}
	if c.m == nil {
		c.m = make(map[string]*sql.Stmt)
	}
	c.m[query] = st
	return st, nil
}

// lookup returns the cached statement for query; a miss is remembered
// for fill when remember is set.
func (c *stmtCache) lookup(query string, remember bool) (*sql.Stmt, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.m[query]
	if !ok && remember {
		if c.missed == nil {
			c.missed = make(map[string]struct{})
		}
		c.missed[query] = struct{}{}
	}
	return st, ok
}

// fill prepares the statements transactions missed. A query that does not
// prepare is dropped: the uncached path reports its error where it runs.
func (c *stmtCache) fill(ctx context.Context) {
	c.mu.Lock()
	missed := c.missed
	c.missed = nil
	c.mu.Unlock()
	for q := range missed {
		_, _ = c.get(ctx, q)
	}
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	c.m = nil
}

// txn is a write transaction whose Exec/Query/QueryRow run cached
// statements. Each query must be a single statement; the embedded *sql.Tx
// runs anything else (migrations) uncached.
type txn struct {
	*sql.Tx
	stmts *stmtCache
}

// A statement not cached yet runs uncached on the transaction (preparing
// it would need a second connection) and is prepared after the commit.

func (t txn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st, ok := t.stmts.lookup(query, true); ok {
		return t.Tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, query, args...)
}

func (t txn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st, ok := t.stmts.lookup(query, true); ok {
		return t.Tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, query, args...)
}

func (t txn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st, ok := t.stmts.lookup(query, true); ok {
		return t.Tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, query, args...)
}

// PrepareContext returns the cached statement bound to the transaction;
// the caller closes it (the cached one stays).
func (t txn) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := t.stmts.lookup(query, true); ok {
		return t.Tx.StmtContext(ctx, st), nil
	}
	return t.Tx.PrepareContext(ctx, query)
}

// query and queryRow run cached statements outside a transaction.
func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := s.stmts.get(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (s *Store) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := s.stmts.get(ctx, query)
	if err != nil {
		return s.db.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// collect runs query as a cached statement and reads every row with scan.
func collect[T any](ctx context.Context, s *Store, scan func(sqlrow.Scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return sqlrow.Collect(rows, scan)
}
