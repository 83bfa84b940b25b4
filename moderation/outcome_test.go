package moderation

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestParseOutcome(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in     string
		kind   Outcome
		reason Reason
		step   string
	}{
		{"done", OutcomeDone, "", ""},
		{"partial", OutcomePartial, "", ""},
		{"failed", OutcomeFailed, "", ""},
		{"unsupported", OutcomeUnsupported, "", ""},
		{"refused:target_owner", OutcomeRefused, ReasonTargetOwner, ""},
		{"refused:feishu:232076", OutcomeRefused, "feishu:232076", ""},
		{"error:roles", OutcomeError, "", "roles"},
		{"error:capabilities", OutcomeError, "", "capabilities"},
		{"", "", "", ""},
		{"refused", "", "", ""},
		{"refused:", "", "", ""},
		{"error", "", "", ""},
		{"done:extra", "", "", ""},
		{"Done", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			o, err := ParseOutcome(tt.in)
			if tt.kind == "" {
				if !errors.Is(err, ErrBadOutcome) {
					t.Fatalf("ParseOutcome(%q) = %q, %v; want ErrBadOutcome", tt.in, o, err)
				}
				return
			}
			if err != nil || string(o) != tt.in {
				t.Fatalf("ParseOutcome(%q) = %q, %v", tt.in, o, err)
			}
			if o.Kind() != tt.kind || o.Reason() != tt.reason || o.Step() != tt.step {
				t.Errorf("%q: kind %q reason %q step %q; want %q %q %q", tt.in, o.Kind(), o.Reason(), o.Step(), tt.kind, tt.reason, tt.step)
			}
		})
	}
}

func TestOutcomeConstructorsRoundTrip(t *testing.T) {
	t.Parallel()
	for _, r := range Reasons() {
		o := RefusedOutcome(r)
		if p, err := ParseOutcome(string(o)); err != nil || p.Reason() != r {
			t.Errorf("RefusedOutcome(%q) = %q: parsed %q, %v", r, o, p.Reason(), err)
		}
	}
	for _, o := range []Outcome{OutcomeErrorCapabilities, OutcomeErrorRoles, ErrorOutcome("x")} {
		if _, err := ParseOutcome(string(o)); err != nil || o.Kind() != OutcomeError {
			t.Errorf("%q: %v, kind %q", o, err, o.Kind())
		}
	}
}

func FuzzParseOutcome(f *testing.F) {
	for _, s := range []string{"done", "refused:target_owner", "error:roles", "refused:", "x:y", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := ParseOutcome(s)
		if err != nil {
			if o != "" || o.Kind() != "" {
				t.Fatalf("refused %q but returned %q", s, o)
			}
			return
		}
		if string(o) != s {
			t.Fatalf("ParseOutcome(%q) changed it to %q", s, o)
		}
		switch o.Kind() {
		case OutcomeRefused:
			if o.Reason() == "" || RefusedOutcome(o.Reason()) != o {
				t.Fatalf("%q: reason %q does not rebuild it", s, o.Reason())
			}
		case OutcomeError:
			if o.Step() == "" || ErrorOutcome(o.Step()) != o {
				t.Fatalf("%q: step %q does not rebuild it", s, o.Step())
			}
		default:
			if o.Kind() != o || o.Reason() != "" || o.Step() != "" {
				t.Fatalf("%q: kind %q reason %q step %q", s, o.Kind(), o.Reason(), o.Step())
			}
		}
	})
}

// TestCaseJSONUnchanged: typed outcomes and reasons encode as the strings
// stored before they were typed, so existing databases still read.
func TestCaseJSONUnchanged(t *testing.T) {
	t.Parallel()
	c := Case{Verb: VerbKick, Outcome: RefusedOutcome(ReasonTargetOwner),
		Decisions: []Decision{{Target: "a", Reason: ReasonTargetOwner}},
		Results:   []Result{{UserID: "a", Status: StatusNoop, Reason: ReasonNotMember}}}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"outcome":"refused:target_owner"`, `"reason":"target_owner"`, `"reason":"not_member"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
	var back Case
	if err := json.Unmarshal([]byte(`{"outcome":"error:roles","results":[{"user_id":"a","status":"refused","reason":"feishu:232076"}]}`), &back); err != nil {
		t.Fatal(err)
	}
	if back.Outcome != OutcomeErrorRoles || back.Outcome.Step() != "roles" || back.Results[0].Reason != "feishu:232076" {
		t.Errorf("decoded %+v", back)
	}
}
