package cluster

import (
	"context"
	"fmt"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"gavel/moderation"
)

// Roles is a role cache shared by every replica (pipeline.RoleCache), so
// a user's role looked up by one replica saves the others the call.
type Roles struct {
	c   *Cluster
	ttl time.Duration
}

// Roles returns the shared role cache; entries live for ttl.
func (c *Cluster) Roles(ttl time.Duration) *Roles { return &Roles{c: c, ttl: ttl} }

func (r *Roles) key(chat moderation.ChatRef, user string) string {
	return r.c.prefix + "role:{" + chat.Platform + ":" + chat.ID + "}:" + user
}

// Get returns the cached roles of the users it knows.
func (r *Roles) Get(ctx context.Context, chat moderation.ChatRef, users []string) (map[string]moderation.Role, error) {
	out := make(map[string]moderation.Role, len(users))
	if len(users) == 0 {
		return out, nil
	}
	keys := make([]string, len(users))
	for i, u := range users {
		keys[i] = r.key(chat, u)
	}
	var vals []any
	err := r.c.bg.do(ctx, func(ctx context.Context) (err error) {
		vals, err = r.c.rdb.MGet(ctx, keys...).Result()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("redis roles: %w", err)
	}
	for i, v := range vals {
		if s, ok := v.(string); ok {
			out[users[i]] = moderation.Role(s)
		}
	}
	return out, nil
}

// Put caches roles for the TTL.
func (r *Roles) Put(ctx context.Context, chat moderation.ChatRef, roles map[string]moderation.Role) error {
	if len(roles) == 0 {
		return nil
	}
	err := r.c.bg.do(ctx, func(ctx context.Context) error {
		_, err := r.c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for u, role := range roles {
				p.Set(ctx, r.key(chat, u), string(role), r.ttl)
			}
			return nil
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("redis roles: %w", err)
	}
	return nil
}

// Forget drops users' cached roles.
func (r *Roles) Forget(ctx context.Context, chat moderation.ChatRef, users []string) error {
	if len(users) == 0 {
		return nil
	}
	keys := make([]string, len(users))
	for i, u := range users {
		keys[i] = r.key(chat, u)
	}
	if err := r.c.bg.do(ctx, func(ctx context.Context) error { return r.c.rdb.Del(ctx, keys...).Err() }); err != nil {
		return fmt.Errorf("redis roles: %w", err)
	}
	return nil
}

// AllowCommand reports whether key (a chat and an actor) may send one more
// command this minute, counted across every replica (GCRA, redis_rate).
// It fits policy.CommandLimiter.
func (c *Cluster) AllowCommand(ctx context.Context, key string, perMinute int) (bool, error) {
	var res *redis_rate.Result
	err := c.bg.do(ctx, func(ctx context.Context) (err error) {
		res, err = c.limiter.Allow(ctx, c.prefix+"cmd:"+key, redis_rate.PerMinute(perMinute))
		return err
	})
	if err != nil {
		return false, fmt.Errorf("redis command limiter: %w", err)
	}
	return res.Allowed > 0, nil
}
