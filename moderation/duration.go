package moderation

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrBadDuration is a duration the grammar does not accept.
var ErrBadDuration = errors.New("bad duration")

// MaxMute is the longest mute a command, a rule or the config may ask for.
const MaxMute = 366 * 24 * time.Hour

// maxDuration bounds every duration the grammar reads, so that no sum of
// components overflows; nothing Gavel configures comes near it.
const maxDuration = 100 * 366 * 24 * time.Hour

const week = 7 * 24 * time.Hour

// durationUnits lists the units, longest spelling first so that "分钟" wins
// over "分", "min" over "m" and "ms" over "m".
var durationUnits = []struct {
	name string
	d    time.Duration
}{
	{"个小时", time.Hour}, {"小时", time.Hour}, {"分钟", time.Minute}, {"星期", week},
	{"weeks", week}, {"week", week}, {"days", 24 * time.Hour}, {"day", 24 * time.Hour},
	{"hours", time.Hour}, {"hour", time.Hour}, {"hrs", time.Hour}, {"hr", time.Hour},
	{"mins", time.Minute}, {"min", time.Minute},
	{"secs", time.Second}, {"sec", time.Second},
	{"ms", time.Millisecond},
	{"周", week}, {"天", 24 * time.Hour}, {"日", 24 * time.Hour}, {"时", time.Hour},
	{"分", time.Minute}, {"秒", time.Second},
	{"w", week}, {"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second},
}

// ParseDuration is Gavel's one duration grammar, used by chat commands,
// auto-moderation rules, the YAML config and the command line: a sequence
// of number+unit components, "90s", "10m", "1h30m", "1d", "1.5h", "250ms",
// "2w", "10分钟", "2小时", "1个小时", "1天", "1周"; full-width digits are
// read as ASCII; a bare "0" is zero. It accepts zero and rejects
// negative, unit-less and absurdly long values (over 100 years). Callers
// that need more (a mute) use ParseMute.
func ParseDuration(s string) (time.Duration, error) {
	in := s
	s = strings.ToLower(strings.TrimSpace(strings.Map(halfWidthDigit, s)))
	if s == "" {
		return 0, fmt.Errorf("%w: empty", ErrBadDuration)
	}
	if s == "0" {
		return 0, nil
	}
	var total time.Duration
	for s != "" {
		whole, frac, rest := leadingNumber(s)
		if whole == "" && frac == "" {
			return 0, fmt.Errorf("%w: %q: expected a number", ErrBadDuration, clip(in))
		}
		if len(whole) > 9 || len(frac) > 9 {
			return 0, fmt.Errorf("%w: %q: number too long", ErrBadDuration, clip(in))
		}
		unit, ok := cutDurationUnit(rest)
		if !ok {
			return 0, fmt.Errorf("%w: %q: expected a unit (ms, s, m, h, d, w, 秒, 分钟, 小时, 天, 周)", ErrBadDuration, clip(in))
		}
		n := digitsValue(whole)
		if n > maxDuration/unit.d {
			return 0, fmt.Errorf("%w: %q: too long", ErrBadDuration, clip(in))
		}
		v := n * unit.d
		if frac != "" {
			scale := time.Duration(1)
			for range frac {
				scale *= 10
			}
			v += digitsValue(frac) * unit.d / scale
		}
		total += v
		if v < 0 || total > maxDuration {
			return 0, fmt.Errorf("%w: %q: too long", ErrBadDuration, clip(in))
		}
		s = rest[len(unit.name):]
	}
	return total, nil
}

// ParseMute parses a mute's length: the grammar of ParseDuration, positive,
// whole seconds (no platform mutes for less) and at most MaxMute.
func ParseMute(s string) (time.Duration, error) {
	d, err := ParseDuration(s)
	switch {
	case err != nil:
		return 0, err
	case d <= 0:
		return 0, fmt.Errorf("%w: %q: must be positive", ErrBadDuration, clip(s))
	case d%time.Second != 0:
		return 0, fmt.Errorf("%w: %q: a mute lasts whole seconds", ErrBadDuration, clip(s))
	case d > MaxMute:
		return 0, fmt.Errorf("%w: %q: longer than %d days", ErrBadDuration, clip(s), MaxMute/(24*time.Hour))
	}
	return d, nil
}

// FormatDuration renders d in the grammar ParseDuration reads, compactly:
// "1d2h30m", "10m", "1m30s", "250ms"; zero and negative durations are "0s".
func FormatDuration(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	var b strings.Builder
	for _, u := range []struct {
		d time.Duration
		s string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}, {time.Millisecond, "ms"}} {
		if n := d / u.d; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.s)
			d -= n * u.d
		}
	}
	if b.Len() == 0 { // under a millisecond
		return d.String()
	}
	return b.String()
}

// halfWidthDigit maps full-width digits (０-９), as typed by CJK input
// methods, to ASCII.
func halfWidthDigit(r rune) rune {
	if r >= '０' && r <= '９' {
		return '0' + (r - '０')
	}
	return r
}

func leadingNumber(s string) (whole, frac, rest string) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	whole, rest = s[:i], s[i:]
	if strings.HasPrefix(rest, ".") {
		j := 1
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		frac, rest = rest[1:j], rest[j:]
		if frac == "" {
			return "", "", s // "5." is not a number
		}
	}
	return whole, frac, rest
}

func digitsValue(digits string) time.Duration {
	var v time.Duration
	for _, c := range digits {
		v = v*10 + time.Duration(c-'0')
	}
	return v
}

func cutDurationUnit(s string) (struct {
	name string
	d    time.Duration
}, bool) {
	for _, u := range durationUnits {
		if strings.HasPrefix(s, u.name) {
			return u, true
		}
	}
	return durationUnits[0], false
}

func clip(s string) string {
	const n = 32
	if len(s) <= n {
		return s
	}
	for i := n; i > 0; i-- {
		if (s[i] & 0xC0) != 0x80 {
			return s[:i] + "…"
		}
	}
	return s[:n] + "…"
}
