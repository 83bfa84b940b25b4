package apptest

import (
	"sync"
	"time"
)

// Clock is a clock a test moves: give Now to WithNow and to the platform
// fake's SetNow so that Gavel and the fake agree on expiry.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock set to start.
func NewClock(start time.Time) *Clock { return &Clock{t: start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
