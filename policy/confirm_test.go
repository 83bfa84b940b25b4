package policy

import (
	"strings"
	"testing"
	"time"

	"gavel/moderation"
)

func TestValidateConfirm(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error; "" means valid
	}{
		{name: "off", cfg: Config{}},
		{name: "count and verbs", cfg: Config{ConfirmAbove: 10, ConfirmVerbs: []moderation.Verb{"ban", "lock", "purge"}, ConfirmTimeout: time.Hour}},
		{name: "negative count", cfg: Config{ConfirmAbove: -1}, want: "policy.confirm_above: must not be negative"},
		{name: "count not below the default max", cfg: Config{ConfirmAbove: 20}, want: "policy.confirm_above: 20 is not below policy.max_targets (20)"},
		{name: "count below a raised max", cfg: Config{ConfirmAbove: 50, MaxTargets: 1000}},
		{name: "unknown verb", cfg: Config{ConfirmVerbs: []moderation.Verb{"ban", "frob"}}, want: `policy.confirm_verbs[1]: "frob" is not a verb that acts`},
		{name: "help is not confirmable", cfg: Config{ConfirmVerbs: []moderation.Verb{"help"}}, want: "policy.confirm_verbs[0]"},
		{name: "negative timeout", cfg: Config{ConfirmTimeout: -time.Second}, want: "policy.confirm_timeout: must not be negative"},
		{name: "timeout too long", cfg: Config{ConfirmTimeout: 8 * 24 * time.Hour}, want: "policy.confirm_timeout: longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.cfg.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Validate = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestNeedsConfirmation(t *testing.T) {
	t.Parallel()
	e, err := New(Config{ConfirmAbove: 2, ConfirmVerbs: []moderation.Verb{moderation.VerbBan, moderation.VerbLock}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e.ConfirmTimeout() != DefaultConfirmTimeout {
		t.Fatalf("ConfirmTimeout = %s, want the default", e.ConfirmTimeout())
	}
	tests := []struct {
		name string
		cmd  moderation.Command
		want bool
	}{
		{"at the count", moderation.Command{Verb: moderation.VerbKick, Targets: []string{"a", "b"}}, false},
		{"above the count", moderation.Command{Verb: moderation.VerbKick, Targets: []string{"a", "b", "c"}}, true},
		{"listed verb, one target", moderation.Command{Verb: moderation.VerbBan, Targets: []string{"a"}}, true},
		{"listed verb, no target", moderation.Command{Verb: moderation.VerbLock}, true},
		{"unlisted verb", moderation.Command{Verb: moderation.VerbMute, Targets: []string{"a"}}, false},
		{"help never", moderation.Command{Verb: moderation.VerbHelp, Targets: []string{"a", "b", "c"}}, false},
		{"confirm never", moderation.Command{Verb: moderation.VerbConfirm, CaseID: 3}, false},
	}
	for _, tt := range tests {
		if got := e.NeedsConfirmation(tt.cmd); got != tt.want {
			t.Errorf("%s: NeedsConfirmation = %v, want %v", tt.name, got, tt.want)
		}
	}
	off, _ := New(Config{}, nil)
	if off.NeedsConfirmation(moderation.Command{Verb: moderation.VerbKick, Targets: make([]string, 19)}) {
		t.Error("confirmation asked with confirm_above 0 and no verbs listed")
	}
}
