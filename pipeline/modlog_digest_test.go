package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"gavel/commands"
	"gavel/moderation"
	"gavel/policy"
)

// newDigestPipeline is a pipeline on st posting c1's cases to "ml" with a
// budget of perMinute, recording on pl, at f's clock.
func newDigestPipeline(t *testing.T, f *fixture, st moderation.Store, perMinute int) *Pipeline {
	t.Helper()
	clock := func() time.Time { return f.now }
	eng, err := policy.New(policy.Config{}, clock)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(oneAttempt, Deps{Store: st, Platforms: []moderation.Platform{f.pl},
		Parser: commands.New(commands.Config{}), Policy: eng,
		ModLog: ModLogConfig{Chats: map[string]string{"fake:c1": "ml"}, PerMinute: perMinute},
		Logger: slog.New(slog.DiscardHandler), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newDigestFixture(t *testing.T, perMinute int) (*fixture, moderation.Store) {
	t.Helper()
	f := &fixture{t: t, now: time.Unix(1_700_000_000, 0)}
	f.pl = &recorder{caps: allNative, roles: map[string]moderation.Role{"mod": moderation.RoleAdmin}}
	st := newTestStore(t)
	f.p = newDigestPipeline(t, f, st, perMinute)
	return f, st
}

// burst delivers n flood hits in c1, each muting another user.
func (f *fixture) burst(n int) {
	f.t.Helper()
	for range n {
		f.seq++
		u := fmt.Sprint("u", f.seq)
		deliver(f.t, f.p, moderation.Event{Kind: moderation.EventMessage, Platform: "fake", DeliveryID: fmt.Sprint("hit", f.seq),
			Message: &moderation.Message{Chat: c1, MessageID: fmt.Sprint("m", f.seq), SenderID: u, Text: "spam", SentAt: f.now},
			Hits:    []moderation.RuleHit{{Rule: "flood", Verb: moderation.VerbMute, Users: []string{u}, Match: "6 messages in 10s"}}})
	}
}

// maintain runs p's maintenance once and every job it submitted.
func maintain(t *testing.T, p *Pipeline) {
	t.Helper()
	ctx := context.Background()
	jobs := p.NewJobs()
	if err := p.MaintainSanctions(ctx, jobs.Submit); err != nil {
		t.Fatalf("maintain: %v", err)
	}
	if err := jobs.Drain(ctx); err != nil {
		t.Fatalf("drain: %v", err)
	}
}

var caseNumber = regexp.MustCompile(`#(\d+)\b`)

// modLogCases counts how often each case number appears across the
// posts to the mod-log chat.
func (f *fixture) modLogCases() map[int64]int {
	f.pl.mu.Lock()
	defer f.pl.mu.Unlock()
	seen := map[int64]int{}
	for _, p := range f.pl.posts {
		for _, m := range caseNumber.FindAllStringSubmatch(p.Text, -1) {
			id, _ := strconv.ParseInt(m[1], 10, 64)
			seen[id]++
		}
	}
	return seen
}

func checkEachOnce(t *testing.T, seen map[int64]int, n int) {
	t.Helper()
	for id := int64(1); id <= int64(n); id++ {
		if seen[id] != 1 {
			t.Errorf("case #%d appears %d times across the mod-log posts, want once", id, seen[id])
		}
	}
	if len(seen) != n {
		t.Errorf("case numbers %v, want 1..%d", seen, n)
	}
}

// A burst of rule hits posts at most budget+1 mod-log messages: the first
// budget cases one each, the rest in one digest two minutes later; every
// case appears exactly once, and re-running the digest posts nothing.
func TestModLogBudgetDefersBurstToOneDigest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name            string
		budget, hits    int
		wantImmediately int
	}{
		{"budget 6, 30 hits", 6, 30, 6},
		{"budget 1, 30 hits", 1, 30, 1},
		{"within budget: no digest", 10, 5, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, _ := newDigestFixture(t, tt.budget)
			start := f.now
			f.burst(tt.hits)
			if got := len(f.callsOf("post")); got != tt.wantImmediately {
				t.Fatalf("posts during the burst = %d, want %d", got, tt.wantImmediately)
			}
			maintain(t, f.p) // not due yet
			if got := len(f.callsOf("post")); got != tt.wantImmediately {
				t.Fatalf("posts before the digest is due = %d, want %d", got, tt.wantImmediately)
			}
			f.now = f.now.Add(3 * time.Minute)
			maintain(t, f.p)
			want := tt.wantImmediately
			if tt.hits > tt.budget {
				want++
			}
			posts := f.callsOf("post")
			if len(posts) != want || len(posts) > tt.budget+1 {
				t.Fatalf("posts = %d (%v), want %d (budget %d + 1 digest)", len(posts), posts, want, tt.budget)
			}
			checkEachOnce(t, f.modLogCases(), tt.hits)
			if tt.hits > tt.budget {
				d := f.pl.posts[len(f.pl.posts)-1]
				if d.Card == nil || len(d.Card.Buttons) != 0 || len(d.Card.Fields) != tt.hits-tt.budget {
					t.Fatalf("digest card %+v, want %d fields and no buttons", d.Card, tt.hits-tt.budget)
				}
				if first := fmt.Sprintf("#%d Mute", tt.budget+1); !strings.HasPrefix(d.Card.Fields[0].Label, first) {
					t.Errorf("digest's first entry %q, want %q (oldest first)", d.Card.Fields[0].Label, first)
				}
				if !strings.Contains(d.Text, "/undo N") {
					t.Errorf("digest text does not say how to undo: %q", d.Text)
				}
				ref, err := f.p.store.CasePost(context.Background(), int64(tt.hits))
				if err != nil || ref.MessageID != fmt.Sprint("post-", want) {
					t.Fatalf("last case's post = %+v, %v; want the digest", ref, err)
				}
			}
			// A re-run of the digest's job (a crash before its finish)
			// finds nothing deferred.
			ev := moderation.TimerEvent(digestTimer(modlog, start))
			if _, err := f.p.HandleJob(context.Background(), moderation.Job{ID: 1 << 20, Event: ev, Attempts: 2}); err != nil {
				t.Fatalf("re-run: %v", err)
			}
			if got := len(f.callsOf("post")); got != want {
				t.Fatalf("posts after a re-run of the digest = %d, want %d", got, want)
			}
		})
	}
}

// A deferred case survives a restart: a new pipeline on the same store,
// which never saw the deferral, posts the digest.
func TestModLogDeferredCaseSurvivesRestart(t *testing.T) {
	t.Parallel()
	f, st := newDigestFixture(t, 2)
	f.burst(5)
	if got := len(f.callsOf("post")); got != 2 {
		t.Fatalf("posts during the burst = %d, want 2", got)
	}
	f.p = newDigestPipeline(t, f, st, 2) // the restart: nothing noted in memory
	f.now = f.now.Add(10 * time.Second)
	maintain(t, f.p) // notes the recovery digest
	if got := len(f.callsOf("post")); got != 2 {
		t.Fatalf("posts right after the restart = %d, want 2", got)
	}
	f.now = f.now.Add(3 * time.Minute)
	maintain(t, f.p)
	if got := len(f.callsOf("post")); got != 3 {
		t.Fatalf("posts after the restart's digest = %d, want 3", got)
	}
	checkEachOnce(t, f.modLogCases(), 5)
}

// A digest lists what fits one message, oldest first; never a cut case.
func TestDigestPostFits(t *testing.T) {
	t.Parallel()
	var cases []*moderation.Case
	for i := range 60 {
		cases = append(cases, &moderation.Case{ID: int64(i + 1), Platform: "tim", ChatID: "g", Rule: "raid", Verb: moderation.VerbKick,
			Targets: []string{fmt.Sprint("bot", i)}, Reason: "25 joins in 10s", Outcome: moderation.OutcomeDone})
	}
	tests := []struct {
		name  string
		limit int
		want  int
	}{
		{"no limit: at most maxDigestCases", 0, maxDigestCases},
		{"TIM's 6000 bytes", 6000, maxDigestCases},
		{"a small limit", 1200, 0}, // fewer; checked below
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			post, n := textsFor("en").digestPost(cases, tt.limit, "/")
			if tt.want > 0 && n != tt.want {
				t.Fatalf("listed %d, want %d", n, tt.want)
			}
			if n == 0 || n > maxDigestCases || (tt.limit > 0 && len(post.Text) > tt.limit) {
				t.Fatalf("listed %d in %d bytes (limit %d)", n, len(post.Text), tt.limit)
			}
			if strings.Contains(post.Text, "…") {
				t.Fatalf("a case was cut: %q", post.Text)
			}
			if len(post.Card.Fields) != n || !strings.Contains(post.Text, fmt.Sprintf("#%d Kick", n)) || strings.Contains(post.Text, fmt.Sprintf("#%d Kick", n+1)) {
				t.Fatalf("listed %d but the text is %q", n, post.Text)
			}
		})
	}
}

type fakeLimiter struct {
	allow bool
	err   error
	keys  []string
}

func (l *fakeLimiter) AllowCommand(_ context.Context, key string, _ int) (bool, error) {
	l.keys = append(l.keys, key)
	return l.allow, l.err
}

// The shared limiter (Redis) decides when set; when it fails, the
// replica's own window does.
func TestModLogSharedBudget(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		lim       *fakeLimiter
		wantPosts int
	}{
		{"shared budget spent: all deferred", &fakeLimiter{allow: false}, 0},
		{"shared budget left", &fakeLimiter{allow: true}, 5},
		{"shared budget down: this replica's window of 2", &fakeLimiter{err: fmt.Errorf("redis: down")}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, _ := newDigestFixture(t, 2)
			f.p.postLimiter = tt.lim
			f.burst(5)
			if got := len(f.callsOf("post")); got != tt.wantPosts {
				t.Fatalf("posts = %d, want %d", got, tt.wantPosts)
			}
			if len(tt.lim.keys) != 5 || tt.lim.keys[0] != "modlog:fake:ml" {
				t.Fatalf("limiter keys %v", tt.lim.keys)
			}
		})
	}
}

// More deferred cases than one digest lists: the rest go in the next
// slot's digest, each case still exactly once.
func TestModLogDigestOverflowsToTheNext(t *testing.T) {
	t.Parallel()
	f, _ := newDigestFixture(t, 1)
	f.burst(maxDigestCases + 10)
	for i, want := range []int{2, 3, 3} {
		f.now = f.now.Add(3 * time.Minute)
		maintain(t, f.p)
		if got := len(f.callsOf("post")); got != want {
			t.Fatalf("after digest slot %d: posts = %d, want %d", i+1, got, want)
		}
	}
	checkEachOnce(t, f.modLogCases(), maxDigestCases+10)
}
