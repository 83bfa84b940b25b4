package cluster

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"gavel/moderation"
)

// Recent is the recent-message index shared by every replica
// (pipeline.RecentIndex): each chat is one Redis list of
// "<sent unix ms>|<sender>|<message id>", newest at the head, trimmed to
// perChat entries and expiring maxAge after its last write. It holds no
// message text.
type Recent struct {
	c       *Cluster
	perChat int
	maxAge  time.Duration
}

// Recent returns the shared index: perChat messages per chat, kept for
// maxAge after a chat's last message.
func (c *Cluster) Recent(perChat int, maxAge time.Duration) *Recent {
	return &Recent{c: c, perChat: perChat, maxAge: maxAge}
}

// key is the chat's list; a thread (a TIM topic, with its own MsgSeq
// sequence) has a list of its own, in the same hash slot.
func (r *Recent) key(chat moderation.ChatRef) string {
	k := r.c.prefix + "recent:{" + chat.Platform + ":" + chat.ID + "}"
	if chat.Thread != "" {
		k += ":" + chat.Thread
	}
	return k
}

func encodeRef(m moderation.MessageRef) string {
	return strconv.FormatInt(m.SentAt.UnixMilli(), 10) + "|" + m.SenderID + "|" + m.ID
}

// decodeRef splits an entry; the id comes last, so a "|" inside an id
// (which no platform uses) would still round-trip.
func decodeRef(s string) (moderation.MessageRef, bool) {
	ms, rest, ok := strings.Cut(s, "|")
	if !ok {
		return moderation.MessageRef{}, false
	}
	sender, id, ok := strings.Cut(rest, "|")
	t, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil || id == "" {
		return moderation.MessageRef{}, false
	}
	return moderation.MessageRef{ID: id, SenderID: sender, SentAt: time.UnixMilli(t)}, true
}

// Add records m. It runs while the platform waits for the webhook's
// answer, under the webhook guard.
func (r *Recent) Add(ctx context.Context, chat moderation.ChatRef, m moderation.MessageRef) error {
	key := r.key(chat)
	err := r.c.web.do(ctx, func(ctx context.Context) error {
		_, err := r.c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			p.LPush(ctx, key, encodeRef(m))
			p.LTrim(ctx, key, 0, int64(r.perChat-1))
			p.PExpire(ctx, key, r.maxAge)
			return nil
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("redis recent messages: %w", err)
	}
	return nil
}

// Recent returns the chat's messages, newest first.
func (r *Recent) Recent(ctx context.Context, chat moderation.ChatRef) ([]moderation.MessageRef, error) {
	var vals []string
	err := r.c.bg.do(ctx, func(ctx context.Context) (err error) {
		vals, err = r.c.rdb.LRange(ctx, r.key(chat), 0, int64(r.perChat-1)).Result()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("redis recent messages: %w", err)
	}
	out := make([]moderation.MessageRef, 0, len(vals))
	for _, v := range vals {
		if m, ok := decodeRef(v); ok {
			out = append(out, m)
		}
	}
	return out, nil
}

// Forget drops recalled messages.
func (r *Recent) Forget(ctx context.Context, chat moderation.ChatRef, ms []moderation.MessageRef) error {
	if len(ms) == 0 {
		return nil
	}
	key := r.key(chat)
	err := r.c.bg.do(ctx, func(ctx context.Context) error {
		_, err := r.c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, m := range ms {
				p.LRem(ctx, key, 0, encodeRef(m))
			}
			return nil
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("redis recent messages: %w", err)
	}
	return nil
}
