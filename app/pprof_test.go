package app_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gavel/app"
	"gavel/app/apptest"
	"gavel/config"
	"gavel/platforms/tim"
	"gavel/platforms/tim/timtest"
)

// TestPprofListen: server.pprof_listen serves the runtime profiles on
// their own listener only, and they stop with Gavel.
func TestPprofListen(t *testing.T) {
	ts := timtest.NewServer()
	t.Cleanup(ts.Close)
	cfg := config.Config{Platforms: config.Platforms{TIM: &tim.Config{BaseURL: ts.URL, SDKAppID: ts.SDKAppID, SecretKey: ts.SecretKey,
		AdminIdentifier: timtest.DefaultAdmin, CallbackToken: timToken}}}
	cfg.Storage.DSN = filepath.Join(t.TempDir(), "gavel.db")
	cfg.Server.PprofListen = "127.0.0.1:0"
	logs := &apptest.SyncBuffer{}
	a, err := app.New(t.Context(), cfg, app.Options{Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- a.ServeListener(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done; a.Close() })

	var pprofAddr string
	for pprofAddr == "" {
		select {
		case err := <-done:
			t.Fatalf("ServeListener returned early: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
		for line := range strings.Lines(logs.String()) {
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "pprof serving" {
				pprofAddr = rec.Addr
			}
		}
	}
	get := func(url string) int {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := get("http://" + pprofAddr + "/debug/pprof/cmdline"); got != http.StatusOK {
		t.Errorf("pprof listener: /debug/pprof/cmdline answered %d, want 200", got)
	}
	if got := get("http://" + ln.Addr().String() + "/debug/pprof/cmdline"); got != http.StatusNotFound {
		t.Errorf("webhook listener: /debug/pprof/cmdline answered %d, want 404", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("ServeListener: %v", err)
	}
	done <- nil // for the cleanup
	if c, err := net.Dial("tcp", pprofAddr); err == nil {
		c.Close()
		t.Error("pprof listener still accepts connections after shutdown")
	}
}
