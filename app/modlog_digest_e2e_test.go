package app_test

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"gavel/app/apptest"
	"gavel/moderation"
	"gavel/pipeline"
	"gavel/platforms/tim/timtest"
)

// Issue #17 on TIM, end to end: a raid of 30 joiners makes 20 cases (the
// 11th join a case of the first 11, then one a join). The mod-log group
// gets the first modlog.per_minute of them as they happen and the rest in
// one digest about two minutes later; every case number appears once.
func TestTIMRaidModLogDigest(t *testing.T) {
	t.Parallel()
	const group, modlog, budget = "@TGS#raid", "@TGS#modlog", 4
	ts := timtest.NewServer()
	t.Cleanup(ts.Close)
	ts.AddGroup(timtest.Group{ID: group, Owner: "owner", Admins: []string{"mod"}, Members: []string{"alice"}})
	ts.AddGroup(timtest.Group{ID: modlog, Owner: "owner", Admins: []string{"mod"}})
	clock := apptest.NewClock(time.Now())
	cfg := timConfig(ts, filepath.Join(t.TempDir(), "gavel.db"), 100)
	cfg.Automod = rules(nil)
	cfg.ModLog = pipeline.ModLogConfig{TIM: modlog, PerMinute: budget}
	h := apptest.New(t, cfg, apptest.WithNow(clock.Now))
	logPosts := func() []timtest.Reply {
		var out []timtest.Reply
		for _, r := range ts.Replies() {
			if r.GroupID == modlog {
				out = append(out, r)
			}
		}
		return out
	}

	for i := range 30 {
		post(t, h, ts.JoinDelivery(timToken, clock.Now(), timtest.Join{GroupID: group, Members: []string{fmt.Sprintf("bot%02d", i)}}))
	}
	h.Wait()
	if n := len(ts.Removals()); n != 30 {
		t.Fatalf("%d raiders removed, want 30", n)
	}
	all, err := h.App.Store.Cases(context.Background(), moderation.CaseFilter{})
	if err != nil {
		t.Fatal(err)
	}
	cases := len(all)
	if got := len(logPosts()); got != budget {
		t.Fatalf("mod-log posts during the raid = %d, want the budget %d", got, budget)
	}

	clock.Advance(3 * time.Minute) // the digest comes due; the maintenance loop submits it
	deadline := time.Now().Add(10 * time.Second)
	for len(logPosts()) < budget+1 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	h.Wait()
	posts := logPosts()
	if len(posts) != budget+1 {
		t.Fatalf("mod-log posts after the digest = %d, want %d", len(posts), budget+1)
	}
	digest := posts[budget].Text
	if !strings.Contains(digest, "/undo N") {
		t.Errorf("digest does not say how to undo: %q", digest)
	}
	seen := map[int]int{}
	for _, p := range posts {
		for _, m := range regexp.MustCompile(`#(\d+)\b`).FindAllStringSubmatch(p.Text, -1) {
			n, _ := strconv.Atoi(m[1])
			seen[n]++
		}
	}
	for id := 1; id <= cases; id++ {
		if seen[id] != 1 {
			t.Errorf("case #%d appears %d times in the mod-log, want once", id, seen[id])
		}
	}
	t.Logf("raid: 30 joiners, %d cases, %d mod-log posts (budget %d + 1 digest of %d bytes)", cases, len(posts), budget, len(digest))
}
