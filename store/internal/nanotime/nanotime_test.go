package nanotime

import (
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   time.Time
		want time.Time
	}{
		{time.Time{}, time.Time{}},
		{time.Unix(1_700_000_000, 123), time.Unix(1_700_000_000, 123).UTC()},
		{time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC), minTime.UTC()},
		{time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), maxTime.UTC()},
	} {
		if got := To(From(tt.in)); !got.Equal(tt.want) {
			t.Errorf("To(From(%v)) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
