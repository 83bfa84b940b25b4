package sqlite

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gavel.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

// TestPingNoticesTheFileIsGone: deleting or replacing gavel.db while
// Gavel runs makes it not ready (SQLite would go on writing to the
// unlinked file).
func TestPingNoticesTheFileIsGone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(t *testing.T, path string)
	}{
		{name: "deleted", change: func(t *testing.T, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "replaced", change: func(t *testing.T, path string) {
			other := path + ".other"
			if err := os.WriteFile(other, []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(other, path); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, path := openTemp(t)
			ctx := context.Background()
			if err := s.Ping(ctx); err != nil {
				t.Fatalf("fresh store not ready: %v", err)
			}
			tt.change(t, path)
			if err := s.Ping(ctx); !errors.Is(err, ErrFileReplaced) {
				t.Fatalf("Ping after the file was %s = %v, want ErrFileReplaced", tt.name, err)
			}
		})
	}
}

// TestPingWriteProbe: a failing write beside the database (a full disk)
// makes it not ready; the probe runs at most every 10 s and its result is
// reused in between.
func TestPingWriteProbe(t *testing.T) {
	t.Parallel()
	s, _ := openTemp(t)
	now := time.Unix(1_000_000, 0)
	s.health.now = func() time.Time { return now }
	var probeErr error
	probes := 0
	s.health.write = func(string) error { probes++; return probeErr }
	s.health.probedAt = time.Time{}
	ctx := context.Background()
	steps := []struct {
		name       string
		advance    time.Duration
		diskFull   bool
		wantErr    bool
		wantProbes int
	}{
		{name: "healthy", wantProbes: 1},
		{name: "disk fills, result cached", advance: 5 * time.Second, diskFull: true, wantErr: false, wantProbes: 1},
		{name: "next probe sees it", advance: 5 * time.Second, diskFull: true, wantErr: true, wantProbes: 2},
		{name: "still cached", advance: time.Second, diskFull: false, wantErr: true, wantProbes: 2},
		{name: "recovered", advance: 10 * time.Second, diskFull: false, wantErr: false, wantProbes: 3},
	}
	for _, st := range steps {
		now = now.Add(st.advance)
		probeErr = nil
		if st.diskFull {
			probeErr = syscall.ENOSPC
		}
		err := s.Ping(ctx)
		if (err != nil) != st.wantErr || err != nil && !errors.Is(err, ErrWriteProbe) {
			t.Fatalf("%s: Ping = %v, want error %v", st.name, err, st.wantErr)
		}
		if probes != st.wantProbes {
			t.Fatalf("%s: %d probes, want %d", st.name, probes, st.wantProbes)
		}
	}
}

// TestWriteProbeReadOnlyDir: the real probe fails in a directory that
// takes no writes, and leaves nothing behind where it can write.
func TestWriteProbeReadOnlyDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := writeProbe(dir); err != nil {
		t.Fatalf("probe in a writable dir: %v", err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("probe left %d files", len(left))
	}
	if os.Geteuid() == 0 {
		t.Skip("running as root: a read-only directory still takes writes (TestPingWriteProbe injects the failure)")
	}
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o755)
	if err := writeProbe(dir); err == nil {
		t.Fatal("probe in a read-only dir succeeded")
	}
}

func TestDBPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		base   string
		memory bool
		want   string
	}{
		{"gavel.db", false, "gavel.db"},
		{"/var/lib/gavel/gavel.db", false, "/var/lib/gavel/gavel.db"},
		{"file:gavel.db", false, "gavel.db"},
		{"file:///var/lib/gavel.db", false, "/var/lib/gavel.db"},
		{":memory:", true, ""},
	}
	for _, tt := range tests {
		if got := dbPath(tt.base, tt.memory); got != tt.want {
			t.Errorf("dbPath(%q) = %q, want %q", tt.base, got, tt.want)
		}
	}
}

// TestPingFullDisk fills a small filesystem the test is given
// (GAVEL_TEST_SMALL_FS, an empty directory on e.g. a 1 MiB tmpfs:
// `mount -t tmpfs -o size=1m tmpfs /mnt/small`) and checks the store stops
// being ready. Skipped when unset.
func TestPingFullDisk(t *testing.T) {
	dir := os.Getenv("GAVEL_TEST_SMALL_FS")
	if dir == "" {
		t.Skip("GAVEL_TEST_SMALL_FS not set: skipping the full-disk test (TestPingWriteProbe injects the failure)")
	}
	dir, err := os.MkdirTemp(dir, "gavel-full-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	s, err := Open(context.Background(), filepath.Join(dir, "gavel.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ping(context.Background()); err != nil {
		t.Fatalf("before filling: %v", err)
	}
	filler, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	defer filler.Close()
	block := make([]byte, 4096)
	for {
		if _, err := filler.Write(block); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling: %v", err)
			}
			break
		}
	}
	s.health.mu.Lock()
	s.health.probedAt = time.Time{} // don't wait 10 s for the next probe
	s.health.mu.Unlock()
	if err := s.Ping(context.Background()); !errors.Is(err, ErrWriteProbe) {
		t.Fatalf("Ping on a full disk = %v, want ErrWriteProbe", err)
	}
}
