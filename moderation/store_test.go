package moderation_test

import (
	"fmt"
	"slices"
	"testing"

	"gavel/moderation"
)

func TestCaseUsers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		actor   string
		targets []string
		want    []string
	}{
		{"actor then targets", "mod", []string{"a", "b"}, []string{"mod", "a", "b"}},
		{"rule action has no actor", "", []string{"a"}, []string{"a"}},
		{"duplicates kept once, first place", "mod", []string{"a", "b", "a", "mod", "b"}, []string{"mod", "a", "b"}},
		{"empty ids skipped", "mod", []string{"", "a", ""}, []string{"mod", "a"}},
		{"nothing", "", nil, []string{}},
	}
	for _, tt := range tests {
		c := moderation.Case{Actor: tt.actor, Targets: tt.targets}
		if got := c.Users(); !slices.Equal(got, tt.want) {
			t.Errorf("%s: Users() = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// BenchmarkCaseUsers is the index rows of a 20,000-target mass action.
func BenchmarkCaseUsers(b *testing.B) {
	c := moderation.Case{Actor: "mod"}
	for i := range 20000 {
		c.Targets = append(c.Targets, fmt.Sprintf("u%05d", i))
	}
	b.ReportAllocs()
	for b.Loop() {
		if n := len(c.Users()); n != 20001 {
			b.Fatalf("Users() = %d, want 20001", n)
		}
	}
}
