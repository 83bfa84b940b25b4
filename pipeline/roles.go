package pipeline

import (
	"context"
	"time"

	"github.com/patrickmn/go-cache"

	"gavel/moderation"
)

// RoleCache remembers users' roles in chats so that a command or a rule
// hit does not cost a role lookup per target every time. In memory by
// default; several replicas share one in Redis.
type RoleCache interface {
	// Get returns the cached roles of those users it knows.
	Get(ctx context.Context, chat moderation.ChatRef, users []string) (map[string]moderation.Role, error)
	// Put caches roles.
	Put(ctx context.Context, chat moderation.ChatRef, roles map[string]moderation.Role) error
	// Forget drops users' cached roles (after they were removed).
	Forget(ctx context.Context, chat moderation.ChatRef, users []string) error
}

// MemoryRoles is a RoleCache in this process's memory.
type MemoryRoles struct{ c *cache.Cache }

// NewMemoryRoles keeps roles for ttl.
func NewMemoryRoles(ttl time.Duration) *MemoryRoles {
	return &MemoryRoles{c: cache.New(ttl, max(ttl, time.Minute))}
}

func roleKey(chat moderation.ChatRef, user string) string {
	return chat.Platform + "\x00" + chat.ID + "\x00" + user
}

// Get implements RoleCache.
func (m *MemoryRoles) Get(_ context.Context, chat moderation.ChatRef, users []string) (map[string]moderation.Role, error) {
	out := make(map[string]moderation.Role, len(users))
	for _, u := range users {
		if v, ok := m.c.Get(roleKey(chat, u)); ok {
			out[u] = v.(moderation.Role)
		}
	}
	return out, nil
}

// Put implements RoleCache.
func (m *MemoryRoles) Put(_ context.Context, chat moderation.ChatRef, roles map[string]moderation.Role) error {
	for u, r := range roles {
		m.c.SetDefault(roleKey(chat, u), r)
	}
	return nil
}

// Forget implements RoleCache.
func (m *MemoryRoles) Forget(_ context.Context, chat moderation.ChatRef, users []string) error {
	for _, u := range users {
		m.c.Delete(roleKey(chat, u))
	}
	return nil
}

// roles returns the roles of users in chat: cached ones from the cache,
// the rest from the platform (then cached). A cache failure only costs a
// lookup.
func (p *Pipeline) roles(ctx context.Context, plat moderation.Platform, chat moderation.ChatRef, users []string) (map[string]moderation.Role, error) {
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
