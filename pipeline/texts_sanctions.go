// Reply texts of ban, lock and purge, and the capability table /help
// shows.

package pipeline

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"gavel/commands"
	"gavel/moderation"
)

// sanctionVerbDone is verbDone for the verbs of issue #16.
func (t *texts) sanctionVerbDone(v moderation.Verb, d time.Duration) (string, bool) {
	switch v {
	case moderation.VerbBan:
		if d <= 0 {
			return t.pick("Banned until unbanned", "已永久封禁"), true
		}
		return fmt.Sprintf(t.pick("Banned for %s", "已封禁 %s"), moderation.FormatDuration(d)), true
	case moderation.VerbUnban:
		return t.pick("Unbanned", "已解除封禁"), true
	case moderation.VerbPurge:
		return t.pick("Recalled the recent messages of", "已撤回近期消息："), true
	case moderation.VerbLock:
		return t.pick("Locked the chat", "已全员禁言"), true
	case moderation.VerbUnlock:
		return t.pick("Unlocked the chat", "已解除全员禁言"), true
	}
	return "", false
}

// sanctionDryVerb is dryVerb for the verbs of issue #16.
func (t *texts) sanctionDryVerb(v moderation.Verb, d time.Duration) (string, bool) {
	switch v {
	case moderation.VerbBan:
		if d <= 0 {
			return t.pick("ban permanently", "永久封禁"), true
		}
		return fmt.Sprintf(t.pick("ban for %s", "封禁 %s"), moderation.FormatDuration(d)), true
	case moderation.VerbUnban:
		return t.pick("unban", "解除封禁"), true
	case moderation.VerbPurge:
		return t.pick("recall the recent messages of", "撤回近期消息："), true
	}
	return "", false
}

// sanctionUsage is usage for the errors of the new verbs; ok is false
// for other errors.
func (t *texts) sanctionUsage(err error) (string, bool) {
	var tooMany *commands.PurgeTooManyError
	switch {
	case errors.As(err, &tooMany):
		return fmt.Sprintf(t.pick("/purge takes at most %d messages (you asked for %d). Nothing was done.",
			"/清理 最多 %d 条消息（你要求 %d 条）。未执行任何操作。"), tooMany.Max, tooMany.Asked), true
	case errors.Is(err, commands.ErrBadCount):
		return t.pick("Say how many messages: /purge 50, or /purge @user [count]. Nothing was done.",
			"请写明条数：/清理 50，或 /清理 @用户 [条数]。未执行任何操作。"), true
	case errors.Is(err, commands.ErrTargetNotAllowed):
		return t.pick("/lock and /unlock act on the whole chat and take no @user. Nothing was done.",
			"/锁群 和 /解锁 作用于整个群，不接受 @用户。未执行任何操作。"), true
	case errors.Is(err, commands.ErrBadFlag):
		return t.pick("-p (also recall their messages) goes with /kick and /ban only. Nothing was done.",
			"-p（同时撤回其消息）只用于 /踢 和 /封禁。未执行任何操作。"), true
	case errors.Is(err, commands.ErrReplySenderUnknown):
		return t.pick("Could not tell who sent the message you replied to; name them with @user. Nothing was done.",
			"无法确定被回复消息的发送者，请用 @用户 指明。未执行任何操作。"), true
	}
	return "", false
}

// replyToBot answers a command replying to a bot's message.
func (t *texts) replyToBot() string {
	return t.pick("You replied to a bot's message, and a bot cannot be a target: reply to the user's message, or name them with @user. Nothing was done.",
		"你回复的是机器人的消息，机器人不能作为目标：请回复该用户的消息，或用 @用户 指明。未执行任何操作。")
}

// lockDone answers /lock and /unlock.
func (t *texts) lockDone(v moderation.Verb, d time.Duration, reason string, res moderation.Result) string {
	if !res.Status.Succeeded() {
		what := t.pick("lock", "锁群")
		if v == moderation.VerbUnlock {
			what = t.pick("unlock", "解锁")
		}
		return fmt.Sprintf(t.pick("Could not %s the chat: %s.", "无法%s：%s。"), what, clause(t.reasonText(res)))
	}
	var b strings.Builder
	switch {
	case v == moderation.VerbUnlock:
		b.WriteString(t.pick("Chat unlocked: everyone may speak again.", "已解除全员禁言，所有人可以发言。"))
	case d > 0:
		fmt.Fprintf(&b, t.pick("Chat locked for %s: only the owner and admins may speak.", "已全员禁言 %s：仅群主和管理员可以发言。"), moderation.FormatDuration(d))
	default:
		b.WriteString(t.pick("Chat locked until /unlock: only the owner and admins may speak.", "已全员禁言，直到 /解锁：仅群主和管理员可以发言。"))
	}
	if reason != "" {
		fmt.Fprintf(&b, t.pick(" Reason: %s", " 原因：%s"), reason)
	}
	if v == moderation.VerbLock && strings.Contains(res.Detail, "Gavel's admins") {
		// Whether policy.admins who are plain members may speak: the
		// platform's word (TIM cannot exempt them).
		b.WriteString(" (" + clause(res.Detail) + t.pick(".)", "。）"))
	}
	if res.Detail != "" && res.Status.Succeeded() && strings.Contains(res.Detail, "could not be recorded") {
		b.WriteString(t.pick(" (Its end could not be recorded: /unlock ends it.)", "（未能记录结束时间，请用 /解锁 结束。）"))
	}
	return b.String()
}

// purged answers /purge N.
func (t *texts) purged(asked int, results []moderation.Result) string {
	ok := 0
	var bad []moderation.Result
	for _, r := range results {
		if r.Status.Succeeded() {
			ok++
		} else {
			bad = append(bad, r)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, t.pick("Recalled %d message(s).", "已撤回 %d 条消息。"), ok)
	if len(results) < asked {
		fmt.Fprintf(&b, t.pick(" Only %d of the %d asked for were known to Gavel (it sees messages sent since it joined, within moderation.recent).",
			" 所要求的 %[2]d 条中 Gavel 只知道 %[1]d 条（它只看到加入后、moderation.recent 范围内的消息）。"), len(results), asked)
	}
	if len(bad) > 0 {
		fmt.Fprintf(&b, t.pick(" %d could not be recalled: %s.", " %d 条无法撤回：%s。"), len(bad), clause(t.reasonText(bad[0])))
	}
	return b.String()
}

// clause drops the full stop a platform's message ends with, so that a
// reply that ends its sentence itself does not end it twice ("..").
func clause(s string) string { return strings.TrimRight(s, ".。") }

// banEmulated adds to a ban's summary that the platform has no ban of
// its own and Gavel keeps the banned out.
func (t *texts) banEmulated(platform string) string {
	return fmt.Sprintf(t.pick(" %s has no ban: Gavel emulates it, removing them again if they rejoin while the ban lasts.",
		" %s 没有封禁功能：由 Gavel 模拟，封禁期间重新入群会被再次移出。"), t.platformName(platform))
}

// purgedNote adds to a /kick -p or /ban -p summary how many messages of
// the targets were recalled, on a line of its own: the summary may end
// with the moderator's reason, which has no period.
func (t *texts) purgedNote(results []moderation.Result) string {
	total, failed := 0, 0
	for _, r := range results {
		n, found := msgCount(r)
		total += n
		failed += found - n
	}
	s := fmt.Sprintf(t.pick("\nRecalled %d of their recent message(s).", "\n已撤回其近期消息 %d 条。"), total)
	if failed > 0 {
		s += fmt.Sprintf(t.pick(" %d could not be recalled.", " %d 条无法撤回。"), failed)
	}
	return s
}

// timerNotice tells the chat a sanction ended or a scheduled lock began.
func (t *texts) timerNotice(c *moderation.Case) string {
	if len(c.Results) == 0 || !c.Results[0].Status.Succeeded() {
		return ""
	}
	switch c.Verb {
	case moderation.VerbUnban:
		return fmt.Sprintf(t.pick("The ban of %s ended (case #%d).", "%s 的封禁已到期（案例 #%d）。"), strings.Join(c.Targets, ", "), c.ID)
	case moderation.VerbUnlock:
		return fmt.Sprintf(t.pick("The lock ended: everyone may speak again (case #%d).", "全员禁言已到期，所有人可以发言（案例 #%d）。"), c.ID)
	case moderation.VerbLock:
		return fmt.Sprintf(t.pick("Scheduled lock: only the owner and admins may speak for %s (case #%d).", "定时全员禁言：%s 内仅群主和管理员可以发言（案例 #%d）。"),
			moderation.FormatDuration(c.Duration), c.ID)
	}
	return ""
}

// helpVerbs are the verbs whose support /help shows for the chat.
var helpVerbs = []moderation.Verb{moderation.VerbKick, moderation.VerbMute, moderation.VerbBan, moderation.VerbLock, moderation.VerbPurge}

// capabilities renders how this chat supports each verb: "kick native ·
// mute emulated · ban unsupported …".
func (t *texts) capabilities(caps moderation.Capabilities) string {
	parts := make([]string, 0, len(helpVerbs))
	for _, v := range helpVerbs {
		s := caps[v]
		if s == "" {
			s = moderation.Unsupported
		}
		word := map[moderation.Support][2]string{
			moderation.Native: {"native", "原生"}, moderation.Emulated: {"emulated by Gavel", "由 Gavel 模拟"}, moderation.Unsupported: {"not available", "不可用"},
		}[s]
		parts = append(parts, "/"+string(v)+" "+t.pick(word[0], word[1]))
	}
	return t.pick("In this chat: ", "本群：") + strings.Join(parts, " · ")
}

// lockNotice tells the chat a rule locked it.
func (t *texts) lockNotice(c *moderation.Case) string {
	d := t.pick("until /unlock", "直到 /解锁")
	if c.Duration > 0 {
		d = moderation.FormatDuration(c.Duration)
	}
	return fmt.Sprintf(t.pick("Chat locked (%s) — rule %s: %s. Only the owner and admins may speak (case #%d).",
		"已全员禁言（%s）— 规则 %s：%s。仅群主和管理员可以发言（案例 #%d）。"), d, c.Rule, c.Reason, c.ID)
}
