package commands

import (
	"time"
	"unicode"

	"gavel/moderation"
)

// MaxDuration is the longest mute a command may ask for.
const MaxDuration = moderation.MaxMute

// ParseDuration parses a command's mute length with Gavel's one duration
// grammar (moderation.ParseMute): "90s", "10m", "2h", "1d", "1h30m",
// "10分钟", "2小时", "1天", "1周", "1小时30分钟". It rejects zero, negative,
// unit-less, sub-second and overlong durations (more than MaxDuration).
func ParseDuration(s string) (time.Duration, error) {
	return moderation.ParseMute(s)
}

// looksLikeDuration reports whether tok was meant as a duration (starts
// with a digit), so that a typo is a usage error rather than a reason.
func looksLikeDuration(tok string) bool {
	r := []rune(tok)
	return len(r) > 0 && unicode.IsDigit(r[0])
}
