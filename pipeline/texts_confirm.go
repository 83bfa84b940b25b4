// What the chat is told about held commands (confirm.go).

package pipeline

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"gavel/moderation"
)

// heldWhat says what a held case would do: "kick of 150 users",
// "lock of the chat".
func (t *texts) heldWhat(c *moderation.Case) string {
	if len(c.Targets) == 0 {
		return fmt.Sprintf(t.pick("/%s of the whole chat", "/%s（全群）"), c.Verb)
	}
	return fmt.Sprintf(t.pick("/%s of %d user(s)", "/%s %d 人"), c.Verb, len(c.Targets))
}

// heldPost asks for an answer to held case c: the instruction first (a
// platform's message limit may cut the end), then who asked, the
// targets and the reason. The card carries the same with Confirm and
// Cancel buttons.
func (t *texts) heldPost(c *moderation.Case, timeout time.Duration, prefix string) moderation.Post {
	id := strconv.FormatInt(c.ID, 10)
	confirm, cancel := prefix+t.pick("confirm ", "确认 ")+id, prefix+t.pick("cancel ", "取消 ")+id
	targets := t.firstOf(c.Targets, 10, ", ")
	var b strings.Builder
	fmt.Fprintf(&b, t.pick("Case #%s: ", "案例 #%s："), id)
	fmt.Fprintf(&b, t.pick("%s by %s", "%s 发起的 %s"), t.orderArgs(t.heldWhat(c), t.orderWho(c))...)
	fmt.Fprintf(&b, t.pick(" awaits an admin's confirmation. Send %s to carry it out or %s to drop it; it expires in %s.",
		"需管理员确认。发送 %s 执行，或 %s 放弃；%s 后失效。"), confirm, cancel, moderation.FormatDuration(timeout))
	if targets != "" {
		fmt.Fprintf(&b, t.pick(" Targets: %s.", " 目标：%s。"), targets)
	}
	if c.Reason != "" {
		fmt.Fprintf(&b, t.pick(" Reason: %s.", " 原因：%s。"), c.Reason)
	}
	card := &moderation.Card{
		Title: fmt.Sprintf(t.pick("Confirm %s?", "确认执行 %s？"), t.heldWhat(c)),
		Color: "orange",
		Fields: []moderation.CardField{
			{Label: t.pick("Case", "案例"), Value: "#" + id},
			{Label: t.pick("Requested by", "发起人"), Value: c.Actor},
			{Label: t.pick("Action", "操作"), Value: string(c.Verb)},
		},
		Note: fmt.Sprintf(t.pick("Only admins may answer; expires in %s.", "仅管理员可确认；%s 后失效。"), moderation.FormatDuration(timeout)),
		Buttons: []moderation.Button{
			{Label: t.pick("Confirm", "确认"), Verb: moderation.VerbConfirm, CaseID: c.ID, Style: "primary"},
			{Label: t.pick("Cancel", "取消"), Verb: moderation.VerbCancel, CaseID: c.ID},
		},
	}
	if targets != "" {
		card.Fields = append(card.Fields, moderation.CardField{Label: t.pick("Targets", "目标"), Value: targets})
	}
	if c.Reason != "" {
		card.Fields = append(card.Fields, moderation.CardField{Label: t.pick("Reason", "原因"), Value: c.Reason})
	}
	return moderation.Post{Text: b.String(), Card: card}
}

// orderWho names a case's actor.
func (t *texts) orderWho(c *moderation.Case) string {
	if c.Actor == "" {
		return "Gavel"
	}
	return c.Actor
}

func (t *texts) noHeld(id int64) string {
	return fmt.Sprintf(t.pick("No command awaits confirmation as case #%d in this chat.", "本群没有等待确认的案例 #%d。"), id)
}

// answered tells a late answer what became of held case id: its answer
// a (case a.ID).
func (t *texts) answered(id int64, a moderation.Case) string {
	switch a.Outcome.Kind() {
	case moderation.OutcomeExpired:
		return fmt.Sprintf(t.pick("Case #%d expired unconfirmed (case #%d); nothing was done. Send the command again.",
			"案例 #%d 已过期未确认（案例 #%d），未执行任何操作。请重新发送命令。"), id, a.ID)
	case moderation.OutcomeCancelled:
		return fmt.Sprintf(t.pick("Case #%d was already cancelled by %s (case #%d).", "案例 #%d 已被 %s 取消（案例 #%d）。"), id, a.Actor, a.ID)
	}
	return fmt.Sprintf(t.pick("Case #%d was already confirmed by %s (case #%d); nothing more was done.",
		"案例 #%d 已由 %s 确认（案例 #%d），未重复执行。"), id, a.Actor, a.ID)
}

func (t *texts) expired(id int64, timeout time.Duration) string {
	return fmt.Sprintf(t.pick("Case #%d expired: nobody confirmed it within %s, so nothing was done. Send the command again.",
		"案例 #%d 已过期：%s 内无人确认，未执行任何操作。请重新发送命令。"), id, moderation.FormatDuration(timeout))
}

func (t *texts) cancelled(id int64, a *moderation.Case) string {
	return fmt.Sprintf(t.pick("Case #%d cancelled by %s (case #%d); nothing was done.", "案例 #%d 已被 %s 取消（案例 #%d），未执行任何操作。"), id, a.Actor, a.ID)
}

// answerNote is a pressed card's footer: who answered.
func (t *texts) answerNote(a *moderation.Case) string {
	switch a.Outcome {
	case moderation.OutcomeExpired:
		return fmt.Sprintf(t.pick("Expired (case #%d).", "已过期（案例 #%d）。"), a.ID)
	case moderation.OutcomeCancelled:
		return fmt.Sprintf(t.pick("Cancelled by %s (case #%d).", "已由 %s 取消（案例 #%d）。"), a.Actor, a.ID)
	}
	return fmt.Sprintf(t.pick("Confirmed by %s (case #%d).", "已由 %s 确认（案例 #%d）。"), a.Actor, a.ID)
}
