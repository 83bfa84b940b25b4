package tim

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	"gavel/platforms/egress"
	"gavel/platforms/tim/timtest"
)

const (
	testToken = "gavel-callback-token"
	groupPub  = "@TGS#2GAVELPUB"
	groupWork = "@TGS#2GAVELWRK"
	groupAV   = "@TGS#aGAVELLIVE"
)

// testNow is the fixed clock of callback tests.
var testNow = time.Unix(1760000000, 0)

// fastRate keeps TIM's 200/s pacing but shortens backoff so retry tests
// run in milliseconds.
var fastRate = egress.Limits{PerSecond: DefaultRatePerSecond, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}

func testConfig(baseURL string) Config {
	return Config{
		BaseURL:         baseURL,
		SDKAppID:        timtest.DefaultSDKAppID,
		SecretKey:       timtest.DefaultSecretKey,
		AdminIdentifier: timtest.DefaultAdmin,
		CallbackToken:   testToken,
		Rate:            fastRate,
	}
}

// newFake starts a fake with a Public, a Work and an AVChatRoom group.
func newFake(tb testing.TB) *timtest.Server {
	tb.Helper()
	s := timtest.NewServer()
	tb.Cleanup(s.Close)
	s.AddGroup(timtest.Group{ID: groupPub, Type: "Public", Owner: "owner_1", Admins: []string{"ops_lead"},
		Members: []string{"spam_bot_77", "flooder_9", "quiet_one"}})
	s.AddGroup(timtest.Group{ID: groupWork, Type: "Work", Owner: "owner_2", Members: []string{"member_a"}})
	s.AddGroup(timtest.Group{ID: groupAV, Type: "AVChatRoom", Owner: "streamer"})
	return s
}

func newClient(tb testing.TB, cfg Config, opts Options) *Client {
	tb.Helper()
	c, err := New(cfg, opts)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return c
}

// newTestClient returns a client of fake s with a fixed clock for
// callbacks (REST UserSigs are checked against the wall clock).
func newTestClient(tb testing.TB, s *timtest.Server) *Client {
	tb.Helper()
	return newClient(tb, testConfig(s.URL), Options{Logger: discardLogger()})
}

func discardLogger() *slog.Logger {
	return slog.New(slog.DiscardHandler)
}

// syncBuffer is a bytes.Buffer safe for concurrent log writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func names(n int, prefix string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + string(rune('a'+i/100)) + string(rune('0'+(i/10)%10)) + string(rune('0'+i%10))
	}
	return out
}

// sameAnswer reports whether a callback answer encodes as want does.
func sameAnswer(got any, want CallbackAnswer) bool {
	g, err1 := json.Marshal(got)
	w, err2 := json.Marshal(want)
	return err1 == nil && err2 == nil && string(g) == string(w)
}
