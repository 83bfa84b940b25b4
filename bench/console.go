package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"gavel/moderation"
	"gavel/store/sqlite"
)

// consoleOptions are the flags of `bench console`.
type consoleOptions struct {
	n     int
	db    string
	runs  int
	chats int
}

func parseConsoleFlags(args []string, stderr io.Writer) (consoleOptions, error) {
	fs := flag.NewFlagSet("console", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o consoleOptions
	fs.IntVar(&o.n, "n", 1_000_000, "cases to fill the store with")
	fs.StringVar(&o.db, "db", "", "SQLite file to fill or reuse (default: a temporary file, removed after)")
	fs.IntVar(&o.runs, "runs", 20, "times each query runs")
	fs.IntVar(&o.chats, "chats", 200, "chats the cases spread over")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.n <= 0 || o.runs <= 0 || o.chats <= 0 {
		return o, fmt.Errorf("console: -n, -runs and -chats must be positive")
	}
	return o, nil
}

// benchEnd is the newest case's time: the cases fill the 30 days before
// it, oldest first, so ids grow with time as they do in service.
var benchEnd = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

var (
	benchPlatforms = []string{"feishu", "tim", "easemob"}
	benchRules     = []string{"flood", "blocklist", "links", "mentions", "raid"}
	benchVerbs     = []moderation.Verb{moderation.VerbWarn, moderation.VerbDelete, moderation.VerbMute, moderation.VerbKick,
		moderation.VerbBan, moderation.VerbUnmute, moderation.VerbPurge, moderation.VerbLock}
)

func benchChat(i int) (string, string) { return benchPlatforms[i%3], "chat-" + strconv.Itoa(i) }

// fillCases adds n cases to st in batches of one transaction each (the
// cases of a Work, as a job commits them).
func fillCases(ctx context.Context, st *sqlite.Store, o consoleOptions, stdout io.Writer) error {
	ev := moderation.Event{Kind: moderation.EventMessage, Platform: "tim", DeliveryID: "bench-fill", DedupKeys: []string{"bench-fill"},
		Message: &moderation.Message{Chat: moderation.ChatRef{Platform: "tim", ID: "fill"}, MessageID: "m", SenderID: "u", Text: "x"}}
	_, job, err := st.EnqueueClaim(ctx, ev, "bench", time.Hour, benchEnd)
	if err != nil || job == nil {
		return fmt.Errorf("fill: job: %v", err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	span := 30 * 24 * time.Hour
	start := time.Now()
	const batch = 2000
	for done := 0; done < o.n; {
		w := moderation.Work{}
		for i := 0; i < batch && done < o.n; i, done = i+1, done+1 {
			at := benchEnd.Add(-span + time.Duration(float64(span)*float64(done)/float64(o.n)))
			// A few busy chats and a long tail.
			chat := int(float64(o.chats) * r.Float64() * r.Float64())
			p, id := benchChat(chat)
			c := &moderation.Case{DeliveryID: "bench-" + strconv.Itoa(done), Platform: p, ChatID: id, At: at,
				Verb: benchVerbs[r.IntN(len(benchVerbs))], Outcome: moderation.OutcomeDone}
			if r.IntN(10) < 4 {
				c.Rule, c.Reason = benchRules[r.IntN(len(benchRules))], `word "spam"`
			} else {
				c.Actor = "admin-" + strconv.Itoa(r.IntN(30))
			}
			for range 1 + r.IntN(3) {
				c.Targets = append(c.Targets, "user-"+strconv.Itoa(r.IntN(50_000)))
			}
			for _, u := range c.Targets {
				c.Decisions = append(c.Decisions, moderation.Decision{Target: u, Allowed: true, Reason: moderation.ReasonOK})
				c.Results = append(c.Results, moderation.Result{UserID: u, Status: moderation.StatusDone})
			}
			if r.IntN(20) == 0 {
				c.Outcome = moderation.RefusedOutcome(moderation.ReasonTargetAdmin)
			}
			w.Cases = append(w.Cases, c)
		}
		if err := st.Commit(ctx, job.ID, "bench", w); err != nil {
			return fmt.Errorf("fill: %w", err)
		}
		if done%100_000 == 0 {
			fmt.Fprintf(stdout, "  filled %d cases (%.0f/s)\n", done, float64(done)/time.Since(start).Seconds())
		}
	}
	return nil
}

// runConsole fills an SQLite store with o.n cases and times the queries
// behind the console's case list and overview.
func runConsole(ctx context.Context, o consoleOptions, stdout io.Writer) error {
	path := o.db
	if path == "" {
		dir, err := os.MkdirTemp("", "gavel-bench-console-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		path = filepath.Join(dir, "gavel.db")
	}
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		return err
	}
	defer st.Close()
	all := []string{"*"}
	have, err := st.SearchCases(ctx, moderation.CaseQuery{Scope: all, Limit: 1})
	if err != nil {
		return err
	}
	if len(have) == 0 || have[0].ID < int64(o.n) {
		fmt.Fprintf(stdout, "filling %s with %d cases over 30 days, %d chats\n", path, o.n, o.chats)
		t := time.Now()
		if err := fillCases(ctx, st, o, stdout); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "filled in %s\n", time.Since(t).Round(time.Second))
	}
	// The console rolls cases up every minute; a store filled at once
	// catches up here, a chunk per call. Cases of the last minute stay
	// above the mark, counted from the cases as in service.
	t := time.Now()
	var rolled int
	for {
		n, err := st.RollupCases(ctx, benchEnd)
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
		rolled += n
	}
	if rolled > 0 {
		fmt.Fprintf(stdout, "rolled up %d cases into hourly counts in %s (%.0f cases/s)\n", rolled, time.Since(t).Round(time.Millisecond),
			float64(rolled)/time.Since(t).Seconds())
	}
	busyP, busyID := benchChat(0)
	tailP, tailID := benchChat(o.chats - 1)
	var five []string
	for i := range 5 {
		p, id := benchChat(i * 7)
		five = append(five, p+":"+id)
	}
	first, err := st.SearchCases(ctx, moderation.CaseQuery{Scope: all, Limit: 51})
	if err != nil || len(first) == 0 {
		return fmt.Errorf("first page: %v", err)
	}
	weekAgo := benchEnd.Add(-7 * 24 * time.Hour)
	queries := []struct {
		name string
		run  func() (int, error)
	}{
		{"list: first page (50), every chat", search(ctx, st, moderation.CaseQuery{Scope: all, Limit: 51})},
		{"list: page 2 (before id)", search(ctx, st, moderation.CaseQuery{Scope: all, Before: first[50].ID, Limit: 51})},
		{"list: busiest chat", search(ctx, st, moderation.CaseQuery{Scope: all, Platform: busyP, ChatID: busyID, Limit: 51})},
		{"list: quietest chat", search(ctx, st, moderation.CaseQuery{Scope: all, Platform: tailP, ChatID: tailID, Limit: 51})},
		{"list: user granted 5 chats", search(ctx, st, moderation.CaseQuery{Scope: five, Limit: 51})},
		{"list: platform grant", search(ctx, st, moderation.CaseQuery{Scope: []string{"tim:*"}, Limit: 51})},
		{"list: actor", search(ctx, st, moderation.CaseQuery{Scope: all, Actor: "admin-7", Limit: 51})},
		{"list: target user", search(ctx, st, moderation.CaseQuery{Scope: all, Target: "user-4242", Limit: 51})},
		{"list: rule", search(ctx, st, moderation.CaseQuery{Scope: all, Rule: "raid", Limit: 51})},
		{"list: outcome refused", search(ctx, st, moderation.CaseQuery{Scope: all, Outcome: "refused", Limit: 51})},
		{"list: a day three weeks ago", search(ctx, st, moderation.CaseQuery{Scope: all, Since: benchEnd.Add(-21 * 24 * time.Hour),
			Until: benchEnd.Add(-20 * 24 * time.Hour), Limit: 51})},
		{"list: busiest chat, that day", search(ctx, st, moderation.CaseQuery{Scope: all, Platform: busyP, ChatID: busyID,
			Since: benchEnd.Add(-21 * 24 * time.Hour), Until: benchEnd.Add(-20 * 24 * time.Hour), Limit: 51})},
		{"list: since a week ago", search(ctx, st, moderation.CaseQuery{Scope: all, Since: weekAgo, Limit: 51})},
		{"overview: by verb, 24 h, every chat", count(ctx, st, all, benchEnd.Add(-24*time.Hour), "verb")},
		{"overview: by rule, 24 h, every chat", count(ctx, st, all, benchEnd.Add(-24*time.Hour), "rule")},
		{"overview: by verb, 7 d, every chat", count(ctx, st, all, weekAgo, "verb")},
		{"overview: by rule, 7 d, every chat", count(ctx, st, all, weekAgo, "rule")},
		{"overview: by verb, 7 d, 5 chats", count(ctx, st, five, weekAgo, "verb")},
		{"chats seen", func() (int, error) { c, err := st.ChatsSeen(ctx, all); return len(c), err }},
	}
	fmt.Fprintf(stdout, "\n%-40s %6s %9s %9s %9s\n", "query", "rows", "median", "p95", "max")
	for _, q := range queries {
		var took []time.Duration
		var rows int
		for range o.runs {
			t := time.Now()
			n, err := q.run()
			if err != nil {
				return fmt.Errorf("%s: %w", q.name, err)
			}
			took = append(took, time.Since(t))
			rows = n
		}
		slices.Sort(took)
		p95 := took[min(len(took)-1, len(took)*95/100)]
		fmt.Fprintf(stdout, "%-40s %6d %9s %9s %9s\n", q.name, rows, msec(took[len(took)/2]), msec(p95), msec(took[len(took)-1]))
	}
	return nil
}

func msec(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

func search(ctx context.Context, st *sqlite.Store, q moderation.CaseQuery) func() (int, error) {
	return func() (int, error) {
		c, err := st.SearchCases(ctx, q)
		return len(c), err
	}
}

func count(ctx context.Context, st *sqlite.Store, scope []string, since time.Time, by string) func() (int, error) {
	return func() (int, error) {
		c, err := st.CountCases(ctx, scope, since, by)
		return len(c), err
	}
}
