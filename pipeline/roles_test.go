package pipeline

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"gavel/commands"
	"gavel/moderation"
	"gavel/policy"
)

// TestRolesChanged: EventRolesChanged drops cached roles on the webhook's
// path (Triage), the named users' or the whole chat's, and never another
// chat's; a join drops the joiners' (cached as not members).
func TestRolesChanged(t *testing.T) {
	t.Parallel()
	c1 := moderation.ChatRef{Platform: "fake", ID: "c1"}
	c2 := moderation.ChatRef{Platform: "fake", ID: "c2"}
	all := map[string]moderation.Role{"mod": moderation.RoleAdmin, "ann": moderation.RoleNotMember}
	tests := []struct {
		name     string
		ev       moderation.Event
		wantLeft map[moderation.ChatRef]int // cached roles left per chat
	}{
		{name: "whole chat", ev: moderation.Event{Kind: moderation.EventRolesChanged, Platform: "fake", RolesChanged: &moderation.RolesChange{Chat: c1}},
			wantLeft: map[moderation.ChatRef]int{c1: 0, c2: 2}},
		{name: "one user", ev: moderation.Event{Kind: moderation.EventRolesChanged, Platform: "fake", RolesChanged: &moderation.RolesChange{Chat: c1, UserIDs: []string{"mod"}}},
			wantLeft: map[moderation.ChatRef]int{c1: 1, c2: 2}},
		{name: "joiners", ev: moderation.Event{Kind: moderation.EventJoin, Platform: "fake", Join: &moderation.Join{Chat: c1, UserIDs: []string{"ann"}}},
			wantLeft: map[moderation.ChatRef]int{c1: 1, c2: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, Config{}, policy.Config{}, "en", native)
			ctx := context.Background()
			for _, c := range []moderation.ChatRef{c1, c2} {
				_ = f.p.roleCache.Put(ctx, c, all)
			}
			if _, job := f.p.Triage(ctx, tt.ev); job {
				t.Fatal("Triage wants a job; the cache was reachable")
			}
			for c, want := range tt.wantLeft {
				if got, _ := f.p.roleCache.Get(ctx, c, []string{"mod", "ann"}); len(got) != want {
					t.Errorf("%s: %d cached roles left, want %d", c, len(got), want)
				}
			}
		})
	}
}

// downRoles is a RoleCache that cannot be reached (Redis down).
type downRoles struct{ *MemoryRoles }

var errDown = errors.New("redis down")

func (*downRoles) ForgetChat(context.Context, moderation.ChatRef) error { return errDown }

// TestRolesChangedCacheDown: when the cache cannot be reached, the change
// becomes a job, which fails (and is retried) until the roles are dropped.
func TestRolesChangedCacheDown(t *testing.T) {
	t.Parallel()
	eng, err := policy.New(policy.Config{}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Config{}, Deps{Store: newTestStore(t), Platforms: []moderation.Platform{&recorder{}}, Parser: commands.New(commands.Config{}), Policy: eng,
		Roles: &downRoles{NewMemoryRoles(time.Minute)}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ev := moderation.Event{Kind: moderation.EventRolesChanged, Platform: "fake", DeliveryID: "r1", RolesChanged: &moderation.RolesChange{Chat: moderation.ChatRef{Platform: "fake", ID: "c1"}}}
	ev, job := p.Triage(context.Background(), ev)
	if !job {
		t.Fatal("Triage: no job although the cache was down")
	}
	if err := handleJob(p, moderation.Job{ID: 1, Event: ev, Attempts: 1}); !errors.Is(err, errDown) {
		t.Fatalf("handleJob = %v, want the cache's error (retry)", err)
	}
}
