//go:build !race

package feishu_test

// Not built with -race: the SDK (v3.12.0, ws/client_message.go combine)
// reassembles the parts of a split event (headers sum/seq) in one
// goroutine per frame, sharing one [][]byte through its cache without a
// lock, which the race detector reports. What that costs Gavel: a part
// lost in the race leaves the event unanswered, so Feishu sends it again;
// two goroutines both completing it hand it over twice, and the
// de-duplication keeps one. This test checks that a split event arrives,
// re-sending it as Feishu would if a part was lost.

import (
	"testing"
	"time"

	"gavel/platforms/feishu/feishutest"
)

func TestLongConnFragmented(t *testing.T) {
	t.Parallel()
	fs := feishutest.NewServer()
	t.Cleanup(fs.Close)
	fs.SetFragmentSize(64)
	rec := &sinkRecorder{}
	connect(t, fs, rec.sink)
	id := fs.Push(feishutest.MessageEvent("", feishutest.TextMessage{ChatID: "oc_1", SenderID: "ou_a", Text: "/kick @_user_1"}))
	if err := fs.WaitAcked(within(t, 3*time.Second), id); err != nil {
		t.Logf("split event not reassembled (%v, answers %v); re-sent", err, fs.Acks(id))
		fs.Redeliver()
		if err := fs.WaitAcked(within(t, 10*time.Second), id); err != nil {
			t.Fatalf("not acknowledged after the re-send: %v", err)
		}
	}
	if got := rec.events(); len(got) < 1 || got[0].Message == nil || got[0].Message.Text != "/kick @_user_1" {
		t.Errorf("events %+v, want the whole message", got)
	}
}
