package postgres_test

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"gavel/moderation"
	"gavel/store/postgres"
	"gavel/store/storetest"
)

// envDSN names the variable holding the test database's DSN, e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const envDSN = "GAVEL_TEST_POSTGRES"

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// testDSN returns the test database's DSN, skipping the test without one.
func testDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(envDSN)
	if dsn == "" {
		t.Skip(envDSN + " not set: skipping PostgreSQL store tests")
	}
	return dsn
}

// newSchema creates an empty schema gavel_test_<random> and drops it, with
// everything in it, when the test ends. It returns the DSN with the
// schema as search_path.
func newSchema(t testing.TB) string {
	t.Helper()
	dsn := testDSN(t)
	var b [6]byte
	if _, err := crand.Read(b[:]); err != nil {
		t.Fatalf("random schema name: %v", err)
	}
	schema := "gavel_test_" + hex.EncodeToString(b[:])
	admin(t, dsn, `CREATE SCHEMA `+schema)
	t.Cleanup(func() { admin(t, dsn, `DROP SCHEMA `+schema+` CASCADE`) })
	return withSearchPath(t, dsn, schema)
}

// admin runs sql on a connection of its own.
func admin(t testing.TB, dsn, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// withSearchPath sets search_path in dsn, a URL or key=value DSN.
func withSearchPath(t testing.TB, dsn, schema string) string {
	t.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("parse %s: %v", envDSN, err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}

func open(t testing.TB, dsn string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	testDSN(t)
	storetest.Run(t, func(t *testing.T) moderation.Store {
		return open(t, newSchema(t))
	})
}

func event(chat, delivery string) moderation.Event {
	return moderation.Event{
		Kind: moderation.EventMessage, Platform: "test", DeliveryID: delivery, DedupKeys: []string{delivery},
		Message: &moderation.Message{Chat: moderation.ChatRef{Platform: "test", ID: chat}, Text: "/kick @x"},
	}
}

// TestTwoProcesses runs Gavel's job queue from two Stores, each with its
// own pool, as two processes sharing the database would: both enqueue
// every delivery (re-deliveries racing each other) while workers of both
// claim. Each delivery must become exactly one job, claimed once, and a
// chat's jobs must run one at a time in enqueue order.
func TestTwoProcesses(t *testing.T) {
	t.Parallel()
	dsn := newSchema(t)
	stores := []*postgres.Store{open(t, dsn), open(t, dsn)}
	ctx := t.Context()
	const (
		jobs    = 500
		chats   = 20
		workers = 4 // per store
	)
	chatOf := func(i int) string { return fmt.Sprint("chat", i%chats) }

	var (
		mu       sync.Mutex
		created  = map[string]int{}     // delivery → times Enqueue created it
		claimed  = map[int64]string{}   // job → worker that claimed it
		running  = map[string]int64{}   // chat → job running now
		order    = map[string][]int{}   // chat → delivery numbers in claim order
		idOrder  = map[string][]int64{} // chat → job ids in claim order
		problems []string
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		problems = append(problems, fmt.Sprintf(format, args...))
	}

	var producers, consumers sync.WaitGroup
	for p, s := range stores {
		producers.Go(func() {
			for i := range jobs {
				ok, err := s.Enqueue(ctx, event(chatOf(i), fmt.Sprint("d", i)), t0)
				if err != nil {
					fail("producer %d: Enqueue d%d: %v", p, i, err)
					return
				}
				if ok {
					mu.Lock()
					created[fmt.Sprint("d", i)]++
					mu.Unlock()
				}
			}
		})
	}
	done := make(chan struct{})
	for w := range 2 * workers {
		s := stores[w%2]
		name := fmt.Sprintf("p%d-w%d", w%2, w)
		consumers.Go(func() {
			for {
				got, err := s.Claim(ctx, name, 1+rand.IntN(5), time.Hour, t0)
				if err != nil {
					fail("%s: Claim: %v", name, err)
					return
				}
				if len(got) == 0 {
					select {
					case <-done:
						if n, _, err := s.Pending(ctx, t0); err != nil || n == 0 {
							if err != nil {
								fail("%s: Pending: %v", name, err)
							}
							return
						}
					default:
					}
					time.Sleep(time.Millisecond)
					continue
				}
				mu.Lock()
				for _, j := range got {
					chat := j.Event.Message.Chat.ID
					if other, ok := claimed[j.ID]; ok {
						problems = append(problems, fmt.Sprintf("job %d claimed by %s and %s", j.ID, other, name))
					}
					if other, ok := running[chat]; ok {
						problems = append(problems, fmt.Sprintf("%s: job %d of %s claimed while job %d runs", name, j.ID, chat, other))
					}
					claimed[j.ID] = name
					running[chat] = j.ID
					var n int
					fmt.Sscanf(j.Event.DeliveryID, "d%d", &n)
					order[chat] = append(order[chat], n)
					idOrder[chat] = append(idOrder[chat], j.ID)
				}
				mu.Unlock()
				time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond)
				for _, j := range got {
					// Off the books before Finish: once Finish commits, the
					// chat's next job may be claimed at once.
					mu.Lock()
					delete(running, j.Event.Message.Chat.ID)
					mu.Unlock()
					if err := s.Finish(ctx, j.ID, name); err != nil {
						fail("%s: Finish %d: %v", name, j.ID, err)
						return
					}
				}
			}
		})
	}
	producers.Wait()
	close(done)
	consumers.Wait()

	for _, p := range problems {
		t.Error(p)
	}
	if len(created) != jobs {
		t.Errorf("%d deliveries became jobs, want %d", len(created), jobs)
	}
	for d, n := range created {
		if n != 1 {
			t.Errorf("delivery %s created %d jobs", d, n)
		}
	}
	if len(claimed) != jobs {
		t.Errorf("%d jobs claimed, want %d", len(claimed), jobs)
	}
	for chat, ns := range order {
		if !slices.IsSorted(ns) || !slices.IsSorted(idOrder[chat]) {
			t.Errorf("chat %s: deliveries claimed in order %v (ids %v), want increasing", chat, ns, idOrder[chat])
		}
	}
	if n, _, err := stores[0].Pending(ctx, t0); err != nil || n != 0 {
		t.Errorf("Pending = %d, %v; want 0", n, err)
	}
}

// TestChatOrderUnderConcurrentEnqueue enqueues the jobs of few chats from
// many goroutines on two pools while claiming: a job may never be claimed
// while an earlier-numbered job of its chat is unfinished or yet to
// commit, which the per-chat advisory lock in Enqueue guarantees.
func TestChatOrderUnderConcurrentEnqueue(t *testing.T) {
	t.Parallel()
	dsn := newSchema(t)
	stores := []*postgres.Store{open(t, dsn), open(t, dsn)}
	ctx := t.Context()
	const (
		producers = 8
		perProd   = 60
		chats     = 3
	)
	var (
		mu       sync.Mutex
		finished = map[int64]bool{}
		claimed  = map[string][]int64{}
		problems []string
	)
	var prod, cons sync.WaitGroup
	for p := range producers {
		s := stores[p%2]
		prod.Go(func() {
			for i := range perProd {
				ev := event(fmt.Sprint("c", (p+i)%chats), fmt.Sprintf("p%d-%d", p, i))
				if _, err := s.Enqueue(ctx, ev, t0); err != nil {
					mu.Lock()
					problems = append(problems, fmt.Sprintf("Enqueue: %v", err))
					mu.Unlock()
					return
				}
			}
		})
	}
	done := make(chan struct{})
	for w := range 4 {
		s := stores[w%2]
		name := fmt.Sprint("w", w)
		cons.Go(func() {
			for {
				got, err := s.Claim(ctx, name, 3, time.Hour, t0)
				if err != nil {
					mu.Lock()
					problems = append(problems, fmt.Sprintf("%s: Claim: %v", name, err))
					mu.Unlock()
					return
				}
				if len(got) == 0 {
					select {
					case <-done:
						if n, _, err := s.Pending(ctx, t0); err != nil || n == 0 {
							return
						}
					default:
					}
					time.Sleep(200 * time.Microsecond)
					continue
				}
				mu.Lock()
				for _, j := range got {
					chat := j.Event.Message.Chat.ID
					claimed[chat] = append(claimed[chat], j.ID)
				}
				mu.Unlock()
				for _, j := range got {
					if err := s.Finish(ctx, j.ID, name); err != nil {
						mu.Lock()
						problems = append(problems, fmt.Sprintf("%s: Finish: %v", name, err))
						mu.Unlock()
						return
					}
					mu.Lock()
					finished[j.ID] = true
					mu.Unlock()
				}
			}
		})
	}
	prod.Wait()
	close(done)
	cons.Wait()
	for _, p := range problems {
		t.Error(p)
	}
	if len(finished) != producers*perProd {
		t.Errorf("%d jobs finished, want %d", len(finished), producers*perProd)
	}
	for chat, ids := range claimed {
		if !slices.IsSorted(ids) {
			t.Errorf("chat %s: job ids claimed in order %v, want increasing", chat, ids)
		}
	}
}

func TestSurvivesRestart(t *testing.T) {
	t.Parallel()
	dsn := newSchema(t)
	storetest.Restart(t, func(t *testing.T) moderation.Store {
		s, err := postgres.Open(t.Context(), dsn)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	})
}

// schemaVersions returns the versions recorded in the schema dsn names.
func schemaVersions(t testing.TB, dsn string) []int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(t.Context(), `SELECT version FROM gavel_schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatalf("read versions: %v", err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatalf("read versions: %v", err)
	}
	return versions
}

func TestMigrationsConcurrentAndIdempotent(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dsn := newSchema(t)

	// Processes starting together on an empty schema.
	const opens = 8
	var wg sync.WaitGroup
	errs := make(chan error, opens)
	for range opens {
		wg.Go(func() {
			s, err := postgres.Open(ctx, dsn)
			if err != nil {
				errs <- err
				return
			}
			errs <- s.Close()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent Open: %v", err)
		}
	}
	versions := schemaVersions(t, dsn)
	if len(versions) == 0 || versions[0] != 1 || !slices.IsSorted(versions) || versions[len(versions)-1] != len(versions) {
		t.Fatalf("versions after concurrent Opens = %v, want 1..n once each", versions)
	}

	s := open(t, dsn)
	if _, err := s.Enqueue(ctx, event("c1", "d1"), t0); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	s.Close()
	s = open(t, dsn)
	if got := schemaVersions(t, dsn); !slices.Equal(got, versions) {
		t.Fatalf("versions after re-opening = %v, want %v", got, versions)
	}
	if n, _, err := s.Pending(ctx, t0); err != nil || n != 1 {
		t.Fatalf("Pending after re-opening = %d, %v; want 1", n, err)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	t.Parallel()
	dsn := newSchema(t)
	open(t, dsn).Close()
	admin(t, dsn, `INSERT INTO gavel_schema_migrations (version) VALUES (999)`)
	s, err := postgres.Open(t.Context(), dsn)
	if err == nil {
		s.Close()
		t.Fatal("Open of a schema from a newer build succeeded")
	}
	if !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Open error = %v, want it to say the schema is newer", err)
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	dsn := testDSN(t)
	tests := []struct {
		name, dsn, want string
	}{
		{"empty", "", "empty dsn"},
		{"unparsable", "postgres://%zz", "postgres:"},
		{"missing schema", withSearchPath(t, dsn, "gavel_test_no_such_schema"), "search_path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := postgres.Open(t.Context(), tt.dsn)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%q) succeeded, want an error containing %q", tt.dsn, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open(%q) = %v, want an error containing %q", tt.dsn, err, tt.want)
			}
		})
	}
}

func TestDedupTTL(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := open(t, newSchema(t))
	if s.DedupTTL != postgres.DefaultDedupTTL {
		t.Fatalf("DedupTTL = %s, want %s", s.DedupTTL, postgres.DefaultDedupTTL)
	}
	s.DedupTTL = time.Hour
	tests := []struct {
		name string
		at   time.Time
		want bool
	}{
		{"first", t0, true},
		{"just before expiry", t0.Add(time.Hour - time.Nanosecond), false},
		{"at expiry", t0.Add(time.Hour), true},
		{"renewed by the re-enqueue", t0.Add(2*time.Hour - time.Nanosecond), false},
	}
	for _, tt := range tests {
		got, err := s.Enqueue(ctx, event("c1", "d1"), tt.at)
		if err != nil {
			t.Fatalf("%s: Enqueue: %v", tt.name, err)
		}
		if got != tt.want {
			t.Errorf("%s: created = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestAwkwardText stores what PostgreSQL text and jsonb refuse: NUL and
// invalid UTF-8.
func TestAwkwardText(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := open(t, newSchema(t))
	ev := event("c1", "d1")
	ev.Message.Text = "nul \x00 here"
	if _, err := s.Enqueue(ctx, ev, t0); err != nil {
		t.Fatalf("Enqueue of a message with NUL: %v", err)
	}
	jobs, err := s.Claim(ctx, "w1", 1, time.Minute, t0)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("Claim = %v, %v", jobs, err)
	}
	if got := jobs[0].Event.Message.Text; got != ev.Message.Text {
		t.Errorf("Text = %q, want %q", got, ev.Message.Text)
	}
	bad := "bad \xff utf-8 \x00"
	if err := s.RecordResults(ctx, jobs[0].ID, moderation.ActionStep(moderation.VerbKick),
		[]moderation.Result{{UserID: "u1", Status: moderation.StatusFailed, Reason: moderation.Reason(bad), Detail: bad}}); err != nil {
		t.Fatalf("RecordResults: %v", err)
	}
	c := moderation.Case{DeliveryID: "d1", Platform: "test", ChatID: "c1", Verb: moderation.VerbKick,
		Reason: bad, Results: []moderation.Result{{UserID: "u1", Detail: bad}}, Outcome: "failed", At: t0}
	if err := s.AddCase(ctx, &c); err != nil {
		t.Fatalf("AddCase: %v", err)
	}
	if err := s.Retry(ctx, jobs[0].ID, "w1", t0, bad); err != nil {
		t.Fatalf("Retry: %v", err)
	}
}

// TestRecordResultsRepeatedUser: of one user's results in one call, the
// last is kept, as a sequence of upserts would.
func TestRecordResultsRepeatedUser(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := open(t, newSchema(t))
	if _, err := s.Enqueue(ctx, event("c1", "d1"), t0); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	jobs, err := s.Claim(ctx, "w1", 1, time.Minute, t0)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("Claim = %v, %v", jobs, err)
	}
	err = s.RecordResults(ctx, jobs[0].ID, moderation.ActionStep(moderation.VerbKick), []moderation.Result{
		{UserID: "u1", Status: moderation.StatusFailed},
		{UserID: "u2", Status: moderation.StatusDone},
		{UserID: "u1", Status: moderation.StatusDone},
	})
	if err != nil {
		t.Fatalf("RecordResults: %v", err)
	}
	got, err := s.Results(ctx, jobs[0].ID, moderation.ActionStep(moderation.VerbKick))
	if err != nil || len(got) != 2 || got["u1"].Status != moderation.StatusDone {
		t.Fatalf("Results = %v, %v; want u1 done, u2 done", got, err)
	}
}

func claimDeliveries(t testing.TB, s *postgres.Store, worker string) []string {
	t.Helper()
	jobs, err := s.Claim(t.Context(), worker, 10, time.Hour, t0)
	if err != nil {
		t.Fatalf("Claim(%s): %v", worker, err)
	}
	out := []string{}
	for _, j := range jobs {
		out = append(out, j.Event.DeliveryID)
	}
	return out
}

// TestEnqueueCommitOrder holds an Enqueue open after it has numbered its
// job and enqueues a second job of the same chat meanwhile. A sequence
// numbers jobs in insert order, not commit order: were the second allowed
// to commit first, another process could claim it while the first is
// still invisible, breaking the chat's order. Enqueue's per-chat lock
// makes the second wait.
func TestEnqueueCommitOrder(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dsn := newSchema(t)
	s, other := open(t, dsn), open(t, dsn)
	stalled, release := make(chan struct{}), make(chan struct{})
	unstall := sync.OnceFunc(func() { close(release) })
	t.Cleanup(unstall)
	postgres.SetAfterJobInsert(s, func(delivery string) {
		if delivery == "a1" {
			close(stalled)
			<-release
		}
	})
	first := make(chan error, 1)
	go func() {
		_, err := s.Enqueue(ctx, event("A", "a1"), t0)
		first <- err
	}()
	<-stalled
	second := make(chan error, 1)
	go func() {
		_, err := s.Enqueue(ctx, event("A", "a2"), t0)
		second <- err
	}()
	// Give a2 time to commit, were nothing holding it back.
	secondDone := false
	select {
	case err := <-second:
		if err != nil {
			t.Fatalf("Enqueue(a2): %v", err)
		}
		secondDone = true
	case <-time.After(300 * time.Millisecond):
	}
	if got := claimDeliveries(t, other, "w1"); len(got) != 0 {
		t.Fatalf("claimed %q while a1 was uncommitted, want nothing", got)
	}
	unstall()
	if err := <-first; err != nil {
		t.Fatalf("Enqueue(a1): %v", err)
	}
	if !secondDone {
		if err := <-second; err != nil {
			t.Fatalf("Enqueue(a2): %v", err)
		}
	}
	if got := claimDeliveries(t, other, "w2"); !slices.Equal(got, []string{"a1"}) {
		t.Fatalf("claimed %q, want [a1]", got)
	}
}

// TestSkipLockedKeepsChatOrder locks a chat's first job as a concurrent
// Claim in another process would while leasing it: SKIP LOCKED passes
// over it, and its successor must still wait because it is unfinished.
func TestSkipLockedKeepsChatOrder(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dsn := newSchema(t)
	s := open(t, dsn)
	for _, ev := range []moderation.Event{event("A", "a1"), event("A", "a2"), event("B", "b1")} {
		if _, err := s.Enqueue(ctx, ev, t0); err != nil {
			t.Fatalf("Enqueue: %v", err)
		}
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	if _, err := tx.Exec(ctx, `SELECT id FROM jobs WHERE delivery_id = 'a1' FOR UPDATE`); err != nil {
		t.Fatalf("lock a1: %v", err)
	}
	if got := claimDeliveries(t, s, "w1"); !slices.Equal(got, []string{"b1"}) {
		t.Fatalf("claimed %q while a1 was locked, want [b1]", got)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if got := claimDeliveries(t, s, "w2"); !slices.Equal(got, []string{"a1"}) {
		t.Fatalf("claimed %q after a1 was unlocked, want [a1]", got)
	}
}

func BenchmarkStore(b *testing.B) {
	testDSN(b)
	storetest.Bench(b, func(b *testing.B) moderation.Store {
		s, err := postgres.Open(b.Context(), newSchema(b))
		if err != nil {
			b.Fatalf("Open: %v", err)
		}
		return s
	})
}

// TestBadOutcomeOnRead: a case whose stored outcome no Gavel version
// writes is an error on read, not a string passed on.
func TestBadOutcomeOnRead(t *testing.T) {
	t.Parallel()
	dsn := newSchema(t)
	s := open(t, dsn)
	for i, outcome := range []string{"done", "bogus"} {
		admin(t, dsn, `
			INSERT INTO cases (delivery_id, platform, chat_id, verb, targets, decisions, results, outcome, at)
			VALUES ($1, 'test', 'c1', 'kick', '[]', '[]', '[]', $2, 1)`, fmt.Sprint("d", i), outcome)
	}
	storetest.WantBadOutcome(t, s, 1, 2)
}
