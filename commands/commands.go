// Package commands turns the text of a chat message into a
// moderation.Command. One grammar serves every platform, in English and
// Chinese:
//
//	[@bot] /kick @a @b [reason…]        (alias /remove, 踢, 移出)
//	[@bot] /kick -s @a [reason…]         (-s: ask the platform not to announce it)
//	[@bot] /kick -p @a [reason…]         (-p: also recall @a's recent messages)
//	[@bot] /mute @a [duration] [reason…] (禁言)
//	[@bot] /unmute @a                    (解禁, 解除禁言)
//	[@bot] /ban [-p] @a [duration] [reason…] (封禁, 拉黑)
//	[@bot] /unban @a                     (解封, 解除封禁)
//	[@bot] /lock [duration] [reason…]    (锁群, 全员禁言): no targets
//	[@bot] /unlock                       (解锁, 解除全员禁言)
//	[@bot] /purge N [reason…]            (清理, 批量撤回): the chat's last N messages
//	[@bot] /purge @a [N] [reason…]       the recent messages of @a (N: commands.purge_user_count)
//	[@bot] /help                         (帮助)
//	[@bot] /case 12                      (案例): show audit case 12 to an admin
//	[@bot] /warn @a [reason…]            (警告); /unwarn @a (撤销警告); /warnings @a (警告记录)
//	[@bot] /confirm 12, /cancel 12        (确认, 取消): answer held command 12
//	[@bot] /undo 12 [reason…]            (撤销): reverse case 12 exactly
//	[@bot] /report [@a] [reason…]        (举报): any member reports a message (in a reply) or @a
//
// Targets are the leading run of @-tokens: platform mentions (resolved
// through Message.Mentions, whose tokens may hold spaces: "@John Smith")
// or, only when the platform listed no mention, raw ids typed after '@'
// ("@ou_xxx", "@t10"). The flags -s and -p may stand anywhere in that
// run. The first other token starts the duration (for /mute, /ban and
// /lock), the count (for /purge) or the reason.
//
// A command that names no target but replies to a message targets that
// message's sender (Message.ReplyTo): replying "/kick spam" kicks whoever
// sent the message replied to. "/purge N" stays the chat-wide form in a
// reply; a bare "/purge" in a reply recalls the sender's recent messages.
package commands

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"gavel/moderation"
)

// Errors returned by Parse. Every error but ErrNotCommand deserves a usage
// reply in the chat.
var (
	// ErrNotCommand: the message is not addressed to Gavel as a command.
	ErrNotCommand  = errors.New("not a command")
	ErrUnknownVerb = errors.New("unknown command")
	ErrNoTargets   = errors.New("no target given")
	ErrBadDuration = moderation.ErrBadDuration
	ErrBadTarget   = errors.New("bad target")
	ErrBadCaseID   = errors.New("bad case number")
	// ErrUnresolvedMention: the platform listed a mention whose text
	// could not be found in the message, so the targets cannot be told
	// apart from the duration and reason (see splitTokens).
	ErrUnresolvedMention = errors.New("cannot tell where a mention ends")
	// ErrTargetNotAllowed: a verb that acts on the whole chat (/lock,
	// /unlock) was given a target.
	ErrTargetNotAllowed = errors.New("this command takes no target")
	// ErrBadFlag: a flag the verb does not take (-p is for /kick and /ban).
	ErrBadFlag = errors.New("flag not allowed here")
	// ErrBadCount: /purge without a count, or with one that is not a
	// positive whole number.
	ErrBadCount = errors.New("bad message count")
	// ErrPurgeTooMany: /purge asked for more than commands.max_purge
	// messages. The error is a *PurgeTooManyError naming the maximum.
	ErrPurgeTooMany = errors.New("too many messages to purge")
	// ErrReplySenderUnknown: the command replies to a message whose
	// sender is not known (the pipeline resolves it before parsing; this
	// is the defensive path).
	ErrReplySenderUnknown = errors.New("the replied-to message's sender is unknown")
)

// PurgeTooManyError is the error of a /purge over the maximum; it wraps
// ErrPurgeTooMany. Nothing is truncated: the command is refused whole.
type PurgeTooManyError struct {
	// Asked is the count typed (the largest int when it overflowed).
	Asked int
	// Max is commands.max_purge.
	Max int
}

func (e *PurgeTooManyError) Error() string {
	return fmt.Sprintf("%v: %d asked, at most %d (commands.max_purge)", ErrPurgeTooMany, e.Asked, e.Max)
}

// Unwrap returns ErrPurgeTooMany.
func (e *PurgeTooManyError) Unwrap() error { return ErrPurgeTooMany }

// Purge counts: the defaults and the largest commands.max_purge accepted.
const (
	DefaultMaxPurge       = 200
	DefaultPurgeUserCount = 50
	// PurgeLimit bounds commands.max_purge: the recent-message index and
	// the platforms' history pages are not meant for more.
	PurgeLimit = 1000
)

// Config is the command grammar's configuration.
type Config struct {
	// Prefix starts every command; default "/".
	Prefix string `yaml:"prefix"`
	// MaxPurge is the most messages one /purge may recall; a larger
	// count is refused (ErrPurgeTooMany), never truncated. Default 200,
	// at most PurgeLimit.
	MaxPurge int `yaml:"max_purge"`
	// PurgeUserCount is how many of a user's recent messages "/purge @a"
	// (without N) and "/kick -p", "/ban -p" recall. Default 50, at most
	// MaxPurge.
	PurgeUserCount int `yaml:"purge_user_count"`
}

// Validate reports a bad key.
func (c Config) Validate() error {
	switch {
	case strings.ContainsAny(c.Prefix, " \t\n@"):
		return errors.New("commands.prefix: must not contain spaces or '@'")
	case c.MaxPurge < 0 || c.MaxPurge > PurgeLimit:
		return fmt.Errorf("commands.max_purge: must be between 1 and %d (0: the default %d)", PurgeLimit, DefaultMaxPurge)
	case c.PurgeUserCount < 0:
		return errors.New("commands.purge_user_count: must not be negative (0: the default)")
	case c.PurgeUserCount > c.maxPurge():
		return fmt.Errorf("commands.purge_user_count: %d is more than commands.max_purge (%d)", c.PurgeUserCount, c.maxPurge())
	}
	return nil
}

func (c Config) maxPurge() int {
	if c.MaxPurge == 0 {
		return DefaultMaxPurge
	}
	return c.MaxPurge
}

func (c Config) purgeUserCount() int {
	if c.PurgeUserCount == 0 {
		return min(DefaultPurgeUserCount, c.maxPurge())
	}
	return c.PurgeUserCount
}

// Parser parses command text. The zero value is not ready; use New.
type Parser struct {
	prefix    string
	maxPurge  int
	purgeUser int
	// canon puts a user id in its platform's canonical form; nil keeps
	// ids as typed.
	canon func(string) string
}

// Option adjusts a Parser.
type Option func(*Parser)

// WithCanonicalIDs makes every target and the bot mention canonical with
// f (a platform's moderation.Platform.CanonicalUserID) before they are
// compared or de-duplicated: on Easemob `/kick @VIP @vip` is one target,
// "vip".
func WithCanonicalIDs(f func(string) string) Option { return func(p *Parser) { p.canon = f } }

// New returns a Parser for cfg.
func New(cfg Config, opts ...Option) *Parser {
	p := cfg.Prefix
	if p == "" {
		p = "/"
	}
	return (&Parser{prefix: p, maxPurge: cfg.maxPurge(), purgeUser: cfg.purgeUserCount()}).With(opts...)
}

// MaxPurge is the most messages one /purge may recall (commands.max_purge
// with its default applied).
func (p *Parser) MaxPurge() int { return p.maxPurge }

// PurgeUserCount is how many of a user's messages "/purge @a", "/kick -p"
// and "/ban -p" recall (commands.purge_user_count with its default).
func (p *Parser) PurgeUserCount() int { return p.purgeUser }

// With returns a copy of p with opts applied (a parser per platform that
// shares the grammar of p).
func (p *Parser) With(opts ...Option) *Parser {
	q := *p
	for _, o := range opts {
		o(&q)
	}
	return &q
}

// id returns the canonical form of a resolved id.
func (p *Parser) id(id string) string {
	if p.canon == nil || id == "" {
		return id
	}
	return p.canon(id)
}

// There is no bound on the number of targets here: policy.max_targets is
// the only limit (a raid clean-up may name tens of thousands), and the
// parse costs time linear in the size of the message whatever it holds.

// Parse parses msg's text. botID is the bot's own user id, canonical:
// leading mentions of the bot are skipped ("@Gavel /kick @a").
func (p *Parser) Parse(msg *moderation.Message, botID string) (moderation.Command, error) {
	toks, unresolved := splitTokens(msg.Text, msg.Mentions)
	mentions := newMentionResolver(msg.Mentions, rawIDsAllowed(msg.Mentions, botID))

	i := 0
	for i < len(toks) && isAt(toks[i]) {
		if id := p.id(mentions.resolve(toks[i])); id == "" || id != botID {
			return moderation.Command{}, ErrNotCommand
		}
		i++
	}
	if i == len(toks) {
		return moderation.Command{}, ErrNotCommand
	}
	word, ok := p.cutPrefix(toks[i])
	if !ok || word == "" {
		return moderation.Command{}, ErrNotCommand
	}
	verb, ok := verbs[strings.ToLower(word)]
	if !ok {
		return moderation.Command{}, fmt.Errorf("%w: %q", ErrUnknownVerb, truncate(word, 32))
	}
	i++
	cmd := moderation.Command{Verb: verb}
	switch verb {
	case moderation.VerbHelp:
		return cmd, nil
	case moderation.VerbCase, moderation.VerbConfirm, moderation.VerbCancel:
		return parseCase(cmd, toks[i:])
	case moderation.VerbUndo:
		// /undo 12 [reason…]: the case number, then why.
		rest := toks[i:]
		cmd, err := parseCase(cmd, rest)
		if err != nil {
			return moderation.Command{}, err
		}
		cmd.Reason = strings.Join(rest[1:], " ")
		return cmd, nil
	}
	if unresolved != nil {
		return moderation.Command{}, unresolved
	}
	i, err := p.targets(&cmd, toks, i, &mentions)
	if err != nil {
		return moderation.Command{}, err
	}
	if cmd.Purge {
		if verb != moderation.VerbKick && verb != moderation.VerbBan {
			return moderation.Command{}, fmt.Errorf("%w: -p is for /kick and /ban", ErrBadFlag)
		}
		cmd.Count = p.purgeUser
	}
	rest := toks[i:]
	switch verb {
	case moderation.VerbLock, moderation.VerbUnlock:
	case moderation.VerbPurge:
		return p.parsePurge(cmd, rest, msg.ReplyTo)
	default:
		if len(cmd.Targets) == 0 {
			id, err := p.replyTarget(msg.ReplyTo)
			if err != nil {
				return moderation.Command{}, err
			}
			cmd.Targets = append(cmd.Targets, id)
		}
	}
	switch verb {
	case moderation.VerbMute, moderation.VerbBan, moderation.VerbLock:
		if len(rest) > 0 {
			d, err := ParseDuration(rest[0])
			switch {
			case err == nil:
				cmd.Duration = d
				rest = rest[1:]
			case looksLikeDuration(rest[0]):
				return moderation.Command{}, err
			}
		}
	}
	cmd.Reason = strings.Join(rest, " ")
	return cmd, nil
}

func parseCase(cmd moderation.Command, rest []string) (moderation.Command, error) {
	if len(rest) == 0 {
		return moderation.Command{}, fmt.Errorf("%w: missing", ErrBadCaseID)
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(rest[0], "#"), 10, 64)
	if err != nil || n <= 0 {
		return moderation.Command{}, fmt.Errorf("%w: %q", ErrBadCaseID, truncate(rest[0], 32))
	}
	cmd.CaseID = n
	return cmd, nil
}

// targets reads the run of @-tokens and flags from toks[i:] into cmd and
// returns the index of the first token after it. A verb acting on the
// whole chat takes no @-token.
func (p *Parser) targets(cmd *moderation.Command, toks []string, i int, mentions *mentionResolver) (int, error) {
	chatWide := cmd.Verb == moderation.VerbLock || cmd.Verb == moderation.VerbUnlock
	// Sized for the run of @-tokens ahead: a mass action names
	// thousands, and growing the set and the slice step by step cost
	// more than the rest of the parse.
	size := 0
	for _, tok := range toks[i:] {
		if !isAt(tok) && flag(tok) == "" {
			break
		}
		size++
	}
	seen := make(map[string]struct{}, size)
	cmd.Targets = make([]string, 0, size)
	for ; i < len(toks); i++ {
		tok := toks[i]
		switch flag(tok) {
		case "s":
			cmd.Silent = true
			continue
		case "p":
			cmd.Purge = true
			continue
		}
		if !isAt(tok) {
			break
		}
		if chatWide {
			return 0, fmt.Errorf("%w: /%s acts on the whole chat, not %q", ErrTargetNotAllowed, cmd.Verb, truncate(tok, 32))
		}
		id := p.id(mentions.resolve(tok))
		if !safeTarget(id) {
			return 0, fmt.Errorf("%w: %q", ErrBadTarget, truncate(tok, 32))
		}
		if _, dup := seen[id]; !dup {
			seen[id] = struct{}{}
			cmd.Targets = append(cmd.Targets, id)
		}
	}
	if chatWide {
		cmd.Targets = nil
	}
	return i, nil
}

// flag names the flag tok spells ("s", "p"), or "" when it is none.
func flag(tok string) string {
	switch tok {
	case "-s", "--silent":
		return "s"
	case "-p", "--purge":
		return "p"
	}
	return ""
}

// replyTarget is the target of a command that names none: the sender of
// the message it replies to.
func (p *Parser) replyTarget(r *moderation.MessageRef) (string, error) {
	if r == nil {
		return "", ErrNoTargets
	}
	if r.SenderID == "" {
		return "", ErrReplySenderUnknown
	}
	id := p.id(r.SenderID)
	if !safeTarget(id) {
		return "", fmt.Errorf("%w: the replied-to sender %q", ErrBadTarget, truncate(id, 32))
	}
	return id, nil
}
