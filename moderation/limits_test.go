package moderation

import (
	"errors"
	"testing"
)

func TestLimitsOversized(t *testing.T) {
	t.Parallel()
	l := Limits{Batch: map[Verb]int{VerbKick: 2}}
	tests := []struct {
		name  string
		verb  Verb
		users []string
		want  bool // refused
	}{
		{"empty", VerbKick, nil, false},
		{"at the limit", VerbKick, []string{"a", "b"}, false},
		{"one over", VerbKick, []string{"a", "b", "c"}, true},
		{"verb without a size", VerbMute, []string{"a"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := l.Oversized(tt.verb, tt.users)
			if (got != nil) != tt.want {
				t.Fatalf("Oversized = %v, want refused %v", got, tt.want)
			}
			if err := l.CheckBatch(tt.verb, tt.users); errors.Is(err, ErrBatchTooLarge) != tt.want {
				t.Fatalf("CheckBatch = %v", err)
			}
			for i, r := range got {
				if r.UserID != tt.users[i] || r.Status != StatusRefused || r.Reason != ReasonBatchTooLarge {
					t.Fatalf("result %d = %+v", i, r)
				}
			}
		})
	}
}

func TestValidHookName(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"presend": true, "pre_send-2": true, "": false, "a/b": false, "..": false, "PreSend": false, "pré": false, "a b": false,
	} {
		if got := ValidHookName(name); got != want {
			t.Errorf("ValidHookName(%q) = %v, want %v", name, got, want)
		}
	}
}

// FuzzValidHookName: a valid hook name is always one clean path segment.
func FuzzValidHookName(f *testing.F) {
	for _, s := range []string{"presend", "", "a/b", "..", "%2F"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !ValidHookName(s) {
			return
		}
		for _, r := range s {
			if r == '/' || r == '.' || r == '%' || r > 127 {
				t.Fatalf("%q accepted", s)
			}
		}
	})
}
