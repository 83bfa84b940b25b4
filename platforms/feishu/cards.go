package feishu

// cards.go: Feishu's interactive cards. A moderation.Card is rendered as
// a message card (card JSON 1.0: header, div lines, a row of buttons, a
// note), and a press of one of its buttons, the card.action.trigger
// callback, is decoded into a moderation.Action.
//
// Rendering choices:
//   - config.update_multi is always true: only a shared card can be
//     patched (message/patch page), and UpdatePost must be able to.
//   - Field values are plain_text, never lark_md: they carry names,
//     reasons and matched text that users typed, which lark_md would
//     interpret (links, <at id=all>, emphasis). Labels are Gavel's own
//     words and are bold (lark_md) unless they contain a character
//     lark_md gives a meaning to, in which case they are plain_text too.
//   - A button's value carries its verb, case, targets and Only in short
//     keys (g, v, c, t, o, n). More than maxButtonTargets targets are not
//     carried: the value holds their count (n) and names none, the press
//     then means "the case's targets", and the card says so in a line of
//     its own. Such a button needs a case id, or the card is refused.
//   - A card whose request body would exceed maxCardBody is refused with
//     errCardTooLarge, never shortened: the caller may post Text instead.

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gavel/moderation"
	"gavel/platforms/wirejson"
)

// eventCardAction is the card callback (schema 2.0), delivered to the same
// request URL as events (or over the long connection), encrypted, signed
// and carrying the Verification Token like them.
const eventCardAction = "card.action.trigger"

// cardAck answers a card callback: an info toast, in the client's language.
// Feishu wants "{}" or a toast within 3 s; the job the press becomes
// updates the card later through UpdatePost.
var cardAck = json.RawMessage(`{"toast":{"type":"info","content":"Gavel received your request.",` +
	`"i18n":{"zh_cn":"Gavel 已收到你的操作。","en_us":"Gavel received your request."}}}`)

// buttonMarker marks a button value as Gavel's (key "g"): a press of a
// button Gavel did not render is refused rather than guessed at.
const buttonMarker = 1

// errCardTooLarge is wrapped by Post and UpdatePost for a card over
// maxCardBody.
var errCardTooLarge = errors.New("card larger than Feishu takes")

// headerTemplates are the header colours Feishu's card JSON accepts.
var headerTemplates = map[string]bool{
	"blue": true, "wathet": true, "turquoise": true, "green": true, "yellow": true, "orange": true,
	"red": true, "carmine": true, "violet": true, "purple": true, "indigo": true, "grey": true, "default": true,
}

// buttonTypes maps moderation.Button.Style to Feishu's button type.
var buttonTypes = map[string]string{"": "default", "primary": "primary", "danger": "danger"}

// pressableVerbs are the verbs a button may carry: the #17 and #19 verbs
// and the action verbs a mod-log card offers.
var pressableVerbs = map[moderation.Verb]bool{
	moderation.VerbUndo: true, moderation.VerbConfirm: true, moderation.VerbCancel: true,
	moderation.VerbDismiss: true, moderation.VerbVerify: true, moderation.VerbReport: true,
	moderation.VerbBan: true, moderation.VerbKick: true, moderation.VerbMute: true,
	moderation.VerbUnmute: true, moderation.VerbUnban: true, moderation.VerbUnlock: true,
	moderation.VerbAdd: true,
}

// buttonValue is a button's value: what Feishu echoes in action.value.
type buttonValue struct {
	Marker  int      `json:"g"`
	Verb    string   `json:"v"`
	CaseID  int64    `json:"c,omitempty"`
	Targets []string `json:"t,omitempty"`
	Only    string   `json:"o,omitempty"`
	// Count is the number of targets when they are too many to carry.
	Count int `json:"n,omitempty"`
}

type textObj struct {
	Tag     string `json:"tag"`
	Content string `json:"content"`
}

type cardJSON struct {
	Config   map[string]bool `json:"config"`
	Header   cardHeader      `json:"header"`
	Elements []any           `json:"elements"`
}

type cardHeader struct {
	Title    textObj `json:"title"`
	Template string  `json:"template"`
}

type divField struct {
	IsShort bool    `json:"is_short"`
	Text    textObj `json:"text"`
}

type cardButton struct {
	Tag   string      `json:"tag"`
	Text  textObj     `json:"text"`
	Type  string      `json:"type"`
	Value buttonValue `json:"value"`
}

// renderCard returns the card JSON of card: the message's content string.
func renderCard(card *moderation.Card) (string, error) {
	tmpl := card.Color
	if tmpl == "" {
		tmpl = "blue"
	}
	if !headerTemplates[tmpl] {
		return "", fmt.Errorf("card colour %q is not one Feishu has", card.Color)
	}
	if strings.TrimSpace(card.Title) == "" {
		return "", errors.New("card without a title")
	}
	out := cardJSON{
		Config: map[string]bool{"wide_screen_mode": true, "update_multi": true},
		Header: cardHeader{Title: textObj{Tag: "plain_text", Content: card.Title}, Template: tmpl},
	}
	for _, f := range card.Fields {
		out.Elements = append(out.Elements, map[string]any{"tag": "div", "fields": []divField{
			{IsShort: true, Text: label(f.Label)},
			{IsShort: true, Text: textObj{Tag: "plain_text", Content: f.Value}},
		}})
	}
	var buttons []cardButton
	for _, b := range card.Buttons {
		btn, summary, err := renderButton(b)
		if err != nil {
			return "", err
		}
		if summary != "" {
			out.Elements = append(out.Elements, map[string]any{"tag": "div", "text": textObj{Tag: "plain_text", Content: summary}})
		}
		buttons = append(buttons, btn)
	}
	if len(buttons) > 0 {
		out.Elements = append(out.Elements, map[string]any{"tag": "action", "actions": buttons})
	}
	if card.Note != "" {
		out.Elements = append(out.Elements, map[string]any{"tag": "hr"},
			map[string]any{"tag": "note", "elements": []textObj{{Tag: "plain_text", Content: card.Note}}})
	}
	if out.Elements == nil {
		out.Elements = []any{}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return "", fmt.Errorf("encoding card: %w", err)
	}
	return string(b), nil
}

// label is a field label: bold lark_md when it holds no lark_md markup.
func label(s string) textObj {
	if strings.ContainsAny(s, "*_~`[]()<>&\\#|!\n") || s == "" {
		return textObj{Tag: "plain_text", Content: s}
	}
	return textObj{Tag: "lark_md", Content: "**" + s + "**"}
}

// renderButton returns b as a card button and, when b has more targets
// than its value carries, the line the card shows about them.
func renderButton(b moderation.Button) (cardButton, string, error) {
	if !pressableVerbs[b.Verb] {
		return cardButton{}, "", fmt.Errorf("button %q: verb %q cannot be pressed", b.Label, b.Verb)
	}
	typ, ok := buttonTypes[b.Style]
	if !ok {
		return cardButton{}, "", fmt.Errorf("button %q: style %q is not primary, danger or empty", b.Label, b.Style)
	}
	v := buttonValue{Marker: buttonMarker, Verb: string(b.Verb), CaseID: b.CaseID, Only: b.Only, Targets: b.Targets}
	summary := ""
	if len(b.Targets) > maxButtonTargets {
		if b.CaseID <= 0 {
			return cardButton{}, "", fmt.Errorf("button %q: %d targets are more than a button carries (%d) and there is no case to name them",
				b.Label, len(b.Targets), maxButtonTargets)
		}
		v.Targets, v.Count = nil, len(b.Targets)
		summary = fmt.Sprintf("%s acts on all %d users of case %d.", b.Label, len(b.Targets), b.CaseID)
	}
	return cardButton{Tag: "button", Text: textObj{Tag: "plain_text", Content: b.Label}, Type: typ, Value: v}, summary, nil
}

// cardActionEvent is the event of a card.action.trigger callback: the
// fields Gavel reads (SDK v3.12.0 callback.CardActionTriggerRequest).
type cardActionEvent struct {
	Operator struct {
		OpenID string `json:"open_id"`
	} `json:"operator"`
	Action struct {
		Tag   string         `json:"tag"`
		Value wirejson.Value `json:"value"`
	} `json:"action"`
	Host    string `json:"host"`
	Context struct {
		OpenMessageID string `json:"open_message_id"`
		OpenChatID    string `json:"open_chat_id"`
	} `json:"context"`
}

// parseCardAction decodes a card.action.trigger event into an Action.
// Every malformation is ErrMalformed: a value that is not Gavel's, an
// unknown verb, a missing presser, card or chat.
func parseCardAction(raw wirejson.Value, at time.Time) (*moderation.Action, error) {
	var ev cardActionEvent
	if err := wirejson.Unmarshal(raw, &ev); err != nil {
		return nil, fmt.Errorf("decoding %s: %w: %w", eventCardAction, moderation.ErrMalformed, err)
	}
	switch {
	case ev.Operator.OpenID == "":
		return nil, fmt.Errorf("%s without operator.open_id: %w", eventCardAction, moderation.ErrMalformed)
	case ev.Context.OpenMessageID == "" || ev.Context.OpenChatID == "":
		return nil, fmt.Errorf("%s without context.open_message_id or open_chat_id: %w", eventCardAction, moderation.ErrMalformed)
	case ev.Action.Tag != "button":
		return nil, fmt.Errorf("%s from a %q, not a button: %w", eventCardAction, truncate(ev.Action.Tag, 24), moderation.ErrMalformed)
	}
	v, err := decodeButtonValue(ev.Action.Value)
	if err != nil {
		return nil, err
	}
	chat := moderation.ChatRef{Platform: Name, ID: ev.Context.OpenChatID, Kind: "group"}
	return &moderation.Action{
		Actor:   ev.Operator.OpenID,
		Verb:    moderation.Verb(v.Verb),
		CaseID:  v.CaseID,
		Chat:    chat,
		Targets: v.Targets,
		Only:    v.Only,
		Card:    &moderation.PostRef{Chat: chat, MessageID: ev.Context.OpenMessageID},
		At:      at,
	}, nil
}

// decodeButtonValue reads a button's value as renderButton wrote it.
func decodeButtonValue(raw wirejson.Value) (buttonValue, error) {
	var v struct {
		Marker  int            `json:"g"`
		Verb    string         `json:"v"`
		CaseID  wirejson.Value `json:"c"`
		Targets []string       `json:"t"`
		Only    string         `json:"o"`
		Count   int            `json:"n"`
	}
	if len(raw) == 0 || raw.Kind() != '{' {
		return buttonValue{}, fmt.Errorf("button value is not an object: %w", moderation.ErrMalformed)
	}
	if err := wirejson.Unmarshal(raw, &v); err != nil {
		return buttonValue{}, fmt.Errorf("decoding button value: %w: %w", moderation.ErrMalformed, err)
	}
	if v.Marker != buttonMarker {
		return buttonValue{}, fmt.Errorf("button value is not Gavel's (g=%d): %w", v.Marker, moderation.ErrMalformed)
	}
	if !pressableVerbs[moderation.Verb(v.Verb)] {
		return buttonValue{}, fmt.Errorf("button verb %q is unknown: %w", truncate(v.Verb, 24), moderation.ErrMalformed)
	}
	caseID, err := caseNumber(v.CaseID)
	if err != nil {
		return buttonValue{}, err
	}
	switch {
	case len(v.Targets) > maxButtonTargets:
		return buttonValue{}, fmt.Errorf("button value names %d targets, more than %d: %w", len(v.Targets), maxButtonTargets, moderation.ErrMalformed)
	case v.Count < 0 || (v.Count > 0 && (len(v.Targets) > 0 || caseID == 0)):
		return buttonValue{}, fmt.Errorf("button value counts %d targets inconsistently: %w", v.Count, moderation.ErrMalformed)
	}
	for _, t := range v.Targets {
		if t == "" {
			return buttonValue{}, fmt.Errorf("button value names an empty target: %w", moderation.ErrMalformed)
		}
	}
	return buttonValue{Marker: v.Marker, Verb: v.Verb, CaseID: caseID, Targets: v.Targets, Only: v.Only, Count: v.Count}, nil
}

// caseNumber reads a case id written as a JSON number (or, should Feishu
// echo it as one, a string of digits): absent is 0, negative or not a
// whole number is ErrMalformed.
func caseNumber(raw wirejson.Value) (int64, error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return 0, nil
	}
	if unq, err := strconv.Unquote(s); err == nil {
		s = unq
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("button case %q is not a case number: %w", truncate(s, 24), moderation.ErrMalformed)
	}
	return n, nil
}
