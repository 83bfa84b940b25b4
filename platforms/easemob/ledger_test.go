package easemob_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"gavel/moderation"
	"gavel/platforms/easemob"
	"gavel/platforms/easemob/easemobtest"
)

func TestMemoryLedger(t *testing.T) {
	t.Parallel()
	clk := newClock()
	l := easemob.NewMemoryLedger(3, clk.Now)
	steps := []struct {
		advance     time.Duration
		key, digest string
		want        easemob.ClaimResult
	}{
		{0, "a", "d1", easemob.ClaimFirst},
		{0, "a", "d1", easemob.ClaimSame},
		{0, "a", "d2", easemob.ClaimOther},
		{0, "a", "d1", easemob.ClaimSame}, // the refused body did not replace the first
		{time.Minute, "b", "d1", easemob.ClaimFirst},
		{0, "c", "d1", easemob.ClaimFirst},
		{0, "d", "d1", easemob.ClaimFirst}, // full: "a", the oldest, goes
		{0, "a", "d2", easemob.ClaimFirst},
		{0, "c", "d2", easemob.ClaimOther},
		{10 * time.Minute, "c", "d2", easemob.ClaimFirst}, // expired
	}
	for i, s := range steps {
		clk.Advance(s.advance)
		got, err := l.Claim(ctx, s.key, s.digest, 5*time.Minute)
		if err != nil || got != s.want {
			t.Fatalf("step %d Claim(%s, %s) = %v, %v; want %v", i, s.key, s.digest, got, err, s.want)
		}
		if l.Len() > 3 {
			t.Fatalf("step %d: %d entries, bound 3", i, l.Len())
		}
	}
}

// fakeClaimer is Redis SET NX PX, then GET, shared by replicas.
type fakeClaimer struct {
	mu   sync.Mutex
	keys map[string]string
	err  error
}

func (f *fakeClaimer) Claim(_ context.Context, key, value string, _ time.Duration) (string, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return "", false, f.err
	}
	if held, ok := f.keys[key]; ok {
		return held, false, nil
	}
	f.keys[key] = value
	return value, true, nil
}

func TestSharedLedger(t *testing.T) {
	t.Parallel()
	redis := &fakeClaimer{keys: map[string]string{}}
	r1 := &easemob.SharedLedger{Claimer: redis, Local: easemob.NewMemoryLedger(0, nil)}
	r2 := &easemob.SharedLedger{Claimer: redis, Local: easemob.NewMemoryLedger(0, nil)}
	steps := []struct {
		replica     *easemob.SharedLedger
		key, digest string
		want        easemob.ClaimResult
	}{
		{r1, "k", "hello", easemob.ClaimFirst},
		{r1, "k", "hello", easemob.ClaimSame},
		{r1, "k", "kick", easemob.ClaimOther},
		{r2, "k", "kick", easemob.ClaimOther}, // the forgery, on another replica
		{r2, "k", "hello", easemob.ClaimSame}, // a re-send there is a duplicate
		{r2, "k", "kick", easemob.ClaimOther}, // from r2's own memory now
		{r2, "k2", "x", easemob.ClaimFirst},
		{r1, "k2", "x", easemob.ClaimSame},
		{r1, "k2", "y", easemob.ClaimOther},
	}
	for i, s := range steps {
		got, err := s.replica.Claim(ctx, s.key, s.digest, time.Minute)
		if err != nil || got != s.want {
			t.Fatalf("step %d: %v, %v; want %v", i, got, err, s.want)
		}
	}
	// Redis down: the replica's own memory decides.
	redis.err = errors.New("connection refused")
	if got, _ := r1.Claim(ctx, "k3", "a", time.Minute); got != easemob.ClaimFirst {
		t.Fatalf("redis down, first: %v", got)
	}
	if got, _ := r1.Claim(ctx, "k3", "b", time.Minute); got != easemob.ClaimOther {
		t.Fatalf("redis down, other body: %v", got)
	}
}

// TestReceiveRefusesReusedSignature: the signature of an ordinary message
// does not sign a forged command: same callId, timestamp and security on
// another body is ErrReusedSignature; an identical re-send is accepted.
func TestReceiveRefusesReusedSignature(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		presend bool
		forge   func(f map[string]any)
		want    error
	}{
		{name: "text replaced", forge: func(f map[string]any) {
			f["payload"] = map[string]any{"ext": map[string]any{"em_at_list": []string{"bob"}}, "bodies": []any{map[string]any{"type": "txt", "msg": "/kick @bob"}}}
		}, want: moderation.ErrReusedSignature},
		{name: "sender replaced", forge: func(f map[string]any) { f["from"] = "owner1" }, want: moderation.ErrReusedSignature},
		{name: "chat replaced", forge: func(f map[string]any) { f["group_id"] = "999" }, want: moderation.ErrReusedSignature},
		{name: "field added", forge: func(f map[string]any) { f["content_type"] = "chat:group:text" }, want: moderation.ErrReusedSignature},
		{name: "identical re-send", forge: func(map[string]any) {}},
		{name: "offline copy of the same message", forge: func(f map[string]any) { f["eventType"] = "chat_offline"; f["to"] = "carol" }},
		{name: "pre-send text replaced", presend: true, forge: func(f map[string]any) {
			f["payload"] = map[string]any{"type": "txt", "msg": "spam"}
		}, want: moderation.ErrReusedSignature},
		{name: "pre-send identical", presend: true, forge: func(map[string]any) {}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			var fields func() map[string]any
			receive, secret := e.c.Receive, e.srv.CallbackSecret
			if tc.presend {
				p := easemobtest.PreSend{ChatID: roomID, ChatType: "chatroom", From: "bob", Text: "hello", MsgID: "1", CallID: "org#app_1", At: e.clock.Now()}
				fields = func() map[string]any { return e.srv.PreSendFields(p) }
				receive, secret = e.c.ReceivePreSend, e.srv.PreSendSecret
			} else {
				m := easemobtest.Message{ChatID: roomID, Kind: easemobtest.KindChatRoom, From: "bob", Text: "hello", MsgID: "1", CallID: "org#app_1", At: e.clock.Now()}
				fields = func() map[string]any { return e.srv.MessageFields(m) }
			}
			orig := easemobtest.SignFields(fields(), secret)
			if _, err := receive(ctx, e.srv.Delivery(orig)); err != nil {
				t.Fatalf("original refused: %v", err)
			}
			f := fields()
			f["security"] = easemob.Sign(f["callId"].(string), secret, f["timestamp"].(int64)) // the captured signature
			tc.forge(f)
			forged := easemobtest.SignFields(f, secret)
			if !strings.Contains(string(forged), `"security":"`+easemob.Sign("org#app_1", secret, e.clock.Now().UnixMilli())+`"`) {
				t.Fatal("test bug: the forged body does not carry the captured signature")
			}
			ack, err := receive(ctx, e.srv.Delivery(forged))
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if err != nil && (ack.Events != nil || ack.Response != nil) {
				t.Fatalf("refused delivery produced %+v", ack)
			}
		})
	}
}

// TestE2EReusedSignatureRefused: over HTTP, a "hello"'s signature on a
// forged /kick gets 409 and kicks nobody; the genuine re-send gets 200.
func TestE2EReusedSignatureRefused(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.fake.AddChatRoom(e2eRoom, "owner1", []string{"adm"}, []string{"bob", "mallory"})
	hello := easemobtest.Message{ChatID: e2eRoom, Kind: easemobtest.KindChatRoom, From: "adm", Text: "hello", MsgID: "100", CallID: "gavel-org#gavel-app_100"}
	if st, _ := e.post(t, hello); st != http.StatusOK {
		t.Fatalf("hello answered %d", st)
	}
	forged := hello
	forged.Text, forged.AtList = "/kick @bob", []string{"bob"}
	if st, _ := e.post(t, forged); st != http.StatusConflict {
		t.Fatalf("forged /kick under hello's signature answered %d, want 409", st)
	}
	if st, _ := e.post(t, hello); st != http.StatusOK {
		t.Fatalf("identical re-send answered %d, want 200", st)
	}
	if !e.fake.IsMember(e2eRoom, "bob") || len(e.fake.CallsTo("kick")) != 0 {
		t.Fatal("the forged command kicked bob")
	}
	if !strings.Contains(e.gavel.Logs(), `"reason":"reused_signature"`) {
		t.Fatal("no reused_signature in the logs")
	}
}

// TestMemoryLedgerFootprint measures the heap held per entry (figure in
// DefaultLedgerEntries' doc).
func TestMemoryLedgerFootprint(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates ~20 MB")
	}
	const n = 200_000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	l := easemob.NewMemoryLedger(n, nil)
	for i := range n {
		l.Claim(ctx, fmt.Sprintf("post:org#app_%08d-1b7c-4d1e-9f00-0123456789ab", i), "digest", time.Hour)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("MemoryLedger: %.0f bytes per entry", per)
	if per > 120 {
		t.Fatalf("%.0f bytes per entry", per)
	}
	runtime.KeepAlive(l)
}
