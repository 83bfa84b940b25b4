package moderation

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestHeldRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cmd  Command
		want Outcome
	}{
		{"plain", Command{Verb: VerbKick, Targets: []string{"a", "b"}, Reason: "raid"}, "awaiting_confirmation"},
		{"silent", Command{Verb: VerbKick, Targets: []string{"a"}, Silent: true}, "awaiting_confirmation:silent"},
		{"ban -p", Command{Verb: VerbBan, Targets: []string{"a"}, Duration: time.Hour, Purge: true, Count: 50}, "awaiting_confirmation:purge,count=50"},
		{"purge N", Command{Verb: VerbPurge, Count: 100}, "awaiting_confirmation:count=100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := AwaitingOutcome(tt.cmd)
			if o != tt.want || o.Kind() != OutcomeAwaiting {
				t.Fatalf("AwaitingOutcome = %q (kind %q), want %q", o, o.Kind(), tt.want)
			}
			c := Case{Verb: tt.cmd.Verb, Targets: tt.cmd.Targets, Reason: tt.cmd.Reason, Duration: tt.cmd.Duration, Outcome: o}
			got, err := c.Held()
			if err != nil || !reflect.DeepEqual(got, tt.cmd) {
				t.Fatalf("Held = %+v, %v; want %+v", got, err, tt.cmd)
			}
		})
	}
	for _, o := range []Outcome{"awaiting_confirmation:", "awaiting_confirmation:loud", "awaiting_confirmation:count=0", "awaiting_confirmation:count=x", OutcomeDone} {
		if _, err := (Case{Outcome: o}).Held(); err == nil {
			t.Errorf("Held of %q: no error", o)
		}
	}
	for _, o := range []Outcome{OutcomeCancelled, OutcomeExpired, OutcomeAwaiting} {
		if _, err := ParseOutcome(string(o)); err != nil {
			t.Errorf("ParseOutcome(%q): %v", o, err)
		}
	}
	if _, err := ParseOutcome("cancelled:x"); !errors.Is(err, ErrBadOutcome) {
		t.Errorf("cancelled with a detail parsed: %v", err)
	}
}

// FuzzHeld: any stored outcome either reads back as a held command whose
// outcome is written again the same way, or is refused; never a panic.
func FuzzHeld(f *testing.F) {
	for _, s := range []string{"awaiting_confirmation", "awaiting_confirmation:silent,purge,count=50", "awaiting_confirmation:count=", "done", "awaiting_confirmation:,,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := Case{Verb: VerbKick, Outcome: Outcome(s)}
		cmd, err := c.Held()
		if err != nil {
			return
		}
		if again, err := (Case{Verb: VerbKick, Outcome: AwaitingOutcome(cmd)}).Held(); err != nil || !reflect.DeepEqual(again, cmd) {
			t.Fatalf("%q → %+v → %q → %+v, %v", s, cmd, AwaitingOutcome(cmd), again, err)
		}
	})
}
