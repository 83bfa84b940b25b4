package commands

import (
	"cmp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"gavel/moderation"
)

// verbs maps every accepted spelling to its verb. The Chinese spellings
// are documented in the package doc; keep the two in step.
var verbs = map[string]moderation.Verb{
	"kick": moderation.VerbKick, "remove": moderation.VerbKick, "踢": moderation.VerbKick, "移出": moderation.VerbKick,
	"mute": moderation.VerbMute, "禁言": moderation.VerbMute,
	"unmute": moderation.VerbUnmute, "解禁": moderation.VerbUnmute, "解除禁言": moderation.VerbUnmute,
	"ban": moderation.VerbBan, "封禁": moderation.VerbBan, "拉黑": moderation.VerbBan,
	"unban": moderation.VerbUnban, "解封": moderation.VerbUnban, "解除封禁": moderation.VerbUnban,
	"lock": moderation.VerbLock, "锁群": moderation.VerbLock, "全员禁言": moderation.VerbLock,
	"unlock": moderation.VerbUnlock, "解锁": moderation.VerbUnlock, "解除全员禁言": moderation.VerbUnlock,
	"purge": moderation.VerbPurge, "清理": moderation.VerbPurge, "批量撤回": moderation.VerbPurge,
	"help": moderation.VerbHelp, "帮助": moderation.VerbHelp,
	"case": moderation.VerbCase, "案例": moderation.VerbCase,
	"warn": moderation.VerbWarn, "警告": moderation.VerbWarn,
	"unwarn": moderation.VerbUnwarn, "撤销警告": moderation.VerbUnwarn,
	"warnings": moderation.VerbWarnings, "警告记录": moderation.VerbWarnings,
	"confirm": moderation.VerbConfirm, "确认": moderation.VerbConfirm,
	"cancel": moderation.VerbCancel, "取消": moderation.VerbCancel,
	"undo": moderation.VerbUndo, "撤销": moderation.VerbUndo,
	"report": moderation.VerbReport, "举报": moderation.VerbReport,
}

// Spellings returns every spelling of verb the grammar accepts, English
// first (for usage and /help texts).
func Spellings(verb moderation.Verb) []string {
	var en, zh []string
	for w, v := range verbs {
		if v != verb {
			continue
		}
		if w[0] < utf8.RuneSelf {
			en = append(en, w)
		} else {
			zh = append(zh, w)
		}
	}
	sortByLen(en)
	sortByLen(zh)
	return append(en, zh...)
}

// sortByLen sorts short spellings first, then by code point.
func sortByLen(s []string) {
	slices.SortFunc(s, func(a, b string) int {
		return cmp.Or(cmp.Compare(len(a), len(b)), strings.Compare(a, b))
	})
}

// IsCommand reports whether text is a Gavel command: after any leading
// @-mentions, the first word is the prefix and a verb the grammar knows
// ("/kick", "／禁言"). It is the cheap test on the webhook path, without
// allocating for ordinary chat: plain text, a URL, a slash mid-sentence
// or another bot's "/command" is not one, and makes no job. Parse may
// still find a command IsCommand accepts malformed (a usage reply).
func (p *Parser) IsCommand(text string) bool {
	_, ok := p.VerbOf(text)
	return ok
}

// VerbOf returns the verb of the command text is, as IsCommand finds it:
// what a malformed command asked for (Parse returns no command then).
func (p *Parser) VerbOf(text string) (moderation.Verb, bool) {
	for {
		text = strings.TrimLeftFunc(text, unicode.IsSpace)
		if text == "" {
			return "", false
		}
		if !isAt(text) {
			break
		}
		i := strings.IndexFunc(text, unicode.IsSpace)
		if i < 0 {
			return "", false
		}
		text = text[i:]
	}
	if i := strings.IndexFunc(text, unicode.IsSpace); i >= 0 {
		text = text[:i]
	}
	word, ok := p.cutPrefix(text)
	if !ok || word == "" {
		return "", false
	}
	if v, ok := verbs[word]; ok {
		return v, true
	}
	v, ok := verbs[strings.ToLower(word)] // allocates only for a word with upper case
	return v, ok
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
