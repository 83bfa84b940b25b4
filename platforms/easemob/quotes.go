package easemob

import (
	"strings"
	"unicode"

	"gavel/moderation"
	"gavel/platforms/wirejson"
)

// Reply references. Easemob's message has no reply field; its UIKits and
// the message-quote pages (消息引用, iOS/Android/Web/solution pages) put
// the quoted message in the reply's ext:
//
//	"msgQuote": {"msgID": "…", "msgPreview": "…", "msgSender": "…", "msgType": "txt"}
//
// The ext is written by the sender's client, so the reference is read
// defensively: the object (or a JSON string holding it, as an app may
// store ext values as strings) of at most maxQuoteBytes, an ID and a
// sender that could be an Easemob message ID and user ID, anything else
// ignored. The sender is the command issuer's own client's claim about
// the message they reply to.
const (
	maxQuoteBytes = 4096
	// maxQuoteID bounds msgID and msgSender: Easemob user IDs are at most
	// 64 characters; message IDs are decimal numbers well under that.
	maxQuoteID = 64
)

// replyTo returns the message a callback's msgQuote names, or nil.
func replyTo(raw wirejson.Value) *moderation.MessageRef {
	if len(raw) == 0 || len(raw) > maxQuoteBytes {
		return nil
	}
	t := strings.TrimSpace(string(raw))
	if strings.HasPrefix(t, `"`) {
		var s string
		if wirejson.Unmarshal(raw, &s) != nil {
			return nil
		}
		t = strings.TrimSpace(s)
	}
	if !strings.HasPrefix(t, "{") {
		return nil
	}
	var q struct {
		MsgID     wirejson.Value `json:"msgID"`
		MsgSender wirejson.Value `json:"msgSender"`
	}
	if wirejson.Unmarshal([]byte(t), &q) != nil {
		return nil
	}
	id := quoteString(q.MsgID)
	if id == "" {
		return nil
	}
	ref := &moderation.MessageRef{ID: id}
	if s := quoteString(q.MsgSender); s != "" {
		ref.SenderID = CanonicalUserID(s)
	}
	return ref
}

// quoteString returns v when it is a JSON string (or number, for an ID)
// that could name a message or user: 1–64 characters, none of them space
// or control characters.
func quoteString(v wirejson.Value) string {
	t := strings.TrimSpace(string(v))
	var s string
	switch {
	case strings.HasPrefix(t, `"`):
		if wirejson.Unmarshal(v, &s) != nil {
			return ""
		}
	case t != "" && strings.Trim(t, "0123456789") == "":
		s = t
	default:
		return ""
	}
	if s == "" || len(s) > maxQuoteID {
		return ""
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == unicode.ReplacementChar {
			return ""
		}
	}
	return s
}
