// Package nanotime is how the store drivers keep times: Unix nanoseconds
// in an int64, 0 for the zero time. Both drivers use it so that SQLite and
// PostgreSQL hold identical values.
package nanotime

import (
	"math"
	"time"
)

// Bounds of the times UnixNano represents; outside them it is undefined.
var (
	minTime = time.Unix(0, math.MinInt64+1)
	maxTime = time.Unix(0, math.MaxInt64)
)

// From returns t as Unix nanoseconds, 0 for the zero time, clamped to the
// int64 range (years 1678–2262).
func From(t time.Time) int64 {
	switch {
	case t.IsZero():
		return 0
	case t.Before(minTime):
		return math.MinInt64 + 1
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// To is the inverse of From, in UTC.
func To(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
