package sqlite

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Readiness errors of a file database.
var (
	// ErrFileReplaced: the path no longer names the file Gavel opened
	// (deleted, moved, or replaced by another file); Gavel goes on
	// writing to a file nobody will find again.
	ErrFileReplaced = errors.New("database file deleted or replaced since start")
	// ErrWriteProbe: a small write next to the database failed (a full
	// disk, a read-only mount).
	ErrWriteProbe = errors.New("write probe failed")
)

const (
	// probeSize is how much the write probe writes: more than SQLite's
	// page size, so that a full disk shows before a job's write hits it.
	probeSize = 16 << 10
	// probeEvery bounds how often the probe writes; Ping reuses the last
	// result in between.
	probeEvery = 10 * time.Second
)

// health checks that a file database is still the file Gavel opened and
// that its directory takes writes.
type health struct {
	path   string // the database file
	opened os.FileInfo
	now    func() time.Time
	// write is the probe; tests replace it to simulate a full disk.
	write func(dir string) error

	mu       sync.Mutex
	probedAt time.Time
	probeErr error
}

// newHealth records the file at path as opened now; an in-memory
// database (path "") has nothing to check.
func newHealth(path string) (*health, error) {
	if path == "" {
		return nil, nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: stat %s: %w", path, err)
	}
	return &health{path: path, opened: fi, now: time.Now, write: writeProbe}, nil
}

// check reports whether the path still names the opened file, then the
// write probe's result (run at most once per probeEvery).
func (h *health) check() error {
	fi, err := os.Stat(h.path)
	if err != nil || !os.SameFile(fi, h.opened) {
		return fmt.Errorf("sqlite: %s: %w", h.path, ErrFileReplaced)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if now := h.now(); h.probedAt.IsZero() || now.Sub(h.probedAt) >= probeEvery {
		h.probedAt = now
		h.probeErr = nil
		if err := h.write(filepath.Dir(h.path)); err != nil {
			h.probeErr = fmt.Errorf("sqlite: %w: %w", ErrWriteProbe, err)
		}
	}
	return h.probeErr
}

// writeProbe writes, syncs and removes probeSize bytes in dir.
func writeProbe(dir string) (err error) {
	f, err := os.CreateTemp(dir, ".gavel-probe-*")
	if err != nil {
		return err
	}
	defer func() {
		err = errors.Join(err, f.Close(), os.Remove(f.Name()))
	}()
	if _, err := f.Write(make([]byte, probeSize)); err != nil {
		return err
	}
	return f.Sync()
}

// dbPath returns the file a DSN's base names ("" for in-memory).
func dbPath(base string, memory bool) string {
	if memory {
		return ""
	}
	p := strings.TrimPrefix(base, "file:")
	if strings.HasPrefix(p, "//") {
		// file://host/path URIs: keep the path.
		if i := strings.Index(p[2:], "/"); i >= 0 {
			p = p[2+i:]
		}
	}
	return p
}
