package pipeline

import (
	"strings"
	"testing"
	"time"
)

func TestScheduleDue(t *testing.T) {
	t.Parallel()
	ss, err := parseSchedules([]ScheduledLock{
		{Chat: "tim:@TGS#1", Lock: "23:00", Unlock: "07:00", TimeZone: "Asia/Shanghai"},
		{Chat: "feishu:oc_1", Lock: "12:00", Unlock: "12:30"},
	})
	if err != nil {
		t.Fatal(err)
	}
	night, noon := ss[0], ss[1]
	sh, _ := time.LoadLocation("Asia/Shanghai")
	tests := []struct {
		name      string
		s         schedule
		now       time.Time
		due       bool
		dueAt     time.Time
		untilWant time.Time
	}{
		{"before the lock", night, time.Date(2026, 12, 6, 22, 59, 0, 0, sh), false, time.Time{}, time.Time{}},
		{"at the lock", night, time.Date(2026, 12, 6, 23, 0, 0, 0, sh), true, time.Date(2026, 12, 6, 23, 0, 0, 0, sh), time.Date(2026, 12, 7, 7, 0, 0, 0, sh)},
		{"after midnight, within catch-up", night, time.Date(2026, 12, 6, 23, 59, 0, 0, sh), true, time.Date(2026, 12, 6, 23, 0, 0, 0, sh), time.Date(2026, 12, 7, 7, 0, 0, 0, sh)},
		{"past the catch-up", night, time.Date(2026, 12, 7, 1, 0, 0, 0, sh), false, time.Time{}, time.Time{}},
		{"same-day window", noon, time.Date(2026, 12, 6, 12, 10, 0, 0, time.UTC), true, time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC), time.Date(2026, 12, 6, 12, 30, 0, 0, time.UTC)},
		{"same-day window over", noon, time.Date(2026, 12, 6, 12, 40, 0, 0, time.UTC), false, time.Time{}, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm, ok := tt.s.due(tt.now)
			if ok != tt.due {
				t.Fatalf("due = %v, want %v", ok, tt.due)
			}
			if !ok {
				return
			}
			if !tm.Due.Equal(tt.dueAt) || !tm.Until.Equal(tt.untilWant) {
				t.Errorf("timer due %s until %s, want %s until %s", tm.Due, tm.Until, tt.dueAt, tt.untilWant)
			}
			// The key is the same at every moment of the window.
			later, _ := tt.s.due(tt.now.Add(time.Minute))
			if later.Due.Equal(tm.Due) && later.TimerKey() != tm.TimerKey() {
				t.Errorf("key changed within the window: %s vs %s", tm.TimerKey(), later.TimerKey())
			}
		})
	}
}

func TestParseSchedulesRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   ScheduledLock
		want string
	}{
		{ScheduledLock{Chat: "oc_1", Lock: "23:00", Unlock: "07:00"}, "scheduled_locks[0].chat"},
		{ScheduledLock{Chat: "tim:1", Lock: "25:00", Unlock: "07:00"}, "scheduled_locks[0].lock"},
		{ScheduledLock{Chat: "tim:1", Lock: "23:00", Unlock: "7"}, "scheduled_locks[0].unlock"},
		{ScheduledLock{Chat: "tim:1", Lock: "23:00", Unlock: "23:00"}, "both 23:00"},
		{ScheduledLock{Chat: "tim:1", Lock: "23:00", Unlock: "07:00", TimeZone: "Mars/Base"}, "time_zone"},
	}
	for _, tt := range tests {
		_, err := parseSchedules([]ScheduledLock{tt.in})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseSchedules(%+v) = %v, want an error naming %q", tt.in, err, tt.want)
		}
	}
}
