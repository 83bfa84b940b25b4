package pipeline

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"gavel/commands"
	"gavel/moderation"
	"gavel/policy"
	"gavel/store/sqlite"
)

// TestEmulatedMuteLifecycle (#15.3): one component owns emulated mutes.
// A mute is recorded and indexed, the muted user's messages are triaged
// and recalled, and when it runs out MaintainMutes ends the record and the
// index together; another replica's mute arrives with the same call.
func TestEmulatedMuteLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "gavel.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var mu sync.Mutex
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	newReplica := func() (*Pipeline, *recorder) {
		pl := &recorder{caps: emulatedMute, roles: map[string]moderation.Role{"mod": moderation.RoleAdmin}, refuse: map[string]bool{}}
		eng, err := policy.New(policy.Config{}, clock)
		if err != nil {
			t.Fatal(err)
		}
		p, err := New(Config{}, Deps{Platforms: []moderation.Platform{pl}, Parser: commands.New(commands.Config{}), Policy: eng,
			Store: st, Logger: slog.New(slog.DiscardHandler), Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		return p, pl
	}
	a, pa := newReplica()
	b, pb := newReplica()
	triaged := func(p *Pipeline, id string) bool {
		_, job := p.Triage(ctx, message(id, "bob", "hello"))
		return job
	}

	deliver(t, a, message("m1", "mod", "/mute @bob 1m"))
	if !triaged(a, "m2") {
		t.Fatal("replica a: the muted user's message is not triaged")
	}
	deliver(t, a, message("m2", "bob", "hello"))
	if len(pa.recalls) != 1 || pa.recalls[0] != "m2" {
		t.Fatalf("recalls %v, want m2", pa.recalls)
	}
	// Replica b learns of the mute at its next maintenance.
	if triaged(b, "m3") {
		t.Fatal("replica b: mute known before maintenance")
	}
	if err := b.MaintainMutes(ctx); err != nil {
		t.Fatal(err)
	}
	if !triaged(b, "m3") {
		t.Fatal("replica b: mute not known after maintenance")
	}
	// The mute runs out: maintenance ends the record and the index.
	advance(2 * time.Minute)
	if err := a.MaintainMutes(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := st.ActiveMute(ctx, moderation.ChatRef{Platform: "fake", ID: "c1"}, "bob", time.Unix(0, 0)); err != nil || ok {
		t.Fatalf("record still there (%v, %v)", ok, err)
	}
	if ms, _ := st.ExpiredMutes(ctx, clock(), 10); len(ms) != 0 {
		t.Fatalf("expired mutes left: %v", ms)
	}
	deliver(t, a, message("m4", "bob", "hello again"))
	deliver(t, b, message("m5", "bob", "hello again"))
	if len(pa.recalls) != 1 || len(pb.recalls) != 0 {
		t.Fatalf("recalls after the end: a %v, b %v", pa.recalls, pb.recalls)
	}
}
