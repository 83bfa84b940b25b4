package app_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gavel/app/apptest"
	"gavel/platforms/tim/timtest"
)

// TestReadyzNoticesDeletedDatabase: deleting gavel.db under a running
// Gavel makes /readyz (on server.admin_listen's router) answer 503, with
// a status and no path or driver error in the body.
func TestReadyzNoticesDeletedDatabase(t *testing.T) {
	t.Parallel()
	ts := timtest.NewServer()
	t.Cleanup(ts.Close)
	dsn := filepath.Join(t.TempDir(), "gavel.db")
	cfg := timConfig(ts, dsn, 20)
	cfg.Server.AdminListen = "127.0.0.1:0"
	h := apptest.New(t, cfg)
	if h.App.Admin == nil {
		t.Fatal("server.admin_listen set but no admin router")
	}
	get := func(handler http.Handler, path string) (int, string) {
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		return w.Code, w.Body.String()
	}
	if code, body := get(h.App.Admin, "/readyz"); code != http.StatusOK {
		t.Fatalf("fresh Gavel: /readyz = %d %s", code, body)
	}
	if code, _ := get(h.App.Router, "/readyz"); code != http.StatusNotFound {
		t.Errorf("/readyz on the webhook router = %d with admin_listen set, want 404", code)
	}
	if err := os.Remove(dsn); err != nil {
		t.Fatal(err)
	}
	code, body := get(h.App.Admin, "/readyz")
	if code != http.StatusServiceUnavailable {
		t.Fatalf("after deleting gavel.db: /readyz = %d %s, want 503", code, body)
	}
	for _, leak := range []string{"gavel.db", "sqlite", "deleted", "error"} {
		if strings.Contains(body, leak) {
			t.Errorf("/readyz body %s contains %q", body, leak)
		}
	}
	if !strings.Contains(h.Logs(), "database file deleted or replaced") {
		t.Error("the reason is not in the log")
	}
}
