package moderation

import (
	"context"
	"time"
)

// The verbs of the mod-log, undo and confirmations (issue #17) and of
// joiner verification and member reports (issue #19).
const (
	// VerbAdd adds users to a chat: how /undo reverses a kick.
	VerbAdd Verb = "add"
	// VerbUndo reverses a case exactly: /undo N, a mod-log card's Undo.
	VerbUndo Verb = "undo"
	// VerbConfirm and VerbCancel answer a confirmation request for a
	// large or drastic command: /confirm N, /cancel N, the card's buttons.
	VerbConfirm Verb = "confirm"
	VerbCancel  Verb = "cancel"
	// VerbDismiss closes a mod-log card or a report with no action.
	VerbDismiss Verb = "dismiss"
	// VerbReport is a member's report of a message or a user: /report.
	VerbReport Verb = "report"
	// VerbVerify is a joiner's verification: its challenge, its answer
	// (a card button on Feishu) and its timeout.
	VerbVerify Verb = "verify"
	// VerbDigest is the mod-log's digest: one post listing the cases a
	// mod-log chat's budget (modlog.per_minute) held back (a Timer verb).
	VerbDigest Verb = "digest"
)

// EventAction is a request to act that did not come as a chat message:
// a button pressed on a card Gavel posted (Feishu card.action.trigger,
// over the webhook or the long connection) or an action taken in the
// console. It runs as a durable job like every event, and policy decides
// on it at the time it runs.
const EventAction EventKind = "action"

// Action is what was pressed or clicked.
type Action struct {
	// Actor is who asked: a canonical platform user id for a card press
	// (the presser), "console:NAME" for the console.
	Actor string `json:"actor"`
	// Verb is what is asked: VerbUndo, VerbDismiss, VerbConfirm,
	// VerbCancel, VerbVerify (a joiner's button), or an action verb
	// (VerbBan, VerbMute, VerbKick from a card; VerbUnmute, VerbUnban,
	// VerbUnlock from the console).
	Verb Verb `json:"verb"`
	// CaseID is the case the button belongs to: the case to undo, the
	// confirmation request, the report. Zero for a console lift.
	CaseID int64 `json:"case_id,omitempty"`
	// Chat is the chat acted on when the action names it (a console
	// lift, a verification button); otherwise the case's chat.
	Chat ChatRef `json:"chat"`
	// Targets are the users acted on when the action names them.
	Targets []string `json:"targets,omitempty"`
	// Only is the pressed button's Button.Only: when set, the one user
	// the pipeline lets press it (the platform lets anyone press).
	Only     string        `json:"only,omitempty"`
	Duration time.Duration `json:"duration,omitempty"`
	// Card is the message the press came from, to be updated with who
	// pressed what; nil for the console.
	Card *PostRef  `json:"card,omitempty"`
	At   time.Time `json:"at"`
}

// PostRef names a message Gavel posted.
type PostRef struct {
	Chat      ChatRef `json:"chat"`
	MessageID string  `json:"message_id"`
}

// Post is a message Gavel posts on its own account, not as a reply: a
// mod-log entry, a confirmation request, a verification challenge.
type Post struct {
	// Text is the whole content as plain text: what platforms without
	// cards post (TIM, Easemob), and the card's fallback.
	Text string `json:"text"`
	// Card is the same content as a card with buttons; nil for plain
	// text. Platforms without cards post Text.
	Card *Card `json:"card,omitempty"`
}

// Card is a platform-neutral interactive card (Feishu: an interactive
// message whose buttons come back as card.action.trigger).
type Card struct {
	Title string `json:"title"`
	// Color is the header's: "red", "orange", "blue", "green", "grey".
	Color  string      `json:"color,omitempty"`
	Fields []CardField `json:"fields,omitempty"`
	// Note is the footer: who pressed what ("Undone by Alice, case 13").
	Note    string   `json:"note,omitempty"`
	Buttons []Button `json:"buttons,omitempty"`
}

// CardField is one labelled line of a card.
type CardField struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// Button is a card button. Pressing it arrives as an EventAction with the
// button's Verb, CaseID and Targets; Only, when set, is the one user the
// pipeline lets press it (a joiner's verification button): the platform
// lets anyone press.
type Button struct {
	Label   string   `json:"label"`
	Verb    Verb     `json:"verb"`
	CaseID  int64    `json:"case_id,omitempty"`
	Targets []string `json:"targets,omitempty"`
	Only    string   `json:"only,omitempty"`
	// Style is "primary", "danger" or "" (default).
	Style string `json:"style,omitempty"`
}

// Poster posts and edits Gavel's own messages and adds members back; the
// Platform contract embeds it.
type Poster interface {
	// Post posts p into chat (not as a reply) and returns the posted
	// message's id.
	Post(ctx context.Context, chat ChatRef, p Post) (messageID string, err error)
	// UpdatePost replaces the content of a message Post posted (Feishu:
	// the card is patched); ErrUnsupported where messages cannot be
	// edited: the pipeline then posts a follow-up.
	UpdatePost(ctx context.Context, ref PostRef, p Post) error
	// Add adds users to chat, at most Limits().Batch[VerbAdd] per
	// invocation, one platform call: how /undo reverses a kick. Users
	// already members are StatusNoop; a chat type users cannot be added
	// to is StatusRefused with the platform's reason.
	Add(ctx context.Context, chat ChatRef, userIDs []string, opts ActionOptions) []Result
}
