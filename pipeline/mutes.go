package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"gavel/moderation"
)

type muteKey struct{ platform, chat, user string }

func key(chat moderation.ChatRef, user string) muteKey { return muteKey{chat.Platform, chat.ID, user} }

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

// muteBook is the one owner of mutes: the records (in the store), the index
// of the emulated ones the webhook path reads, their enforcement (a muted
// user's message is recalled) and their end (expiry). Nothing else reads
// or writes mutes; app's maintenance loop calls Pipeline.MaintainMutes.
type muteBook struct {
	store moderation.Store
	index *muteIndex
	log   *slog.Logger
	now   func() time.Time
}

// suspect reports, from memory, whether user may be under an emulated mute
// in chat (the webhook path's cheap check; handle confirms it).
func (b *muteBook) suspect(chat moderation.ChatRef, user string) bool {
	return b.index.muted(chat, user, b.now())
}

// active returns the user's mute in chat if it still runs.
func (b *muteBook) active(ctx context.Context, chat moderation.ChatRef, user string) (moderation.Mute, bool, error) {
	return b.store.ActiveMute(ctx, chat, user, b.now())
}

// record stores mutes in one write; emulated ones enter the index.
func (b *muteBook) record(ctx context.Context, ms ...moderation.Mute) error {
	if err := b.store.PutMutes(ctx, ms...); err != nil {
		return err
	}
	for _, m := range ms {
		if m.Emulated {
			b.index.put(m)
		}
	}
	return nil
}

// end drops the users' mutes in chat.
func (b *muteBook) end(ctx context.Context, chat moderation.ChatRef, users ...string) error {
	if err := b.store.DeleteMutes(ctx, chat, users...); err != nil {
		return err
	}
	for _, u := range users {
		b.index.del(chat, u)
	}
	return nil
}

// enforce recalls msg when its sender is under an emulated mute; handled
// reports that the message was such a one (recalled or not).
func (b *muteBook) enforce(ctx context.Context, log *slog.Logger, plat moderation.Platform, msg *moderation.Message) (handled bool, err error) {
	rec, muted, err := b.active(ctx, msg.Chat, msg.SenderID)
	if err != nil || !muted || !rec.Emulated {
		return false, err
	}
	if err := plat.Recall(ctx, msg.Chat, msg.MessageID); err != nil {
		log.Error("recalling a muted user's message failed", "user", msg.SenderID, "message_id", msg.MessageID, "err", err)
		return true, nil
	}
	log.Info("recalled message of muted user", "user", msg.SenderID, "message_id", msg.MessageID, "muted_until", rec.Until)
	return true, nil
}

// refresh reloads the index from the store (mutes other replicas imposed
// come in, ended ones go).
func (b *muteBook) refresh(ctx context.Context) error {
	ms, err := b.store.ActiveMutes(ctx, b.now(), true)
	if err != nil {
		return fmt.Errorf("loading active mutes: %w", err)
	}
	b.index.replace(ms)
	return nil
}

// expire drops the records of mutes that have run out. Emulated mutes end
// with their record (Gavel stops recalling); native ones were ended by the
// platform itself and the record only served /unmute and the audit. Every
// replica may run it; the store makes each deletion happen once.
func (b *muteBook) expire(ctx context.Context) error {
	const page = 100
	for {
		mutes, err := b.store.ExpiredMutes(ctx, b.now(), page)
		if err != nil {
			return fmt.Errorf("listing expired mutes: %w", err)
		}
		for _, m := range mutes {
			if err := b.end(ctx, m.Chat, m.UserID); err != nil {
				return fmt.Errorf("ending the mute of %s in %s: %w", m.UserID, m.Chat, err)
			}
			b.log.Info("mute ended", "platform", m.Chat.Platform, "chat", m.Chat.ID, "user", m.UserID, "emulated", m.Emulated, "until", m.Until)
		}
		if len(mutes) < page {
			return nil
		}
	}
}
