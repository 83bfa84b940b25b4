package pipeline

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/patrickmn/go-cache"

	"gavel/moderation"
)

// RoleCache remembers users' roles in chats so that a command or a rule
// hit does not cost a role lookup per target every time. In memory by
// default; several replicas share one in Redis. It is the only role cache:
// adapters ask the platform every time they are asked, and report role
// changes as moderation.EventRolesChanged, which drops the chat's entries
// here (ForgetChat) instead of letting them run out their TTL.
type RoleCache interface {
	// Get returns the cached roles of those users it knows.
	Get(ctx context.Context, chat moderation.ChatRef, users []string) (map[string]moderation.Role, error)
	// Put caches roles.
	Put(ctx context.Context, chat moderation.ChatRef, roles map[string]moderation.Role) error
	// Forget drops users' cached roles (after they were removed, joined,
	// or the platform said their role changed).
	Forget(ctx context.Context, chat moderation.ChatRef, users []string) error
	// ForgetChat drops every cached role of the chat.
	ForgetChat(ctx context.Context, chat moderation.ChatRef) error
}

// MemoryRoles is a RoleCache in this process's memory. Each chat has a
// generation that is part of its entries' keys; ForgetChat moves the chat
// to a new generation, so the old entries are never read again and run
// out with their TTL.
type MemoryRoles struct {
	c    *cache.Cache
	mu   sync.Mutex
	gens map[string]uint64 // platform + "\x00" + chat ID → generation
}

// NewMemoryRoles keeps roles for ttl.
func NewMemoryRoles(ttl time.Duration) *MemoryRoles {
	return &MemoryRoles{c: cache.New(ttl, max(ttl, time.Minute)), gens: map[string]uint64{}}
}

func chatKey(chat moderation.ChatRef) string { return chat.Platform + "\x00" + chat.ID }

// prefix is the key prefix of the chat's current generation.
func (m *MemoryRoles) prefix(chat moderation.ChatRef) string {
	ck := chatKey(chat)
	m.mu.Lock()
	g := m.gens[ck]
	m.mu.Unlock()
	return ck + "\x00" + strconv.FormatUint(g, 10) + "\x00"
}

// Get implements RoleCache.
func (m *MemoryRoles) Get(_ context.Context, chat moderation.ChatRef, users []string) (map[string]moderation.Role, error) {
	pre := m.prefix(chat)
	out := make(map[string]moderation.Role, len(users))
	for _, u := range users {
		if v, ok := m.c.Get(pre + u); ok {
			out[u] = v.(moderation.Role)
		}
	}
	return out, nil
}

// Put implements RoleCache.
func (m *MemoryRoles) Put(_ context.Context, chat moderation.ChatRef, roles map[string]moderation.Role) error {
	pre := m.prefix(chat)
	for u, r := range roles {
		m.c.SetDefault(pre+u, r)
	}
	return nil
}

// Forget implements RoleCache.
func (m *MemoryRoles) Forget(_ context.Context, chat moderation.ChatRef, users []string) error {
	pre := m.prefix(chat)
	for _, u := range users {
		m.c.Delete(pre + u)
	}
	return nil
}

// ForgetChat implements RoleCache.
func (m *MemoryRoles) ForgetChat(_ context.Context, chat moderation.ChatRef) error {
	m.mu.Lock()
	m.gens[chatKey(chat)]++
	m.mu.Unlock()
	return nil
}

// rolesChanged drops what the role cache holds about a change: the named
// users' roles, or the whole chat's when the platform named none.
func (p *Pipeline) rolesChanged(ctx context.Context, ch *moderation.RolesChange) error {
	var err error
	if len(ch.UserIDs) == 0 {
		err = p.roleCache.ForgetChat(ctx, ch.Chat)
	} else {
		err = p.roleCache.Forget(ctx, ch.Chat, ch.UserIDs)
	}
	if err != nil {
		return fmt.Errorf("dropping cached roles of %s: %w", ch.Chat, err)
	}
	return nil
}

// roles returns the roles of users in the run's chat: cached ones from
// the cache, the rest from the platform (then cached). A cache failure
// only costs a lookup.
func (p *Pipeline) roles(ctx context.Context, r *run, users []string) (map[string]moderation.Role, error) {
	plat, chat := r.plat, r.chat
	out, err := p.roleCache.Get(ctx, chat, users)
	if err != nil {
		p.log.Warn("role cache unavailable", "err", err)
		out = map[string]moderation.Role{}
	}
	var missing []string
	seen := make(map[string]bool, len(users))
	for _, u := range users {
		if _, ok := out[u]; !ok && !seen[u] {
			seen[u] = true
			missing = append(missing, u)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	fresh, err := plat.Roles(ctx, chat, missing)
	if err != nil {
		return nil, err
	}
	if err := p.roleCache.Put(ctx, chat, fresh); err != nil {
		p.log.Warn("role cache unavailable", "err", err)
	}
	for u, r := range fresh {
		out[u] = r
	}
	return out, nil
}
