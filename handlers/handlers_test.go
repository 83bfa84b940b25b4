package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"gavel/moderation"
)

// scriptedReceiver answers by body: "ok:<id>" accepts an event with that
// id; "err:<name>" returns that verification error.
type scriptedReceiver struct{}

var sentinels = map[string]error{
	"missing": moderation.ErrMissingHeaders, "sig": moderation.ErrBadSignature,
	"token": moderation.ErrBadToken, "stale": moderation.ErrStaleTimestamp,
	"app": moderation.ErrUnknownApp, "malformed": moderation.ErrMalformed,
	"other": errors.New("boom"),
}

func (scriptedReceiver) Name() string { return "fake" }

// Hooks: one extra webhook, "pre", answering like Receive with "pre:"
// before the response.
func (r scriptedReceiver) Hooks() []moderation.Hook {
	return []moderation.Hook{{Name: "pre", Receive: func(ctx context.Context, d moderation.Delivery) (moderation.Ack, error) {
		ack, err := r.Receive(ctx, d)
		if m, ok := ack.Response.(map[string]string); ok {
			ack.Response = map[string]string{"challenge": "pre:" + m["challenge"]}
		}
		return ack, err
	}}}
}

func (scriptedReceiver) Receive(_ context.Context, d moderation.Delivery) (moderation.Ack, error) {
	kind, arg, _ := strings.Cut(string(d.Body), ":")
	switch kind {
	case "ok":
		ev := moderation.Event{Kind: moderation.EventMessage, DeliveryID: arg, DedupKeys: []string{"k:" + arg},
			Message: &moderation.Message{Chat: moderation.ChatRef{ID: "c"}}}
		return moderation.Ack{Response: map[string]string{"challenge": arg}, Events: []moderation.Event{ev}}, nil
	case "err":
		return moderation.Ack{}, fmt.Errorf("verifying: %w", sentinels[arg])
	case "raw":
		return moderation.Ack{Response: json.RawMessage(arg)}, nil
	case "panic":
		panic("receiver bug")
	}
	return moderation.Ack{}, nil
}

type recordingQueue struct {
	mu   sync.Mutex
	got  []string
	fail bool
}

func (q *recordingQueue) Submit(_ context.Context, ev moderation.Event) (bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.fail {
		return false, errors.New("queue full")
	}
	q.got = append(q.got, ev.DeliveryID)
	return !strings.HasPrefix(ev.DeliveryID, "chat"), nil
}

func newRouter(t *testing.T, q *recordingQueue) (http.Handler, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	r := New(Config{BodyLimit: 64}, Deps{
		Receivers: []moderation.Receiver{scriptedReceiver{}},
		Queue:     q,
		Logger:    slog.New(slog.NewJSONHandler(&logs, nil)),
	})
	return r, &logs
}

func post(h http.Handler, body string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/webhook/fake", strings.NewReader(body)))
	return w
}

func TestWebhookStatuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantReason string
	}{
		{"accepted", "ok:1", http.StatusOK, ""},
		{"missing headers", "err:missing", http.StatusUnauthorized, "missing_headers"},
		{"forged signature", "err:sig", http.StatusUnauthorized, "bad_signature"},
		{"wrong token", "err:token", http.StatusUnauthorized, "bad_token"},
		{"stale timestamp", "err:stale", http.StatusUnauthorized, "stale_timestamp"},
		{"other app", "err:app", http.StatusForbidden, "unknown_app"},
		{"malformed", "err:malformed", http.StatusBadRequest, "malformed"},
		{"unexpected error", "err:other", http.StatusInternalServerError, "internal"},
		{"body too large", "ok:" + strings.Repeat("x", 100), http.StatusRequestEntityTooLarge, "body_too_large"},
		{"receiver panic", "panic:", http.StatusInternalServerError, "internal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := &recordingQueue{}
			r, logs := newRouter(t, q)
			w := post(r, tt.body)
			if w.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d (body %s)", w.Code, tt.wantStatus, w.Body)
			}
			if tt.wantReason == "" {
				if len(q.got) != 1 {
					t.Fatalf("queued %v, want one event", q.got)
				}
				return
			}
			if len(q.got) != 0 {
				t.Fatalf("rejected delivery queued %v", q.got)
			}
			var resp map[string]string
			_ = json.Unmarshal(w.Body.Bytes(), &resp)
			if resp["error"] != tt.wantReason {
				t.Errorf("error = %q, want %q", resp["error"], tt.wantReason)
			}
			if !strings.Contains(logs.String(), tt.wantReason) && tt.wantReason != "internal" {
				t.Errorf("log does not name the reason %q:\n%s", tt.wantReason, logs)
			}
		})
	}
}

func TestWebhookAnswersWithAck(t *testing.T) {
	t.Parallel()
	r, _ := newRouter(t, &recordingQueue{})
	w := post(r, "ok:abc")
	if got := strings.TrimSpace(w.Body.String()); got != `{"challenge":"abc"}` {
		t.Fatalf("body = %s", got)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("content type = %q", ct)
	}
}

// TestWebhookAnswers: pre-encoded answers are written as they are, no
// answer is an empty JSON object.
func TestWebhookAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct{ body, want string }{
		{`raw:{"ActionStatus":"OK","ErrorCode":0}`, `{"ActionStatus":"OK","ErrorCode":0}`},
		{"ok:x", `{"challenge":"x"}`},
		{"nothing", `{}`},
	}
	for _, tt := range tests {
		r, _ := newRouter(t, &recordingQueue{})
		w := post(r, tt.body)
		if got := strings.TrimSpace(w.Body.String()); w.Code != http.StatusOK || got != tt.want {
			t.Errorf("%s: answered %d %s, want 200 %s", tt.body, w.Code, got, tt.want)
		}
		if ct := w.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("%s: content type = %q", tt.body, ct)
		}
	}
}

// TestWebhookBodyLength: a body shorter than its Content-Length is a read
// failure, one without a length is still bounded.
func TestWebhookBodyLength(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		body       string
		length     int64
		wantStatus int
		wantQueued int
	}{
		{"exact length", "ok:1", 4, http.StatusOK, 1},
		{"shorter than announced", "ok:1", 10, http.StatusBadRequest, 0},
		{"unknown length", "ok:1", -1, http.StatusOK, 1},
		{"unknown length, too large", "ok:" + strings.Repeat("x", 100), -1, http.StatusRequestEntityTooLarge, 0},
		{"announced too large", "ok:" + strings.Repeat("x", 100), 103, http.StatusRequestEntityTooLarge, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &recordingQueue{}
			r, _ := newRouter(t, q)
			req := httptest.NewRequest(http.MethodPost, "/webhook/fake", strings.NewReader(tt.body))
			req.ContentLength = tt.length
			w := httptest.NewRecorder()
			r.ServeHTTP(w, req)
			if w.Code != tt.wantStatus || len(q.got) != tt.wantQueued {
				t.Errorf("answered %d and queued %v, want %d and %d event(s)", w.Code, q.got, tt.wantStatus, tt.wantQueued)
			}
		})
	}
}

func TestWebhookDeduplicates(t *testing.T) {
	t.Parallel()
	q := &recordingQueue{}
	r, _ := newRouter(t, q)
	for range 5 {
		if w := post(r, "ok:same"); w.Code != http.StatusOK {
			t.Fatalf("status %d", w.Code)
		}
	}
	post(r, "ok:other")
	if want := []string{"same", "other"}; fmt.Sprint(q.got) != fmt.Sprint(want) {
		t.Fatalf("queued %v, want %v", q.got, want)
	}
}

// TestWebhookRemembersOnlyStoredEvents: ordinary chat that led to no job
// is not remembered (memory stays flat with traffic); stored events are.
func TestWebhookRemembersOnlyStoredEvents(t *testing.T) {
	t.Parallel()
	q := &recordingQueue{}
	r, _ := newRouter(t, q)
	post(r, "ok:chat1")
	post(r, "ok:chat1")
	post(r, "ok:cmd1")
	post(r, "ok:cmd1")
	if want := []string{"chat1", "chat1", "cmd1"}; fmt.Sprint(q.got) != fmt.Sprint(want) {
		t.Fatalf("submitted %v, want %v", q.got, want)
	}
}

func TestWebhookFullQueueAsksForRedelivery(t *testing.T) {
	t.Parallel()
	q := &recordingQueue{fail: true}
	r, _ := newRouter(t, q)
	if w := post(r, "ok:1"); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 503", w.Code)
	}
	q.mu.Lock()
	q.fail = false
	q.mu.Unlock()
	// The re-delivery must not be mistaken for a duplicate.
	if w := post(r, "ok:1"); w.Code != http.StatusOK {
		t.Fatalf("re-delivery status = %d", w.Code)
	}
	if len(q.got) != 1 {
		t.Fatalf("queued %v, want the re-delivered event", q.got)
	}
}

func TestHealthAndReady(t *testing.T) {
	t.Parallel()
	ready := errors.New("store down")
	r := New(Config{}, Deps{Ready: func(context.Context) error { return ready }})
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 503, "/webhook/none": 404} {
		w := httptest.NewRecorder()
		method := http.MethodGet
		if strings.HasPrefix(path, "/webhook") {
			method = http.MethodPost
		}
		r.ServeHTTP(w, httptest.NewRequest(method, path, nil))
		if w.Code != want {
			t.Errorf("%s = %d, want %d", path, w.Code, want)
		}
	}
}
