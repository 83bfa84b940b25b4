// Package sqlrow is what the SQL stores (store/sqlite, store/postgres)
// share: the query texts both run as they are, the arguments that write
// rows and the functions that read them back, so that both keep identical
// values and a column is added in one place.
//
// It knows no driver. Query texts are written with ? placeholders and
// rewritten once, at package initialisation, for PostgreSQL's $n (For).
// *sql.Row, *sql.Rows, pgx.Row and pgx.Rows all satisfy Scanner, and both
// drivers take *int64 (nil: NULL) as an argument and as a scan target.
//
// What is not shared is what makes each store good at its job: SQLite's
// single writer, IMMEDIATE transactions and prepared statements;
// PostgreSQL's advisory locks, FOR UPDATE SKIP LOCKED claims, array
// arguments and batches.
package sqlrow

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gavel/store/internal/nanotime"
)

// Scanner is a row of any driver.
type Scanner interface {
	Scan(dest ...any) error
}

// Rows is a result set of any driver; the caller closes it.
type Rows interface {
	Scanner
	Next() bool
	Err() error
}

// Collect reads every row of rows with scan.
func Collect[T any](rows Rows, scan func(Scanner) (T, error)) ([]T, error) {
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
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

// Dialect is what differs between the stores in the text they share.
type Dialect struct {
	// Dollar numbers placeholders $1, $2, … instead of ?.
	Dollar bool
	// CleanText makes free-form text storable where the database
	// refuses NUL and invalid UTF-8 (FreeText).
	CleanText bool
	// NoLimit is the LIMIT argument that limits nothing.
	NoLimit any
	// TextJSON passes JSON documents as text: a STRICT SQLite TEXT
	// column refuses the BLOB a []byte would be.
	TextJSON bool
}

// The two dialects.
var (
	SQLite   = Dialect{NoLimit: -1, TextJSON: true}
	Postgres = Dialect{Dollar: true, CleanText: true, NoLimit: nil}
)

// Q rewrites query for d. query numbers its placeholders ?1, ?2, … (a
// number may repeat) or leaves them all bare ?, numbered in order of
// appearance; it holds no ? anywhere else.
func (d Dialect) Q(query string) string {
	if !d.Dollar {
		return query
	}
	var b strings.Builder
	n := 0
	for {
		i := strings.IndexByte(query, '?')
		if i < 0 {
			b.WriteString(query)
			return b.String()
		}
		b.WriteString(query[:i])
		query = query[i+1:]
		digits := len(query) - len(strings.TrimLeft(query, "0123456789"))
		if digits > 0 {
			b.WriteString("$" + query[:digits])
			query = query[digits:]
			continue
		}
		n++
		b.WriteString("$" + strconv.Itoa(n))
	}
}

// Limit is the LIMIT argument for limit; ≤ 0 limits nothing.
func (d Dialect) Limit(limit int) any {
	if limit <= 0 {
		return d.NoLimit
	}
	return limit
}

// JSON is the argument for the JSON document doc.
func (d Dialect) JSON(doc []byte) any {
	if d.TextJSON {
		return string(doc)
	}
	return doc
}

// Text is s as d stores free-form text.
func (d Dialect) Text(s string) string {
	if d.CleanText {
		return FreeText(s)
	}
	return s
}

// FreeText makes s storable in a PostgreSQL text column, which rejects
// NUL and invalid UTF-8 that free-form text from platforms (error
// messages, reasons) may carry. Both become U+FFFD.
func FreeText(s string) string {
	if utf8.ValidString(s) && !strings.ContainsRune(s, 0) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}
