package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gavel/commands"
	"gavel/moderation"
	"gavel/policy"
	"gavel/store/sqlite"
)

// TestMemberFloodGetsOneRefusal: four members each send twelve commands
// in a second (half of them not Gavel's at all). Text that is no known
// command makes no job; the rest get one short refusal per chat per
// policy.refusal_interval, not one reply each (that made Gavel the flood:
// 4 × 12 commands, 25 replies).
func TestMemberFloodGetsOneRefusal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "gavel.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var mu sync.Mutex
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	pl := &recorder{caps: native, roles: map[string]moderation.Role{"mod": moderation.RoleAdmin}, refuse: map[string]bool{}}
	eng, err := policy.New(policy.Config{RefusalInterval: time.Minute}, clock)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Config{}, Deps{Platforms: []moderation.Platform{pl}, Parser: commands.New(commands.Config{}),
		Policy: eng, Store: st, Logger: slog.New(slog.DiscardHandler), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	jobs := p.NewJobs()
	junk := []string{"/asdf", "/ban @x", "/kick@x", "/", "/Gavel pls", "@bot /nope"}
	known := []string{"/kick @x", "/mute", "/help", "/case 1", "/warn @y spam", "/mute @x 5x"}
	var stored, junkStored int
	for m := range 4 {
		for i := range 12 {
			text, isJunk := known[i/2], i%2 == 0
			if isJunk {
				text = junk[i/2]
			}
			ok, err := jobs.Submit(ctx, message(fmt.Sprintf("d%d-%d", m, i), fmt.Sprintf("member%d", m), text))
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				stored++
				if isJunk {
					junkStored++
				}
			}
		}
	}
	if junkStored != 0 {
		t.Errorf("%d jobs for text that is not a Gavel command, want 0", junkStored)
	}
	if n, _, err := st.Pending(ctx, clock()); err != nil || n != 24 || stored != 24 {
		t.Errorf("pending jobs %d (%v), stored %d; want 24: the known commands only", n, err, stored)
	}
	run := func() {
		t.Helper()
		runCtx, stop := context.WithTimeout(ctx, 30*time.Second)
		defer stop()
		go jobs.Run(runCtx)
		if err := jobs.Wait(runCtx); err != nil {
			t.Fatal(err)
		}
	}
	run()
	pl.mu.Lock()
	replies, calls := append([]string(nil), pl.replies...), len(pl.calls)
	pl.mu.Unlock()
	if len(replies) != 1 || !strings.HasPrefix(replies[0], "Refused: only the chat owner") {
		t.Errorf("replies = %q, want one short refusal", replies)
	}
	if calls != 0 {
		t.Errorf("%d moderation calls for members' commands", calls)
	}

	// Within the interval nothing more; after it, one more reply.
	mu.Lock()
	now = now.Add(59 * time.Second)
	mu.Unlock()
	if _, err := jobs.Submit(ctx, message("late-1", "member0", "/kick @x")); err != nil {
		t.Fatal(err)
	}
	run()
	mu.Lock()
	now = now.Add(time.Second)
	mu.Unlock()
	if _, err := jobs.Submit(ctx, message("late-2", "member1", "/help")); err != nil {
		t.Fatal(err)
	}
	run()
	// An admin is answered whatever the members did.
	if _, err := jobs.Submit(ctx, message("admin", "mod", "/mute @x 5x")); err != nil {
		t.Fatal(err)
	}
	run()
	jobs.Stop()
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if len(pl.replies) != 3 || !strings.Contains(pl.replies[1], "Gavel commands") || !strings.Contains(pl.replies[2], "Bad duration") {
		t.Errorf("replies = %q, want the refusal, then /help after the interval, then the admin's usage reply", pl.replies)
	}
}
