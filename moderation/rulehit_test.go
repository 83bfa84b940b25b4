package moderation

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestRuleHitJSONUnchanged: a job queued before RuleHit carried a Verb
// ("action": "mute") decodes into the same hit, and a new one encodes the
// same way.
func TestRuleHitJSONUnchanged(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		json string
		want Verb
	}{
		{"warn", `{"rule":"flood","action":"warn","users":["u1"],"match":"6 messages in 10s"}`, VerbWarn},
		{"delete", `{"rule":"blocklist","action":"delete","users":["u1"],"message_id":"m1","match":"word \"x\""}`, VerbDelete},
		{"kick", `{"rule":"raid","action":"kick","users":["u1","u2"],"match":"25 joins in 10s"}`, VerbKick},
		{"mute", `{"rule":"links","action":"mute","duration":600000000000,"users":["u1"],"match":"link a.example"}`, VerbMute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var ev Event
			if err := json.Unmarshal([]byte(`{"kind":"message","hits":[`+tt.json+`]}`), &ev); err != nil {
				t.Fatal(err)
			}
			if len(ev.Hits) != 1 || ev.Hits[0].Verb != tt.want {
				t.Fatalf("decoded %+v, want verb %q", ev.Hits, tt.want)
			}
			if tt.want == VerbMute && ev.Hits[0].Duration != 10*time.Minute {
				t.Errorf("duration %v", ev.Hits[0].Duration)
			}
			b, err := json.Marshal(ev.Hits[0])
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), `"action":"`+string(tt.want)+`"`) {
				t.Errorf("encoded %s", b)
			}
		})
	}
}
