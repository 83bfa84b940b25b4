// Package commands turns the text of a chat message into a
// moderation.Command. One grammar serves every platform, in English and
// Chinese:
//
//	[@bot] /kick @a @b [reason…]        (alias /remove, 踢, 移出)
//	[@bot] /kick -s @a [reason…]         (-s: ask the platform not to announce it)
//	[@bot] /mute @a [duration] [reason…] (禁言)
//	[@bot] /unmute @a                    (解禁, 解除禁言)
//	[@bot] /help                         (帮助)
//	[@bot] /case 12                      (案例): show audit case 12 to an admin
//	[@bot] /warn @a [reason…]            (警告); /unwarn @a (撤销警告); /warnings @a (警告记录)
//
// Targets are the leading run of @-tokens: platform mentions (resolved
// through Message.Mentions, whose tokens may hold spaces: "@John Smith")
// or, only when the platform listed no mention, raw ids typed after '@'
// ("@ou_xxx", "@t10"). The first other token starts the duration (for
// /mute) or the reason.
package commands

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

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
)

// Config is the command grammar's configuration.
type Config struct {
	// Prefix starts every command; default "/".
	Prefix string `yaml:"prefix"`
}

// Validate reports a bad key.
func (c Config) Validate() error {
	if strings.ContainsAny(c.Prefix, " \t\n@") {
		return errors.New("commands.prefix: must not contain spaces or '@'")
	}
	return nil
}

// Parser parses command text. The zero value is not ready; use New.
type Parser struct {
	prefix string
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
	return (&Parser{prefix: p}).With(opts...)
}

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

// verbs maps every accepted spelling to its verb.
var verbs = map[string]moderation.Verb{
	"kick": moderation.VerbKick, "remove": moderation.VerbKick, "踢": moderation.VerbKick, "移出": moderation.VerbKick,
	"mute": moderation.VerbMute, "禁言": moderation.VerbMute,
	"unmute": moderation.VerbUnmute, "解禁": moderation.VerbUnmute, "解除禁言": moderation.VerbUnmute,
	"help": moderation.VerbHelp, "帮助": moderation.VerbHelp,
	"case": moderation.VerbCase, "案例": moderation.VerbCase,
	"warn": moderation.VerbWarn, "警告": moderation.VerbWarn,
	"unwarn": moderation.VerbUnwarn, "撤销警告": moderation.VerbUnwarn,
	"warnings": moderation.VerbWarnings, "警告记录": moderation.VerbWarnings,
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
	if verb == moderation.VerbHelp {
		return cmd, nil
	}
	if verb == moderation.VerbCase {
		if i >= len(toks) {
			return moderation.Command{}, fmt.Errorf("%w: missing", ErrBadCaseID)
		}
		n, err := strconv.ParseInt(strings.TrimPrefix(toks[i], "#"), 10, 64)
		if err != nil || n <= 0 {
			return moderation.Command{}, fmt.Errorf("%w: %q", ErrBadCaseID, truncate(toks[i], 32))
		}
		cmd.CaseID = n
		return cmd, nil
	}
	if unresolved != nil {
		return moderation.Command{}, unresolved
	}

	// Sized for the run of @-tokens ahead: a mass action names
	// thousands, and growing the set and the slice step by step cost
	// more than the rest of the parse.
	size := 0
	for _, tok := range toks[i:] {
		if !isAt(tok) && tok != "-s" && tok != "--silent" {
			break
		}
		size++
	}
	seen := make(map[string]struct{}, size)
	cmd.Targets = make([]string, 0, size)
	for ; i < len(toks); i++ {
		tok := toks[i]
		if tok == "-s" || tok == "--silent" {
			cmd.Silent = true
			continue
		}
		if !isAt(tok) {
			break
		}
		id := p.id(mentions.resolve(tok))
		if !safeTarget(id) {
			return moderation.Command{}, fmt.Errorf("%w: %q", ErrBadTarget, truncate(tok, 32))
		}
		if _, dup := seen[id]; !dup {
			seen[id] = struct{}{}
			cmd.Targets = append(cmd.Targets, id)
		}
	}
	if len(cmd.Targets) == 0 {
		return moderation.Command{}, ErrNoTargets
	}
	if verb == moderation.VerbMute && i < len(toks) {
		d, err := ParseDuration(toks[i])
		switch {
		case err == nil:
			cmd.Duration = d
			i++
		case looksLikeDuration(toks[i]):
			return moderation.Command{}, err
		}
	}
	cmd.Reason = strings.Join(toks[i:], " ")
	return cmd, nil
}

// IsCommand reports whether text is a Gavel command: after any leading
// @-mentions, the first word is the prefix and a verb the grammar knows
// ("/kick", "／禁言"). It is the cheap test on the webhook path, without
// allocating for ordinary chat: plain text, a URL, a slash mid-sentence
// or another bot's "/command" is not one, and makes no job. Parse may
// still find a command IsCommand accepts malformed (a usage reply).
func (p *Parser) IsCommand(text string) bool {
	for {
		text = strings.TrimLeftFunc(text, unicode.IsSpace)
		if text == "" {
			return false
		}
		if !isAt(text) {
			break
		}
		i := strings.IndexFunc(text, unicode.IsSpace)
		if i < 0 {
			return false
		}
		text = text[i:]
	}
	if i := strings.IndexFunc(text, unicode.IsSpace); i >= 0 {
		text = text[:i]
	}
	word, ok := p.cutPrefix(text)
	if !ok || word == "" {
		return false
	}
	if _, ok := verbs[word]; ok {
		return true
	}
	_, ok = verbs[strings.ToLower(word)] // allocates only for a word with upper case
	return ok
}

func (p *Parser) cutPrefix(tok string) (string, bool) {
	if w, ok := strings.CutPrefix(tok, p.prefix); ok {
		return w, true
	}
	if p.prefix == "/" { // full-width solidus, as typed by Chinese IMEs
		return strings.CutPrefix(tok, "／")
	}
	return "", false
}

func isAt(tok string) bool {
	return strings.HasPrefix(tok, "@") || strings.HasPrefix(tok, "＠")
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// Prefixes returns every spelling of the command prefix the parser accepts,
// the configured one first. A message containing none of them cannot be a
// command.
func (p *Parser) Prefixes() []string {
	if p.prefix == "/" {
		return []string{"/", "／"}
	}
	return []string{p.prefix}
}
