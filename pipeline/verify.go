// Verification of new joiners (#19): a joiner is held — their messages
// refused before delivery (pre-send hook) or recalled — until they answer
// a challenge; one who does not in time is removed, banned or muted.
//
// The pending verifications are sanctions of verb verify (see
// moderation.VerifyPostPrefix): the sanction book keeps their records,
// the index the pre-send Gate reads, and the timers that end them, which
// every replica submits with the same key so each runs exactly once, also
// across restarts.

package pipeline

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"time"

	"gavel/moderation"
)

// verifyRule names verification in cases, steps and screenings.
const verifyRule = "verify"

// maxChallengeNames bounds the joiners one challenge message names (a
// card's buttons: one per joiner).
const maxChallengeNames = 20

// verifyFor returns chat's verification with defaults; ok is false when
// the chat verifies nobody.
func (p *Pipeline) verifyFor(chat moderation.ChatRef) (VerifyConfig, bool) {
	c, ok := p.cfg.Verification[chat.String()]
	if !ok {
		return VerifyConfig{}, false
	}
	return c.withDefaults(chat.Platform), true
}

// pending reports, from memory, whether user awaits verification in chat.
func (x *SanctionIndex) pending(chat moderation.ChatRef, user string) bool {
	return x.holds(sanctionKeyOf(moderation.VerbVerify, chat, user))
}

// verifyJoin holds the joiners of the run's join who must verify and
// gathers them into the chat's next challenge message. Exempt: owners,
// admins, policy.admins and policy.protected, users an admin added (the
// event's Operator), and joiners a rule of this event removed.
func (p *Pipeline) verifyJoin(ctx context.Context, r *run) {
	cfg, ok := p.verifyFor(r.chat)
	if !ok {
		return
	}
	j := r.ev.Join
	removed := map[string]bool{}
	for _, h := range r.ev.Hits {
		if !h.DryRun && (h.Verb == moderation.VerbKick || h.Verb == moderation.VerbBan) {
			for _, u := range h.Users {
				removed[u] = true
			}
		}
	}
	for _, u := range p.sanctions.index.banned(j.Chat, j.UserIDs) {
		removed[u] = true
	}
	var users []string
	for _, u := range j.UserIDs {
		if !removed[u] && !slices.Contains(users, u) {
			users = append(users, u)
		}
	}
	if len(users) == 0 {
		return
	}
	botID, err := r.plat.BotID(ctx)
	if err != nil {
		p.retryLater(r, err)
		return
	}
	ask := users
	op := j.Operator
	if op != "" && !slices.Contains(users, op) {
		ask = append(slices.Clone(users), op)
	}
	roles, err := p.roles(ctx, r, ask)
	if err != nil {
		if !p.retryLater(r, err) {
			r.log.Error("role lookup for joiners failed; they are not verified", "err", err)
		}
		return
	}
	if op != "" && !slices.Contains(users, op) &&
		(roles[op] == moderation.RoleOwner || roles[op] == moderation.RoleAdmin || p.policy.IsConfiguredAdmin(r.chat, op)) {
		r.log.Info("joiners added by an admin need no verification", "operator", op, "users", len(users))
		return
	}
	var held []string
	for _, d := range p.policy.DecideTargets(r.chat, botID, users, roles) {
		if d.Allowed {
			held = append(held, d.Target)
		}
	}
	if len(held) == 0 {
		return
	}
	now := p.now()
	gather, gathering, err := p.store.ActiveSanction(ctx, moderation.VerbVerify, r.chat, "", now)
	if err != nil {
		r.fail(err)
		return
	}
	if !gathering {
		gather = moderation.Sanction{Verb: moderation.VerbVerify, Chat: r.chat, Until: now.Add(cfg.Gather)}
		if r.fail(p.sanctions.record(ctx, gather)); r.err != nil {
			return
		}
	}
	// The deadline is provisional: the challenge's posting resets it.
	for _, u := range held {
		s := moderation.Sanction{Verb: moderation.VerbVerify, Chat: r.chat, UserID: u, Until: gather.Until.Add(cfg.Timeout)}
		if r.fail(p.sanctions.record(ctx, s)); r.err != nil {
			return
		}
	}
	r.log.Info("joiners held until verified", "users", len(held), "challenge_at", gather.Until)
}

// challengeQuestion returns the question and its answer for a challenge
// whose deadline is due: derived, not stored, from the chat and the
// deadline, which every joiner of one message shares.
func challengeQuestion(cfg VerifyConfig, chat moderation.ChatRef, due time.Time) (question, answer string) {
	if cfg.Question == "phrase" {
		return cfg.Phrase, strings.TrimSpace(cfg.Phrase)
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%d", chat.String(), due.UnixNano())
	v := h.Sum64()
	a, b := int(v%17)+2, int(v/17%17)+2
	return fmt.Sprintf("%d + %d", a, b), strconv.Itoa(a + b)
}

// answers reports whether text answers the challenge: the answer alone,
// spaces and case aside, full-width digits read as ASCII.
func answers(text, answer string) bool {
	norm := func(s string) string {
		s = strings.Map(func(r rune) rune {
			if r >= '０' && r <= '９' {
				return '0' + (r - '０')
			}
			return r
		}, s)
		return strings.ToLower(strings.Join(strings.Fields(s), " "))
	}
	return answer != "" && norm(text) == norm(answer)
}

// pendingIn returns chat's verify sanctions (joiners, the gathering, the
// posted challenges) active at now.
func (p *Pipeline) pendingIn(ctx context.Context, chat moderation.ChatRef, now time.Time) ([]moderation.Sanction, error) {
	all, err := p.store.ActiveSanctions(ctx, now)
	if err != nil {
		return nil, err
	}
	var out []moderation.Sanction
	for _, s := range all {
		if s.Verb == moderation.VerbVerify && s.Chat.Platform == chat.Platform && s.Chat.ID == chat.ID {
			out = append(out, s)
		}
	}
	return out, nil
}

// verifyTimer carries out a verification timer: the gathering's end
// (post the challenge), a joiner's deadline (fail them), a posted
// challenge's end (recall it). A record no longer due then was replaced
// or ended: nothing to do.
func (p *Pipeline) verifyTimer(ctx context.Context, r *run) {
	t := r.ev.Timer
	s, ok, err := p.store.ActiveSanction(ctx, moderation.VerbVerify, t.Chat, t.UserID, t.Due.Add(-time.Millisecond))
	if err != nil {
		r.fail(err)
		return
	}
	if !ok || s.Until.IsZero() || s.Until.Sub(t.Due).Abs() > time.Millisecond {
		r.log.Debug("verification timer of a record ended or replaced since", "user", t.UserID)
		return
	}
	switch {
	case t.UserID == "":
		p.postChallenges(ctx, r, s)
	case strings.HasPrefix(t.UserID, moderation.VerifyPostPrefix):
		p.recallChallenge(ctx, r, s)
	default:
		// Every joiner of the chat whose deadline has passed goes in
		// this one job: a raid's timeouts are one batch, and their own
		// timers find their records ended.
		expired, err := p.store.ExpiredSanctions(ctx, p.now(), 0)
		if err != nil {
			r.fail(err)
			return
		}
		users := []string{t.UserID}
		for _, x := range expired {
			if x.Verb == moderation.VerbVerify && x.Chat.ID == t.Chat.ID && x.Chat.Platform == t.Chat.Platform &&
				x.UserID != "" && !strings.HasPrefix(x.UserID, moderation.VerifyPostPrefix) && x.UserID != t.UserID {
				users = append(users, x.UserID)
			}
		}
		p.verifyFailed(ctx, r, users, s.CaseID, "timeout")
	}
}

// postChallenges posts the challenge to the joiners gathered in the chat
// (at most maxChallengeNames per message), within the chat's notice
// budget: over it, the gathering waits another round. Each joiner's
// deadline starts when their challenge is posted.
func (p *Pipeline) postChallenges(ctx context.Context, r *run, gather moderation.Sanction) {
	cfg, ok := p.verifyFor(r.chat)
	now := p.now()
	all, err := p.pendingIn(ctx, r.chat, now)
	if err != nil {
		r.fail(err)
		return
	}
	var joiners []string
	for _, s := range all {
		if s.UserID != "" && !strings.HasPrefix(s.UserID, moderation.VerifyPostPrefix) && s.CaseID == 0 {
			joiners = append(joiners, s.UserID)
		}
	}
	if !ok || len(joiners) == 0 {
		r.fail(p.sanctions.end(ctx, moderation.VerbVerify, r.chat, ""))
		return
	}
	slices.Sort(joiners)
	due := now.Add(cfg.Timeout)
	for i, chunk := range slices.Collect(slices.Chunk(joiners, maxChallengeNames)) {
		if p.rules != nil && !p.rules.AllowNotice(r.chat) {
			r.log.Warn("challenge deferred by the per-chat notice limit", "waiting", len(joiners)-i*maxChallengeNames)
			gather.Until = now.Add(cfg.Gather)
			if r.fail(p.sanctions.record(ctx, gather)); r.err != nil {
				return
			}
			// Their deadlines start with their challenge: they move too.
			for _, u := range joiners[i*maxChallengeNames:] {
				s := moderation.Sanction{Verb: moderation.VerbVerify, Chat: r.chat, UserID: u, Until: gather.Until.Add(cfg.Timeout)}
				if r.fail(p.sanctions.record(ctx, s)); r.err != nil {
					return
				}
			}
			return
		}
		question, _ := challengeQuestion(cfg, r.chat, due)
		c := &moderation.Case{DeliveryID: r.ev.DeliveryID + "/" + strconv.Itoa(i), Platform: r.chat.Platform, ChatID: r.chat.ID,
			Rule: verifyRule, Verb: moderation.VerbVerify, Targets: chunk, Reason: "challenge", Duration: cfg.Timeout, At: now,
			Outcome: moderation.OutcomeDone}
		p.record(ctx, r, c)
		if r.err != nil {
			return
		}
		id, posted := p.postOnce(ctx, r, moderation.StepKey(fmt.Sprintf("verify-post#%d", i)), r.chat,
			p.text.challenge(cfg, chunk, question, cfg.Timeout, c.ID))
		if r.err != nil {
			return // retried
		}
		if !posted {
			// Nobody is removed for a question they never saw: the
			// joiners of this message are let go.
			r.log.Error("challenge could not be posted; its joiners are not verified", "users", len(chunk))
			for _, u := range chunk {
				if r.fail(p.sanctions.end(ctx, moderation.VerbVerify, r.chat, u)); r.err != nil {
					return
				}
			}
			continue
		}
		for _, u := range chunk {
			s := moderation.Sanction{Verb: moderation.VerbVerify, Chat: r.chat, UserID: u, Until: due, CaseID: c.ID}
			if r.fail(p.sanctions.record(ctx, s)); r.err != nil {
				return
			}
		}
		if id != "" {
			post := moderation.Sanction{Verb: moderation.VerbVerify, Chat: r.chat, UserID: moderation.VerifyPostPrefix + id,
				Until: due.Add(5 * time.Second), CaseID: c.ID}
			if r.fail(p.sanctions.record(ctx, post)); r.err != nil {
				return
			}
		}
	}
	r.fail(p.sanctions.end(ctx, moderation.VerbVerify, r.chat, ""))
}

// postOnce posts into chat once per job step (a re-run finds the
// recorded post) and returns the posted message's id — empty when the
// platform posted through Reply (an adapter without Post) — and whether
// the post was made. A failure that may pass fails the run (the job is
// retried); posted is false after a lasting one.
func (p *Pipeline) postOnce(ctx context.Context, r *run, step moderation.StepKey, chat moderation.ChatRef, post moderation.Post) (id string, posted bool) {
	const noID = "-"
	p.flush(ctx, r)
	if !r.fresh {
		prior, err := p.store.Results(ctx, r.jobID, step)
		if err != nil {
			r.fail(err)
			return "", false
		}
		for id := range prior {
			if id == noID {
				id = ""
			}
			return id, true
		}
	}
	id, err := r.plat.Post(ctx, chat, post)
	if errors.Is(err, moderation.ErrUnsupported) {
		// An adapter without Post still gets the text across.
		id, err = "", r.plat.Reply(ctx, &moderation.Message{Chat: chat}, fitText(post.Text, r.plat.Limits().Reply))
	}
	if err != nil {
		if !p.retryLater(r, err) {
			r.log.Error("posting failed", "step", step, "err", err)
		}
		return "", false
	}
	rec := id
	if rec == "" {
		rec = noID
	}
	p.stage(r, step, []moderation.Result{{UserID: rec, Status: moderation.StatusDone}})
	return id, true
}
