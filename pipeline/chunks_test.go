package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"gavel/commands"
	"gavel/moderation"
	"gavel/policy"
)

// chunkedRoles is a platform whose role look-up takes three users a call
// and fails for any chunk naming "broken".
type chunkedRoles struct {
	*recorder
	mu      sync.Mutex
	lookups [][]string
}

func (c *chunkedRoles) Roles(ctx context.Context, chat moderation.ChatRef, ids []string) (map[string]moderation.Role, error) {
	c.mu.Lock()
	c.lookups = append(c.lookups, slices.Clone(ids))
	c.mu.Unlock()
	if slices.Contains(ids, "broken") {
		return nil, errors.New("platform busy")
	}
	return c.recorder.Roles(ctx, chat, ids)
}

// TestMassActionLooksUpRolesByChunk: a command naming more targets than
// one role look-up takes is decided and acted on chunk by chunk, each
// chunk's roles looked up once; a chunk whose look-up fails is reported
// failed, the others are carried out.
func TestMassActionLooksUpRolesByChunk(t *testing.T) {
	t.Parallel()
	pl := &chunkedRoles{recorder: &recorder{caps: native, refuse: map[string]bool{}, roleBatch: 3,
		roles: map[string]moderation.Role{"mod": moderation.RoleAdmin, "mod2": moderation.RoleAdmin}}}
	eng, err := policy.New(policy.Config{MaxTargets: 50}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := &caseSink{}
	p, err := New(oneAttempt, Deps{Store: newTestStore(t), Platforms: []moderation.Platform{pl}, Parser: commands.New(commands.Config{}), Policy: eng,
		Observer: cases, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}

	deliver(t, p, message("d1", "mod", "/kick @u1 @u2 @mod2 @u4 @u5 @u6 @broken @u8"))

	// The actor first (may they moderate? then cached), then the targets
	// chunk by chunk.
	wantLookups := [][]string{{"mod"}, {"u1", "u2", "mod2"}, {"u4", "u5", "u6"}, {"broken", "u8"}}
	if fmt.Sprint(pl.lookups) != fmt.Sprint(wantLookups) {
		t.Errorf("role look-ups = %v, want %v", pl.lookups, wantLookups)
	}
	if want := "[remove u1,u2 reason= remove u4,u5,u6 reason=]"; fmt.Sprint(pl.calls) != want {
		t.Errorf("calls = %v, want %s", pl.calls, want)
	}
	if len(cases.got) != 1 {
		t.Fatalf("%d cases recorded, want 1", len(cases.got))
	}
	c := cases.got[0]
	var got []string
	for _, r := range c.Results {
		got = append(got, r.UserID+":"+string(r.Status)+":"+string(r.Reason))
	}
	want := []string{"u1:done:", "u2:done:", "mod2:refused:target_admin", "u4:done:", "u5:done:", "u6:done:",
		"broken:failed:roles_unavailable", "u8:failed:roles_unavailable"}
	if !slices.Equal(got, want) {
		t.Errorf("results = %v\nwant %v", got, want)
	}
	if len(c.Decisions) != len(want) {
		t.Errorf("%d decisions for %d targets", len(c.Decisions), len(want))
	}
	if len(pl.replies) != 1 || !strings.Contains(pl.replies[0], "failed 2") {
		t.Errorf("replies = %q", pl.replies)
	}
}

// caseSink keeps the cases the pipeline records.
type caseSink struct{ got []*moderation.Case }

func (s *caseSink) Case(c *moderation.Case)              { s.got = append(s.got, c) }
func (s *caseSink) RuleHit(string, string, string, bool) {}
