package cluster

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"gavel/moderation"
)

// Roles is a role cache shared by every replica (pipeline.RoleCache), so
// a user's role looked up by one replica saves the others the call. Each
// chat is one Redis hash (field: user, value: "<expiry unix ms>:<role>"),
// so that ForgetChat is one DEL; the hash itself expires ttl after its
// last write, and a field past its own expiry is a miss.
type Roles struct {
	c   *Cluster
	ttl time.Duration
	now func() time.Time
}

// Roles returns the shared role cache; entries live for ttl.
func (c *Cluster) Roles(ttl time.Duration) *Roles { return &Roles{c: c, ttl: ttl, now: time.Now} }

func (r *Roles) key(chat moderation.ChatRef) string {
	return r.c.prefix + "roles:{" + chat.Platform + ":" + chat.ID + "}"
}

// Get returns the cached roles of the users it knows.
func (r *Roles) Get(ctx context.Context, chat moderation.ChatRef, users []string) (map[string]moderation.Role, error) {
	out := make(map[string]moderation.Role, len(users))
	if len(users) == 0 {
		return out, nil
	}
	var vals []any
	err := r.c.bg.do(ctx, func(ctx context.Context) (err error) {
		vals, err = r.c.rdb.HMGet(ctx, r.key(chat), users...).Result()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("redis roles: %w", err)
	}
	now := r.now().UnixMilli()
	for i, v := range vals {
		s, ok := v.(string)
		if !ok {
			continue
		}
		exp, role, ok := strings.Cut(s, ":")
		if ms, err := strconv.ParseInt(exp, 10, 64); ok && err == nil && now < ms {
			out[users[i]] = moderation.Role(role)
		}
	}
	return out, nil
}

// Put caches roles for the TTL.
func (r *Roles) Put(ctx context.Context, chat moderation.ChatRef, roles map[string]moderation.Role) error {
	if len(roles) == 0 {
		return nil
	}
	exp := strconv.FormatInt(r.now().Add(r.ttl).UnixMilli(), 10) + ":"
	fields := make([]any, 0, 2*len(roles))
	for u, role := range roles {
		fields = append(fields, u, exp+string(role))
	}
	key := r.key(chat)
	err := r.c.bg.do(ctx, func(ctx context.Context) error {
		_, err := r.c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.HSet(ctx, key, fields...)
			p.PExpire(ctx, key, r.ttl)
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
	if err := r.c.bg.do(ctx, func(ctx context.Context) error { return r.c.rdb.HDel(ctx, r.key(chat), users...).Err() }); err != nil {
		return fmt.Errorf("redis roles: %w", err)
	}
	return nil
}

// ForgetChat drops every cached role of the chat, for every replica.
func (r *Roles) ForgetChat(ctx context.Context, chat moderation.ChatRef) error {
	if err := r.c.bg.do(ctx, func(ctx context.Context) error { return r.c.rdb.Del(ctx, r.key(chat)).Err() }); err != nil {
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
