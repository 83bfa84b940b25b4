// Package apptest runs a whole Gavel in-process for end-to-end tests: the
// real router, pipeline, queue and platform adapters, with the adapters'
// base URLs pointing at the platform fakes (platforms/<name>/<name>test).
//
//	fake := timtest.NewServer()
//	cfg := config.Config{Platforms: config.Platforms{TIM: &tim.Config{BaseURL: fake.URL, …}}, …}
//	h := apptest.New(t, cfg)
//	status, body := h.Do(t, req)   // or h.Post(t, "/webhook/tim?…", hdr, body)
//	h.Wait()                       // every accepted event has been handled
//	… assert on fake.Calls() …
package apptest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"gavel/app"
	"gavel/config"
)

// Option adjusts a Harness.
type Option func(*app.Options)

// WithNow sets the clock Gavel sees.
func WithNow(now func() time.Time) Option { return func(o *app.Options) { o.Now = now } }

// Harness is a running Gavel.
type Harness struct {
	App    *app.App
	Server *httptest.Server
	URL    string
	logs   *SyncBuffer
	close  sync.Once
	stop   func()
}

// New builds and starts Gavel from cfg; everything stops at test cleanup.
// Without a storage DSN, the store is an SQLite file in a temporary
// directory. Logs go, as JSON at debug level, to a buffer read by Logs.
func New(tb testing.TB, cfg config.Config, opts ...Option) *Harness {
	tb.Helper()
	logs := &SyncBuffer{}
	o := app.Options{Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	for _, opt := range opts {
		opt(&o)
	}
	if cfg.Storage.DSN == "" {
		cfg.Storage.DSN = filepath.Join(tb.TempDir(), "gavel.db")
	}
	a, err := app.New(context.Background(), cfg, o)
	if err != nil {
		tb.Fatalf("app.New: %v", err)
	}
	h := &Harness{App: a, logs: logs, stop: a.Start(context.Background())}
	h.Server = httptest.NewServer(a.Router)
	h.URL = h.Server.URL
	tb.Cleanup(func() {
		h.Close()
		if tb.Failed() {
			tb.Logf("gavel logs:\n%s", logs.String())
		}
	})
	return h
}

// Close stops Gavel as a shutdown does: no more webhooks, running jobs
// finish, the store is closed. A new Harness on the same storage DSN is a
// restart.
func (h *Harness) Close() {
	h.close.Do(func() {
		h.Server.Close()
		h.stop()
		h.App.Close()
	})
}

// Post sends body to path (which may carry a query) and returns the status
// and response body.
func (h *Harness) Post(tb testing.TB, path string, header http.Header, body []byte) (int, []byte) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, h.URL+path, bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	return h.Do(tb, req)
}

// Do sends req to Gavel, whatever host req names: only its path, query,
// headers and body are kept.
func (h *Harness) Do(tb testing.TB, req *http.Request) (int, []byte) {
	tb.Helper()
	u, _ := url.Parse(h.URL)
	req.URL.Scheme, req.URL.Host, req.Host = u.Scheme, u.Host, u.Host
	req.RequestURI = ""
	resp, err := h.Server.Client().Do(req)
	if err != nil {
		tb.Fatalf("POST %s: %v", req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp.StatusCode, b
}

// Wait blocks until every stored job has been handled (at most 30 s).
func (h *Harness) Wait() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.App.Jobs.Wait(ctx); err != nil {
		panic(fmt.Sprintf("apptest: jobs still pending: %v", err))
	}
}

// Logs returns everything Gavel logged so far.
func (h *Harness) Logs() string { return h.logs.String() }

// SyncBuffer is a bytes.Buffer safe for concurrent writers.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
