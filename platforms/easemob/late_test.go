package easemob_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"gavel/moderation"
	"gavel/platforms/easemob"
	"gavel/platforms/easemob/easemobtest"
)

// TestReceiveIgnoresLateCallbacks: a correctly signed callback outside the
// replay window (a stored callback re-sent late) is answered as usual and
// ignored; a wrongly signed or unsigned one is still refused.
func TestReceiveIgnoresLateCallbacks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.AddChatRoom(roomID, "owner1", nil, []string{"bob"})
	now := e.clock.Now()
	msg := func(at time.Time) map[string]any {
		return e.srv.MessageFields(easemobtest.Message{ChatID: roomID, Kind: easemobtest.KindChatRoom, From: "owner1", Text: "/kick @bob", AtList: []string{"bob"}, At: at})
	}
	pre := func(at time.Time) map[string]any {
		return e.srv.PreSendFields(easemobtest.PreSend{ChatID: roomID, ChatType: "chatroom", From: "spammer", Text: "spam", At: at})
	}
	tests := []struct {
		name    string
		body    []byte
		presend bool // through ReceivePreSend
		want    error
		answer  any
	}{
		{name: "post-send 3 days late", body: easemobtest.SignFields(msg(now.Add(-71*time.Hour)), e.srv.CallbackSecret), answer: "{}"},
		{name: "post-send just outside", body: easemobtest.SignFields(msg(now.Add(-easemob.DefaultReplayWindow-time.Second)), e.srv.CallbackSecret), answer: "{}"},
		{name: "post-send from the future", body: easemobtest.SignFields(msg(now.Add(time.Hour)), e.srv.CallbackSecret), answer: "{}"},
		{name: "pre-send late", body: easemobtest.SignFields(pre(now.Add(-time.Hour)), e.srv.PreSendSecret), presend: true, answer: easemob.PreSendAnswer{Valid: true}},
		{name: "pre-send late at the post-send URL", body: easemobtest.SignFields(pre(now.Add(-time.Hour)), e.srv.PreSendSecret), answer: easemob.PreSendAnswer{Valid: true}},
		{name: "late, wrong secret", body: easemobtest.SignFields(msg(now.Add(-time.Hour)), "other"), want: moderation.ErrBadSignature},
		{name: "late pre-send, wrong secret", body: easemobtest.SignFields(pre(now.Add(-time.Hour)), "other"), presend: true, want: moderation.ErrBadSignature},
		{name: "late, unsigned", body: func() []byte {
			b, _ := json.Marshal(msg(now.Add(-time.Hour)))
			return b
		}(), want: moderation.ErrMissingHeaders},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			receive := e.c.Receive
			if tc.presend {
				receive = e.c.ReceivePreSend
			}
			ack, err := receive(ctx, e.srv.Delivery(tc.body))
			if tc.want != nil {
				if !errors.Is(err, tc.want) || ack.Ignored != "" {
					t.Fatalf("err %v ack %+v, want %v", err, ack, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if ack.Ignored != easemob.IgnoredStale || len(ack.Events) != 0 {
				t.Fatalf("ack %+v, want ignored as stale without events", ack)
			}
			got := ack.Response
			if s, ok := ack.Response.(interface{ MarshalJSON() ([]byte, error) }); ok {
				b, _ := s.MarshalJSON()
				got = string(b)
			}
			if got != tc.answer {
				t.Fatalf("answer %#v, want %#v", got, tc.answer)
			}
		})
	}
}

// TestE2EStoredCallbackResentLate: a command whose callback failed and was
// stored is re-sent by Easemob's callback storage a day later with its
// old timestamp; Gavel answers 200, counts it, and does not act.
func TestE2EStoredCallbackResentLate(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.fake.AddChatRoom(e2eRoom, "owner1", nil, []string{"bob"})
	e.fake.Store(e.fake.MessageBody(easemobtest.Message{ChatID: e2eRoom, Kind: easemobtest.KindChatRoom, From: "owner1", Text: "/kick @bob", AtList: []string{"bob"}}))
	e.clock.Advance(24 * time.Hour)
	reqs := e.fake.StoredRequests("http://gavel/webhook/easemob")
	if len(reqs) != 1 {
		t.Fatalf("%d stored callbacks", len(reqs))
	}
	status, body := e.gavel.Do(t, reqs[0])
	e.gavel.Wait()
	if status != http.StatusOK || string(body) != "{}" {
		t.Fatalf("late stored callback answered %d %s, want 200 {}", status, body)
	}
	if ops := e.opsExceptToken(); len(ops) != 0 {
		t.Fatalf("API calls %v for a late callback", ops)
	}
	if !e.fake.IsMember(e2eRoom, "bob") {
		t.Fatal("bob was kicked by a 24-hour-old command")
	}
	req, _ := http.NewRequest(http.MethodGet, "http://gavel/metrics", nil)
	_, metrics := e.gavel.Do(t, req)
	if want := `gavel_webhooks_ignored_total{platform="easemob",reason="stale"} 1`; !strings.Contains(string(metrics), want+"\n") {
		t.Fatalf("metrics lack %s", want)
	}
}
