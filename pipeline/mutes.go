package pipeline

import (
	"context"
	"sync"
	"time"

	"gavel/moderation"
)

// MuteStore keeps active mutes.
type MuteStore interface {
	// Put records mutes, all or none.
	Put(ctx context.Context, ms ...moderation.Mute) error
	Delete(ctx context.Context, chat moderation.ChatRef, userIDs ...string) error
	// Active returns the user's mute in chat if it has not ended at now.
	Active(ctx context.Context, chat moderation.ChatRef, userID string, now time.Time) (moderation.Mute, bool, error)
}

// storeMutes keeps mutes in the durable store.
type storeMutes struct{ s moderation.Store }

func (m storeMutes) Put(ctx context.Context, ms ...moderation.Mute) error {
	return m.s.PutMutes(ctx, ms...)
}
func (m storeMutes) Delete(ctx context.Context, chat moderation.ChatRef, users ...string) error {
	return m.s.DeleteMutes(ctx, chat, users...)
}
func (m storeMutes) Active(ctx context.Context, chat moderation.ChatRef, user string, now time.Time) (moderation.Mute, bool, error) {
	return m.s.ActiveMute(ctx, chat, user, now)
}

// MemoryMutes is a MuteStore in memory: mutes are lost on restart.
type MemoryMutes struct {
	mu sync.RWMutex
	m  map[muteKey]moderation.Mute
}

type muteKey struct{ platform, chat, user string }

// NewMemoryMutes returns an empty MemoryMutes.
func NewMemoryMutes() *MemoryMutes { return &MemoryMutes{m: map[muteKey]moderation.Mute{}} }

func key(chat moderation.ChatRef, user string) muteKey { return muteKey{chat.Platform, chat.ID, user} }

// Put records ms, each replacing any earlier mute of the same user in
// the chat.
func (s *MemoryMutes) Put(_ context.Context, ms ...moderation.Mute) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range ms {
		s.m[key(r.Chat, r.UserID)] = r
	}
	return nil
}

// Delete ends the users' mutes.
func (s *MemoryMutes) Delete(_ context.Context, chat moderation.ChatRef, users ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range users {
		delete(s.m, key(chat, u))
	}
	return nil
}

// Active reports the user's mute if it is still running at now; an ended
// mute is dropped.
func (s *MemoryMutes) Active(_ context.Context, chat moderation.ChatRef, user string, now time.Time) (moderation.Mute, bool, error) {
	k := key(chat, user)
	s.mu.RLock()
	r, ok := s.m[k]
	s.mu.RUnlock()
	if !ok {
		return moderation.Mute{}, false, nil
	}
	if !r.Until.IsZero() && !now.Before(r.Until) {
		s.mu.Lock()
		if cur, still := s.m[k]; still && cur == r {
			delete(s.m, k)
		}
		s.mu.Unlock()
		return moderation.Mute{}, false, nil
	}
	return r, true, nil
}

// muteIndex mirrors the active emulated mutes in memory so that the
// webhook path can tell whether a message must be recalled without a
// database query. It is written through by this process and reloaded
// from the store periodically (RefreshMutes), which brings in mutes other
// replicas imposed.
type muteIndex struct {
	mu sync.RWMutex
	m  map[muteKey]time.Time // until; zero means until /unmute
}

func newMuteIndex() *muteIndex { return &muteIndex{m: map[muteKey]time.Time{}} }

func (x *muteIndex) muted(chat moderation.ChatRef, user string, now time.Time) bool {
	x.mu.RLock()
	until, ok := x.m[key(chat, user)]
	x.mu.RUnlock()
	return ok && (until.IsZero() || now.Before(until))
}

func (x *muteIndex) put(m moderation.Mute) {
	x.mu.Lock()
	x.m[key(m.Chat, m.UserID)] = m.Until
	x.mu.Unlock()
}

func (x *muteIndex) del(chat moderation.ChatRef, user string) {
	x.mu.Lock()
	delete(x.m, key(chat, user))
	x.mu.Unlock()
}

func (x *muteIndex) replace(ms []moderation.Mute) {
	m := make(map[muteKey]time.Time, len(ms))
	for _, mu := range ms {
		m[key(mu.Chat, mu.UserID)] = mu.Until
	}
	x.mu.Lock()
	x.m = m
	x.mu.Unlock()
}
