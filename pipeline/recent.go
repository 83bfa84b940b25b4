package pipeline

import (
	"container/list"
	"context"
	"errors"
	"sync"
	"time"

	"gavel/moderation"
)

// RecentConfig bounds the recent-message index (`moderation.recent:`):
// what /purge and `-p` recall from on platforms without a history Gavel
// may read (TIM, Easemob), filled from the message callbacks Gavel
// receives. It keeps ids, senders and times, never text.
type RecentConfig struct {
	// PerChat is how many messages are kept per chat, newest; default
	// 1000. /purge N beyond what is kept recalls what is kept and says so.
	PerChat int `yaml:"per_chat"`
	// MaxAge drops messages older than this; default 24h (the platforms
	// refuse to recall much older ones anyway).
	MaxAge time.Duration `yaml:"max_age"`
	// MaxChats bounds the in-memory index (without Redis): the chat
	// written least recently goes first; default 10,000.
	MaxChats int `yaml:"max_chats"`
}

// WithDefaults fills unset fields.
func (c RecentConfig) WithDefaults() RecentConfig {
	if c.PerChat == 0 {
		c.PerChat = 1000
	}
	if c.MaxAge == 0 {
		c.MaxAge = 24 * time.Hour
	}
	if c.MaxChats == 0 {
		c.MaxChats = 10_000
	}
	return c
}

// Validate reports the first bad key.
func (c RecentConfig) Validate() error {
	switch {
	case c.PerChat < 0:
		return errors.New("moderation.recent.per_chat: must not be negative")
	case c.PerChat > 100_000:
		return errors.New("moderation.recent.per_chat: at most 100000")
	case c.MaxAge < 0:
		return errors.New("moderation.recent.max_age: must not be negative")
	case c.MaxChats < 0:
		return errors.New("moderation.recent.max_chats: must not be negative")
	}
	return nil
}

// RecentIndex remembers the latest messages of each chat, bounded in
// entries and age. In memory by default; several replicas share one in
// Redis (cluster.Recent). Add runs on the webhook's path and must be fast.
type RecentIndex interface {
	// Add records a message the chat received.
	Add(ctx context.Context, chat moderation.ChatRef, m moderation.MessageRef) error
	// Recent returns the chat's messages it holds, newest (received
	// last) first; selectRecent picks from them.
	Recent(ctx context.Context, chat moderation.ChatRef) ([]moderation.MessageRef, error)
	// Forget drops recalled messages so that the next /purge reaches
	// further back.
	Forget(ctx context.Context, chat moderation.ChatRef, ms []moderation.MessageRef) error
}

// RecentQuery selects messages from a RecentIndex: up to N, newest
// first, sent by Sender (any sender when empty), not older than the age
// bound at Now, and received before the message Before (when Before is
// not among them: sent no later than it).
type RecentQuery struct {
	N      int
	Sender string
	// Before is the command's own message: only messages received before
	// it count (it is not recalled itself).
	Before moderation.MessageRef
	Now    time.Time
}

// MemoryRecent is a RecentIndex in this process's memory.
type MemoryRecent struct {
	cfg RecentConfig
	mu  sync.Mutex
	// chats: chat key → element of lru, whose value is *recentChat.
	chats map[string]*list.Element
	lru   *list.List // front: written most recently
}

type recentChat struct {
	key string
	// msgs is a ring of the newest cfg.PerChat messages: next is where
	// the next one goes, n how many are held.
	msgs    []moderation.MessageRef
	next, n int
}

// NewMemoryRecent returns an empty index bounded by cfg.
func NewMemoryRecent(cfg RecentConfig) *MemoryRecent {
	return &MemoryRecent{cfg: cfg.WithDefaults(), chats: map[string]*list.Element{}, lru: list.New()}
}

// Add implements RecentIndex.
func (x *MemoryRecent) Add(_ context.Context, chat moderation.ChatRef, m moderation.MessageRef) error {
	k := recentKey(chat)
	x.mu.Lock()
	defer x.mu.Unlock()
	el, ok := x.chats[k]
	if !ok {
		if x.lru.Len() >= x.cfg.MaxChats {
			old := x.lru.Back()
			x.lru.Remove(old)
			delete(x.chats, old.Value.(*recentChat).key)
		}
		el = x.lru.PushFront(&recentChat{key: k, msgs: make([]moderation.MessageRef, 0, min(x.cfg.PerChat, 64))})
		x.chats[k] = el
	}
	x.lru.MoveToFront(el)
	c := el.Value.(*recentChat)
	if len(c.msgs) < x.cfg.PerChat {
		c.msgs = append(c.msgs, m)
	} else {
		c.msgs[c.next] = m
	}
	c.next = (c.next + 1) % x.cfg.PerChat
	c.n = min(c.n+1, x.cfg.PerChat)
	return nil
}

// newestFirst returns the chat's messages, newest first.
func (c *recentChat) newestFirst() []moderation.MessageRef {
	out := make([]moderation.MessageRef, 0, c.n)
	size := len(c.msgs)
	for i := 1; i <= c.n; i++ {
		out = append(out, c.msgs[(c.next-i+size)%size])
	}
	return out
}

// Recent implements RecentIndex.
func (x *MemoryRecent) Recent(_ context.Context, chat moderation.ChatRef) ([]moderation.MessageRef, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if el, ok := x.chats[recentKey(chat)]; ok {
		return el.Value.(*recentChat).newestFirst(), nil
	}
	return nil, nil
}

// Forget implements RecentIndex.
func (x *MemoryRecent) Forget(_ context.Context, chat moderation.ChatRef, ms []moderation.MessageRef) error {
	gone := make(map[string]bool, len(ms))
	for _, m := range ms {
		gone[m.ID] = true
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	el, ok := x.chats[recentKey(chat)]
	if !ok {
		return nil
	}
	c := el.Value.(*recentChat)
	keep := c.newestFirst()
	c.msgs, c.next, c.n = c.msgs[:0], 0, 0
	for i := len(keep) - 1; i >= 0; i-- {
		if !gone[keep[i].ID] {
			c.msgs = append(c.msgs, keep[i])
			c.n++
		}
	}
	c.next = c.n % x.cfg.PerChat
	return nil
}

// recentKey is the index's key of chat: a thread (a TIM topic) is a
// chat of its own, with its own message sequence, so two topics' MsgSeqs
// never mix.
func recentKey(chat moderation.ChatRef) string {
	return chatKey(chat) + "\x00" + chat.Thread
}

// selectRecent applies q to all (newest first): messages after q.Before
// in all's order (or, when q.Before is not there, sent no later than it),
// from q.Sender, younger than maxAge at q.Now, at most q.N.
func selectRecent(all []moderation.MessageRef, q RecentQuery, maxAge time.Duration) []moderation.MessageRef {
	start := 0
	if q.Before.ID != "" {
		start = -1
		for i, m := range all {
			if m.ID == q.Before.ID {
				start = i + 1
				break
			}
		}
	}
	var out []moderation.MessageRef
	for i, m := range all {
		switch {
		case len(out) >= q.N:
			return out
		case start >= 0 && i < start:
			continue
		case start < 0 && (m.ID == q.Before.ID || m.SentAt.After(q.Before.SentAt)):
			continue
		case q.Sender != "" && m.SenderID != q.Sender:
			continue
		case maxAge > 0 && !q.Now.IsZero() && q.Now.Sub(m.SentAt) > maxAge:
			continue
		}
		out = append(out, m)
	}
	return out
}
