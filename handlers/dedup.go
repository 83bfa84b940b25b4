package handlers

import (
	"context"
	"time"

	"github.com/patrickmn/go-cache"
)

// LocalDedup is a Deduper in this process's memory.
type LocalDedup struct {
	c   *cache.Cache
	ttl time.Duration
}

// NewLocalDedup remembers keys for ttl.
func NewLocalDedup(ttl time.Duration) *LocalDedup {
	return &LocalDedup{c: cache.New(ttl, 10*time.Minute), ttl: ttl}
}

// Seen reports whether any key is known.
func (d *LocalDedup) Seen(_ context.Context, keys []string) (bool, error) {
	for _, k := range keys {
		if _, ok := d.c.Get(k); ok && k != "" {
			return true, nil
		}
	}
	return false, nil
}

// Mark records keys.
func (d *LocalDedup) Mark(_ context.Context, keys []string) error {
	for _, k := range keys {
		if k != "" {
			d.c.Set(k, struct{}{}, d.ttl)
		}
	}
	return nil
}
