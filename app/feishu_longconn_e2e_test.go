package app_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gavel/app"
	"gavel/app/apptest"
	"gavel/config"
	"gavel/moderation"
	"gavel/platforms/feishu"
	"gavel/platforms/feishu/feishutest"
	"gavel/policy"
	"gavel/store"
)

// These tests run Gavel in websocket mode against the Feishu fake: the
// SDK client connects to the fake's long-connection endpoint over
// 127.0.0.1, and commands are pushed as event frames.

const lcChat = "oc_longconn"

func longConnConfig(fs *feishutest.Server) config.Config {
	return config.Config{Platforms: config.Platforms{Feishu: &feishu.Config{Mode: feishu.ModeWebSocket,
		BaseURL: fs.URL, AppID: fs.AppID, AppSecret: fs.AppSecret}},
		// One moderator sends every command of these tests.
		Policy: policy.Config{CommandsPerMinute: 1000}}
}

func newLongConnFake(t *testing.T, members ...string) *feishutest.Server {
	t.Helper()
	fs := feishutest.NewServer()
	t.Cleanup(fs.Close)
	fs.AddChat(feishutest.Chat{ID: lcChat, OwnerID: "ou_owner", Managers: []string{"ou_mod"}, Members: members, BotIsManager: true})
	return fs
}

func waitConns(t *testing.T, fs *feishutest.Server, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := fs.WaitConns(ctx, n); err != nil {
		t.Fatalf("%d long connection(s) not open: %v (open: %v)", n, err, fs.Conns())
	}
}

// kickEvent is the event JSON of the moderator's `/kick @target`.
func kickEvent(fs *feishutest.Server, target string) []byte {
	m := fs.NewMessage(lcChat, "ou_mod", "@_user_1 /kick @_user_2",
		feishutest.Mention{Key: "@_user_1", OpenID: fs.BotOpenID, Name: "Gavel"}, feishutest.Mention{Key: "@_user_2", OpenID: target, Name: target})
	return feishutest.MessageEvent("", m)
}

func waitAcked(t *testing.T, fs *feishutest.Server, ids ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, id := range ids {
		if err := fs.WaitAcked(ctx, id); err != nil {
			t.Fatalf("event %s not acknowledged: %v (answers %v, unacked %v)", id, err, fs.Acks(id), fs.Unacked())
		}
	}
}

// removedOnce checks that each target was removed by exactly one call.
func removedOnce(t *testing.T, fs *feishutest.Server, targets []string) {
	t.Helper()
	count := map[string]int{}
	for _, b := range fs.RemoveBatches() {
		for _, u := range b {
			count[u]++
		}
	}
	for _, u := range targets {
		if count[u] != 1 {
			t.Errorf("%s removed %d times, want once", u, count[u])
		}
	}
	if len(count) != len(targets) {
		t.Errorf("removed %v, want exactly %v", count, targets)
	}
}

func TestFeishuLongConnCommands(t *testing.T) {
	t.Parallel()
	fs := newLongConnFake(t, "ou_bob", "ou_carol")
	h := apptest.New(t, longConnConfig(fs))
	waitConns(t, fs, 1)

	id := fs.Push(kickEvent(fs, "ou_bob"))
	waitAcked(t, fs, id)
	// The same event again, as Feishu's at-least-once delivery may.
	if err := fs.Resend(id, ""); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := fs.WaitAnswered(ctx, id, 2); err != nil {
		t.Fatal(err)
	}
	h.Wait()
	removedOnce(t, fs, []string{"ou_bob"})
	if r := fs.Replies(); len(r) != 1 || !strings.Contains(r[0].Content, "Removed 1") {
		t.Errorf("replies %+v, want one saying Removed 1", r)
	}
	// No webhook route in websocket mode; /readyz and /metrics show the
	// connection.
	if status, _ := h.Post(t, "/webhook/feishu", nil, feishutest.Challenge("", "c")); status != http.StatusNotFound {
		t.Errorf("POST /webhook/feishu = %d, want 404 in websocket mode", status)
	}
	resp, err := http.Get(h.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/readyz = %d while connected", resp.StatusCode)
	}
	metrics := get(t, h.URL+"/metrics")
	for _, want := range []string{`gavel_longconn_connected{platform="feishu"} 1`, `gavel_longconn_events_total{platform="feishu",result="acked"} 2`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestFeishuLongConnDropMidStream: the socket drops while commands flow
// (one acknowledgement lost with it), more commands come while Feishu
// refuses connections; after the reconnect every command is carried out
// exactly once.
func TestFeishuLongConnDropMidStream(t *testing.T) {
	t.Parallel()
	var targets []string
	for i := range 8 {
		targets = append(targets, fmt.Sprintf("ou_t%d", i))
	}
	fs := newLongConnFake(t, targets...)
	h := apptest.New(t, longConnConfig(fs))
	waitConns(t, fs, 1)

	var ids []string
	for _, u := range targets[:3] {
		ids = append(ids, fs.Push(kickEvent(fs, u)))
	}
	waitAcked(t, fs, ids...)
	// The next answer is lost in the drop: that event is stored but Feishu
	// still holds it unacknowledged and sends it again.
	fs.LoseAcks(1)
	lost := fs.Push(kickEvent(fs, targets[3]))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for !slices.Contains(removed(fs), targets[3]) && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	fs.SetLongConnDown(true)
	down := []string{lost}
	for _, u := range targets[4:] {
		down = append(down, fs.Push(kickEvent(fs, u)))
	}
	fs.SetLongConnDown(false)
	waitAcked(t, fs, down...)
	if fs.Sends(lost) < 2 {
		t.Errorf("the event whose answer was lost was sent %d times, want a re-send", fs.Sends(lost))
	}
	h.Wait()
	removedOnce(t, fs, targets)
	if n := len(fs.Replies()); n != len(targets) {
		t.Errorf("%d replies, want %d", n, len(targets))
	}
	if st := h.App.Platforms[0].(*feishu.Client).ConnState(); st.Reconnects < 1 {
		t.Errorf("state %+v: no reconnect counted", st)
	}
	// Debug logs of connects, drops and reconnects: no app secret, and no
	// connection URL with its one-time ticket.
	for _, secret := range []string{fs.AppSecret, "ticket="} {
		if strings.Contains(h.Logs(), secret) {
			t.Errorf("the logs contain %q", secret)
		}
	}
}

// removed returns every user the fake was asked to remove.
func removed(fs *feishutest.Server) []string {
	var out []string
	for _, b := range fs.RemoveBatches() {
		out = append(out, b...)
	}
	return out
}

// failingStore fails every job write while fail is set.
type failingStore struct {
	moderation.Store
	fail atomic.Bool
}

var errStoreDown = errors.New("store unavailable (test)")

func (s *failingStore) Enqueue(ctx context.Context, ev moderation.Event, now time.Time) (bool, error) {
	if s.fail.Load() {
		return false, errStoreDown
	}
	return s.Store.Enqueue(ctx, ev, now)
}

func (s *failingStore) EnqueueClaim(ctx context.Context, ev moderation.Event, worker string, lease time.Duration, now time.Time) (bool, *moderation.Job, error) {
	if s.fail.Load() {
		return false, nil, errStoreDown
	}
	return s.Store.EnqueueClaim(ctx, ev, worker, lease, now)
}

// TestFeishuLongConnStoreFailureNotAcked: while the store refuses the
// write, the event is answered 500 (not acknowledged) and nothing is
// done; Feishu's re-send, once the store works, is acted on once.
func TestFeishuLongConnStoreFailureNotAcked(t *testing.T) {
	t.Parallel()
	fs := newLongConnFake(t, "ou_bob")
	fails := &failingStore{}
	fails.fail.Store(true)
	h := apptest.New(t, longConnConfig(fs), func(o *app.Options) {
		o.WrapStore = func(s moderation.Store) moderation.Store { fails.Store = s; return fails }
	})
	waitConns(t, fs, 1)
	id := fs.Push(kickEvent(fs, "ou_bob"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := fs.WaitAnswered(ctx, id, 1); err != nil {
		t.Fatal(err)
	}
	if got := fs.Acks(id); !slices.Equal(got, []int{500}) {
		t.Fatalf("answers %v, want [500]", got)
	}
	h.Wait()
	if n := len(fs.RemoveBatches()); n != 0 {
		t.Fatalf("%d removals for an event that was not stored", n)
	}
	fails.fail.Store(false)
	if n := fs.Redeliver(); n != 1 {
		t.Fatalf("Redeliver sent %d events, want 1", n)
	}
	waitAcked(t, fs, id)
	h.Wait()
	removedOnce(t, fs, []string{"ou_bob"})
	if got := fs.Acks(id); !slices.Equal(got, []int{500, 200}) {
		t.Errorf("answers %v, want [500 200]", got)
	}
}

// TestFeishuLongConnTwoReplicas: two Gavels sharing one PostgreSQL
// schema each hold a connection; the fake hands each event to one of
// them and sends every third one to the other as well: each command is
// carried out once.
func TestFeishuLongConnTwoReplicas(t *testing.T) {
	t.Parallel()
	pg := os.Getenv("GAVEL_TEST_POSTGRES")
	if pg == "" {
		t.Skip("needs PostgreSQL: set GAVEL_TEST_POSTGRES")
	}
	var targets []string
	for i := range 12 {
		targets = append(targets, fmt.Sprintf("ou_r%02d", i))
	}
	fs := newLongConnFake(t, targets...)
	cfg := longConnConfig(fs)
	cfg.Storage = store.Config{Driver: store.DriverPostgres, DSN: apptest.PostgresSchema(t, pg)}
	h1 := apptest.New(t, cfg)
	h2 := apptest.New(t, cfg)
	waitConns(t, fs, 2)
	conns := fs.Conns()
	var ids []string
	for i, u := range targets {
		id := fs.Push(kickEvent(fs, u))
		ids = append(ids, id)
		if i%3 == 0 {
			for _, c := range conns {
				if err := fs.Resend(id, c); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	waitAcked(t, fs, ids...)
	h1.Wait()
	h2.Wait()
	removedOnce(t, fs, targets)
	if n := len(fs.Replies()); n != len(targets) {
		t.Errorf("%d replies, want %d", n, len(targets))
	}
}

// TestFeishuLongConnLatency measures, over the real path (fake → SDK
// client → decoding → intake → SQLite), the time from the fake pushing an
// event to its acknowledgement, which Gavel sends only after the job is
// stored, and the time to reconnect after a drop.
func TestFeishuLongConnLatency(t *testing.T) {
	if testing.Short() {
		t.Skip("a measurement")
	}
	t.Parallel()
	const n = 100
	var targets []string
	for i := range n {
		targets = append(targets, fmt.Sprintf("ou_l%03d", i))
	}
	fs := newLongConnFake(t, targets...)
	apptest.New(t, longConnConfig(fs))
	waitConns(t, fs, 1)
	took := make([]time.Duration, 0, n)
	for _, u := range targets {
		ev := kickEvent(fs, u)
		start := time.Now()
		id := fs.Push(ev)
		waitAcked(t, fs, id)
		took = append(took, time.Since(start))
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	t.Logf("push → stored and acknowledged, %d events: median %v, p90 %v, max %v", n, took[n/2], took[n*9/10], took[n-1])
	var recon []time.Duration
	for range 3 {
		before := fs.Connects()
		start := time.Now()
		fs.DropConns()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		for fs.Connects() == before && ctx.Err() == nil {
			time.Sleep(time.Millisecond)
		}
		cancel()
		recon = append(recon, time.Since(start))
	}
	t.Logf("drop → connected again (fake's ClientConfig: ReconnectNonce 1 s, ReconnectInterval 1 s): %v", recon)
}

// TestFeishuLongConnReadiness: /readyz answers 503 once the long
// connection has been down longer than disconnected_grace, 200 again
// once it is back.
func TestFeishuLongConnReadiness(t *testing.T) {
	t.Parallel()
	fs := newLongConnFake(t)
	cfg := longConnConfig(fs)
	cfg.Platforms.Feishu.DisconnectedGrace = 200 * time.Millisecond
	h := apptest.New(t, cfg)
	waitConns(t, fs, 1)
	status := func() int {
		resp, err := http.Get(h.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	waitStatus := func(want int) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for status() != want {
			if time.Now().After(deadline) {
				t.Fatalf("/readyz never answered %d", want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitStatus(http.StatusOK)
	fs.SetLongConnDown(true)
	waitStatus(http.StatusServiceUnavailable)
	if !strings.Contains(get(t, h.URL+"/metrics"), `gavel_longconn_connected{platform="feishu"} 0`) {
		t.Error("/metrics does not show the connection down")
	}
	fs.SetLongConnDown(false)
	waitStatus(http.StatusOK)
	if !strings.Contains(get(t, h.URL+"/metrics"), `gavel_longconn_reconnects_total{platform="feishu"} 1`) {
		t.Error("/metrics does not count the reconnect")
	}
}
