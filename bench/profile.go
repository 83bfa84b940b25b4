package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gavel/app"
	"gavel/config"
	"gavel/platforms/easemob/easemobtest"
	"gavel/platforms/feishu/feishutest"
	"gavel/platforms/tim/timtest"
	"gavel/store"
)

// runProfile drives Gavel's router in-process (no HTTP server, no
// network: handler → verifier → parser → de-duplication → pipeline
// front) with the ingress traffic mix and writes a CPU profile of it.
// It shows where Gavel's per-delivery CPU goes; `gavel serve` has no
// pprof endpoint.
func runProfile(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("profile", flag.ContinueOnError)
	fs.SetOutput(stderr)
	plat := fs.String("platform", "feishu", "feishu, tim or easemob")
	n := fs.Int("n", 50000, "deliveries")
	out := fs.String("cpuprofile", "ingress.prof", "CPU profile file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n < 1 || *n > 1000000 {
		return errors.New("-n: must be in [1, 1000000]")
	}
	dir, err := os.MkdirTemp("", "gavel-bench-profile-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fsrv, ts, es := feishutest.NewServer(), timtest.NewServer(), easemobtest.NewServer()
	loads := map[string]platformLoad{
		"feishu": newFeishuLoad(fsrv, randomID()), "tim": newTIMLoad(ts, timCallbackToken, randomID()), "easemob": newEasemobLoad(es),
	}
	defer func() {
		for _, l := range loads {
			l.close()
		}
	}()
	l, ok := loads[*plat]
	if !ok {
		return fmt.Errorf("-platform: unknown %q", *plat)
	}
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(gavelConfig("127.0.0.1:0", dir, fsrv, ts, es)), 0o600); err != nil {
		return err
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return err
	}
	cfg.Storage = store.Config{Driver: store.DriverSQLite, DSN: filepath.Join(dir, "gavel.db")}
	a, err := app.New(ctx, cfg, app.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	defer a.Close()
	stop := a.Start(ctx)
	defer stop()

	pool := l.build(*n)
	runtime.GC()
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	start := time.Now()
	var next, bad atomic.Int64
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(pool) {
					return
				}
				d := &pool[i]
				target := d.path
				if d.query != "" {
					target += "?" + d.query
				}
				req := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(d.body))
				req.Header = d.header.Clone()
				rec := httptest.NewRecorder()
				a.Router.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					bad.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	pprof.StopCPUProfile()
	fmt.Fprintf(stdout, "%s: %d deliveries in %v in-process (%.0f/s on %d goroutines, %d not 200); profile in %s\n",
		*plat, len(pool), took.Round(time.Millisecond), float64(len(pool))/took.Seconds(), runtime.GOMAXPROCS(0), bad.Load(), *out)
	fmt.Fprintf(stdout, "read it with: go tool pprof -top -cum %s\n", *out)
	return nil
}

// fetchHeap saves Gavel's heap profile, in text with the runtime's
// memory statistics, into file, and the profile of every allocation
// since start-up beside it (.allocs.prof).
func fetchHeap(ctx context.Context, addr, file string) error {
	if err := fetchTo(ctx, fmt.Sprintf("http://%s/debug/pprof/allocs", addr), strings.TrimSuffix(file, ".txt")+".allocs.prof"); err != nil {
		return err
	}
	return fetchTo(ctx, fmt.Sprintf("http://%s/debug/pprof/heap?debug=1", addr), file)
}

// fetchProfile waits out the warm-up, then records Gavel's CPU profile
// for d (whole seconds, at least one) into file.
func fetchProfile(ctx context.Context, addr string, warmup, d time.Duration, file string) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(warmup):
	}
	secs := max(1, int(d.Seconds()))
	return fetchTo(ctx, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, secs), file)
}

// fetchTrace records Gavel's execution trace for d (whole seconds, at
// least one) into file.
func fetchTrace(ctx context.Context, addr string, d time.Duration, file string) error {
	secs := max(1, int(d.Round(time.Second).Seconds()))
	return fetchTo(ctx, fmt.Sprintf("http://%s/debug/pprof/trace?seconds=%d", addr, secs), file)
}

func fetchTo(ctx context.Context, url, file string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", req.URL, resp.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
