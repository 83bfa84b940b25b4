// Package pipeline carries an inbound event through Gavel: parse the
// command, ask policy about every target, call the platform, record the
// case and reply in the chat. It also enforces emulated mutes by recalling
// the muted user's messages.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"gavel/automod"
	"gavel/commands"
	"gavel/moderation"
	"gavel/policy"
)

// Config is the `moderation:` block of config.yaml.
type Config struct {
	// DefaultMute applies to /mute without a duration; default 10m.
	DefaultMute time.Duration `yaml:"default_mute"`
	// AllowPermanentMute makes /mute without a duration permanent instead.
	AllowPermanentMute bool `yaml:"allow_permanent_mute"`
	// ActionTimeout bounds the handling of one event; default 10m.
	ActionTimeout time.Duration `yaml:"action_timeout"`
	// RoleCacheTTL is how long a user's role in a chat is reused; default
	// 1m. With Redis the cache is shared by every replica.
	RoleCacheTTL time.Duration `yaml:"role_cache_ttl"`
	// Jobs tunes the durable job runner.
	Jobs DurableConfig `yaml:",inline"`
}

// Validate reports the first bad key.
func (c Config) Validate() error {
	switch {
	case c.DefaultMute < 0:
		return errors.New("moderation.default_mute: must not be negative")
	case c.DefaultMute > commands.MaxDuration:
		return fmt.Errorf("moderation.default_mute: longer than %s", commands.MaxDuration)
	case c.Jobs.Workers < 0:
		return errors.New("moderation.workers: must not be negative")
	case c.Jobs.Lease < 0:
		return errors.New("moderation.lease: must not be negative")
	case c.Jobs.Lease > 0 && c.Jobs.Lease < 3*time.Second:
		return errors.New("moderation.lease: at least 3s (it is renewed every third of it)")
	case c.ActionTimeout < 0:
		return errors.New("moderation.action_timeout: must not be negative")
	case c.RoleCacheTTL < 0:
		return errors.New("moderation.role_cache_ttl: must not be negative")
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.DefaultMute == 0 {
		c.DefaultMute = 10 * time.Minute
	}
	c.Jobs = c.Jobs.withDefaults()
	if c.RoleCacheTTL == 0 {
		c.RoleCacheTTL = time.Minute
	}
	if c.ActionTimeout == 0 {
		c.ActionTimeout = 10 * time.Minute
	}
	return c
}

// Deps are what a Pipeline works with.
type Deps struct {
	Platforms []moderation.Platform
	Parser    *commands.Parser
	Policy    *policy.Engine
	// Store makes jobs durable and idempotent and keeps mutes and cases;
	// nil runs in memory (mutes and cases lost on restart).
	Store    moderation.Store
	Mutes    MuteStore // nil → Store, else in-memory
	Audit    Auditor   // nil → Store (and a log line), else log-only
	Observer Observer  // nil → none
	// Roles caches role lookups; nil → in memory for moderation.role_cache_ttl.
	Roles RoleCache
	// Automod, when set, evaluates auto-moderation rules on every message
	// and join (on the webhook path: it is local and fast).
	Automod  *automod.Engine
	Language string // "en" (default) or "zh"
	Logger   *slog.Logger
	Now      func() time.Time
}

// Pipeline handles events. It is safe for concurrent use.
type Pipeline struct {
	cfg       Config
	platforms map[string]moderation.Platform
	// parsers is Deps.Parser with each platform's canonical user ids.
	parsers   map[string]*commands.Parser
	policy    *policy.Engine
	store     moderation.Store
	roleCache RoleCache
	muted     *muteIndex
	rules     *automod.Engine
	obs       Observer
	mutes     MuteStore
	audit     Auditor
	text      *texts
	log       *slog.Logger
	now       func() time.Time
	prefixes  []string

	handled atomic.Int64
}

// New returns a Pipeline.
func New(cfg Config, d Deps) (*Pipeline, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Parser == nil || d.Policy == nil {
		return nil, errors.New("pipeline: parser and policy are required")
	}
	p := &Pipeline{
		cfg:       cfg.withDefaults(),
		platforms: map[string]moderation.Platform{},
		parsers:   map[string]*commands.Parser{},
		policy:    d.Policy,
		store:     d.Store,
		roleCache: d.Roles,
		muted:     newMuteIndex(),
		rules:     d.Automod,
		obs:       d.Observer,
		mutes:     d.Mutes,
		audit:     d.Audit,
		log:       d.Logger,
		now:       d.Now,
		text:      textsFor(d.Language),
		prefixes:  d.Parser.Prefixes(),
	}
	for _, pl := range d.Platforms {
		if err := pl.Limits().Validate(); err != nil {
			return nil, fmt.Errorf("pipeline: platform %s: %w", pl.Name(), err)
		}
		p.platforms[pl.Name()] = pl
		p.parsers[pl.Name()] = d.Parser.With(commands.WithCanonicalIDs(pl.CanonicalUserID))
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.obs == nil {
		p.obs = nopObserver{}
	}
	if p.roleCache == nil {
		p.roleCache = NewMemoryRoles(p.cfg.RoleCacheTTL)
	}
	switch {
	case p.mutes != nil:
	case p.store != nil:
		p.mutes = storeMutes{p.store}
	default:
		p.mutes = NewMemoryMutes()
	}
	switch {
	case p.audit != nil:
	case p.store != nil:
		p.audit = &StoreAuditor{Store: p.store, Log: p.log}
	default:
		p.audit = NewLogAuditor(p.log)
	}
	return p, nil
}

// Config returns the effective configuration (defaults applied).
func (p *Pipeline) Config() Config { return p.cfg }

// run carries what one handling of an event needs: its job (zero when
// not durable), its logger, and the first store error, which makes a job
// retry instead of finishing.
type run struct {
	jobID int64
	// last is true when no retry follows: in-memory handling, or the
	// job's final attempt.
	last bool
	// fresh is true on a job's first attempt: the store counts attempts
	// when a job is claimed, so nothing of this job can be recorded yet
	// and recorded results need not be looked up.
	fresh bool
	log   *slog.Logger
	err   error
	// replies counts the replies of this run; the n-th is recorded as
	// "reply#n", so a re-run skips exactly those already posted.
	replies int
	// work is the job's unit of work: its store writes since its last
	// platform call that acted or posted. See flush.
	work moderation.Work
}

func (r *run) fail(err error) {
	if err != nil && r.err == nil {
		r.err = err
	}
}

// Handle acts on one event outside the durable queue (in-memory mode).
func (p *Pipeline) Handle(ctx context.Context, ev moderation.Event) {
	_, _ = p.handle(ctx, ev, 0, true, true)
}

// ErrIncomplete reports a job some of whose targets failed for a reason
// that may pass (the platform stayed busy through every retry); the job is
// run again and only those targets are tried.
var ErrIncomplete = errors.New("some targets failed transiently")

// HandleJob acts on a durable job. Targets the job already recorded as
// settled are skipped, so a job re-run after a crash does not repeat them.
// An error means the job should be retried: a store write failed, or
// targets failed transiently and this is not the job's last attempt.
func (p *Pipeline) HandleJob(ctx context.Context, job moderation.Job) error {
	w, err := p.handleJob(ctx, job)
	if err == nil && !w.Empty() {
		err = p.store.Commit(ctx, job.ID, "", w)
	}
	return err
}

// handleJob is HandleJob except that the job's last unit of work (what
// it stored after its last platform call: typically the record of its
// reply) is returned, not committed: the job runner commits it with the
// job's finish, in one transaction. On an error everything is committed
// already and the Work is empty.
func (p *Pipeline) handleJob(ctx context.Context, job moderation.Job) (moderation.Work, error) {
	return p.handle(ctx, job.Event, job.ID, job.Attempts >= p.cfg.Jobs.MaxAttempts, job.Attempts == 1)
}

func (p *Pipeline) handle(ctx context.Context, ev moderation.Event, jobID int64, last, fresh bool) (_ moderation.Work, err error) {
	defer p.handled.Add(1)
	plat, ok := p.platforms[ev.Platform]
	if !ok {
		p.log.Error("event for a platform that is not configured", "platform", ev.Platform, "event_id", ev.DeliveryID)
		return moderation.Work{}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.ActionTimeout)
	defer cancel()
	r := &run{jobID: jobID, last: last || jobID == 0, fresh: fresh, log: p.log.With("platform", ev.Platform, "event_id", ev.DeliveryID)}
	if jobID != 0 {
		r.log = r.log.With("job", jobID)
	}
	defer func() {
		// Whatever the run did is recorded before it ends badly: the
		// retry must not repeat it.
		v := recover()
		if v != nil || r.err != nil {
			p.flush(context.WithoutCancel(ctx), r)
		}
		if v != nil {
			panic(v)
		}
		if r.err != nil {
			err = r.err
		}
	}()
	switch {
	case ev.Kind == moderation.EventMessage && ev.Message != nil:
		r.log = r.log.With("chat", ev.Message.Chat.ID)
		if len(ev.Hits) > 0 {
			p.handleHits(ctx, r, plat, ev, ev.Message.Chat, ev.Message)
			if r.err != nil {
				return moderation.Work{}, r.err
			}
		}
		p.handleMessage(ctx, r, plat, ev)
	case ev.Kind == moderation.EventJoin && ev.Join != nil:
		r.log = r.log.With("chat", ev.Join.Chat.ID)
		p.handleHits(ctx, r, plat, ev, ev.Join.Chat, nil)
	case ev.Kind == moderation.EventScreened && ev.Message != nil && ev.Screening != nil:
		p.recordScreened(ctx, r, ev)
	default:
		r.log.Warn("event without payload", "kind", ev.Kind)
	}
	if r.err != nil {
		return moderation.Work{}, r.err // flushed by the deferred function
	}
	return r.work, nil
}

// Triage runs on the webhook's path: it evaluates the auto-moderation
// rules (recording their hits on the event) and reports whether the event
// may lead to an action and so deserves a durable job: a rule hit, a
// message that may be a command, one sent by a user under an emulated
// mute, a screened message. Cheap checks first; the rules are local.
func (p *Pipeline) Triage(ctx context.Context, ev moderation.Event) (moderation.Event, bool) {
	if _, ok := p.platforms[ev.Platform]; !ok {
		return ev, false
	}
	switch {
	case ev.Kind == moderation.EventScreened:
		return ev, ev.Message != nil && ev.Screening != nil
	case ev.Kind == moderation.EventJoin && ev.Join != nil:
		if p.rules != nil {
			ev.Hits = ruleHits(p.rules.Join(ev.Join))
		}
		return ev, len(ev.Hits) > 0
	case ev.Kind != moderation.EventMessage || ev.Message == nil:
		return ev, false
	}
	msg := ev.Message
	switch {
	case p.rules == nil:
	case ev.Late:
		// A re-push: content rules only; flood counts by sending time and
		// would count a re-pushed message twice.
		ev.Hits = ruleHits(p.rules.ContentOnly(msg))
	default:
		ev.Hits = ruleHits(p.rules.Message(msg))
	}
	return ev, len(ev.Hits) > 0 || p.parsers[ev.Platform].IsCommand(msg.Text) || p.muted.muted(msg.Chat, msg.SenderID, p.now())
}

// RefreshMutes reloads the in-memory index of active emulated mutes from
// the store (at start, then every few seconds: mutes other replicas
// imposed come in, ended ones go).
func (p *Pipeline) RefreshMutes(ctx context.Context) error {
	if p.store == nil {
		return nil
	}
	ms, err := p.store.ActiveMutes(ctx, p.now(), true)
	if err != nil {
		return fmt.Errorf("loading active mutes: %w", err)
	}
	p.muted.replace(ms)
	return nil
}

func (p *Pipeline) handleMessage(ctx context.Context, r *run, plat moderation.Platform, ev moderation.Event) {
	msg := ev.Message
	log := r.log

	rec, muted, err := p.mutes.Active(ctx, msg.Chat, msg.SenderID, p.now())
	r.fail(err)
	if muted && rec.Emulated {
		p.flush(ctx, r)
		if err := plat.Recall(ctx, msg.Chat, msg.MessageID); err != nil {
			log.Error("recalling a muted user's message failed", "user", msg.SenderID, "message_id", msg.MessageID, "err", err)
			return
		}
		log.Info("recalled message of muted user", "user", msg.SenderID, "message_id", msg.MessageID, "muted_until", rec.Until)
		return
	}
	parser := p.parsers[plat.Name()]
	if !parser.IsCommand(msg.Text) {
		return // ordinary chat, or a /word that is not Gavel's: no reply
	}
	botID, err := plat.BotID(ctx)
	if err != nil {
		log.Error("cannot learn the bot's own id; command ignored", "err", err)
		r.fail(err)
		return
	}
	if msg.SenderID == botID {
		return
	}
	cmd, perr := parser.Parse(msg, botID)
	if errors.Is(perr, commands.ErrNotCommand) {
		return
	}
	c := &moderation.Case{
		DeliveryID: ev.DeliveryID, Platform: ev.Platform, ChatID: msg.Chat.ID, Actor: msg.SenderID,
		Verb: cmd.Verb, Targets: cmd.Targets, Reason: cmd.Reason, Duration: cmd.Duration, At: p.now(),
	}
	switch reason := p.policy.AllowCommand(msg.Chat, msg.SenderID); reason {
	case policy.OK:
	case policy.ChatDisabled:
		log.Debug("command in a disabled chat ignored", "actor", msg.SenderID)
		return
	default:
		// Replying to a flood of commands would make Gavel the flood.
		log.Warn("command refused", "actor", msg.SenderID, "reason", reason)
		c.Outcome = moderation.RefusedOutcome(reason)
		p.record(ctx, r, c)
		return
	}
	// Who asks decides how much Gavel says: to users who may not
	// moderate it gives at most one short reply per chat per
	// policy.refusal_interval, never a usage lesson, so that a few
	// members cannot make Gavel the flood.
	mod, err := p.mayModerate(ctx, plat, msg)
	if err != nil {
		if p.retryLater(r, err) {
			return
		}
		log.Error("role lookup failed", "actor", msg.SenderID, "err", err)
		if p.policy.AllowRefusal(msg.Chat) {
			p.reply(ctx, r, plat, msg, p.text.platformError(plat.Name(), err))
		}
		return
	}
	if !mod {
		p.answerMember(ctx, r, plat, msg, cmd, perr, c)
		return
	}
	if perr != nil {
		log.Info("bad command", "actor", msg.SenderID, "err", perr)
		p.reply(ctx, r, plat, msg, p.text.usage(perr))
		return
	}
	// max_targets is the one limit on a command's targets, checked here
	// once for every verb: beyond it, a usage reply and nothing else.
	if !p.policy.TargetsAllowed(len(cmd.Targets)) {
		log.Info("command names too many targets", "actor", msg.SenderID, "targets", len(cmd.Targets))
		c.Outcome = moderation.RefusedOutcome(policy.TooManyTargets)
		p.record(ctx, r, c)
		p.reply(ctx, r, plat, msg, p.text.tooMany(len(cmd.Targets), p.policy.MaxTargets()))
		return
	}
	switch cmd.Verb {
	case moderation.VerbWarn, moderation.VerbUnwarn, moderation.VerbWarnings:
		p.warnCommand(ctx, r, plat, msg, cmd, botID, c)
	case moderation.VerbHelp:
		p.reply(ctx, r, plat, msg, p.text.help(p.prefixes[0]))
	case moderation.VerbCase:
		p.showCase(ctx, r, plat, msg, cmd.CaseID)
	default:
		p.runCommand(ctx, r, plat, msg, cmd, botID, c)
	}
}

// mayModerate reports whether the sender of msg may moderate its chat:
// one of Gavel's configured admins (no platform call), else by the chat
// role (cached).
func (p *Pipeline) mayModerate(ctx context.Context, plat moderation.Platform, msg *moderation.Message) (bool, error) {
	if p.policy.IsConfiguredAdmin(msg.Chat, msg.SenderID) {
		return true, nil
	}
	roles, err := p.roles(ctx, plat, msg.Chat, []string{msg.SenderID})
	if err != nil {
		return false, err
	}
	return p.policy.MayModerate(msg.Chat, msg.SenderID, roles[msg.SenderID]), nil
}

// answerMember answers a command from a user who may not moderate: /help
// gets the help text, anything else (a malformed command included) a
// short refusal and a case; either only if the chat's refusal interval
// has passed, else nothing.
func (p *Pipeline) answerMember(ctx context.Context, r *run, plat moderation.Platform, msg *moderation.Message, cmd moderation.Command, perr error, c *moderation.Case) {
	text := p.text.help(p.prefixes[0])
	if perr != nil || cmd.Verb != moderation.VerbHelp {
		c.Outcome = moderation.RefusedOutcome(policy.ActorNotAdmin)
		p.record(ctx, r, c)
		text = p.text.notModerator(cmd.Verb)
	}
	if !p.policy.AllowRefusal(msg.Chat) {
		r.log.Debug("no reply: the chat had one within policy.refusal_interval", "actor", msg.SenderID)
		return
	}
	p.reply(ctx, r, plat, msg, text)
}

func (p *Pipeline) runCommand(ctx context.Context, r *run, plat moderation.Platform, msg *moderation.Message, cmd moderation.Command, botID string, c *moderation.Case) {
	log := r.log.With("action", cmd.Verb, "actor", msg.SenderID)
	r.log = log
	names := displayNames(msg)

	caps, err := plat.Capabilities(ctx, msg.Chat)
	if err != nil && p.retryLater(r, err) {
		return
	}
	if err != nil {
		log.Error("capabilities lookup failed", "err", err)
		c.Outcome = moderation.OutcomeErrorCapabilities
		p.record(ctx, r, c)
		p.reply(ctx, r, plat, msg, p.text.platformError(plat.Name(), err))
		return
	}
	support := caps[cmd.Verb]
	if support == moderation.Unsupported || support == "" {
		c.Outcome = moderation.OutcomeUnsupported
		p.record(ctx, r, c)
		p.reply(ctx, r, plat, msg, p.text.unsupported(cmd.Verb, msg.Chat.Kind))
		return
	}
	// Roles are looked up one chunk of targets at a time when the
	// platform takes a bounded number per call, the next chunk's while
	// the current one is acted on: a mass action then starts after one
	// role call instead of all of them.
	chunks := [][]string{cmd.Targets}
	if rb := plat.Limits().RoleBatch; rb > 0 && len(cmd.Targets) > rb {
		chunks = slices.Collect(slices.Chunk(cmd.Targets, rb))
	}
	roles, err := p.roles(ctx, plat, msg.Chat, append([]string{msg.SenderID}, chunks[0]...))
	if err != nil && p.retryLater(r, err) {
		return
	}
	if err != nil {
		log.Error("role lookup failed", "err", err)
		c.Outcome = moderation.OutcomeErrorRoles
		p.record(ctx, r, c)
		p.reply(ctx, r, plat, msg, p.text.platformError(plat.Name(), err))
		return
	}
	decide := func(targets []string, roles map[string]moderation.Role) policy.Verdict {
		return p.policy.Decide(policy.Request{Chat: msg.Chat, ActorID: msg.SenderID, BotID: botID, Command: withTargets(cmd, targets), Roles: roles})
	}
	v := decide(chunks[0], roles)
	if !v.Allowed {
		c.Decisions = v.Decisions
		log.Info("command refused", "reason", v.Reason)
		c.Outcome = moderation.RefusedOutcome(v.Reason)
		p.record(ctx, r, c)
		p.reply(ctx, r, plat, msg, p.text.refused(v.Reason, cmd.Verb))
		return
	}
	actorRole := roles[msg.SenderID]

	dur := p.muteDuration(plat, cmd)
	c.Duration = dur
	opts := moderation.ActionOptions{ActionID: c.DeliveryID + "/" + string(cmd.Verb), Reason: cmd.Reason, Silent: cmd.Silent}
	results := make([]moderation.Result, 0, len(cmd.Targets))
	type lookup struct {
		roles map[string]moderation.Role
		err   error
	}
	ahead := make(chan lookup, 1) // at most one look-up in flight
	fetch := func(i int) {
		if i < len(chunks) {
			go func() {
				rs, err := p.roles(ctx, plat, msg.Chat, chunks[i])
				ahead <- lookup{rs, err}
			}()
		}
	}
	fetch(1)
	for i, chunk := range chunks {
		cv := v
		if i > 0 {
			got := <-ahead
			fetch(i + 1)
			if got.err != nil {
				// Transient or not, these targets were not acted on; a
				// retry of the job looks them up again.
				log.Warn("role lookup failed for a chunk of targets", "targets", len(chunk), "err", got.err)
				for _, t := range chunk {
					c.Decisions = append(c.Decisions, moderation.Decision{Target: t, Reason: moderation.ReasonRolesUnavailable})
					results = append(results, moderation.Result{UserID: t, Status: moderation.StatusFailed, Reason: moderation.ReasonRolesUnavailable, Detail: got.err.Error()})
				}
				continue
			}
			got.roles[msg.SenderID] = actorRole
			cv = decide(chunk, got.roles)
		}
		c.Decisions = append(c.Decisions, cv.Decisions...)
		results = append(results, p.actOn(ctx, r, plat, msg.Chat, cmd.Verb, support, cv, dur, opts)...)
	}

	if !r.last {
		var failed int
		for _, res := range results {
			if res.Status == moderation.StatusFailed {
				failed++
			}
		}
		if failed > 0 {
			log.Warn("targets failed transiently; the job will run again for them", "failed", failed)
			r.fail(fmt.Errorf("%w: %d of %d", ErrIncomplete, failed, len(results)))
			return
		}
	}
	c.Results = results
	c.Outcome = outcome(results)
	p.record(ctx, r, c)
	p.reply(ctx, r, plat, msg, p.text.summary(cmd.Verb, dur, v.DryRun, results, names, cmd.Reason, plat.Limits().Reply))
}

// actOn carries out one verdict: refused targets keep their reason,
// allowed ones are skipped in a dry run and acted on otherwise. Results
// are in the order of v.Decisions.
func (p *Pipeline) actOn(ctx context.Context, r *run, plat moderation.Platform, chat moderation.ChatRef, verb moderation.Verb, support moderation.Support, v policy.Verdict, dur time.Duration, opts moderation.ActionOptions) []moderation.Result {
	results := make([]moderation.Result, len(v.Decisions))
	var allowed []string
	idx := map[string]int{}
	for i, d := range v.Decisions {
		results[i] = moderation.Result{UserID: d.Target, Status: moderation.StatusRefused, Reason: d.Reason}
		if d.Allowed {
			idx[d.Target] = i
			allowed = append(allowed, d.Target)
		}
	}
	switch {
	case v.DryRun:
		for _, u := range allowed {
			results[idx[u]] = moderation.Result{UserID: u, Status: moderation.StatusSkipped, Reason: moderation.ReasonDryRun}
		}
	case len(allowed) > 0:
		for _, res := range p.execute(ctx, r, plat, chat, verb, support, allowed, dur, opts, moderation.ActionStep(verb)) {
			if i, ok := idx[res.UserID]; ok {
				results[i] = res
			}
		}
	}
	return results
}

// withTargets returns cmd naming only targets.
func withTargets(cmd moderation.Command, targets []string) moderation.Command {
	cmd.Targets = targets
	return cmd
}

// retryLater reports whether err may pass and the job has attempts left;
// if so it marks the run for a retry.
func (p *Pipeline) retryLater(r *run, err error) bool {
	if r.last || errors.Is(err, context.Canceled) {
		return false
	}
	var apiErr *moderation.APIError
	if errors.As(err, &apiErr) && apiErr.Kind == moderation.Permanent {
		return false
	}
	r.log.Warn("lookup failed transiently; the job will run again", "err", err)
	r.fail(fmt.Errorf("%w: %w", ErrIncomplete, err))
	return true
}

func (p *Pipeline) muteDuration(plat moderation.Platform, cmd moderation.Command) time.Duration {
	if cmd.Verb != moderation.VerbMute {
		return 0
	}
	def, permanent := p.cfg.DefaultMute, p.cfg.AllowPermanentMute
	// An adapter's own mute settings (Easemob's) override the defaults.
	if l := plat.Limits(); l.MuteDefault > 0 {
		def = l.MuteDefault
	}
	permanent = permanent || plat.Limits().PermanentMuteDefault
	switch {
	case cmd.Duration > 0:
		return cmd.Duration
	case permanent:
		return moderation.MuteForever
	default:
		return def
	}
}

// execute carries the action out for users, one platform batch
// (Limits().Batch[verb], positive: New checked) at a time, recording the
// results after each batch, so a job re-run after a crash repeats at most
// the batch that was in flight.
// In a durable job, users whose result is already recorded as settled
// (done, no-op or refused for good) are not acted on again.
//
// key names the action among the job's actions for the recorded results
// (the verb for a command; rule and verb for an auto-moderation hit).
func (p *Pipeline) execute(ctx context.Context, r *run, plat moderation.Platform, chat moderation.ChatRef, verb moderation.Verb, support moderation.Support, users []string, d time.Duration, opts moderation.ActionOptions, key moderation.StepKey) []moderation.Result {
	settled := map[string]moderation.Result{}
	p.flush(ctx, r) // what this run recorded is read back below
	if r.jobID != 0 && p.store != nil && !r.fresh {
		prior, err := p.store.Results(ctx, r.jobID, key)
		if err != nil {
			r.fail(err)
			return moderation.FailAll(users, fmt.Errorf("reading recorded results: %w", err))
		}
		for _, u := range users {
			if res, ok := prior[u]; ok && (res.Status.Succeeded() || res.Status == moderation.StatusRefused) {
				settled[u] = res
			}
		}
		if len(settled) > 0 {
			r.log.Info("job re-run: skipping targets already settled", "settled", len(settled))
		}
	}
	var todo []string
	for _, u := range users {
		if _, ok := settled[u]; !ok {
			todo = append(todo, u)
		}
	}
	size := plat.Limits().Batch[verb]
	if size <= 0 {
		// Only a verb outside moderation.ActionVerbs gets here.
		return moderation.FailAll(users, fmt.Errorf("verb %q: %w", verb, moderation.ErrUnsupported))
	}
	got := map[string]moderation.Result{}
	for start := 0; start < len(todo); start += size {
		batch := todo[start:min(start+size, len(todo))]
		// The previous batch's results commit before this call, so that
		// a crash repeats at most the batch in flight.
		p.flush(ctx, r)
		res := p.executeBatch(ctx, plat, chat, verb, support, batch, d, opts)
		p.stage(r, key, res)
		for _, x := range res {
			got[x.UserID] = x
		}
	}
	out := make([]moderation.Result, len(users))
	for i, u := range users {
		if x, ok := settled[u]; ok {
			out[i] = x
		} else if x, ok := got[u]; ok {
			out[i] = x
		} else {
			out[i] = moderation.Result{UserID: u, Status: moderation.StatusFailed, Reason: moderation.ReasonNoResult, Detail: "the platform adapter reported nothing for this user"}
		}
	}
	return out
}

func (p *Pipeline) executeBatch(ctx context.Context, plat moderation.Platform, chat moderation.ChatRef, verb moderation.Verb, support moderation.Support, users []string, d time.Duration, opts moderation.ActionOptions) []moderation.Result {
	now := p.now()
	switch verb {
	case moderation.VerbKick:
		res := plat.Remove(ctx, chat, users, opts)
		var gone []string
		for _, x := range res {
			if x.Status.Succeeded() {
				gone = append(gone, x.UserID)
			}
		}
		if err := p.roleCache.Forget(ctx, chat, gone); err != nil {
			p.log.Warn("role cache unavailable", "err", err)
		}
		return res
	case moderation.VerbMute:
		res := plat.Mute(ctx, chat, users, d, opts)
		until := time.Time{} // zero: until /unmute
		if d > 0 {
			until = now.Add(d)
		}
		// One write records the whole batch's mutes.
		emulated := support == moderation.Emulated
		var ms []moderation.Mute
		var at []int
		for i, x := range res {
			if x.Status.Succeeded() {
				ms = append(ms, moderation.Mute{Chat: chat, UserID: x.UserID, Until: until, Emulated: emulated})
				at = append(at, i)
			}
		}
		if err := p.mutes.Put(ctx, ms...); err != nil {
			if emulated { // without the record the mute does not exist
				for _, i := range at {
					res[i] = moderation.Result{UserID: res[i].UserID, Status: moderation.StatusFailed, Reason: moderation.ReasonStore, Detail: err.Error()}
				}
				return res
			}
			p.log.Error("recording native mutes failed", "users", len(ms), "err", err)
		}
		if emulated {
			for _, m := range ms {
				p.muted.put(m)
			}
		}
		return res
	case moderation.VerbUnmute:
		if support != moderation.Emulated {
			res := plat.Unmute(ctx, chat, users, opts)
			var ended []string
			for _, x := range res {
				if x.Status.Succeeded() {
					ended = append(ended, x.UserID)
				}
			}
			if err := p.mutes.Delete(ctx, chat, ended...); err != nil {
				p.log.Error("deleting mute records failed", "users", len(ended), "err", err)
			}
			return res
		}
		res := make([]moderation.Result, len(users))
		for i, u := range users {
			res[i] = moderation.Result{UserID: u, Status: moderation.StatusNoop, Reason: moderation.ReasonNotMuted}
			_, active, err := p.mutes.Active(ctx, chat, u, now)
			if err != nil {
				res[i] = moderation.Result{UserID: u, Status: moderation.StatusFailed, Reason: moderation.ReasonStore, Detail: err.Error()}
				continue
			}
			if !active {
				continue
			}
			if err := p.mutes.Delete(ctx, chat, u); err != nil {
				res[i] = moderation.Result{UserID: u, Status: moderation.StatusFailed, Reason: moderation.ReasonStore, Detail: err.Error()}
				continue
			}
			p.muted.del(chat, u)
			res[i] = moderation.Result{UserID: u, Status: moderation.StatusDone}
		}
		return res
	}
	return moderation.FailAll(users, fmt.Errorf("verb %q: %w", verb, moderation.ErrUnsupported))
}

func outcome(results []moderation.Result) moderation.Outcome {
	var ok, bad int
	for _, r := range results {
		if r.Status.Succeeded() || r.Status == moderation.StatusSkipped {
			ok++
		} else {
			bad++
		}
	}
	switch {
	case bad == 0:
		return moderation.OutcomeDone
	case ok == 0:
		return moderation.OutcomeFailed
	default:
		return moderation.OutcomePartial
	}
}

// Observer sees every recorded case and rule hit (metrics).
type Observer interface {
	Case(c *moderation.Case)
	RuleHit(platform, rule, action string, dryRun bool)
}

type nopObserver struct{}

func (nopObserver) Case(*moderation.Case)                {}
func (nopObserver) RuleHit(string, string, string, bool) {}

func (p *Pipeline) record(ctx context.Context, r *run, c *moderation.Case) {
	if a, ok := p.audit.(*StoreAuditor); ok && r.jobID != 0 && p.store != nil && a.Store == p.store {
		// The case commits with the results staged before it (those of
		// the action it records): one transaction, and c.ID is set.
		r.work.Cases = append(r.work.Cases, c)
		if err := p.flush(ctx, r); err != nil {
			r.log.Error("audit record failed", "err", err)
			return
		}
		logCase(ctx, a.Log, c)
		p.obs.Case(c)
		return
	}
	if err := p.audit.Record(ctx, c); err != nil {
		r.log.Error("audit record failed", "err", err)
		r.fail(err)
		return
	}
	p.obs.Case(c)
}

func (p *Pipeline) reply(ctx context.Context, r *run, plat moderation.Platform, msg *moderation.Message, text string) {
	durable := r.jobID != 0 && p.store != nil
	r.replies++
	// The record of a job's n-th reply, so that a job re-run after a crash
	// does not post the same reply twice.
	replyStep := moderation.ReplyStep(r.replies)
	// Everything the run did commits before the reply tells of it.
	p.flush(ctx, r)
	if durable && !r.fresh {
		prior, err := p.store.Results(ctx, r.jobID, replyStep)
		if err == nil && len(prior) > 0 {
			r.log.Info("job re-run: reply already sent")
			return
		}
	}
	// Every reply fits the platform's message limit (summaries shorten
	// their lists themselves; anything else is cut, never mid-character).
	text = fitText(text, plat.Limits().Reply)
	if err := plat.Reply(ctx, msg, text); err != nil {
		r.log.Error("reply failed", "err", err)
		return
	}
	p.stage(r, replyStep, []moderation.Result{{UserID: "-", Status: moderation.StatusDone}})
}

// stage adds a durable job's results to its unit of work (r.work).
func (p *Pipeline) stage(r *run, key moderation.StepKey, res []moderation.Result) {
	if r.jobID == 0 || p.store == nil || len(res) == 0 {
		return
	}
	r.work.Results = append(r.work.Results, moderation.JobResults{Step: key, Results: res})
}

// flush commits the job's unit of work (r.work) in one transaction.
//
// Writes are staged, not made, because adjacent writes — no platform call
// between them — may commit together without changing what a crash can
// repeat: a crash before the commit loses them all, exactly as a crash
// before the first of the separate writes would have. So the unit is
// committed before every platform call that acts or posts (Remove, Mute,
// Unmute via execute; Recall; Reply): the results of a call are durable
// before the next call, and a re-run repeats at most the call in flight
// (as before), and before the run reads its own records back. Look-ups
// (roles, capabilities, the bot's id) change nothing and do not flush.
// A case commits at once with the results before it (record); what is
// staged after the last call (the reply's record) commits with the job's
// finish (Jobs.runJob), or on an error or panic in handle.
//
// On an error the run fails (the job is retried) and the unit is dropped:
// the store has none of it, and the retry repeats what it recorded.
func (p *Pipeline) flush(ctx context.Context, r *run) error {
	if r.work.Empty() {
		r.work = moderation.Work{}
		return nil
	}
	w := r.work
	r.work = moderation.Work{}
	err := p.store.Commit(ctx, r.jobID, "", w)
	if err != nil {
		r.log.Error("recording the job's progress failed", "err", err)
		r.fail(err)
	}
	return err
}

func displayNames(msg *moderation.Message) map[string]string {
	names := map[string]string{}
	for _, m := range msg.Mentions {
		if m.Name != "" {
			names[m.UserID] = m.Name
		}
	}
	return names
}

// showCase answers /case N: the audit record of case N of this chat, to
// the chat's owner, managers and Gavel admins.
func (p *Pipeline) showCase(ctx context.Context, r *run, plat moderation.Platform, msg *moderation.Message, id int64) {
	roles, err := p.roles(ctx, plat, msg.Chat, []string{msg.SenderID})
	if err != nil {
		p.reply(ctx, r, plat, msg, p.text.platformError(plat.Name(), err))
		return
	}
	if !p.policy.MayModerate(msg.Chat, msg.SenderID, roles[msg.SenderID]) {
		p.reply(ctx, r, plat, msg, p.text.refused(policy.ActorNotAdmin, moderation.VerbCase))
		return
	}
	if p.store == nil {
		p.reply(ctx, r, plat, msg, p.text.noCase(id))
		return
	}
	c, err := p.store.Case(ctx, id)
	switch {
	case errors.Is(err, moderation.ErrNotFound), err == nil && (c.Platform != msg.Chat.Platform || c.ChatID != msg.Chat.ID):
		p.reply(ctx, r, plat, msg, p.text.noCase(id))
	case err != nil:
		r.fail(err)
		r.log.Error("reading case failed", "case", id, "err", err)
	default:
		p.reply(ctx, r, plat, msg, p.text.caseText(c))
	}
}
