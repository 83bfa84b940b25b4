package handlers

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"gavel/moderation"
)

// TestReadyzHidesErrors: /readyz tells an anonymous caller "not ready"
// and nothing else; the reason goes to the log.
func TestReadyzHidesErrors(t *testing.T) {
	t.Parallel()
	secret := errors.New("sqlite: /var/lib/gavel/gavel.db: database file deleted or replaced since start")
	var logs bytes.Buffer
	r := New(Config{}, Deps{Ready: func(context.Context) error { return secret }, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", w.Code)
	}
	if body := w.Body.String(); body != `{"status":"not ready"}` {
		t.Errorf("body %s, want the status only", body)
	}
	if !strings.Contains(logs.String(), "gavel.db") {
		t.Errorf("the reason was not logged: %s", logs.String())
	}
}

// TestAdminListen: with server.admin_listen set, /readyz and /metrics
// leave the webhook router for the admin one.
func TestAdminListen(t *testing.T) {
	t.Parallel()
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("gavel_up 1\n")) })
	d := Deps{Ready: func(context.Context) error { return nil }, Metrics: metrics,
		Receivers: []moderation.Receiver{scriptedReceiver{}}, Queue: &recordingQueue{}}
	tests := []struct {
		name   string
		cfg    Config
		admin  bool
		routes map[string]int
	}{
		{name: "one listener", cfg: Config{}, routes: map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200}},
		{name: "public with admin_listen", cfg: Config{AdminListen: "127.0.0.1:0"}, routes: map[string]int{"/healthz": 200, "/readyz": 404, "/metrics": 404}},
		{name: "admin listener", cfg: Config{AdminListen: "127.0.0.1:0"}, admin: true, routes: map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200, "/webhook/fake": 404}},
	}
	for _, tt := range tests {
		r := New(tt.cfg, d)
		if tt.admin {
			r = NewAdmin(tt.cfg, d)
		}
		for path, want := range tt.routes {
			method := http.MethodGet
			if strings.HasPrefix(path, "/webhook") {
				method = http.MethodPost
			}
			w := httptest.NewRecorder()
			r.ServeHTTP(w, httptest.NewRequest(method, path, strings.NewReader("ok:1")))
			if w.Code != want {
				t.Errorf("%s: %s = %d, want %d", tt.name, path, w.Code, want)
			}
		}
	}
}
