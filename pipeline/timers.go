// Sanctions over time: banned users who rejoin, bans and locks that end,
// scheduled locks.

package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"gavel/moderation"
)

// enforceBans removes joiners who are banned from the chat (an emulated
// ban, or one the platform let through), recorded as a case of the ban
// rule.
func (p *Pipeline) enforceBans(ctx context.Context, r *run) {
	j := r.ev.Join
	var still []string
	for _, u := range p.sanctions.index.banned(j.Chat, j.UserIDs) {
		_, ok, err := p.store.ActiveSanction(ctx, moderation.VerbBan, j.Chat, u, p.now())
		if err != nil {
			r.fail(err)
			return
		}
		if ok {
			still = append(still, u)
		}
	}
	if len(still) == 0 {
		return
	}
	c := &moderation.Case{DeliveryID: r.ev.DeliveryID, Platform: j.Chat.Platform, ChatID: j.Chat.ID, Rule: "ban",
		Verb: moderation.VerbKick, Targets: still, Reason: "banned user rejoined", At: p.now()}
	a := action{verb: moderation.VerbKick, step: moderation.RuleStep("ban", moderation.VerbKick),
		opts: moderation.ActionOptions{ActionID: r.ev.DeliveryID + "/ban"}}
	c.Results = p.execute(ctx, r, a, still)
	if incomplete(r, c.Results) {
		return
	}
	c.Outcome = outcome(c.Results)
	r.log.Info("banned users rejoined and were removed again", "users", len(still))
	p.record(ctx, r, c)
}

// handleTimer carries out a timer: the end of a ban or lock whose record
// still says it ends then (it may have been lifted or replaced since), or
// a scheduled lock.
func (p *Pipeline) handleTimer(ctx context.Context, r *run) {
	t := r.ev.Timer
	c := &moderation.Case{DeliveryID: r.ev.DeliveryID, Platform: t.Chat.Platform, ChatID: t.Chat.ID, Rule: "expiry",
		Verb: t.Verb, At: p.now()}
	if t.UserID != "" {
		c.Targets = []string{t.UserID}
	}
	opts := moderation.ActionOptions{ActionID: r.ev.DeliveryID}
	if t.Verb == moderation.VerbDigest {
		p.postDigest(ctx, r) // modlog_digest.go
		return
	}
	if t.Verb == moderation.VerbVerify {
		p.verifyTimer(ctx, r)
		return
	}
	switch t.Verb {
	case moderation.VerbUnban, moderation.VerbUnlock:
		held := moderation.VerbBan
		if t.Verb == moderation.VerbUnlock {
			held = moderation.VerbLock
		}
		s, ok, err := p.store.ActiveSanction(ctx, held, t.Chat, t.UserID, t.Due.Add(-time.Millisecond))
		if err != nil {
			r.fail(err)
			return
		}
		if !ok || s.Until.IsZero() || s.Until.Sub(t.Due).Abs() > time.Millisecond {
			r.log.Info("timer of a sanction lifted or replaced since: nothing to do", "verb", t.Verb, "user", t.UserID)
			return
		}
		if t.Verb == moderation.VerbUnban {
			c.Results = p.execute(ctx, r, action{verb: moderation.VerbUnban, step: moderation.ActionStep(moderation.VerbUnban), opts: opts}, c.Targets)
		} else {
			c.Results = []moderation.Result{p.setLock(ctx, r, moderation.VerbUnlock, 0, opts)}
		}
	case moderation.VerbCancel: // a held command's time ran out (confirm.go)
		p.expireHeld(ctx, r)
		return
	case moderation.VerbLock:
		c.Rule, c.Reason, c.Duration = t.Rule, "scheduled", t.Until.Sub(t.Due)
		d := t.Until.Sub(p.now())
		if d <= 0 {
			return // the window passed before the job ran
		}
		if _, ok, err := p.store.ActiveSanction(ctx, moderation.VerbLock, t.Chat, "", p.now()); err != nil || ok {
			r.fail(err)
			return // locked already (by an admin, or a replica's run of this timer)
		}
		c.Results = []moderation.Result{p.setLock(ctx, r, moderation.VerbLock, d, opts)}
	default:
		r.log.Error("timer of an unknown verb", "verb", t.Verb)
		return
	}
	if incomplete(r, c.Results) {
		return
	}
	if t.Verb != moderation.VerbLock {
		// Ended whatever the platform said (a refusal is in the case):
		// the timer is not offered again.
		held := moderation.VerbBan
		if t.Verb == moderation.VerbUnlock {
			held = moderation.VerbLock
		}
		if err := p.sanctions.end(ctx, held, t.Chat, t.UserID); err != nil {
			r.fail(err)
			return
		}
	}
	c.Outcome = outcome(c.Results)
	p.record(ctx, r, c)
	p.notice(ctx, r, p.text.timerNotice(c))
}

// timersSent remembers the keys of timers this replica submitted, so
// that a schedule's timer is not offered to the store every second of
// its catch-up window (the store's de-duplication would refuse it; this
// saves the write).
type timersSent struct {
	mu   sync.Mutex
	keys map[string]time.Time // key → when it may be forgotten
}

func (s *timersSent) first(key string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys == nil {
		s.keys = map[string]time.Time{}
	}
	for k, until := range s.keys {
		if now.After(until) {
			delete(s.keys, k)
		}
	}
	if _, ok := s.keys[key]; ok {
		return false
	}
	s.keys[key] = now.Add(2 * scheduleCatchUp)
	return true
}

func (s *timersSent) forget(key string) {
	s.mu.Lock()
	delete(s.keys, key)
	s.mu.Unlock()
}

// MaintainSanctions reloads the index of bans and locks (so that what
// other replicas imposed is enforced here too) and submits the timers
// that came due: sanctions that ended and scheduled locks. Every replica
// may run it; a timer's dedup key is the same everywhere, so the durable
// queue runs each once. The app calls it every second with its job
// runner's Submit.
func (p *Pipeline) MaintainSanctions(ctx context.Context, submit func(context.Context, moderation.Event) (bool, error)) error {
	err := p.sanctions.refresh(ctx)
	timers, derr := p.sanctions.due(ctx)
	err = errors.Join(err, derr)
	now := p.now()
	for _, s := range p.schedules {
		if t, ok := s.due(now); ok && p.sent.first(t.TimerKey(), now) {
			timers = append(timers, t)
		}
	}
	held, herr := p.heldTimers(ctx) // confirm.go
	timers, err = append(timers, held...), errors.Join(err, herr)
	timers = append(timers, p.digestTimers()...) // modlog_digest.go
	for _, t := range timers {
		if _, serr := submit(ctx, moderation.TimerEvent(t)); serr != nil {
			p.sent.forget(t.TimerKey()) // offered again next time
			err = errors.Join(err, fmt.Errorf("submitting the %s timer of %s: %w", t.Verb, t.Chat, serr))
		}
	}
	return err
}
