package pipeline

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"gavel/moderation"
)

// The texts of the mod-log and of /undo.

// maxListed is how many users a mod-log entry names before "and N more";
// maxFieldRunes the longest value of one of its fields.
const (
	maxListed     = 20
	maxFieldRunes = 500
)

// verbNames are the verbs as a mod-log entry's title names them.
var verbNames = map[moderation.Verb][2]string{
	moderation.VerbKick: {"Kick", "移出"}, moderation.VerbMute: {"Mute", "禁言"}, moderation.VerbUnmute: {"Unmute", "解除禁言"},
	moderation.VerbBan: {"Ban", "封禁"}, moderation.VerbUnban: {"Unban", "解封"}, moderation.VerbLock: {"Lock", "锁群"},
	moderation.VerbUnlock: {"Unlock", "解锁"}, moderation.VerbPurge: {"Purge", "清理消息"}, moderation.VerbWarn: {"Warning", "警告"},
	moderation.VerbUnwarn: {"Warning removed", "撤销警告"}, moderation.VerbDelete: {"Message deleted", "撤回消息"},
	moderation.VerbBlock: {"Message blocked", "拦截消息"}, moderation.VerbUndo: {"Undo", "撤销"}, moderation.VerbAdd: {"Add back", "加回"},
	moderation.VerbDismiss: {"Dismissed", "忽略"}, moderation.VerbReport: {"Report", "举报"},
}

func (t *texts) verbName(v moderation.Verb) string {
	n, ok := verbNames[v]
	if !ok {
		return string(v)
	}
	return t.pick(n[0], n[1])
}

// listUsers names users, at most maxListed, saying how many more there are.
func (t *texts) listUsers(users []string) string {
	if len(users) == 0 {
		return "—"
	}
	if len(users) <= maxListed {
		return strings.Join(users, ", ")
	}
	return strings.Join(users[:maxListed], ", ") + fmt.Sprintf(t.pick(" and %d more", " 等另外 %d 人"), len(users)-maxListed)
}

// outcomeText says how a case ended, counting its results.
func (t *texts) outcomeText(c *moderation.Case) string {
	if r := c.Outcome.Reason(); r != "" {
		return t.pick("refused: ", "已拒绝：") + t.reasonText(moderation.Result{Reason: r})
	}
	var done, not []string
	for _, x := range c.Results {
		if x.Status.Succeeded() || x.Status == moderation.StatusSkipped {
			done = append(done, x.UserID)
		} else {
			not = append(not, x.UserID+" ("+t.reasonText(x)+")")
		}
	}
	s := string(c.Outcome)
	if len(c.Results) > 0 {
		s += fmt.Sprintf(t.pick(" — done %d, not done %d", " — 完成 %d，未完成 %d"), len(done), len(not))
	}
	if len(not) > 0 {
		s += ": " + t.listUsers(not)
	}
	return s
}

// modLogPost renders case c for the mod-log: a card with buttons, and
// the same content as text for platforms without cards, ending "/undo N"
// when c can be undone. note is the card's footer (who pressed what).
func (t *texts) modLogPost(c *moderation.Case, buttons []moderation.Button, note string, limit int) moderation.Post {
	title := fmt.Sprintf(t.pick("Case #%d · %s", "案例 #%d · %s"), c.ID, t.verbName(c.Verb))
	if c.DryRun {
		title += t.pick(" [dry run]", " [演练]")
	}
	var fields []moderation.CardField
	add := func(label, value string) {
		if value == "" {
			return
		}
		// A card must stay within the platform's size (Feishu: 30 KB):
		// a very long reason is shortened here, visibly; /case N has it
		// whole.
		if utf8.RuneCountInString(value) > maxFieldRunes {
			value = string([]rune(value)[:maxFieldRunes]) + fmt.Sprintf(t.pick("… (whole: /case %d)", "…（完整内容：/案例 %d）"), c.ID)
		}
		fields = append(fields, moderation.CardField{Label: label, Value: value})
	}
	add(t.pick("Chat", "群"), c.Platform+":"+c.ChatID)
	switch {
	case c.Rule == "expiry":
		add(t.pick("By", "操作者"), t.pick("Gavel (the sanction ran out)", "Gavel（到期解除）"))
	case c.Rule != "" && c.Actor == "":
		add(t.pick("By", "操作者"), t.pick("Gavel, rule ", "Gavel，规则 ")+c.Rule)
	default:
		add(t.pick("By", "操作者"), c.Actor)
	}
	action := t.verbName(c.Verb)
	if c.Duration > 0 {
		action += " " + moderation.FormatDuration(c.Duration)
	}
	add(t.pick("Action", "操作"), action)
	if c.Related > 0 {
		add(t.pick("Follows", "关联"), fmt.Sprintf(t.pick("case #%d", "案例 #%d"), c.Related))
	}
	if len(c.Targets) > 0 && c.Verb != moderation.VerbPurge {
		add(t.pick("Targets", "目标"), t.listUsers(c.Targets))
	}
	if c.Rule != "" && c.Rule != "expiry" && c.Reason != "" {
		add(t.pick("Rule", "规则"), c.Rule+t.pick(" matched ", " 命中 ")+c.Reason)
	} else {
		add(t.pick("Reason", "原因"), c.Reason)
	}
	add(t.pick("Outcome", "结果"), t.outcomeText(c))

	var b strings.Builder
	b.WriteString(title)
	for _, f := range fields {
		b.WriteString("\n" + f.Label + ": " + f.Value)
	}
	if note != "" {
		b.WriteString("\n" + note)
	}
	tail := ""
	for _, bt := range buttons {
		if bt.Verb == moderation.VerbUndo {
			tail = fmt.Sprintf("\n/undo %d", c.ID)
		}
	}
	if c.Verb == moderation.VerbReport && len(c.Targets) > 0 {
		// No buttons off Feishu: the commands that act on the report.
		u := c.Targets[0]
		tail = fmt.Sprintf(t.pick("\nIn %s: /mute @%s, /kick @%s or /ban @%s", "\n在 %s：/禁言 @%s、/踢 @%s 或 /封禁 @%s"), c.ChatID, u, u, u)
	}
	text := fitText(b.String(), limit-len(tail)) + tail
	return moderation.Post{Text: text, Card: &moderation.Card{Title: title, Color: verbColor(c), Fields: fields, Note: note, Buttons: buttons}}
}

// verbColor is a card header's colour: red for removals, orange for
// restrictions, green for what lifts them, grey for what was not done.
func verbColor(c *moderation.Case) string {
	switch k := c.Outcome.Kind(); {
	case k == moderation.OutcomeRefused, k == moderation.OutcomeError, k == moderation.OutcomeFailed, k == moderation.OutcomeUnsupported, c.DryRun:
		return "grey"
	}
	switch c.Verb {
	case moderation.VerbKick, moderation.VerbBan, moderation.VerbPurge, moderation.VerbDelete, moderation.VerbBlock:
		return "red"
	case moderation.VerbMute, moderation.VerbLock, moderation.VerbWarn:
		return "orange"
	case moderation.VerbUnmute, moderation.VerbUnban, moderation.VerbUnlock, moderation.VerbUndo, moderation.VerbUnwarn, moderation.VerbAdd:
		return "green"
	}
	return "blue"
}

// notUndoable says why case c cannot be undone (undoable's why).
func (t *texts) notUndoable(c *moderation.Case, why string) string {
	v := t.verbName(c.Verb)
	switch why {
	case undoOfUndo:
		return fmt.Sprintf(t.pick("Case #%d is itself an undo and cannot be undone; run the command again instead.",
			"案例 #%d 本身就是撤销，不能再撤销；请重新执行原命令。"), c.ID)
	case undoDryRun:
		return fmt.Sprintf(t.pick("Case #%d was a dry run: nothing was done, so there is nothing to undo.",
			"案例 #%d 是演练，并未执行，无需撤销。"), c.ID)
	case undoIrreversed:
		return fmt.Sprintf(t.pick("Case #%d (%s) cannot be reversed: recalled messages cannot be restored.",
			"案例 #%d（%s）无法撤销：已撤回的消息无法恢复。"), c.ID, v)
	case undoNotDone:
		return fmt.Sprintf(t.pick("Case #%d (%s) was not carried out (%s): there is nothing to undo.",
			"案例 #%d（%s）未被执行（%s），无需撤销。"), c.ID, v, t.outcomeText(c))
	}
	return fmt.Sprintf(t.pick("Case #%d (%s) cannot be undone with /undo.", "案例 #%d（%s）不能用 /撤销 撤销。"), c.ID, v)
}

// undoneAlready answers a second undo of case id: undone by case m, or
// (m zero) being undone.
func (t *texts) undoneAlready(id, m int64) string {
	if m == 0 {
		return fmt.Sprintf(t.pick("Case #%d is being undone already; nothing more was done.", "案例 #%d 正在被撤销，未重复执行。"), id)
	}
	return fmt.Sprintf(t.pick("Case #%d was undone already (case #%d); nothing more was done.", "案例 #%d 已被撤销（案例 #%d），未重复执行。"), id, m)
}

// undone is the answer of an undo: what was reversed, what was not.
func (t *texts) undone(orig, c *moderation.Case, verb moderation.Verb) string {
	if r := c.Outcome.Reason(); r != "" {
		return t.refused(r, moderation.VerbUndo)
	}
	var done, not []string
	for _, x := range c.Results {
		switch {
		case x.Status.Succeeded():
			done = append(done, x.UserID)
		default:
			not = append(not, x.UserID+" ("+t.reasonText(x)+")")
		}
	}
	what := map[moderation.Verb][2]string{
		moderation.VerbAdd: {"added back", "已加回"}, moderation.VerbUnmute: {"unmuted", "已解除禁言"},
		moderation.VerbUnban: {"unbanned", "已解封"}, moderation.VerbUnwarn: {"removed the warning of", "已撤销警告"},
	}[verb]
	var b strings.Builder
	fmt.Fprintf(&b, t.pick("Undid case #%d (%s): ", "已撤销案例 #%d（%s）："), orig.ID, t.verbName(orig.Verb))
	switch {
	case verb == moderation.VerbUnlock && len(done) > 0:
		b.WriteString(t.pick("the chat is unlocked.", "已解除全员禁言。"))
	case verb == moderation.VerbUnlock:
		b.WriteString(t.pick("the chat could not be unlocked: ", "未能解除全员禁言：") + t.reasonText(c.Results[0]) + t.pick(".", "。"))
	case len(done) > 0:
		fmt.Fprintf(&b, t.pick("%s %d: %s.", "%s %d 人：%s。"), t.pick(what[0], what[1]), len(done), t.listUsers(done))
	default:
		b.WriteString(t.pick("nothing was reversed.", "未撤销任何操作。"))
	}
	if len(not) > 0 && verb != moderation.VerbUnlock {
		fmt.Fprintf(&b, t.pick(" Not done %d: %s.", " 未完成 %d 人：%s。"), len(not), t.listUsers(not))
	}
	if c.ID > 0 {
		fmt.Fprintf(&b, t.pick(" Case #%d.", " 案例 #%d。"), c.ID)
	}
	return b.String()
}

// undoNote is the footer of an undone case's card.
func (t *texts) undoNote(actor string, c *moderation.Case) string {
	return fmt.Sprintf(t.pick("Undone by %s (case #%d).", "已由 %s 撤销（案例 #%d）。"), actor, c.ID)
}

// pressNote is the footer of a card after a press: who pressed what, and
// the answer.
func (t *texts) pressNote(actor string, verb moderation.Verb, answer string) string {
	return fmt.Sprintf(t.pick("%s pressed %s: %s", "%s 点击了「%s」：%s"), actor, t.verbName(verb), answer)
}

// digestPost lists deferred cases in one mod-log message, as many as fit
// the platform's size (at most maxDigestCases): a card without buttons
// (the text says how to undo one) and the same as text. n is how many it
// lists, the first n of cases; the rest wait for the next digest.
func (t *texts) digestPost(cases []*moderation.Case, limit int, prefix string) (post moderation.Post, n int) {
	foot := fmt.Sprintf(t.pick("Reverse one with %sundo N (N its case number) or in the console.", "撤销某一项：%s撤销 N（N 为案例号），或在控制台操作。"), prefix)
	var fields []moderation.CardField
	var lines []string
	size := len(foot) + 200 // the title and the separators
	for _, c := range cases {
		if n == maxDigestCases {
			break
		}
		by := c.Actor
		if c.Rule != "" && c.Actor == "" {
			by = "Gavel, " + c.Rule
		}
		what := t.verbName(c.Verb)
		if c.Duration > 0 {
			what += " " + moderation.FormatDuration(c.Duration)
		}
		value := fmt.Sprintf("%s · %s · %s", c.Platform+":"+c.ChatID, by, t.listUsers(c.Targets))
		if c.Rule != "" && c.Reason != "" {
			value += t.pick(" · matched ", " · 命中 ") + c.Reason
		} else if c.Reason != "" {
			value += " · " + c.Reason
		}
		value = fitText(value+" · "+t.outcomeText(c), maxFieldRunes)
		label := fmt.Sprintf("#%d %s", c.ID, what)
		line := label + ": " + value
		if n > 0 && limit > 0 && size+len(line)+1 > limit {
			break // the next digest lists the rest
		}
		size += len(line) + 1
		fields = append(fields, moderation.CardField{Label: label, Value: value})
		lines = append(lines, line)
		n++
	}
	title := fmt.Sprintf(t.pick("Mod-log digest: %d cases over the budget", "管理日志汇总：超出频率的 %d 个案例"), n)
	text := fitText(title+"\n"+strings.Join(lines, "\n")+"\n"+foot, limit)
	return moderation.Post{Text: text, Card: &moderation.Card{Title: title, Color: "grey", Fields: fields, Note: foot}}, n
}
