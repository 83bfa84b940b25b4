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
	"strings"
	"sync/atomic"
	"time"

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
	// Workers is how many chats are served at once; default 8. Events of
	// one chat are always handled in order by one worker.
	Workers int `yaml:"workers"`
	// QueueSize bounds queued events per worker; default 1024. A full
	// queue answers the platform 503 so that it re-delivers.
	QueueSize int `yaml:"queue_size"`
	// ActionTimeout bounds the handling of one event; default 10m.
	ActionTimeout time.Duration `yaml:"action_timeout"`
}

// Validate reports the first bad key.
func (c Config) Validate() error {
	switch {
	case c.DefaultMute < 0:
		return errors.New("moderation.default_mute: must not be negative")
	case c.DefaultMute > commands.MaxDuration:
		return fmt.Errorf("moderation.default_mute: longer than %s", commands.MaxDuration)
	case c.Workers < 0:
		return errors.New("moderation.workers: must not be negative")
	case c.QueueSize < 0:
		return errors.New("moderation.queue_size: must not be negative")
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.DefaultMute == 0 {
		c.DefaultMute = 10 * time.Minute
	}
	if c.Workers == 0 {
		c.Workers = 8
	}
	if c.QueueSize == 0 {
		c.QueueSize = 1024
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
	Mutes     MuteStore // nil → in-memory
	Audit     Auditor   // nil → log-only auditor
	Language  string    // "en" (default) or "zh"
	Logger    *slog.Logger
	Now       func() time.Time
}

// Pipeline handles events. It is safe for concurrent use.
type Pipeline struct {
	cfg       Config
	platforms map[string]moderation.Platform
	parser    *commands.Parser
	policy    *policy.Engine
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
		parser:    d.Parser,
		policy:    d.Policy,
		mutes:     d.Mutes,
		audit:     d.Audit,
		log:       d.Logger,
		now:       d.Now,
		text:      textsFor(d.Language),
		prefixes:  d.Parser.Prefixes(),
	}
	for _, pl := range d.Platforms {
		p.platforms[pl.Name()] = pl
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.mutes == nil {
		p.mutes = NewMemoryMutes()
	}
	if p.audit == nil {
		p.audit = NewLogAuditor(p.log)
	}
	return p, nil
}

// Config returns the effective configuration (defaults applied).
func (p *Pipeline) Config() Config { return p.cfg }

// Handle acts on one event. Failures are logged, reported in the chat
// where a command asked for them, and recorded in the audit.
func (p *Pipeline) Handle(ctx context.Context, ev moderation.Event) {
	defer p.handled.Add(1)
	plat, ok := p.platforms[ev.Platform]
	if !ok {
		p.log.Error("event for a platform that is not configured", "platform", ev.Platform, "event_id", ev.DeliveryID)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.ActionTimeout)
	defer cancel()
	switch {
	case ev.Kind == moderation.EventMessage && ev.Message != nil:
		p.handleMessage(ctx, plat, ev)
	case ev.Kind == moderation.EventJoin && ev.Join != nil:
		p.log.Debug("join", "platform", ev.Platform, "chat", ev.Join.Chat.ID, "users", len(ev.Join.UserIDs))
	default:
		p.log.Warn("event without payload", "platform", ev.Platform, "event_id", ev.DeliveryID, "kind", ev.Kind)
	}
}

func (p *Pipeline) handleMessage(ctx context.Context, plat moderation.Platform, ev moderation.Event) {
	msg := ev.Message
	log := p.log.With("platform", ev.Platform, "chat", msg.Chat.ID, "event_id", ev.DeliveryID)

	if rec, ok := p.mutes.Active(ctx, msg.Chat, msg.SenderID, p.now()); ok && rec.Emulated {
		if err := plat.Recall(ctx, msg.Chat, msg.MessageID); err != nil {
			log.Error("recalling a muted user's message failed", "user", msg.SenderID, "message_id", msg.MessageID, "err", err)
			return
		}
		log.Info("recalled message of muted user", "user", msg.SenderID, "message_id", msg.MessageID, "muted_until", rec.Until)
		return
	}
	if !p.mayBeCommand(msg.Text) {
		return
	}
	botID, err := plat.BotID(ctx)
	if err != nil {
		log.Error("cannot learn the bot's own id; command ignored", "err", err)
		return
	}
	if msg.SenderID == botID {
		return
	}
	cmd, perr := p.parser.Parse(msg, botID)
	if errors.Is(perr, commands.ErrNotCommand) {
		return
	}
	c := &moderation.Case{
		DeliveryID: ev.DeliveryID, Platform: ev.Platform, ChatID: msg.Chat.ID, Actor: msg.SenderID,
		Verb: cmd.Verb, Targets: cmd.Targets, Reason: cmd.Reason, Duration: cmd.Duration, At: p.now(),
	}
	switch r := p.policy.AllowCommand(msg.Chat, msg.SenderID); r {
	case policy.OK:
	case policy.ChatDisabled:
		log.Debug("command in a disabled chat ignored", "actor", msg.SenderID)
		return
	default:
		// Replying to a flood of commands would make Gavel the flood.
		log.Warn("command refused", "actor", msg.SenderID, "reason", r)
		c.Outcome = "refused:" + string(r)
		p.record(ctx, log, c)
		return
	}
	if perr != nil {
		log.Info("bad command", "actor", msg.SenderID, "err", perr)
		p.reply(ctx, log, plat, msg, p.text.usage(perr))
		return
	}
	if cmd.Verb == moderation.VerbHelp {
		p.reply(ctx, log, plat, msg, p.text.help(p.prefixes[0]))
		return
	}
	p.runCommand(ctx, log, plat, msg, cmd, botID, c)
}

// mayBeCommand is the cheap test that skips ordinary chat: a command has
// the prefix somewhere in its text.
func (p *Pipeline) mayBeCommand(text string) bool {
	for _, pre := range p.prefixes {
		if strings.Contains(text, pre) {
			return true
		}
	}
	return false
}

func (p *Pipeline) runCommand(ctx context.Context, log *slog.Logger, plat moderation.Platform, msg *moderation.Message, cmd moderation.Command, botID string, c *moderation.Case) {
	log = log.With("action", cmd.Verb, "actor", msg.SenderID)
	names := displayNames(msg)

	if len(cmd.Targets) > p.policy.MaxTargets() {
		c.Outcome = "refused:" + string(policy.TooManyTargets)
		p.record(ctx, log, c)
		p.reply(ctx, log, plat, msg, p.text.tooMany(len(cmd.Targets), p.policy.MaxTargets()))
		return
	}
	caps, err := plat.Capabilities(ctx, msg.Chat)
	if err != nil {
		log.Error("capabilities lookup failed", "err", err)
		c.Outcome = "error:capabilities"
		p.record(ctx, log, c)
		p.reply(ctx, log, plat, msg, p.text.platformError(err))
		return
	}
	support := caps[cmd.Verb]
	if support == moderation.Unsupported || support == "" {
		c.Outcome = "unsupported"
		p.record(ctx, log, c)
		p.reply(ctx, log, plat, msg, p.text.unsupported(cmd.Verb, msg.Chat.Kind))
		return
	}
	roles, err := plat.Roles(ctx, msg.Chat, append([]string{msg.SenderID}, cmd.Targets...))
	if err != nil {
		log.Error("role lookup failed", "err", err)
		c.Outcome = "error:roles"
		p.record(ctx, log, c)
		p.reply(ctx, log, plat, msg, p.text.platformError(err))
		return
	}
	v := p.policy.Decide(policy.Request{Chat: msg.Chat, ActorID: msg.SenderID, BotID: botID, Command: cmd, Roles: roles})
	c.Decisions = v.Decisions
	if !v.Allowed {
		log.Info("command refused", "reason", v.Reason)
		c.Outcome = "refused:" + string(v.Reason)
		p.record(ctx, log, c)
		p.reply(ctx, log, plat, msg, p.text.refused(v.Reason, cmd.Verb))
		return
	}

	results := make([]moderation.Result, len(cmd.Targets))
	var allowed []string
	idx := map[string]int{}
	for i, d := range v.Decisions {
		results[i] = moderation.Result{UserID: d.Target, Status: moderation.StatusRefused, Reason: string(d.Reason)}
		if d.Allowed {
			idx[d.Target] = i
			allowed = append(allowed, d.Target)
		}
	}
	dur := p.muteDuration(plat, cmd)
	c.Duration = dur
	if v.DryRun {
		c.DryRun = true
		for _, u := range allowed {
			results[idx[u]] = moderation.Result{UserID: u, Status: moderation.StatusSkipped, Reason: "dry_run"}
		}
	} else if len(allowed) > 0 {
		opts := moderation.ActionOptions{ActionID: c.DeliveryID + "/" + string(cmd.Verb), Reason: cmd.Reason, Silent: cmd.Silent}
		for _, r := range p.execute(ctx, plat, msg.Chat, cmd.Verb, support, allowed, dur, opts) {
			if i, ok := idx[r.UserID]; ok {
				results[i] = r
			}
		}
	}
	c.Results = results
	c.Outcome = outcome(results)
	p.record(ctx, log, c)
	p.reply(ctx, log, plat, msg, p.text.summary(cmd.Verb, dur, v.DryRun, results, names, cmd.Reason))
}

// MuteDefaulter is implemented by adapters whose own config overrides the
// mute defaults (Easemob's default_mute and allow_permanent_mute). A zero
// duration means "use moderation.default_mute".
type MuteDefaulter interface {
	MuteDefaults() (d time.Duration, allowPermanent bool)
}

func (p *Pipeline) muteDuration(plat moderation.Platform, cmd moderation.Command) time.Duration {
	if cmd.Verb != moderation.VerbMute {
		return 0
	}
	def, permanent := p.cfg.DefaultMute, p.cfg.AllowPermanentMute
	if md, ok := plat.(MuteDefaulter); ok {
		d, perm := md.MuteDefaults()
		if d > 0 {
			def = d
		}
		permanent = permanent || perm
	}
	switch {
	case cmd.Duration > 0:
		return cmd.Duration
	case permanent:
		return moderation.MuteForever
	default:
		return def
	}
}

// execute calls the platform (or, for emulated mutes, the mute store) and
// returns one result per user.
func (p *Pipeline) execute(ctx context.Context, plat moderation.Platform, chat moderation.ChatRef, verb moderation.Verb, support moderation.Support, users []string, d time.Duration, opts moderation.ActionOptions) []moderation.Result {
	now := p.now()
	switch verb {
	case moderation.VerbKick:
		return plat.Remove(ctx, chat, users, opts)
	case moderation.VerbMute:
		res := plat.Mute(ctx, chat, users, d, opts)
		if support == moderation.Emulated {
			until := time.Time{} // zero: until /unmute
			if d > 0 {
				until = now.Add(d)
			}
			for i, r := range res {
				if !r.Status.Succeeded() {
					continue
				}
				if err := p.mutes.Put(ctx, moderation.Mute{Chat: chat, UserID: r.UserID, Until: until, Emulated: true}); err != nil {
					res[i] = moderation.Result{UserID: r.UserID, Status: moderation.StatusFailed, Reason: "store", Detail: err.Error()}
				}
			}
		}
		return res
	case moderation.VerbUnmute:
		if support != moderation.Emulated {
			return plat.Unmute(ctx, chat, users, opts)
		}
		res := make([]moderation.Result, len(users))
		for i, u := range users {
			res[i] = moderation.Result{UserID: u, Status: moderation.StatusNoop, Reason: "not_muted"}
			if _, ok := p.mutes.Active(ctx, chat, u, now); !ok {
				continue
			}
			if err := p.mutes.Delete(ctx, chat, u); err != nil {
				res[i] = moderation.Result{UserID: u, Status: moderation.StatusFailed, Reason: "store", Detail: err.Error()}
				continue
			}
			res[i] = moderation.Result{UserID: u, Status: moderation.StatusDone}
		}
		return res
	}
	return moderation.FailAll(users, fmt.Errorf("verb %q: %w", verb, moderation.ErrUnsupported))
}

func outcome(results []moderation.Result) string {
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
		return "done"
	case ok == 0:
		return "failed"
	default:
		return "partial"
	}
}

func (p *Pipeline) record(ctx context.Context, log *slog.Logger, c *moderation.Case) {
	if err := p.audit.Record(ctx, c); err != nil {
		log.Error("audit record failed", "err", err)
	}
}

func (p *Pipeline) reply(ctx context.Context, log *slog.Logger, plat moderation.Platform, msg *moderation.Message, text string) {
	if err := plat.Reply(ctx, msg, text); err != nil {
		log.Error("reply failed", "err", err)
	}
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
