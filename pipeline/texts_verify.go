// Texts of joiner verification and member reports (#19).

package pipeline

import (
	"fmt"
	"strings"
	"time"

	"gavel/moderation"
)

// challenge is the message asking joiners to verify: a card with one
// button per joiner (only that joiner may press it) in mode button, the
// question in mode text.
func (t *texts) challenge(cfg VerifyConfig, joiners []string, question string, timeout time.Duration, caseID int64) moderation.Post {
	names := strings.Join(joiners, ", ")
	within := moderation.FormatDuration(timeout)
	var text, ask string
	if cfg.Mode == "button" {
		ask = t.pick("Press your button below", "请点击下方属于你的按钮")
		text = fmt.Sprintf(t.pick("Welcome %s! %s within %s to speak here; otherwise you will be removed.",
			"欢迎 %s！请在 %s 内%s，之后才能发言；否则将被移出。"), t.orderArgs3(names, ask, within)...)
	} else {
		if cfg.Question == "phrase" {
			ask = fmt.Sprintf(t.pick("send exactly: %s", "发送：%s"), question)
		} else {
			ask = fmt.Sprintf(t.pick("send the answer to %s", "发送 %s 的结果"), question)
		}
		text = fmt.Sprintf(t.pick("Welcome %s! To speak here, %s within %s; otherwise you will be removed.",
			"欢迎 %s！请在 %s 内%s，之后才能发言；否则将被移出。"), t.orderArgs3(names, ask, within)...)
	}
	card := &moderation.Card{Title: t.pick("New members: please verify", "新成员验证"), Color: "blue",
		Fields: []moderation.CardField{{Label: t.pick("Joiners", "新成员"), Value: names}}, Note: fmt.Sprintf("case #%d", caseID)}
	if cfg.Mode == "button" {
		for _, u := range joiners {
			card.Buttons = append(card.Buttons, moderation.Button{Label: fmt.Sprintf(t.pick("I am %s, not a bot", "我是 %s，不是机器人"), u),
				Verb: moderation.VerbVerify, CaseID: caseID, Targets: []string{u}, Only: u, Style: "primary"})
		}
	} else {
		card.Fields = append(card.Fields, moderation.CardField{Label: t.pick("Question", "问题"), Value: ask})
	}
	return moderation.Post{Text: text, Card: card}
}

// orderArgs3 orders (names, ask, within) for the language's sentence.
func (t *texts) orderArgs3(names, ask, within string) []any {
	if t.zh {
		return []any{names, within, ask}
	}
	return []any{names, ask, within}
}

func (t *texts) reportUsage(prefix string) string {
	return strings.ReplaceAll(t.pick("Reply to a message with /report [reason], or /report @user [reason].",
		"回复某条消息并发送 /举报 [原因]，或 /举报 @用户 [原因]。"), "/", prefix)
}

// reportAck tells the chat a report was received; it names nobody. It
// says the moderators were told only when the chat has a mod-log to tell
// them in; otherwise the report is a case they find with /case or the
// console.
func (t *texts) reportAck(modlog bool) string {
	if modlog {
		return t.pick("A report was received; the moderators have been told.", "已收到一条举报，已通知管理员。")
	}
	return t.pick("A report was received and recorded for the moderators.", "已收到一条举报，已记录供管理员查看。")
}
