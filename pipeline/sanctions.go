// Bans and locks Gavel keeps: their records, the in-memory index the
// webhook path reads (who may join), and their end (timers).

package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"gavel/moderation"
)

type sanctionKey struct {
	verb                 moderation.Verb
	platform, chat, user string
}

func sanctionKeyOf(verb moderation.Verb, chat moderation.ChatRef, user string) sanctionKey {
	return sanctionKey{verb, chat.Platform, chat.ID, user}
}

// SanctionIndex mirrors the active bans and locks in memory: adapters
// whose platform asks before letting a user in (TIM) consult it as their
// moderation.JoinGate without I/O, and the pipeline's Triage uses it to
// make a job of a banned user's join. It is written through by this
// process and reloaded from the store every second (MaintainSanctions),
// which brings in what other replicas imposed.
type SanctionIndex struct {
	mu  sync.RWMutex
	m   map[sanctionKey]time.Time // until; zero: until lifted
	now func() time.Time
}

// NewSanctionIndex returns an empty index; now nil means time.Now.
func NewSanctionIndex(now func() time.Time) *SanctionIndex {
	if now == nil {
		now = time.Now
	}
	return &SanctionIndex{m: map[sanctionKey]time.Time{}, now: now}
}

var _ moderation.JoinGate = (*SanctionIndex)(nil)

// MayJoin implements moderation.JoinGate: false while user is banned
// from chat.
func (x *SanctionIndex) MayJoin(chat moderation.ChatRef, user string) bool {
	return !x.holds(sanctionKeyOf(moderation.VerbBan, chat, user))
}

func (x *SanctionIndex) holds(k sanctionKey) bool {
	x.mu.RLock()
	until, ok := x.m[k]
	x.mu.RUnlock()
	return ok && (until.IsZero() || x.now().Before(until))
}

// banned returns those of users banned from chat.
func (x *SanctionIndex) banned(chat moderation.ChatRef, users []string) []string {
	var out []string
	for _, u := range users {
		if !x.MayJoin(chat, u) {
			out = append(out, u)
		}
	}
	return out
}

func (x *SanctionIndex) put(s moderation.Sanction) {
	x.mu.Lock()
	x.m[sanctionKeyOf(s.Verb, s.Chat, s.UserID)] = s.Until
	x.mu.Unlock()
}

func (x *SanctionIndex) del(verb moderation.Verb, chat moderation.ChatRef, user string) {
	x.mu.Lock()
	delete(x.m, sanctionKeyOf(verb, chat, user))
	x.mu.Unlock()
}

func (x *SanctionIndex) replace(ss []moderation.Sanction) {
	m := make(map[sanctionKey]time.Time, len(ss))
	for _, s := range ss {
		m[sanctionKeyOf(s.Verb, s.Chat, s.UserID)] = s.Until
	}
	x.mu.Lock()
	x.m = m
	x.mu.Unlock()
}

// sanctionBook is the one owner of bans and locks: the records (the
// store), the index, and the timers that end them. Nothing else reads or
// writes them.
type sanctionBook struct {
	store moderation.Store
	index *SanctionIndex
	log   *slog.Logger
	now   func() time.Time
}

// record stores s and enters it in the index.
func (b *sanctionBook) record(ctx context.Context, s moderation.Sanction) error {
	if err := b.store.PutSanction(ctx, s); err != nil {
		return fmt.Errorf("recording the %s of %q in %s: %w", s.Verb, s.UserID, s.Chat, err)
	}
	b.index.put(s)
	return nil
}

// end drops the sanction of verb for user (empty: the chat's lock).
func (b *sanctionBook) end(ctx context.Context, verb moderation.Verb, chat moderation.ChatRef, user string) error {
	if err := b.store.DeleteSanction(ctx, verb, chat, user); err != nil {
		return fmt.Errorf("ending the %s of %q in %s: %w", verb, user, chat, err)
	}
	b.index.del(verb, chat, user)
	return nil
}

// until is when a sanction of length d imposed now ends: zero for
// moderation.Forever (or no length).
func (b *sanctionBook) until(d time.Duration) time.Time {
	if d <= 0 {
		return time.Time{}
	}
	return b.now().Add(d)
}

// refresh reloads the index from the store.
func (b *sanctionBook) refresh(ctx context.Context) error {
	ss, err := b.store.ActiveSanctions(ctx, b.now())
	if err != nil {
		return fmt.Errorf("loading active sanctions: %w", err)
	}
	b.index.replace(ss)
	return nil
}

// due returns the timers of sanctions that have run out: an unban or
// unlock each, keyed so that every replica makes the same event.
func (b *sanctionBook) due(ctx context.Context) ([]moderation.Timer, error) {
	const page = 100
	ss, err := b.store.ExpiredSanctions(ctx, b.now(), page)
	if err != nil {
		return nil, fmt.Errorf("listing expired sanctions: %w", err)
	}
	ts := make([]moderation.Timer, 0, len(ss))
	for _, s := range ss {
		t := moderation.Timer{Chat: s.Chat, UserID: s.UserID, Due: s.Until}
		switch s.Verb {
		case moderation.VerbBan:
			t.Verb = moderation.VerbUnban
		case moderation.VerbLock:
			t.Verb = moderation.VerbUnlock
		case moderation.VerbVerify:
			t.Verb = moderation.VerbVerify
		case moderation.VerbNewcomer:
			// No action: the mark just ends (every replica may).
			if err := b.end(ctx, s.Verb, s.Chat, s.UserID); err != nil {
				return ts, err
			}
			continue
		default:
			b.log.Error("stored sanction of an unknown verb", "verb", s.Verb, "chat", s.Chat.String())
			continue
		}
		ts = append(ts, t)
	}
	return ts, nil
}
