package commands

import (
	"fmt"
	"strings"
	"time"
	"unicode"
)

// MaxDuration is the longest mute a command may ask for.
const MaxDuration = 366 * 24 * time.Hour

// units lists duration units, longest spelling first so that "分钟" wins
// over "分" and "min" over "m".
var units = []struct {
	name string
	d    time.Duration
}{
	{"小时", time.Hour}, {"分钟", time.Minute},
	{"days", 24 * time.Hour}, {"day", 24 * time.Hour},
	{"hours", time.Hour}, {"hour", time.Hour}, {"hrs", time.Hour}, {"hr", time.Hour},
	{"mins", time.Minute}, {"min", time.Minute},
	{"secs", time.Second}, {"sec", time.Second},
	{"天", 24 * time.Hour}, {"日", 24 * time.Hour}, {"时", time.Hour},
	{"分", time.Minute}, {"秒", time.Second},
	{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second},
}

// ParseDuration parses "90s", "10m", "2h", "1d", "1h30m", "10分钟", "2小时",
// "1天", "1小时30分钟". It rejects zero, negative, unit-less and overlong
// durations (more than MaxDuration).
func ParseDuration(s string) (time.Duration, error) {
	in := s
	s = strings.ToLower(strings.Map(halfWidthDigit, s))
	if s == "" {
		return 0, fmt.Errorf("%w: empty", ErrBadDuration)
	}
	var total time.Duration
	for s != "" {
		n, rest := leadingDigits(s)
		if n == "" {
			return 0, fmt.Errorf("%w: %q: expected a number", ErrBadDuration, truncate(in, 32))
		}
		if len(n) > 6 {
			return 0, fmt.Errorf("%w: %q: number too large", ErrBadDuration, truncate(in, 32))
		}
		var v int64
		for _, c := range n {
			v = v*10 + int64(c-'0')
		}
		unit, ok := cutUnit(rest)
		if !ok {
			return 0, fmt.Errorf("%w: %q: expected a unit (s, m, h, d, 秒, 分钟, 小时, 天)", ErrBadDuration, truncate(in, 32))
		}
		total += time.Duration(v) * unit.d
		if total > MaxDuration {
			return 0, fmt.Errorf("%w: %q: longer than %d days", ErrBadDuration, truncate(in, 32), MaxDuration/(24*time.Hour))
		}
		s = rest[len(unit.name):]
	}
	if total <= 0 {
		return 0, fmt.Errorf("%w: %q: must be positive", ErrBadDuration, truncate(in, 32))
	}
	return total, nil
}

// halfWidthDigit maps full-width digits (０-９), as typed by CJK input
// methods, to ASCII.
func halfWidthDigit(r rune) rune {
	if r >= '０' && r <= '９' {
		return '0' + (r - '０')
	}
	return r
}

func leadingDigits(s string) (digits, rest string) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i], s[i:]
}

func cutUnit(s string) (struct {
	name string
	d    time.Duration
}, bool) {
	for _, u := range units {
		if strings.HasPrefix(s, u.name) {
			return u, true
		}
	}
	return units[0], false
}

// looksLikeDuration reports whether tok was meant as a duration (starts
// with a digit), so that a typo is a usage error rather than a reason.
func looksLikeDuration(tok string) bool {
	r := []rune(tok)
	return len(r) > 0 && unicode.IsDigit(r[0])
}
