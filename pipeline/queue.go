package pipeline

import (
	"context"
	"errors"
	"hash/fnv"
	"log/slog"
	"sync"

	"gavel/moderation"
)

// Errors returned by Queue.Submit; handlers answer 503 so the platform
// re-delivers.
var (
	ErrQueueFull   = errors.New("event queue full")
	ErrQueueClosed = errors.New("event queue closed")
)

// Queue runs events on a fixed set of workers after the webhook has been
// answered. Events of one chat always go to the same worker, so commands in
// a chat run in the order they arrived.
type Queue struct {
	shards []chan moderation.Event
	handle func(context.Context, moderation.Event)
	log    *slog.Logger

	mu      sync.RWMutex
	closed  bool
	pending int
	idle    *sync.Cond
}

// NewQueue returns a queue of workers × depth events feeding handle.
func NewQueue(workers, depth int, handle func(context.Context, moderation.Event), log *slog.Logger) *Queue {
	q := &Queue{handle: handle, log: log}
	q.idle = sync.NewCond(&q.mu)
	for range workers {
		q.shards = append(q.shards, make(chan moderation.Event, depth))
	}
	return q
}

// NewQueue returns a queue feeding p.Handle, sized from p's config.
func (p *Pipeline) NewQueue() *Queue {
	return NewQueue(p.cfg.Workers, p.cfg.QueueSize, p.Handle, p.log)
}

// Submit queues ev without blocking.
func (q *Queue) Submit(_ context.Context, ev moderation.Event) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return ErrQueueClosed
	}
	select {
	case q.shards[shard(ev, len(q.shards))] <- ev:
		q.pending++
		return nil
	default:
		return ErrQueueFull
	}
}

func shard(ev moderation.Event, n int) int {
	h := fnv.New32a()
	h.Write([]byte(ev.Platform))
	switch {
	case ev.Message != nil:
		h.Write([]byte(ev.Message.Chat.ID))
	case ev.Join != nil:
		h.Write([]byte(ev.Join.Chat.ID))
	}
	return int(h.Sum32() % uint32(n))
}

// Run works until Close has been called and every queued event is handled,
// or until ctx ends (events still queued then are logged as dropped).
func (q *Queue) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, ch := range q.shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ev := range ch {
				if ctx.Err() != nil {
					q.log.Error("event dropped at shutdown", "platform", ev.Platform, "event_id", ev.DeliveryID)
				} else {
					q.handle(ctx, ev)
				}
				q.done()
			}
		}()
	}
	wg.Wait()
}

func (q *Queue) done() {
	q.mu.Lock()
	q.pending--
	if q.pending == 0 {
		q.idle.Broadcast()
	}
	q.mu.Unlock()
}

// Close stops intake; Run returns once the queued events are handled.
func (q *Queue) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.closed = true
		for _, ch := range q.shards {
			close(ch)
		}
	}
}

// Wait blocks until no event is queued or running.
func (q *Queue) Wait() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.pending > 0 {
		q.idle.Wait()
	}
}

// Len returns the number of events queued or running.
func (q *Queue) Len() int {
	q.mu.RLock()
	defer q.mu.RUnlock()
	return q.pending
}
