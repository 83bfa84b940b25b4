package app_test

import (
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"gavel/app"
	"gavel/config"
	"gavel/platforms/tim"
	"gavel/platforms/tim/timtest"
)

// TestShutdownWithConsolePrompt: with the console on, an idle Gavel stops
// as soon as asked, not after server.shutdown_timeout (the console's
// minute loop once held the shutdown until that timeout, so `gavel demo`
// and every `gavel serve` with a console took 15 s to stop).
func TestShutdownWithConsolePrompt(t *testing.T) {
	t.Parallel()
	for _, console := range []bool{false, true} {
		ts := timtest.NewServer()
		t.Cleanup(ts.Close)
		cfg := config.Config{Platforms: config.Platforms{TIM: &tim.Config{BaseURL: ts.URL, SDKAppID: ts.SDKAppID, SecretKey: ts.SecretKey,
			AdminIdentifier: timtest.DefaultAdmin, CallbackToken: timToken}}}
		cfg.Storage.DSN = filepath.Join(t.TempDir(), "gavel.db")
		cfg.Server.ShutdownTimeout = 30 * time.Second
		if console {
			cfg.Console.Listen = "127.0.0.1:0"
		}
		a, err := app.New(t.Context(), cfg, app.Options{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		if (a.Console != nil) != console {
			t.Fatalf("console=%v: app.Console is %v", console, a.Console)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- a.ServeListener(ctx, ln) }()
		time.Sleep(100 * time.Millisecond) // serving, workers idle
		start := time.Now()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("console=%v: ServeListener: %v", console, err)
			}
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("console=%v: stopping took %v", console, took)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("console=%v: Gavel did not stop within 20 s of being asked (shutdown_timeout 30 s)", console)
		}
		a.Close()
	}
}
