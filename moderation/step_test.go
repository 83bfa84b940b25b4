package moderation

import "testing"

// TestStepKeysUnchanged pins the stored key strings: results recorded by
// an earlier version (which passed these strings as a Verb) are found
// under the same keys after an upgrade.
func TestStepKeysUnchanged(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		got  StepKey
		want string
	}{
		{"command", ActionStep(VerbKick), "kick"},
		{"rule", RuleStep("flood", VerbMute), "flood:mute"},
		{"ladder", LadderStep(VerbKick), "ladder:kick"},
		{"first reply", ReplyStep(1), "reply#1"},
		{"later reply", ReplyStep(12), "reply#12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if string(tt.got) != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}
