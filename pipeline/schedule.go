// Scheduled locks (宵禁): a daily lock and unlock time per chat.

package pipeline

import (
	"fmt"
	"strings"
	"time"

	"gavel/moderation"
)

// ScheduledLock is one entry of `moderation.scheduled_locks:`: chat is
// locked every day at Lock and unlocked at Unlock, in TimeZone.
type ScheduledLock struct {
	// Chat is "platform:chat_id", as in policy.chats.
	Chat string `yaml:"chat"`
	// Lock and Unlock are "HH:MM", 24-hour; Unlock may be earlier than
	// Lock (the lock runs past midnight).
	Lock   string `yaml:"lock"`
	Unlock string `yaml:"unlock"`
	// TimeZone is an IANA name ("Asia/Shanghai"); default UTC.
	TimeZone string `yaml:"time_zone"`
	// Reason is shown in the chat and the case.
	Reason string `yaml:"reason"`
}

// scheduleCatchUp is how late a scheduled lock is still imposed (Gavel
// down at the time): within it the lock is made once (the timer's dedup
// key, kept for dedup_ttl, is the same on every replica and run); after
// it the night is skipped rather than locked at an unexpected hour.
const scheduleCatchUp = time.Hour

// schedule is a validated ScheduledLock.
type schedule struct {
	chat         moderation.ChatRef
	lock, unlock int // minutes after midnight
	loc          *time.Location
	reason       string
}

func parseClock(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	return t.Hour()*60 + t.Minute(), nil
}

// parseSchedules validates the config; errors name the entry's key.
func parseSchedules(in []ScheduledLock) ([]schedule, error) {
	out := make([]schedule, 0, len(in))
	seen := map[string]bool{}
	for i, s := range in {
		key := fmt.Sprintf("moderation.scheduled_locks[%d]", i)
		platform, id, ok := strings.Cut(s.Chat, ":")
		if !ok || platform == "" || id == "" {
			return nil, fmt.Errorf("%s.chat: want platform:chat_id, got %q", key, s.Chat)
		}
		if seen[s.Chat] {
			return nil, fmt.Errorf("%s.chat: %q has two schedules", key, s.Chat)
		}
		seen[s.Chat] = true
		lock, err := parseClock(s.Lock)
		if err != nil {
			return nil, fmt.Errorf("%s.lock: %w", key, err)
		}
		unlock, err := parseClock(s.Unlock)
		if err != nil {
			return nil, fmt.Errorf("%s.unlock: %w", key, err)
		}
		if lock == unlock {
			return nil, fmt.Errorf("%s: lock and unlock are both %s", key, s.Lock)
		}
		loc := time.UTC
		if s.TimeZone != "" {
			if loc, err = time.LoadLocation(s.TimeZone); err != nil {
				return nil, fmt.Errorf("%s.time_zone: %w", key, err)
			}
		}
		out = append(out, schedule{chat: moderation.ChatRef{Platform: platform, ID: id}, lock: lock, unlock: unlock, loc: loc, reason: s.Reason})
	}
	return out, nil
}

// at returns the wall-clock time min minutes after midnight of day's
// date in s's zone (DST gaps resolve as time.Date does).
func (s schedule) at(day time.Time, min int) time.Time {
	y, m, d := day.Date()
	return time.Date(y, m, d, min/60, min%60, 0, 0, s.loc)
}

// due returns the lock timer whose time came at or before now and less
// than scheduleCatchUp ago, if any: Verb VerbLock, Due the lock time,
// Until the next unlock time.
func (s schedule) due(now time.Time) (moderation.Timer, bool) {
	local := now.In(s.loc)
	for _, day := range []time.Time{local, local.AddDate(0, 0, -1)} {
		lockAt := s.at(day, s.lock)
		if lockAt.After(now) || now.Sub(lockAt) >= scheduleCatchUp {
			continue
		}
		unlockAt := s.at(day, s.unlock)
		if !unlockAt.After(lockAt) {
			unlockAt = s.at(day.AddDate(0, 0, 1), s.unlock)
		}
		if !now.Before(unlockAt) {
			return moderation.Timer{}, false // a window shorter than the catch-up, already over
		}
		return moderation.Timer{Verb: moderation.VerbLock, Chat: s.chat, Due: lockAt, Until: unlockAt, Rule: "schedule"}, true
	}
	return moderation.Timer{}, false
}
