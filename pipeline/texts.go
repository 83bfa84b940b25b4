package pipeline

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"gavel/commands"
	"gavel/moderation"
	"gavel/policy"
)

// texts renders chat replies in one language.
type texts struct {
	zh bool
}

func textsFor(lang string) *texts { return &texts{zh: lang == "zh"} }

func (t *texts) pick(en, zh string) string {
	if t.zh {
		return zh
	}
	return en
}

func (t *texts) help(prefix string) string {
	if t.zh {
		return strings.ReplaceAll(`Gavel 命令：
/踢 @用户 [原因] — 移出群（也可 /kick、/移出；加 -s 静默移出）
/禁言 @用户 [时长] [原因] — 禁言，时长如 90s、10分钟、2小时、1天
/解禁 @用户 — 解除禁言（也可 /解除禁言、/unmute）
/封禁 @用户 [时长] [原因] — 移出并禁止再次加入（/解封 解除；加 -p 同时撤回其消息）
/锁群 [时长] — 全员禁言，仅群主和管理员可发言（/解锁 结束）
/清理 N — 撤回本群最近 N 条消息；/清理 @用户 [N] — 撤回该用户的近期消息
/撤销 N — 撤销案例 N（移出的人加回、禁言和封禁解除、锁群结束、警告撤销）
/确认 N、/取消 N — 执行或放弃等待确认的案例 N（人数较多或较严厉的命令需确认）
回复某条消息并发送 /踢、/禁言、/封禁 等，即以其发送者为目标。
仅群主、群管理员或 Gavel 管理员可用。
（开启举报时）任何成员可回复消息发送 /举报 [原因]，或 /举报 @用户 [原因]。`, "/", prefix)
	}
	return strings.ReplaceAll(`Gavel commands:
/kick @user… [reason] — remove from the chat (alias /remove; -s removes silently)
/mute @user… [duration] [reason] — mute; durations like 90s, 10m, 2h, 1d, 1h30m
/unmute @user… — lift a mute
/ban @user… [duration] [reason] — remove and keep out (/unban lifts it; -p also recalls their messages)
/lock [duration] — only the owner and admins may speak (/unlock ends it)
/purge N — recall the chat's last N messages; /purge @user [N] — that user's recent ones
/undo N — reverse case N (add back who was removed, lift a mute, ban or lock, remove a warning)
/confirm N, /cancel N — carry out or drop held case N (large or drastic commands wait for an admin)
Reply to a message with /kick, /mute, /ban… to act on its sender.
Only the chat owner, chat managers and Gavel admins may use them.
(Where reports are on) any member may reply to a message with /report [reason], or /report @user [reason].`, "/", prefix)
}

func (t *texts) usage(err error) string {
	if s, ok := t.sanctionUsage(err); ok {
		return s
	}
	var what string
	switch {
	case errors.Is(err, commands.ErrUnknownVerb):
		what = t.pick("Unknown command", "未知命令")
	case errors.Is(err, commands.ErrNoTargets):
		what = t.pick("Name at least one @user", "请至少 @ 一位用户")
	case errors.Is(err, commands.ErrBadDuration):
		what = t.pick("Bad duration (use 90s, 10m, 2h, 1d)", "时长无效（如 90s、10分钟、2小时、1天）")
	case errors.Is(err, commands.ErrUnresolvedMention):
		// The detail names the mention; the advice replaces "Send /help".
		_, who, _ := strings.Cut(err.Error(), ": ")
		return fmt.Sprintf(t.pick("Could not match the mention %s to a member's name, so nothing was done. Try again, or type user ids as @id without picking members.",
			"无法将提及 %s 对应到成员名称，未执行任何操作。请重试，或直接输入 @用户ID。"), who)
	case errors.Is(err, commands.ErrBadTarget):
		what = t.pick("Bad target", "目标无效")
	default:
		what = t.pick("Cannot read that command", "无法识别该命令")
	}
	detail := err.Error()
	if _, after, ok := strings.Cut(detail, ": "); ok {
		what += " " + after
	}
	return what + t.pick(". Send /help for usage.", "。发送 /帮助 查看用法。")
}

func (t *texts) tooMany(n, max int) string {
	return fmt.Sprintf(t.pick("Too many targets (%d); at most %d per command. Nothing was done.", "目标过多（%d 个），每条命令最多 %d 个。未执行任何操作。"), n, max)
}

// platformError tells the chat why a command could not run, in a plain
// sentence: the platform's own explanation (APIError.Message), or that it
// did not answer. Transport errors (URLs, hosts, "EOF") stay in the log
// and the case.
func (t *texts) platformError(platform string, err error) string {
	var apiErr *moderation.APIError
	var gaveUp *moderation.GaveUpError
	var msg string
	switch {
	case errors.As(err, &apiErr) && apiErr.Message != "":
		msg = apiErr.Message
		if errors.As(err, &gaveUp) {
			msg += fmt.Sprintf(t.pick(" (gave up after %d tries)", "（重试 %d 次后放弃）"), gaveUp.Tries)
		}
	case errors.As(err, &gaveUp):
		msg = fmt.Sprintf(t.pick("%s did not answer; gave up after %d tries", "%s 未响应，重试 %d 次后放弃"), t.platformName(platform), gaveUp.Tries)
	default:
		msg = fmt.Sprintf(t.pick("%s did not answer", "%s 未响应"), t.platformName(platform))
	}
	return t.pick("Could not do that: ", "无法执行：") + msg + t.pick(".", "。")
}

// platformName is a platform's name as its users know it.
func (t *texts) platformName(platform string) string {
	switch platform {
	case "feishu":
		return t.pick("Feishu", "飞书")
	case "tim":
		return t.pick("Tencent Cloud Chat", "腾讯云即时通信")
	case "easemob":
		return t.pick("Easemob", "环信")
	case "":
		return t.pick("The platform", "平台")
	}
	return platform
}

func (t *texts) unsupported(v moderation.Verb, kind string) string {
	if kind == "" {
		kind = t.pick("this kind of", "此类")
	}
	return fmt.Sprintf(t.pick("/%s is not supported in %s chats on this platform. Nothing was done.", "此平台的%s群不支持 /%s。未执行任何操作。"),
		t.orderArgs(string(v), kind)...)
}

// orderArgs swaps two arguments for the Chinese templates, whose word order
// differs.
func (t *texts) orderArgs(a, b string) []any {
	if t.zh {
		return []any{b, a}
	}
	return []any{a, b}
}

var refusalEN = map[policy.Reason]string{
	policy.ActorNotAdmin:    "only the chat owner, chat managers and Gavel admins may use /%s",
	policy.TooManyTargets:   "too many targets for /%s",
	policy.ActorRateLimited: "too many commands; wait a minute before /%s again",
	policy.ChatDisabled:     "Gavel is disabled in this chat (/%s)",
}

var refusalZH = map[policy.Reason]string{
	policy.ActorNotAdmin:    "只有群主、群管理员或 Gavel 管理员可以使用 /%s",
	policy.TooManyTargets:   "/%s 的目标过多",
	policy.ActorRateLimited: "命令过于频繁，请稍后再试 /%s",
	policy.ChatDisabled:     "Gavel 在此群已停用（/%s）",
}

// notModerator is the one short refusal a user who may not moderate gets:
// naming the verb when the command was well-formed.
func (t *texts) notModerator(v moderation.Verb) string {
	if v != "" {
		return t.refused(policy.ActorNotAdmin, v)
	}
	return t.pick("Refused: only the chat owner, chat managers and Gavel admins may use Gavel's commands.",
		"已拒绝：只有群主、群管理员或 Gavel 管理员可以使用 Gavel 命令。")
}

func (t *texts) refused(r policy.Reason, v moderation.Verb) string {
	m := refusalEN
	if t.zh {
		m = refusalZH
	}
	f, ok := m[r]
	if !ok {
		f = string(r) + " (/%s)"
	}
	return t.pick("Refused: ", "已拒绝：") + fmt.Sprintf(f, v)
}

// reasonWords is the reply text of each of Gavel's own reason codes, in
// English and Chinese; the switch covers every moderation.Reasons() entry
// (TestEveryReasonHasText). detail is true for codes whose Result.Detail is
// a sentence written for the chat and is shown instead when set. ok is
// false for a code Gavel does not define: a platform's own
// ("feishu:232076") or one from a newer version.
func reasonWords(code moderation.Reason) (en, zh string, detail, ok bool) {
	const internalEN, internalZH = "internal error: ", "内部错误："
	switch code {
	case moderation.ReasonOK:
		return "allowed", "允许", false, true
	case moderation.ReasonChatDisabled:
		return "Gavel is disabled in this chat", "Gavel 在此群已停用", false, true
	case moderation.ReasonActorRateLimited:
		return "too many commands", "命令过于频繁", false, true
	case moderation.ReasonActorNotAdmin:
		return "only the chat owner, chat managers and Gavel admins may moderate", "只有群主、群管理员或 Gavel 管理员可以操作", false, true
	case moderation.ReasonTooManyTargets:
		return "too many targets", "目标过多", false, true
	case moderation.ReasonTargetOwner:
		return "the chat owner cannot be a target", "不能对群主操作", false, true
	case moderation.ReasonTargetBot:
		return "Gavel does not act on itself", "Gavel 不会对自己操作", false, true
	case moderation.ReasonTargetSelf:
		return "you cannot act on yourself", "不能对自己操作", false, true
	case moderation.ReasonTargetProtected:
		return "protected user", "受保护用户", false, true
	case moderation.ReasonTargetAdmin:
		return "a manager cannot act on another manager", "管理员不能对其他管理员操作", false, true
	case moderation.ReasonNotMember:
		return "not in this chat", "不在此群", false, true
	case moderation.ReasonNotMuted:
		return "not muted", "未被禁言", false, true
	case moderation.ReasonInvalidUserID:
		return "not a valid user id", "用户 ID 无效", false, true
	case moderation.ReasonInvalidDuration:
		return "the platform cannot mute for that long", "平台不支持该禁言时长", false, true
	case moderation.ReasonUnsupported:
		return "not supported in this chat", "此群不支持该操作", true, true
	case moderation.ReasonNoResult:
		return "the platform reported nothing for this user", "平台未报告该用户的结果", true, true
	case moderation.ReasonGaveUp:
		// Detail holds the transport error, for the case only.
		return "the platform did not answer; gave up", "平台未响应，已放弃", false, true
	case moderation.ReasonDryRun:
		return "dry run", "演练", false, true
	case moderation.ReasonBeforeDelivery:
		return "stopped before delivery", "已在送达前拦截", false, true
	case moderation.ReasonNewcomer:
		return "reported by a newcomer: not counted", "举报人刚入群：不计入", false, true
	case moderation.ReasonBatchTooLarge:
		// The pipeline batches to the adapter's size: an internal fault.
		return "internal error: " + string(code), "内部错误：" + string(code), false, true
	case moderation.ReasonError, moderation.ReasonStore, moderation.ReasonRolesUnavailable, moderation.ReasonRecallFailed:
		// Internal failures: the reason code only; the detail is in the
		// log and the case.
		return internalEN + string(code), internalZH + string(code), false, true
	}
	return "", "", false, false
}

func (t *texts) reasonText(r moderation.Result) string {
	if r.Reason == "" {
		return t.pick("failed", "失败")
	}
	en, zh, useDetail, ok := reasonWords(r.Reason)
	switch {
	case ok && useDetail && r.Detail != "":
		return r.Detail
	case ok:
		return t.pick(en, zh)
	}
	if _, _, scoped := r.Reason.Platform(); scoped {
		// A platform's code: its APIError.Message is written for the chat.
		if r.Detail != "" {
			return r.Detail
		}
		return string(r.Reason)
	}
	// A code this version does not know: the code only, as for internal
	// failures (the detail may hold a transport error).
	return t.pick("internal error: ", "内部错误：") + string(r.Reason)
}

func (t *texts) verbDone(v moderation.Verb, d time.Duration) string {
	if s, ok := t.sanctionVerbDone(v, d); ok {
		return s
	}
	switch v {
	case moderation.VerbKick:
		return t.pick("Removed", "已移出")
	case moderation.VerbMute:
		if d == moderation.MuteForever {
			return t.pick("Muted until unmuted", "已永久禁言")
		}
		return fmt.Sprintf(t.pick("Muted for %s", "已禁言 %s"), moderation.FormatDuration(d))
	case moderation.VerbUnmute:
		return t.pick("Unmuted", "已解除禁言")
	}
	return string(v)
}

func (t *texts) dryVerb(v moderation.Verb, d time.Duration) string {
	if s, ok := t.sanctionDryVerb(v, d); ok {
		return s
	}
	switch v {
	case moderation.VerbKick:
		return t.pick("remove", "移出")
	case moderation.VerbMute:
		if d == moderation.MuteForever {
			return t.pick("mute permanently", "永久禁言")
		}
		return fmt.Sprintf(t.pick("mute for %s", "禁言 %s"), moderation.FormatDuration(d))
	case moderation.VerbUnmute:
		return t.pick("unmute", "解除禁言")
	}
	return string(v)
}

func (t *texts) noCase(id int64) string {
	return fmt.Sprintf(t.pick("No case #%d in this chat.", "此群没有案例 #%d。"), id)
}

// caseText renders an audit case for /case N.
func (t *texts) caseText(c moderation.Case) string {
	var b strings.Builder
	who := c.Actor
	if c.Rule != "" {
		who = t.pick("rule ", "规则 ") + c.Rule
	}
	fmt.Fprintf(&b, t.pick("Case #%d, %s UTC: %s by %s → %s.", "案例 #%d，%s UTC：%s，操作者 %s → %s。"),
		c.ID, c.At.UTC().Format("2006-01-02 15:04"), c.Verb, who, c.Outcome)
	if c.Duration > 0 {
		fmt.Fprintf(&b, t.pick(" Duration %s.", " 时长 %s。"), moderation.FormatDuration(c.Duration))
	}
	switch {
	case c.Rule != "" && c.Reason != "":
		fmt.Fprintf(&b, t.pick(" Why: rule %s matched %s.", " 原因：规则 %s 命中 %s。"), c.Rule, c.Reason)
	case c.Reason != "":
		fmt.Fprintf(&b, t.pick(" Reason: %s.", " 原因：%s。"), c.Reason)
	}
	if reason := c.Outcome.Reason(); reason != "" {
		fmt.Fprintf(&b, t.pick(" Refused because: %s.", " 拒绝原因：%s。"), t.reasonText(moderation.Result{Reason: reason}))
	}
	var per []string
	for _, r := range c.Results {
		s := r.UserID + ": " + string(r.Status)
		if r.Reason != "" {
			s += " (" + t.reasonText(r) + ")"
		}
		per = append(per, s)
	}
	if len(per) > 0 {
		b.WriteString(" " + strings.Join(per, "; ") + ".")
	}
	if c.DryRun {
		b.WriteString(t.pick(" [dry run]", " [演练]"))
	}
	return b.String()
}

// ruleNotice tells the chat what Gavel did on its own and why.
func (t *texts) ruleNotice(c *moderation.Case) string {
	var done []string
	for _, r := range c.Results {
		if r.Status.Succeeded() {
			done = append(done, r.UserID)
		}
	}
	if len(done) == 0 {
		return ""
	}
	action := t.verbDone(c.Verb, c.Duration)
	switch c.Verb {
	case moderation.VerbWarn:
		action = t.pick("Warned", "已警告")
	case moderation.VerbDelete:
		action = t.pick("Deleted a message of", "已撤回消息：")
	}
	return fmt.Sprintf(t.pick("%s %s — rule %s: %s (case #%d).", "%s %s — 规则 %s：%s（案例 #%d）。"),
		action, strings.Join(done, ", "), c.Rule, c.Reason, c.ID)
}

func (t *texts) warned(name string, n int) string {
	return fmt.Sprintf(t.pick("Warned %s (%d active warnings).", "已警告 %s（当前 %d 次警告）。"), name, n)
}

func (t *texts) unwarned(name string, removed bool) string {
	if !removed {
		return fmt.Sprintf(t.pick("%s has no active warning.", "%s 没有有效警告。"), name)
	}
	return fmt.Sprintf(t.pick("Removed the latest warning of %s.", "已撤销 %s 的最近一次警告。"), name)
}

func (t *texts) warningList(name string, ws []moderation.Warning) string {
	if len(ws) == 0 {
		return fmt.Sprintf(t.pick("%s has no active warning.", "%s 没有有效警告。"), name)
	}
	var b strings.Builder
	fmt.Fprintf(&b, t.pick("%s has %d active warnings:", "%s 有 %d 次有效警告："), name, len(ws))
	for i, w := range ws {
		by := w.Actor
		if w.Rule != "" {
			by = t.pick("rule ", "规则 ") + w.Rule
		}
		fmt.Fprintf(&b, "\n%d. %s UTC, %s: %s", i+1, w.At.UTC().Format("2006-01-02 15:04"), by, w.Reason)
	}
	return b.String()
}
