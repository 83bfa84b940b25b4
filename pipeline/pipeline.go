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
	"gavel/jobs"
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
	Jobs jobs.Config `yaml:",inline"`
	// Recent bounds the recent-message index /purge reads.
	Recent RecentConfig `yaml:"recent"`
	// ScheduledLocks lock chats every day (宵禁).
	ScheduledLocks []ScheduledLock `yaml:"scheduled_locks"`
	// Verification of new joiners, per chat ("platform:chat_id"); off
	// for chats not named.
	Verification map[string]VerifyConfig `yaml:"verification"`
	// Reports are members' /report.
	Reports ReportsConfig `yaml:"reports"`
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
	if err := c.Recent.Validate(); err != nil {
		return err
	}
	if err := validateVerification(c.Verification); err != nil {
		return err
	}
	if err := c.Reports.validate(); err != nil {
		return err
	}
	_, err := parseSchedules(c.ScheduledLocks)
	return err
}

func (c Config) withDefaults() Config {
	if c.DefaultMute == 0 {
		c.DefaultMute = 10 * time.Minute
	}
	c.Jobs = c.Jobs.WithDefaults()
	if c.RoleCacheTTL == 0 {
		c.RoleCacheTTL = time.Minute
	}
	if c.ActionTimeout == 0 {
		c.ActionTimeout = 10 * time.Minute
	}
	c.Recent = c.Recent.WithDefaults()
	c.Reports = c.Reports.withDefaults()
	return c
}

// Deps are what a Pipeline works with.
type Deps struct {
	Platforms []moderation.Platform
	Parser    *commands.Parser
	Policy    *policy.Engine
	// Store makes jobs durable and idempotent and keeps mutes, warnings
	// and cases; required.
	Store moderation.Store
	// Audit, when set, receives the cases instead of the store (the demo
	// keeps its own); nil: each case commits with the job's progress and
	// is logged.
	Audit    Auditor
	Observer Observer // nil → none
	// Roles caches role lookups; nil → in memory for moderation.role_cache_ttl.
	Roles RoleCache
	// Recent is the recent-message index; nil → in memory, bounded by
	// moderation.recent.
	Recent RecentIndex
	// Sanctions is the index of bans and locks, shared with the adapters
	// that ask it who may join (TIM's JoinGate); nil → a new one.
	Sanctions *SanctionIndex
	// Automod, when set, evaluates auto-moderation rules on every message
	// and join (on the webhook path: it is local and fast).
	Automod *automod.Engine
	// ModLog names the chats cases are posted to (config.yaml's modlog:).
	ModLog ModLogConfig
	// PostLimiter, when set, counts the mod-log's budget across replicas
	// (cluster.Cluster); nil → each replica counts its own.
	PostLimiter PostLimiter
	Language    string // "en" (default) or "zh"
	Logger      *slog.Logger
	Now         func() time.Time
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
	mutes     *muteBook
	sanctions *sanctionBook
	recent    RecentIndex
	schedules []schedule
	sent      timersSent
	held      heldScan
	rules     *automod.Engine
	modlog    ModLogConfig
	// budget counts posts to mod-log chats (the automod engine's notice
	// window, keyed by the mod-log chat), modlogPerMinute of them.
	budget          *automod.Engine
	postLimiter     PostLimiter
	modlogPerMinute int
	digests         digestNotes
	obs             Observer
	audit           Auditor
	text            *texts
	log             *slog.Logger
	now             func() time.Time
	prefixes        []string

	handled atomic.Int64
}

// New returns a Pipeline.
func New(cfg Config, d Deps) (*Pipeline, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Parser == nil || d.Policy == nil || d.Store == nil {
		return nil, errors.New("pipeline: parser, policy and store are required")
	}
	if err := d.ModLog.Validate(); err != nil {
		return nil, err
	}
	if err := d.ModLog.CheckPlatforms(func(name string) bool {
		return slices.ContainsFunc(d.Platforms, func(pl moderation.Platform) bool { return pl.Name() == name })
	}); err != nil {
		return nil, err
	}
	p := &Pipeline{
		cfg:       cfg.withDefaults(),
		platforms: map[string]moderation.Platform{},
		parsers:   map[string]*commands.Parser{},
		policy:    d.Policy,
		store:     d.Store,
		roleCache: d.Roles,
		rules:     d.Automod,
		modlog:    d.ModLog,
		obs:       d.Observer,
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
	p.mutes = &muteBook{store: p.store, index: newMuteIndex(), log: p.log, now: p.now}
	if d.Sanctions == nil {
		d.Sanctions = NewSanctionIndex(p.now)
	}
	p.sanctions = &sanctionBook{store: p.store, index: d.Sanctions, log: p.log, now: p.now}
	p.recent = d.Recent
	if p.recent == nil {
		p.recent = NewMemoryRecent(p.cfg.Recent)
	}
	p.budget, p.postLimiter, p.modlogPerMinute = d.Automod, d.PostLimiter, d.ModLog.PerMinute
	if p.budget == nil {
		var err error
		if p.budget, err = automod.New(automod.Config{}, p.now); err != nil {
			return nil, fmt.Errorf("pipeline: the mod-log budget: %w", err)
		}
	}
	if p.modlogPerMinute == 0 {
		p.modlogPerMinute = p.budget.NoticeLimit()
	}
	p.schedules, _ = parseSchedules(p.cfg.ScheduledLocks) // validated above
	return p, nil
}

// Config returns the effective configuration (defaults applied).
func (p *Pipeline) Config() Config { return p.cfg }

// run carries what one handling of a job needs: its platform, its
// event and the chat and message it is about, its job, its logger, and
// the first store error, which makes a job retry instead of finishing.
// The flows are methods taking it, so none of these is threaded through
// their parameters.
type run struct {
	plat moderation.Platform
	ev   moderation.Event
	chat moderation.ChatRef
	// msg is the message the event is about; nil for a join. Replies
	// answer it.
	msg   *moderation.Message
	jobID int64
	// last is true when no retry follows: the job's final attempt.
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
	// replyToBot: the command replies to a bot's message (no target).
	replyToBot bool
	// logged are the cases recorded by this run that go to the mod-log,
	// posted when the run's work is done (postModLog).
	logged []*moderation.Case
	// answers, when not nil, collect the run's replies instead of posting
	// them: a card press or a console action has no message to answer,
	// and says what happened on the card (actions.go).
	answers *[]string
}

func (r *run) fail(err error) {
	if err != nil && r.err == nil {
		r.err = err
	}
}

// ErrIncomplete reports a job some of whose targets failed for a reason
// that may pass (the platform stayed busy through every retry); the job is
// run again and only those targets are tried.
var ErrIncomplete = errors.New("some targets failed transiently")

// NewJobs returns the durable job runner of p's events, on p's store.
func (p *Pipeline) NewJobs() *jobs.Runner {
	return jobs.New(p.cfg.Jobs, p.store, p, jobs.Options{Logger: p.log, Now: p.now})
}

// HandleJob acts on a durable job (jobs.Handler). Targets the job already
// recorded as settled are skipped, so a job re-run after a crash does not
// repeat them. An error means the job should be retried: a store write
// failed, or targets failed transiently and this is not the job's last
// attempt. The job's last unit of work (what it stored after its last
// platform call: typically the record of its reply) is returned, not
// committed: the runner commits it with the job's finish, in one
// transaction. On an error everything is committed already and the Work
// is empty.
func (p *Pipeline) HandleJob(ctx context.Context, job moderation.Job) (_ moderation.Work, err error) {
	defer p.handled.Add(1)
	ev := job.Event
	plat, ok := p.platforms[ev.Platform]
	if !ok {
		p.log.Error("event for a platform that is not configured", "platform", ev.Platform, "event_id", ev.DeliveryID)
		return moderation.Work{}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.ActionTimeout)
	defer cancel()
	r := &run{plat: plat, ev: ev, jobID: job.ID, last: job.Attempts >= p.cfg.Jobs.MaxAttempts, fresh: job.Attempts == 1,
		log: p.log.With("platform", ev.Platform, "event_id", ev.DeliveryID, "job", job.ID)}
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
		r.msg, r.chat = ev.Message, ev.Message.Chat
		r.log = r.log.With("chat", r.chat.ID)
		if len(ev.Hits) > 0 {
			p.handleHits(ctx, r)
			if r.err != nil {
				return moderation.Work{}, r.err
			}
		}
		p.handleMessage(ctx, r)
	case ev.Kind == moderation.EventJoin && ev.Join != nil:
		r.chat = ev.Join.Chat
		r.log = r.log.With("chat", r.chat.ID)
		p.enforceBans(ctx, r)
		if r.err != nil {
			return moderation.Work{}, r.err
		}
		p.handleHits(ctx, r)
		if r.err == nil {
			p.markNewcomers(ctx, r)
		}
		if r.err == nil {
			p.verifyJoin(ctx, r)
		}
	case ev.Kind == moderation.EventTimer && ev.Timer != nil:
		r.chat = ev.Timer.Chat
		r.log = r.log.With("chat", r.chat.ID, "timer", ev.Timer.Verb)
		p.handleTimer(ctx, r)
	case ev.Kind == moderation.EventScreened && ev.Message != nil && ev.Screening != nil:
		r.msg, r.chat = ev.Message, ev.Message.Chat
		if ev.Screening.Rule == verifyRule {
			p.verifyAnswer(ctx, r, false) // held before delivery: an answer
			break
		}
		p.recordScreened(ctx, r)
	case ev.Kind == moderation.EventRolesChanged && ev.RolesChanged != nil:
		// Only when Triage could not drop the cached roles (Redis down):
		// the job retries until it can.
		r.fail(p.rolesChanged(ctx, ev.RolesChanged))
	case ev.Kind == moderation.EventAction && ev.Action != nil:
		p.handleAction(ctx, r)
	default:
		r.log.Warn("event without payload", "kind", ev.Kind)
	}
	if r.err == nil {
		// After the action and its reply: the mod-log never holds them up.
		p.postModLog(ctx, r)
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
// mute, a screened message, a card press or console action. Cheap checks first; the rules are local.
func (p *Pipeline) Triage(ctx context.Context, ev moderation.Event) (moderation.Event, bool) {
	if _, ok := p.platforms[ev.Platform]; !ok {
		return ev, false
	}
	switch {
	case ev.Kind == moderation.EventScreened:
		return ev, ev.Message != nil && ev.Screening != nil
	case ev.Kind == moderation.EventRolesChanged:
		// Dropped here, before the platform's delivery is answered, so
		// that a command after the change is decided on fresh roles; a
		// job only when the cache could not be reached.
		if ev.RolesChanged == nil {
			return ev, false
		}
		if err := p.rolesChanged(ctx, ev.RolesChanged); err != nil {
			p.log.Warn("role cache unavailable; dropping the roles in a job", "platform", ev.Platform, "event_id", ev.DeliveryID, "err", err)
			return ev, true
		}
		return ev, false
	case ev.Kind == moderation.EventJoin && ev.Join != nil:
		// A joiner may be cached as not a member.
		if err := p.roleCache.Forget(ctx, ev.Join.Chat, ev.Join.UserIDs); err != nil {
			p.log.Warn("role cache unavailable", "err", err)
		}
		if p.rules != nil {
			ev.Hits = ruleHits(p.rules.Join(ev.Join))
		}
		// A banned user who got in anyway is removed again; a joiner
		// may have to verify, or be marked a newcomer for reports.
		_, verifies := p.cfg.Verification[ev.Join.Chat.String()]
		return ev, len(ev.Hits) > 0 || len(p.sanctions.index.banned(ev.Join.Chat, ev.Join.UserIDs)) > 0 ||
			verifies || p.marksNewcomers()
	case ev.Kind == moderation.EventTimer:
		return ev, ev.Timer != nil
	case ev.Kind == moderation.EventAction:
		// A card press or a console action: policy decides when it runs.
		return ev, ev.Action != nil
	case ev.Kind != moderation.EventMessage || ev.Message == nil:
		return ev, false
	}
	msg := ev.Message
	// Every message is remembered (id, sender, time) for /purge.
	if err := p.recent.Add(ctx, msg.Chat, moderation.MessageRef{ID: msg.MessageID, SenderID: msg.SenderID, SentAt: msg.SentAt}); err != nil {
		p.log.Warn("recent-message index unavailable", "err", err)
	}
	switch {
	case p.rules == nil:
	case ev.Late:
		// A re-push: content rules only; flood counts by sending time and
		// would count a re-pushed message twice.
		ev.Hits = ruleHits(p.rules.ContentOnly(msg))
	default:
		ev.Hits = ruleHits(p.rules.Message(msg))
	}
	return ev, len(ev.Hits) > 0 || p.parsers[ev.Platform].IsCommand(msg.Text) || p.mutes.suspect(msg.Chat, msg.SenderID) ||
		p.sanctions.index.pending(msg.Chat, msg.SenderID)
}

// RefreshMutes reloads the in-memory index of active emulated mutes from
// the store (at start; then MaintainMutes).
func (p *Pipeline) RefreshMutes(ctx context.Context) error { return p.mutes.refresh(ctx) }

// RefreshSanctions loads the index of bans and locks from the store (at
// start; then MaintainSanctions every second).
func (p *Pipeline) RefreshSanctions(ctx context.Context) error { return p.sanctions.refresh(ctx) }

// MaintainMutes ends the mutes that have run out and reloads the index of
// emulated mutes, so that a mute another replica imposed is enforced here
// too. The app calls it every second.
func (p *Pipeline) MaintainMutes(ctx context.Context) error {
	err := p.mutes.expire(ctx)
	return errors.Join(err, p.mutes.refresh(ctx))
}
