// The mod-log's budget: at most modlog.per_minute posts a minute to one
// mod-log chat. A case over the budget is not posted by its own job (which
// would then wait, holding up its chat's later jobs): the job records it
// as deferred (its post is digestPending) and a durable timer job of the
// mod-log chat posts every deferred case of that chat as one digest,
// about two minutes later (see digestSlot).

package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"gavel/moderation"
)

const (
	// digestPending is the message id a deferred case's post records
	// until a digest lists it (then the digest's id replaces it).
	digestPending = "digest:pending"
	// digestRule names a digest timer's rule in its case and logs.
	digestRule = "modlog-digest"
	// digestSlot groups deferrals: those of one slot share a digest, due
	// two slots after the slot began, when the posts that spent the
	// budget in the slot have left its 60-second window.
	digestSlot = time.Minute
	// digestLookback is how far back a digest looks for deferred cases
	// (a digest that failed, or one a replica that stopped had noted).
	digestLookback = time.Hour
	// maxDigestCases bounds one digest; the rest stay deferred and the
	// job runs again for them.
	maxDigestCases = 50
)

// PostLimiter counts posts across replicas (cluster.Cluster's
// AllowCommand fits: GCRA in Redis); nil or failing, the budget is this
// replica's own.
type PostLimiter interface {
	AllowCommand(ctx context.Context, key string, perMinute int) (bool, error)
}

// digestNotes are the digests this replica's deferrals call for, by
// timer key, until submitted.
type digestNotes struct {
	mu      sync.Mutex
	due     map[string]moderation.Timer
	started bool // the recovery digests were noted
}

func (n *digestNotes) note(t moderation.Timer) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.due == nil {
		n.due = map[string]moderation.Timer{}
	}
	n.due[t.TimerKey()] = t
}

// digestTimer is the digest of mod-log chat dest that a deferral at now
// calls for: the same on every replica.
func digestTimer(dest moderation.ChatRef, now time.Time) moderation.Timer {
	return moderation.Timer{Verb: moderation.VerbDigest, Chat: dest, Rule: digestRule,
		Due: now.UTC().Truncate(digestSlot).Add(2 * digestSlot)}
}

// allowModLog spends one post of dest's budget if it has one left.
func (p *Pipeline) allowModLog(ctx context.Context, r *run, dest moderation.ChatRef) bool {
	if p.postLimiter != nil {
		ok, err := p.postLimiter.AllowCommand(ctx, "modlog:"+dest.String(), p.modlogPerMinute)
		if err == nil {
			return ok
		}
		r.log.Warn("shared mod-log budget unavailable; counting on this replica", "err", err)
	}
	return p.budget.AllowPosts(dest, p.modlogPerMinute)
}

// deferModLog records c as deferred to the digest of dest.
func (p *Pipeline) deferModLog(ctx context.Context, r *run, c *moderation.Case, dest moderation.ChatRef) error {
	if err := p.store.SetCasePost(ctx, c.ID, moderation.PostRef{Chat: dest, MessageID: digestPending}); err != nil {
		return fmt.Errorf("deferring case %d to the digest: %w", c.ID, err)
	}
	r.log.Info("mod-log budget spent: case deferred to the digest", "case", c.ID, "modlog", dest.ID)
	p.digests.note(digestTimer(dest, p.now()))
	return nil
}

// digestTimers are the digests that came due: those this replica's
// deferrals noted and, once after a start, one of every mod-log chat (the
// deferrals of a replica that stopped before its digest).
func (p *Pipeline) digestTimers() []moderation.Timer {
	if !p.modlog.Enabled() {
		return nil
	}
	now := p.now()
	n := &p.digests
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.started {
		n.started = true
		for _, dest := range p.modlog.chats(p.platforms) {
			t := digestTimer(dest, now)
			if n.due == nil {
				n.due = map[string]moderation.Timer{}
			}
			n.due[t.TimerKey()] = t
		}
	}
	var out []moderation.Timer
	for k, t := range n.due {
		if t.Due.After(now) {
			continue
		}
		delete(n.due, k)
		if p.sent.first(k, now) {
			out = append(out, t)
		}
	}
	return out
}

// postDigest posts the deferred cases of the mod-log chat r.chat as one
// message and records it as each case's post. A re-run finds them
// posted and posts nothing.
func (p *Pipeline) postDigest(ctx context.Context, r *run) {
	dest, due := r.chat, r.ev.Timer.Due
	cases, err := p.store.Cases(ctx, moderation.CaseFilter{Platform: dest.Platform, Since: due.Add(-digestLookback), Until: due})
	if err != nil {
		r.fail(fmt.Errorf("listing cases for the mod-log digest: %w", err))
		return
	}
	var pending []*moderation.Case
	for i := range cases {
		c := &cases[i]
		if !worthLogging(c) || !p.modlog.isModLogOf(dest, moderation.ChatRef{Platform: c.Platform, ID: c.ChatID}) {
			continue
		}
		ref, err := p.store.CasePost(ctx, c.ID)
		if errors.Is(err, moderation.ErrNotFound) {
			continue // its own job has not posted it yet, nor deferred it
		}
		if err != nil {
			r.fail(fmt.Errorf("reading case %d's mod-log post: %w", c.ID, err))
			return
		}
		if ref.MessageID == digestPending {
			pending = append(pending, c)
		}
	}
	if len(pending) == 0 {
		r.log.Debug("mod-log digest: nothing deferred")
		return
	}
	slices.SortFunc(pending, func(a, b *moderation.Case) int { return cmp.Compare(a.ID, b.ID) }) // oldest first
	// The digest counts against the budget but does not wait for it:
	// it is due when the posts of its slot have left the window, and
	// waiting longer would let a steady flood of cases, each taking a
	// post as the budget frees it, hold it back for ever; a retrying
	// job would hold up the mod-log chat's later jobs (card presses).
	// So a burst costs at most budget + 1 posts a slot.
	if !p.allowModLog(ctx, r, dest) {
		r.log.Info("mod-log digest over the budget: posted all the same (one a slot)", "modlog", dest.ID)
	}
	shown := make([]*moderation.Case, len(pending))
	for i, c := range pending {
		shown[i] = p.shown(c) // a report in its own chat names no reporter
	}
	post, n := p.text.digestPost(shown, r.plat.Limits().Reply, p.prefixes[0])
	id, err := r.plat.Post(ctx, dest, post)
	if err != nil {
		r.log.Error("mod-log digest post failed", "cases", n, "modlog", dest.ID, "last_attempt", r.last, "err", err)
		if !r.last && !permanent(err) {
			r.fail(fmt.Errorf("%w: digest: %w", ErrModLog, err))
		}
		return
	}
	ref := moderation.PostRef{Chat: dest, MessageID: id}
	for _, c := range pending[:n] {
		if err := p.store.SetCasePost(ctx, c.ID, ref); err != nil {
			r.fail(fmt.Errorf("recording case %d's digest: %w", c.ID, err))
			return
		}
	}
	r.log.Info("mod-log digest posted", "cases", n, "left", len(pending)-n, "modlog", dest.ID)
	if n < len(pending) {
		p.digests.note(digestTimer(dest, p.now())) // the rest: the next slot's digest
	}
}

// chats are the mod-log chats of the configured platforms.
func (c ModLogConfig) chats(platforms map[string]moderation.Platform) []moderation.ChatRef {
	seen := map[moderation.ChatRef]bool{}
	var out []moderation.ChatRef
	add := func(plat, id string) {
		ref := moderation.ChatRef{Platform: plat, ID: id}
		if _, ok := platforms[plat]; ok && id != "" && !seen[ref] {
			seen[ref] = true
			out = append(out, ref)
		}
	}
	add("feishu", c.Feishu)
	add("tim", c.TIM)
	add("easemob", c.Easemob)
	for k, v := range c.Chats {
		plat, _, _ := strings.Cut(k, ":")
		add(plat, v)
	}
	return out
}
