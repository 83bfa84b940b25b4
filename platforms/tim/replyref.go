package tim

import (
	"strconv"

	"gavel/moderation"
	"gavel/platforms/wirejson"
)

// maxCloudCustomData bounds the CloudCustomData Gavel reads for a reply
// reference; a longer value is ignored, not cut.
const maxCloudCustomData = 8 << 10

// tuikitReply is the reply reference TUIKit clients (iOS, Android, Web)
// put in a message's CloudCustomData:
//
//	{"messageReply":{"messageID":"…","messageAbstract":"…","messageSender":"…",
//	  "messageType":1,"messageTime":1700000000,"messageSequence":123,"version":1}}
//
// TIM documents no reply field; this is the clients' convention.
// messageID is the client message ID (MsgId), which group_msg_recall does
// not take; messageSequence is the original's MsgSeq, the ID Gavel uses.
// messageSender is a display name (nickname before user ID), so it is not
// taken as the sender.
type tuikitReply struct {
	MessageReply *struct {
		MessageSequence flexInt `json:"messageSequence"`
	} `json:"messageReply"`
}

// replyRef returns the message a callback's message replies to, from the
// TUIKit reference in CloudCustomData; nil when there is none, or when it
// is oversized or malformed. It is client-controlled JSON: Gavel takes
// only the target's MsgSeq from it, as a suggestion, never a sender.
func replyRef(raw wirejson.Value) *moderation.MessageRef {
	if len(raw) == 0 || len(raw) > 2*maxCloudCustomData {
		return nil
	}
	var s string
	if err := wirejson.Unmarshal(raw, &s); err != nil || s == "" || len(s) > maxCloudCustomData {
		return nil
	}
	var r tuikitReply
	if err := wirejson.Unmarshal([]byte(s), &r); err != nil || r.MessageReply == nil {
		return nil
	}
	seq := r.MessageReply.MessageSequence
	if !seq.Set || seq.V <= 0 {
		return nil
	}
	return &moderation.MessageRef{ID: strconv.FormatInt(seq.V, 10)}
}
