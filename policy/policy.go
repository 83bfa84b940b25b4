// Package policy decides, per target, whether a moderation command may be
// carried out: who may moderate, who may never be a target, how many
// targets and how many commands an actor may send, and which chats are
// disabled or in dry-run.
package policy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/patrickmn/go-cache"
	"golang.org/x/time/rate"

	"gavel/moderation"
)

// Reason is a stable code explaining a decision; shown in replies and logs.
// It is moderation.Reason: command-level and per-target codes are one set
// the reply texts cover.
type Reason = moderation.Reason

const (
	OK               = moderation.ReasonOK
	ChatDisabled     = moderation.ReasonChatDisabled
	ActorRateLimited = moderation.ReasonActorRateLimited
	ActorNotAdmin    = moderation.ReasonActorNotAdmin
	TooManyTargets   = moderation.ReasonTooManyTargets
	TargetOwner      = moderation.ReasonTargetOwner
	TargetBot        = moderation.ReasonTargetBot
	TargetSelf       = moderation.ReasonTargetSelf
	TargetProtected  = moderation.ReasonTargetProtected
	TargetAdmin      = moderation.ReasonTargetAdmin
)

// Config is the policy block of config.yaml.
type Config struct {
	// Admins are "platform:user_id" entries always allowed to moderate.
	Admins []string `yaml:"admins"`
	// Protected are "platform:user_id" entries never acted upon.
	Protected []string `yaml:"protected"`
	// MaxTargets bounds targets per command; default 20.
	MaxTargets int `yaml:"max_targets"`
	// CommandsPerMinute bounds commands per actor per chat; default 10.
	CommandsPerMinute int `yaml:"commands_per_minute"`
	// RefusalInterval is the least time between two replies Gavel gives
	// in one chat to users who may not moderate there (a refusal, /help);
	// the rest get no reply, so that members cannot turn Gavel into a
	// flood. Default 1m. Counted per replica.
	RefusalInterval time.Duration `yaml:"refusal_interval"`
	// Chats holds per-chat settings keyed "platform:chat_id".
	Chats map[string]ChatConfig `yaml:"chats"`
	// ConfirmAbove holds a command naming more targets than this for an
	// admin's confirmation (/confirm N, a Feishu card) instead of
	// carrying it out; 0: never by count.
	ConfirmAbove int `yaml:"confirm_above"`
	// ConfirmVerbs are verbs always held for confirmation, whatever the
	// number of targets ("ban", "lock", "purge").
	ConfirmVerbs []moderation.Verb `yaml:"confirm_verbs"`
	// ConfirmTimeout is how long a held command waits for its answer
	// before it expires; default 5m.
	ConfirmTimeout time.Duration `yaml:"confirm_timeout"`
}

// Confirmable are the verbs policy.confirm_verbs may list: those that act.
var Confirmable = []moderation.Verb{
	moderation.VerbKick, moderation.VerbMute, moderation.VerbUnmute, moderation.VerbBan, moderation.VerbUnban,
	moderation.VerbLock, moderation.VerbUnlock, moderation.VerbPurge, moderation.VerbWarn, moderation.VerbUnwarn,
}

// DefaultConfirmTimeout is policy.confirm_timeout's default;
// MaxConfirmTimeout its largest value.
const (
	DefaultConfirmTimeout = 5 * time.Minute
	MaxConfirmTimeout     = 7 * 24 * time.Hour
)

// ChatConfig are per-chat switches.
type ChatConfig struct {
	// Disabled turns Gavel off in the chat: commands are ignored.
	Disabled bool `yaml:"disabled"`
	// DryRun decides and replies "would kick …" without calling the API.
	DryRun bool `yaml:"dry_run"`
}

// Validate reports the first bad key.
func (c Config) Validate() error {
	for i, e := range c.Admins {
		if !validKey(e) {
			return fmt.Errorf("policy.admins[%d]: %q is not platform:user_id", i, e)
		}
	}
	for i, e := range c.Protected {
		if !validKey(e) {
			return fmt.Errorf("policy.protected[%d]: %q is not platform:user_id", i, e)
		}
	}
	for k := range c.Chats {
		if !validKey(k) {
			return fmt.Errorf("policy.chats: key %q is not platform:chat_id", k)
		}
	}
	if c.MaxTargets < 0 {
		return fmt.Errorf("policy.max_targets: must not be negative")
	}
	if c.CommandsPerMinute < 0 {
		return fmt.Errorf("policy.commands_per_minute: must not be negative")
	}
	if c.RefusalInterval < 0 {
		return fmt.Errorf("policy.refusal_interval: must not be negative")
	}
	return c.validateConfirm()
}

func (c Config) validateConfirm() error {
	maxTargets := c.MaxTargets
	if maxTargets == 0 {
		maxTargets = defaultMaxTargets
	}
	switch {
	case c.ConfirmAbove < 0:
		return fmt.Errorf("policy.confirm_above: must not be negative (0: no confirmation by count)")
	case c.ConfirmAbove >= maxTargets:
		return fmt.Errorf("policy.confirm_above: %d is not below policy.max_targets (%d), so no command could reach it", c.ConfirmAbove, maxTargets)
	case c.ConfirmTimeout < 0:
		return fmt.Errorf("policy.confirm_timeout: must not be negative (0: the default %s)", moderation.FormatDuration(DefaultConfirmTimeout))
	case c.ConfirmTimeout > MaxConfirmTimeout:
		return fmt.Errorf("policy.confirm_timeout: longer than %s", moderation.FormatDuration(MaxConfirmTimeout))
	}
	for i, v := range c.ConfirmVerbs {
		if !slices.Contains(Confirmable, v) {
			return fmt.Errorf("policy.confirm_verbs[%d]: %q is not a verb that acts (one of %v)", i, v, Confirmable)
		}
	}
	return nil
}

func validKey(s string) bool {
	p, id, ok := strings.Cut(s, ":")
	return ok && p != "" && id != ""
}

// CommandLimiter counts commands per actor across replicas (Redis); the
// engine falls back to its own count when it fails.
type CommandLimiter interface {
	AllowCommand(ctx context.Context, key string, perMinute int) (bool, error)
}

// Option adjusts an Engine.
type Option func(*Engine)

// WithCommandLimiter counts commands_per_minute with l (shared by every
// replica) instead of in this process only.
func WithCommandLimiter(l CommandLimiter) Option { return func(e *Engine) { e.shared = l } }

// Engine applies a Config. It is safe for concurrent use.
type Engine struct {
	shared    CommandLimiter
	cfg       Config
	admins    map[string]bool
	protected map[string]bool
	now       func() time.Time

	mu       sync.Mutex
	limiters *cache.Cache         // actor key → *rate.Limiter
	refused  map[string]time.Time // chat → when a non-moderator last got a reply
}

// New returns an Engine for cfg; now may be nil (time.Now).
func New(cfg Config, now func() time.Time, opts ...Option) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxTargets == 0 {
		cfg.MaxTargets = defaultMaxTargets
	}
	if cfg.ConfirmTimeout == 0 {
		cfg.ConfirmTimeout = DefaultConfirmTimeout
	}
	if cfg.CommandsPerMinute == 0 {
		cfg.CommandsPerMinute = 10
	}
	if cfg.RefusalInterval == 0 {
		cfg.RefusalInterval = time.Minute
	}
	if now == nil {
		now = time.Now
	}
	set := func(keys []string) map[string]bool {
		m := make(map[string]bool, len(keys))
		for _, k := range keys {
			m[k] = true
		}
		return m
	}
	e := &Engine{
		cfg:       cfg,
		admins:    set(cfg.Admins),
		protected: set(cfg.Protected),
		now:       now,
		limiters:  cache.New(10*time.Minute, 10*time.Minute),
		refused:   map[string]time.Time{},
	}
	for _, o := range opts {
		o(e)
	}
	return e, nil
}

// defaultMaxTargets is policy.max_targets's default.
const defaultMaxTargets = 20

// NeedsConfirmation reports whether cmd is held for an admin's
// confirmation: it names more than policy.confirm_above targets, or its
// verb is in policy.confirm_verbs.
func (e *Engine) NeedsConfirmation(cmd moderation.Command) bool {
	if !slices.Contains(Confirmable, cmd.Verb) {
		return false
	}
	return (e.cfg.ConfirmAbove > 0 && len(cmd.Targets) > e.cfg.ConfirmAbove) || slices.Contains(e.cfg.ConfirmVerbs, cmd.Verb)
}

// ConfirmEnabled reports whether any command may be held for
// confirmation.
func (e *Engine) ConfirmEnabled() bool { return e.cfg.ConfirmAbove > 0 || len(e.cfg.ConfirmVerbs) > 0 }

// ConfirmTimeout is how long a held command waits for its answer
// (policy.confirm_timeout, default applied).
func (e *Engine) ConfirmTimeout() time.Duration { return e.cfg.ConfirmTimeout }

// MaxTargets is the configured per-command target limit.
func (e *Engine) MaxTargets() int { return e.cfg.MaxTargets }

// TargetsAllowed reports whether a command may name n targets: at most
// policy.max_targets. It is the one check of that limit; nothing else
// bounds or truncates a command's targets.
func (e *Engine) TargetsAllowed(n int) bool { return n <= e.cfg.MaxTargets }

// Chat returns the settings for chat.
func (e *Engine) Chat(chat moderation.ChatRef) ChatConfig { return e.cfg.Chats[chat.String()] }

// Request is everything Decide needs about one command.
type Request struct {
	Chat    moderation.ChatRef
	ActorID string
	BotID   string
	Command moderation.Command
	// Roles holds the chat role of the actor and of every target.
	Roles map[string]moderation.Role
}

// Verdict is the outcome of Decide.
type Verdict struct {
	// Allowed is false when the whole command is refused (Reason says why).
	Allowed bool   `json:"allowed"`
	Reason  Reason `json:"reason"`
	DryRun  bool   `json:"dry_run,omitempty"`
	// Decisions has one entry per target, in command order, when Allowed.
	Decisions []moderation.Decision `json:"decisions,omitempty"`
}

// AllowCommand applies the chat switch and the per-actor rate limit. Call
// it once per command, before replying to or acting on it; it consumes one
// unit of the actor's budget.
func (e *Engine) AllowCommand(chat moderation.ChatRef, actorID string) Reason {
	if e.Chat(chat).Disabled {
		return ChatDisabled
	}
	key := chat.String() + "|" + actorID
	if e.shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		ok, err := e.shared.AllowCommand(ctx, key, e.cfg.CommandsPerMinute)
		cancel()
		if err == nil {
			if !ok {
				return ActorRateLimited
			}
			return OK
		}
		// Redis unreachable: count here.
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var lim *rate.Limiter
	if v, ok := e.limiters.Get(key); ok {
		lim = v.(*rate.Limiter)
	} else {
		perMin := e.cfg.CommandsPerMinute
		lim = rate.NewLimiter(rate.Limit(float64(perMin)/60), perMin)
		e.limiters.SetDefault(key, lim)
	}
	if !lim.AllowN(e.now(), 1) {
		return ActorRateLimited
	}
	return OK
}

// AllowRefusal reports whether Gavel may reply in chat to a user who may
// not moderate there (a refusal, /help): at most once per
// policy.refusal_interval per chat, in this process. A true answer uses
// the chat's turn.
func (e *Engine) AllowRefusal(chat moderation.ChatRef) bool {
	now := e.now()
	key := chat.String()
	e.mu.Lock()
	defer e.mu.Unlock()
	if last, ok := e.refused[key]; ok && now.Sub(last) < e.cfg.RefusalInterval {
		return false
	}
	if len(e.refused) > 10000 { // forget chats whose interval has passed
		for k, t := range e.refused {
			if now.Sub(t) >= e.cfg.RefusalInterval {
				delete(e.refused, k)
			}
		}
	}
	e.refused[key] = now
	return true
}

// IsConfiguredAdmin reports, without asking the platform, whether actor is one
// of Gavel's configured admins for chat's platform.
func (e *Engine) IsConfiguredAdmin(chat moderation.ChatRef, actorID string) bool {
	return e.admins[chat.Platform+":"+actorID]
}

// Admins returns Gavel's configured admins (policy.admins) on platform.
func (e *Engine) Admins(platform string) []string {
	var out []string
	for _, a := range e.cfg.Admins {
		if p, id, ok := strings.Cut(a, ":"); ok && p == platform && id != "" {
			out = append(out, id)
		}
	}
	return out
}

// MayModerate reports whether actor, with role in chat, may use
// moderation commands there.
func (e *Engine) MayModerate(chat moderation.ChatRef, actorID string, role moderation.Role) bool {
	return e.admins[chat.Platform+":"+actorID] || role == moderation.RoleOwner || role == moderation.RoleAdmin
}

// Decide applies the authority rules. It does not consume rate budget, and
// it does not apply max_targets (TargetsAllowed does, once per command,
// before any target is looked up; Decide may be asked about one chunk of
// a command's targets at a time).
func (e *Engine) Decide(req Request) Verdict {
	plat := req.Chat.Platform
	actorRole := req.Roles[req.ActorID]
	globalAdmin := e.admins[plat+":"+req.ActorID]
	if !e.MayModerate(req.Chat, req.ActorID, actorRole) {
		return Verdict{Reason: ActorNotAdmin}
	}
	v := Verdict{Allowed: true, Reason: OK, DryRun: e.Chat(req.Chat).DryRun}
	for _, t := range req.Command.Targets {
		d := moderation.Decision{Target: t, Allowed: true, Reason: OK}
		role := req.Roles[t]
		switch {
		case t == req.BotID:
			d.Allowed, d.Reason = false, TargetBot
		case t == req.ActorID:
			d.Allowed, d.Reason = false, TargetSelf
		case role == moderation.RoleOwner:
			d.Allowed, d.Reason = false, TargetOwner
		case e.protected[plat+":"+t]:
			d.Allowed, d.Reason = false, TargetProtected
		case role == moderation.RoleAdmin && actorRole != moderation.RoleOwner && !globalAdmin:
			// A manager may not act on another manager; the owner and
			// Gavel's configured admins may.
			d.Allowed, d.Reason = false, TargetAdmin
		}
		v.Decisions = append(v.Decisions, d)
	}
	return v
}

// DecideTargets applies the target rules alone, for actions Gavel takes on
// its own authority (auto-moderation, the warnings ladder): the owner,
// every admin, protected users and the bot itself are never targets.
func (e *Engine) DecideTargets(chat moderation.ChatRef, botID string, targets []string, roles map[string]moderation.Role) []moderation.Decision {
	out := make([]moderation.Decision, 0, len(targets))
	for _, t := range targets {
		d := moderation.Decision{Target: t, Allowed: true, Reason: OK}
		switch {
		case t == botID:
			d.Allowed, d.Reason = false, TargetBot
		case roles[t] == moderation.RoleOwner:
			d.Allowed, d.Reason = false, TargetOwner
		case roles[t] == moderation.RoleAdmin || e.admins[chat.Platform+":"+t]:
			d.Allowed, d.Reason = false, TargetAdmin
		case e.protected[chat.Platform+":"+t]:
			d.Allowed, d.Reason = false, TargetProtected
		}
		out = append(out, d)
	}
	return out
}
