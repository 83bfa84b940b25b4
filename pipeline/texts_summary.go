// The summary of a command's results, shortened to the platform's
// message limit.

package pipeline

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"gavel/moderation"
)

// summary renders the outcome of one command: done, no-op, refused and
// failed targets, each group with its reasons, in at most limit bytes
// (no bound if limit ≤ 0). Long groups name their first members and end
// "and N more"; the case keeps every target.
func (t *texts) summary(cmd moderation.Command, d time.Duration, dry bool, results []moderation.Result, names map[string]string, limit int) string {
	v, reason := cmd.Verb, cmd.Reason
	name := func(id string) string {
		if n := names[id]; n != "" {
			return n
		}
		return id
	}
	var done, skipped []string
	var others []string // "name (reason)"
	// notes are what adapters say of how a ban was done (TIM without its
	// ban API: removed, kept out by Gavel), once each.
	var notes []string
	var noop, refused, failed int
	for _, r := range results {
		switch r.Status {
		case moderation.StatusDone:
			done = append(done, name(r.UserID))
			if (v == moderation.VerbBan || v == moderation.VerbUnban) && r.Detail != "" && !slices.Contains(notes, r.Detail) {
				notes = append(notes, r.Detail)
			}
		case moderation.StatusSkipped:
			skipped = append(skipped, name(r.UserID))
		default:
			switch r.Status {
			case moderation.StatusNoop:
				noop++
			case moderation.StatusRefused:
				refused++
			default:
				failed++
			}
			others = append(others, fmt.Sprintf("%s (%s)", name(r.UserID), t.reasonText(r)))
		}
	}
	if limit > 0 {
		// The command's reason is the sender's text: it gets a quarter of
		// the reply at most, the targets the rest.
		reason = fitText(reason, limit/4)
	}
	// render names at most k members of each group.
	render := func(k int) string {
		var b strings.Builder
		if dry {
			fmt.Fprintf(&b, t.pick("[dry run] Would %s %d: %s.", "[演练] 将%s %d 人：%s。"), t.dryVerb(v, d), len(skipped), t.firstOf(skipped, k, ", "))
		} else if len(done) > 0 {
			fmt.Fprintf(&b, t.pick("%s %d: %s.", "%s %d 人：%s。"), t.verbDone(v, d), len(done), t.firstOf(done, k, ", "))
			for _, n := range notes {
				b.WriteString(" " + clause(n) + t.pick(".", "。"))
			}
		}
		if len(others) > 0 {
			if b.Len() > 0 {
				b.WriteString(" ")
			}
			fmt.Fprintf(&b, t.pick("Not done %d (not in chat/not muted %d, refused %d, failed %d): %s.", "未执行 %d 人（不在群/未禁言 %d，拒绝 %d，失败 %d）：%s。"),
				len(others), noop, refused, failed, t.firstOf(others, k, "; "))
		}
		if reason != "" {
			fmt.Fprintf(&b, t.pick(" Reason: %s", " 原因：%s"), reason)
		}
		return b.String()
	}
	most := max(len(done), len(skipped), len(others))
	text := render(most)
	if limit <= 0 || len(text) <= limit {
		return text
	}
	// The most names per group that fit (render's length grows with k).
	lo, hi := 0, most // render(lo) is the fallback; render(hi) is too long
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if len(render(mid)) <= limit {
			lo = mid
		} else {
			hi = mid
		}
	}
	return fitText(render(lo), limit)
}

// firstOf joins the first k items and says how many more there are.
func (t *texts) firstOf(items []string, k int, sep string) string {
	if len(items) <= k {
		return strings.Join(items, sep)
	}
	more := fmt.Sprintf(t.pick("and %d more", "等另外 %d 人"), len(items)-k)
	if k == 0 {
		return more
	}
	return strings.Join(items[:k], sep) + t.pick(" ", "") + more
}

// fitText cuts text to at most limit bytes (no bound if limit ≤ 0),
// never inside a UTF-8 character, ending in "…" when cut.
func fitText(text string, limit int) string {
	if limit <= 0 || len(text) <= limit {
		return text
	}
	const ellipsis = "…"
	if limit < len(ellipsis) {
		return ""
	}
	cut := limit - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	return text[:cut] + ellipsis
}
