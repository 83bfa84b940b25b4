// Package sqlrow is what the SQL stores (store/sqlite, store/postgres)
// share about rows: the column lists, the arguments that write them and
// the functions that read them back, so both keep identical values. It
// knows no driver: *sql.Row, *sql.Rows, pgx.Row and pgx.Rows all satisfy
// Scanner, and both drivers take *int64 (nil: NULL) as an argument and as
// a scan target.
package sqlrow

import (
	"time"

	"gavel/store/internal/nanotime"
)

// Scanner is a row of any driver.
type Scanner interface {
	Scan(dest ...any) error
}

// NullTime is t in Unix nanoseconds, nil (NULL) for the zero time.
func NullTime(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	n := nanotime.From(t)
	return &n
}

// FromNullTime is the inverse of NullTime.
func FromNullTime(n *int64) time.Time {
	if n == nil {
		return time.Time{}
	}
	return nanotime.To(*n)
}
