// The mod-log: every case worth knowing is posted to a chat of the
// admins' choosing, once, after the job's action and reply; on Feishu as
// a card with Undo, Ban and Dismiss, elsewhere as text ending "/undo N".

package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"gavel/moderation"
	"gavel/policy"
)

// ModLogConfig is the `modlog:` block of config.yaml: where cases are
// posted. A protected chat's cases go to its entry in Chats, else to its
// platform's chat; a chat with neither has no mod-log.
type ModLogConfig struct {
	Feishu  string `yaml:"feishu"`
	TIM     string `yaml:"tim"`
	Easemob string `yaml:"easemob"`
	// Chats maps "platform:chat_id" to the mod-log chat id (on the same
	// platform) of that chat.
	Chats map[string]string `yaml:"chats"`
	// PerMinute is the budget of posts to one mod-log chat in any 60
	// seconds; cases over it go to a digest (modlog_digest.go). Default:
	// automod.notices_per_minute.
	PerMinute int `yaml:"per_minute"`
}

// Validate reports the first bad key.
func (c ModLogConfig) Validate() error {
	if c.PerMinute < 0 {
		return errors.New("modlog.per_minute: must not be negative")
	}
	for name, id := range map[string]string{"feishu": c.Feishu, "tim": c.TIM, "easemob": c.Easemob} {
		if strings.TrimSpace(id) != id || strings.ContainsAny(id, "\n\t") {
			return fmt.Errorf("modlog.%s: %q has spaces around it", name, id)
		}
	}
	for k, v := range c.Chats {
		plat, id, ok := strings.Cut(k, ":")
		switch {
		case !ok || id == "" || plat == "":
			return fmt.Errorf("modlog.chats: key %q is not platform:chat_id", k)
		case v == "" || strings.TrimSpace(v) != v:
			return fmt.Errorf("modlog.chats.%s: must name a chat id", k)
		}
	}
	return nil
}

// CheckPlatforms reports a mod-log chat named for a platform that is not
// configured (a typo would otherwise leave its chats without a mod-log).
func (c ModLogConfig) CheckPlatforms(configured func(platform string) bool) error {
	for name, id := range map[string]string{"feishu": c.Feishu, "tim": c.TIM, "easemob": c.Easemob} {
		if id != "" && !configured(name) {
			return fmt.Errorf("modlog.%s: platforms.%s is not configured", name, name)
		}
	}
	for k := range c.Chats {
		if plat, _, _ := strings.Cut(k, ":"); !configured(plat) {
			return fmt.Errorf("modlog.chats: key %q names platform %q, which is not configured", k, plat)
		}
	}
	return nil
}

// Enabled reports whether any chat has a mod-log.
func (c ModLogConfig) Enabled() bool {
	return c.Feishu != "" || c.TIM != "" || c.Easemob != "" || len(c.Chats) > 0
}

// chatFor is the mod-log chat of chat's cases.
func (c ModLogConfig) chatFor(chat moderation.ChatRef) (moderation.ChatRef, bool) {
	id := c.Chats[chat.Platform+":"+chat.ID]
	if id == "" {
		switch chat.Platform {
		case "feishu":
			id = c.Feishu
		case "tim":
			id = c.TIM
		case "easemob":
			id = c.Easemob
		}
	}
	if id == "" {
		return moderation.ChatRef{}, false
	}
	return moderation.ChatRef{Platform: chat.Platform, ID: id}, true
}

// isModLogOf reports whether here is the mod-log chat of chat's cases.
func (c ModLogConfig) isModLogOf(here, chat moderation.ChatRef) bool {
	ml, ok := c.chatFor(chat)
	return ok && ml.Platform == here.Platform && ml.ID == here.ID
}

// worthLogging reports whether a case goes to the mod-log: everything but
// a member's refused command (the refusal interval's noise), a command in
// a disabled chat, and a dismissed card (the card says so itself).
func worthLogging(c *moderation.Case) bool {
	switch c.Outcome.Reason() {
	case policy.ActorNotAdmin, policy.ChatDisabled:
		return false
	}
	// A joiner's challenge, answer or pass is routine: only what the
	// verification did to those who failed it (a kick, ban or mute of
	// rule verify) goes to the mod-log.
	return c.Verb != moderation.VerbDismiss && c.Verb != moderation.VerbVerify && c.ID > 0
}

// queueModLog remembers a recorded case for the run's mod-log posts.
func (p *Pipeline) queueModLog(r *run, c *moderation.Case) {
	if !p.modlog.Enabled() || !worthLogging(c) {
		return
	}
	if _, ok := p.modlog.chatFor(moderation.ChatRef{Platform: c.Platform, ID: c.ChatID}); !ok {
		return
	}
	if !slices.ContainsFunc(r.logged, func(x *moderation.Case) bool { return x.ID == c.ID }) {
		r.logged = append(r.logged, c)
	}
}

// ErrModLog marks a job retried because a mod-log post failed: its
// action, case and reply are recorded and a re-run skips them; only the
// post is tried again.
var ErrModLog = errors.New("mod-log post failed")

// postModLog posts the run's recorded cases to their mod-log chats, each
// once: a case whose post is recorded (Store.CasePost) is not posted
// again by a re-run. It runs after the job's action and reply, so a slow
// or failing mod-log never delays or fails the action; a failed post
// fails the run (the job is retried for it) unless this is its last
// attempt, when it is logged. The adapter paces posts to the platform's
// limits (egress); a case over the mod-log chat's budget (modlog.per_minute)
// is deferred to its digest instead (modlog_digest.go).
func (p *Pipeline) postModLog(ctx context.Context, r *run) {
	logged := r.logged
	r.logged = nil
	for _, c := range logged {
		dest, ok := p.modlog.chatFor(moderation.ChatRef{Platform: c.Platform, ID: c.ChatID})
		if !ok {
			continue
		}
		if !r.fresh {
			_, err := p.store.CasePost(ctx, c.ID)
			if err == nil {
				continue // posted by an earlier attempt
			}
			if !errors.Is(err, moderation.ErrNotFound) {
				r.log.Error("reading a case's mod-log post failed", "case", c.ID, "err", err)
				r.fail(err)
				return
			}
		}
		// A held command is posted whatever the budget (its buttons
		// answer it); it counts all the same.
		if !p.allowModLog(ctx, r, dest) && c.Outcome.Kind() != moderation.OutcomeAwaiting {
			if err := p.deferModLog(ctx, r, c, dest); err != nil {
				r.log.Error("deferring a case to the mod-log digest failed", "case", c.ID, "err", err)
				r.fail(err)
				return
			}
			continue
		}
		post := p.text.modLogPost(p.shown(c), p.modLogButtons(c), "", r.plat.Limits().Reply)
		id, err := r.plat.Post(ctx, dest, post)
		switch {
		case errors.Is(err, moderation.ErrUnsupported):
			r.log.Warn("the platform cannot post to the mod-log chat", "case", c.ID, "modlog", dest.ID)
			continue
		case err != nil:
			r.log.Error("mod-log post failed", "case", c.ID, "modlog", dest.ID, "last_attempt", r.last, "err", err)
			if !r.last && !permanent(err) {
				r.fail(fmt.Errorf("%w: case %d: %w", ErrModLog, c.ID, err))
				return
			}
			continue
		}
		if err := p.store.SetCasePost(ctx, c.ID, moderation.PostRef{Chat: dest, MessageID: id}); err != nil {
			r.log.Error("recording a case's mod-log post failed", "case", c.ID, "err", err)
			r.fail(err)
			return
		}
	}
}

// permanent reports whether retrying a call that failed with err cannot
// help: the platform refused it for good, or it was refused before any
// call.
func permanent(err error) bool {
	var apiErr *moderation.APIError
	return errors.As(err, &apiErr) && apiErr.Kind == moderation.Permanent || errors.Is(err, moderation.ErrMalformed)
}

// modLogButtons are the buttons of c's card, only those that make sense:
// Undo for what /undo can reverse, Ban for users a kick, mute, warning or
// rule acted on, and Dismiss beside them.
func (p *Pipeline) modLogButtons(c *moderation.Case) []moderation.Button {
	if c.Outcome.Kind() == moderation.OutcomeAwaiting { // a held command: answered from the mod-log too (confirm.go)
		return p.text.heldPost(c, p.policy.ConfirmTimeout(), p.prefixes[0]).Card.Buttons
	}
	var bs []moderation.Button
	if undoable(c) == "" {
		bs = append(bs, moderation.Button{Label: p.text.pick("Undo", "撤销"), Verb: moderation.VerbUndo, CaseID: c.ID, Style: "primary"})
	}
	switch c.Verb {
	case moderation.VerbReport:
		// A member's report: the moderators act on the reported user
		// from the card (through policy, as their command would).
		if len(c.Targets) > 0 {
			for _, b := range []struct {
				en, zh string
				verb   moderation.Verb
				style  string
			}{{"Mute", "禁言", moderation.VerbMute, "primary"}, {"Kick", "移出", moderation.VerbKick, "danger"}, {"Ban", "封禁", moderation.VerbBan, "danger"}} {
				bs = append(bs, moderation.Button{Label: p.text.pick(b.en, b.zh), Verb: b.verb, CaseID: c.ID, Targets: c.Targets, Style: b.style})
			}
		}
	case moderation.VerbKick, moderation.VerbMute, moderation.VerbWarn, moderation.VerbDelete, moderation.VerbBlock:
		// Only for what was done (or would have been, in a dry run): not
		// a refused, failed or held command.
		if k := c.Outcome.Kind(); k != moderation.OutcomeDone && k != moderation.OutcomePartial {
			break
		}
		if ts := actedOn(c); len(ts) > 0 {
			bs = append(bs, moderation.Button{Label: p.text.pick("Ban", "封禁"), Verb: moderation.VerbBan, CaseID: c.ID, Targets: ts, Style: "danger"})
		}
	}
	if len(bs) > 0 {
		bs = append(bs, moderation.Button{Label: p.text.pick("Dismiss", "忽略"), Verb: moderation.VerbDismiss, CaseID: c.ID})
	}
	return bs
}

// actedOn are c's targets that the action reached or would have (a dry
// run): not those policy or the platform refused.
func actedOn(c *moderation.Case) []string {
	if len(c.Results) == 0 {
		return c.Targets
	}
	var out []string
	for _, x := range c.Results {
		if x.UserID != "" && (x.Status.Succeeded() || x.Status == moderation.StatusSkipped) {
			out = append(out, x.UserID)
		}
	}
	return out
}

// updateCard replaces the mod-log entry ref with post; where messages
// cannot be edited it posts note as a follow-up in the same chat.
func (p *Pipeline) updateCard(ctx context.Context, r *run, ref moderation.PostRef, post moderation.Post, note string) {
	err := r.plat.UpdatePost(ctx, ref, post)
	if errors.Is(err, moderation.ErrUnsupported) {
		if note == "" {
			return
		}
		_, err = r.plat.Post(ctx, ref.Chat, moderation.Post{Text: fitText(note, r.plat.Limits().Reply)})
	}
	if err != nil {
		r.log.Warn("updating a mod-log entry failed", "message_id", ref.MessageID, "err", err)
	}
}

// shown is case c as its mod-log entry shows it: a report whose mod-log
// chat is the very chat it was made in does not name the reporter there
// (the reporter is never named in the chat; the console and /case have
// the name).
func (p *Pipeline) shown(c *moderation.Case) *moderation.Case {
	chat := moderation.ChatRef{Platform: c.Platform, ID: c.ChatID}
	if c.Verb != moderation.VerbReport || !p.modlog.isModLogOf(chat, chat) {
		return c
	}
	cp := *c
	cp.Actor = p.text.pick("a member", "一名成员")
	return &cp
}
