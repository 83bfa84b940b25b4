package moderation

import (
	"errors"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"90s", 90 * time.Second, false},
		{"10m", 10 * time.Minute, false},
		{"1h30m", 90 * time.Minute, false},
		{"1d", 24 * time.Hour, false},
		{"7D", 7 * 24 * time.Hour, false},
		{"1.5h", 90 * time.Minute, false},
		{"250ms", 250 * time.Millisecond, false},
		{"50ms", 50 * time.Millisecond, false},
		{"10分钟", 10 * time.Minute, false},
		{"1小时30分钟", 90 * time.Minute, false},
		{"１天", 24 * time.Hour, false},
		{"1个小时", time.Hour, false},
		{"1周", 7 * 24 * time.Hour, false},
		{"2星期", 14 * 24 * time.Hour, false},
		{"2w", 14 * 24 * time.Hour, false},
		{"1week", 7 * 24 * time.Hour, false},
		{"1w2d", 9 * 24 * time.Hour, false},
		{"1个", 0, true},
		{"2 days", 0, true}, // no spaces inside one duration
		{"2days", 48 * time.Hour, false},
		{"0", 0, false},
		{"0s", 0, false},
		{"", 0, true},
		{"10", 0, true},
		{"-5m", 0, true},
		{"m", 0, true},
		{"5.m", 0, true},
		{"1x", 0, true},
		{"999999999d", 0, true},
		{"36600d1s", 0, true},
		{"1234567890s", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if (err != nil) != tt.err {
			t.Errorf("ParseDuration(%q) err = %v, want error %v", tt.in, err, tt.err)
			continue
		}
		if err != nil && !errors.Is(err, ErrBadDuration) {
			t.Errorf("ParseDuration(%q) err = %v, want ErrBadDuration", tt.in, err)
		}
		if got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestParseMute(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"10m", 10 * time.Minute, false},
		{"366d", MaxMute, false},
		{"367d", 0, true},
		{"0s", 0, true},
		{"500ms", 0, true},
		{"1.5s", 0, true},
		{"1.5h", 90 * time.Minute, false},
	}
	for _, tt := range tests {
		got, err := ParseMute(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseMute(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestFormatDurationRoundTrips(t *testing.T) {
	for _, d := range []time.Duration{time.Second, 90 * time.Second, 26*time.Hour + 30*time.Minute, 250 * time.Millisecond, MaxMute, 8 * time.Hour} {
		s := FormatDuration(d)
		back, err := ParseDuration(s)
		if err != nil || back != d {
			t.Errorf("FormatDuration(%v) = %q, parses back as %v, %v", d, s, back, err)
		}
	}
	for d, want := range map[time.Duration]string{90 * time.Second: "1m30s", 10 * time.Minute: "10m", 26 * time.Hour: "1d2h", 0: "0s", 1500 * time.Millisecond: "1s500ms"} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"90s", "1h30m", "1.5h", "10分钟", "１天", "999999999d", "5.", "0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			if !errors.Is(err, ErrBadDuration) {
				t.Fatalf("error %v is not ErrBadDuration", err)
			}
			return
		}
		if d < 0 || d > maxDuration {
			t.Fatalf("ParseDuration(%q) = %v out of range", s, d)
		}
		if d >= time.Millisecond && d%time.Millisecond == 0 {
			if back, err := ParseDuration(FormatDuration(d)); err != nil || back != d {
				t.Fatalf("round trip of %v via %q: %v, %v", d, FormatDuration(d), back, err)
			}
		}
	})
}
