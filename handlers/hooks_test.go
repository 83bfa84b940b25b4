package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"gavel/moderation"
)

type labelObserver struct {
	mu     sync.Mutex
	labels []string
}

func (o *labelObserver) Webhook(platform, result string, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.labels = append(o.labels, platform+" "+result)
}

// TestHooksRoutedByName: a platform's named hook is served at
// /webhook/<platform>/<hook> by the hook's own Receive (not the platform's
// main one), queues its events and is labelled "<platform>/<hook>" in
// metrics; a hook the platform does not name is 404.
func TestHooksRoutedByName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path       string
		body       string
		wantStatus int
		wantBody   string
		wantLabel  string
	}{
		{path: "/webhook/fake", body: "ok:1", wantStatus: http.StatusOK, wantBody: `{"challenge":"1"}`, wantLabel: "fake accepted"},
		{path: "/webhook/fake/pre", body: "ok:2", wantStatus: http.StatusOK, wantBody: `{"challenge":"pre:2"}`, wantLabel: "fake/pre accepted"},
		{path: "/webhook/fake/pre", body: "err:sig", wantStatus: http.StatusUnauthorized, wantLabel: "fake/pre rejected_bad_signature"},
		{path: "/webhook/fake/presend", body: "ok:3", wantStatus: http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.path+" "+tt.body, func(t *testing.T) {
			t.Parallel()
			obs := &labelObserver{}
			q := &recordingQueue{}
			r := New(Config{}, Deps{Receivers: []moderation.Receiver{scriptedReceiver{}}, Queue: q, Observer: obs,
				Logger: slog.New(slog.DiscardHandler)})
			w := httptest.NewRecorder()
			r.ServeHTTP(w, httptest.NewRequest(http.MethodPost, tt.path, strings.NewReader(tt.body)))
			if w.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d (%s)", w.Code, tt.wantStatus, w.Body)
			}
			if tt.wantBody != "" && strings.TrimSpace(w.Body.String()) != tt.wantBody {
				t.Errorf("body %s, want %s", w.Body, tt.wantBody)
			}
			want := []string{}
			if tt.wantLabel != "" {
				want = []string{tt.wantLabel}
			}
			if fmt.Sprint(obs.labels) != fmt.Sprint(want) {
				t.Errorf("metrics labels %q, want %q", obs.labels, want)
			}
		})
	}
}

type hooked struct {
	scriptedReceiver
	hooks []moderation.Hook
}

func (h hooked) Hooks() []moderation.Hook { return h.hooks }

// TestBadHookRefused: a hook whose name is not one path segment, or which
// has no Receive, is an adapter's bug: building the routes says so.
func TestBadHookRefused(t *testing.T) {
	t.Parallel()
	ok := func(context.Context, moderation.Delivery) (moderation.Ack, error) { return moderation.Ack{}, nil }
	tests := []struct {
		name string
		hook moderation.Hook
	}{
		{"empty name", moderation.Hook{Receive: ok}},
		{"slash", moderation.Hook{Name: "a/b", Receive: ok}},
		{"dot-dot", moderation.Hook{Name: "..", Receive: ok}},
		{"upper case", moderation.Hook{Name: "PreSend", Receive: ok}},
		{"no receive", moderation.Hook{Name: "pre"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				if recover() == nil {
					t.Fatal("routes built")
				}
			}()
			New(Config{}, Deps{Receivers: []moderation.Receiver{hooked{hooks: []moderation.Hook{tt.hook}}}, Logger: slog.New(slog.DiscardHandler)})
		})
	}
}
