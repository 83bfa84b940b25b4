// The decoding half of Receive: a verified callback body → moderation.Event.

package tim

import (
	"bytes"
	"fmt"
	"gavel/moderation"
	"gavel/platforms/wirejson"
	"strconv"
	"strings"
	"time"
)

// flexInt is an integer TIM sends as a JSON number or as a decimal string
// (EventTime is a string in the English samples, a number in the Chinese).
type flexInt struct {
	V   int64
	Set bool
}

func (f *flexInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := wirejson.Unmarshal(b, &s); err != nil {
			return err
		}
		b = []byte(strings.TrimSpace(s))
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("not an integer: %q", truncate(string(b), 32))
	}
	f.V, f.Set = v, true
	return nil
}

type callbackBody struct {
	CallbackCommand string    `json:"CallbackCommand"`
	GroupID         string    `json:"GroupId"`
	Type            string    `json:"Type"`
	FromAccount     string    `json:"From_Account"`
	OperatorAccount string    `json:"Operator_Account"`
	MsgSeq          flexInt   `json:"MsgSeq"`
	Random          flexInt   `json:"Random"`
	MsgID           string    `json:"MsgId"`
	MsgTime         flexInt   `json:"MsgTime"`
	MsgBody         []msgElem `json:"MsgBody"`
	EventTime       flexInt   `json:"EventTime"`
	GroupAtInfo     []groupAt `json:"GroupAtInfo"`
	// TopicID is the topic of a Community group with topics; empty
	// otherwise.
	TopicID       string       `json:"TopicId"`
	JoinType      string       `json:"JoinType"`
	NewMemberList []memberItem `json:"NewMemberList"`
	// CloudCustomData is the client's free-form string; TUIKit clients
	// put their reply reference there (see replyRef).
	CloudCustomData wirejson.Value `json:"CloudCustomData"`
	// RequestorAccount and DestinationMembers are the pre-join
	// callbacks' applicant and invitees.
	RequestorAccount   string       `json:"Requestor_Account"`
	DestinationMembers []memberItem `json:"DestinationMembers"`
}

type msgElem struct {
	MsgType    string         `json:"MsgType"`
	MsgContent wirejson.Value `json:"MsgContent"`
}

type textContent struct {
	Text string `json:"Text"`
}

type groupAt struct {
	GroupAtAllFlag int    `json:"GroupAtAllFlag"`
	GroupAtAccount string `json:"GroupAt_Account"`
}

type memberItem struct {
	MemberAccount string `json:"Member_Account"`
}

// decodeCallback decodes a callback body and reconciles its command with
// the one in the query string.
func decodeCallback(queryCmd string, raw []byte) (*callbackBody, error) {
	var body callbackBody
	if err := wirejson.Unmarshal(raw, &body); err != nil {
		return nil, fmt.Errorf("tim: callback body: %w", moderation.ErrMalformed)
	}
	switch {
	case queryCmd == "" && body.CallbackCommand == "":
		return nil, fmt.Errorf("tim: callback without CallbackCommand: %w", moderation.ErrMalformed)
	case body.CallbackCommand == "":
		body.CallbackCommand = queryCmd
	case queryCmd != "" && queryCmd != body.CallbackCommand:
		return nil, fmt.Errorf("tim: CallbackCommand differs between URL and body: %w", moderation.ErrMalformed)
	}
	return &body, nil
}

// messageEvent normalises Group.CallbackAfterSendMsg.
func messageEvent(b *callbackBody, now time.Time) (moderation.Event, error) {
	if b.GroupID == "" || b.FromAccount == "" || !b.MsgSeq.Set || b.MsgSeq.V < 0 {
		return moderation.Event{}, fmt.Errorf("tim: message callback without GroupId, From_Account or MsgSeq: %w", moderation.ErrMalformed)
	}
	text, err := msgText(b.MsgBody)
	if err != nil {
		return moderation.Event{}, err
	}
	seq := strconv.FormatInt(b.MsgSeq.V, 10)
	msg := &moderation.Message{
		Chat:      moderation.ChatRef{Platform: Name, ID: b.GroupID, Kind: b.Type, Thread: b.TopicID},
		MessageID: seq,
		SenderID:  b.FromAccount,
		Text:      text,
		Mentions:  atMentions(b.GroupAtInfo), // names: see Client.mentions
		SentAt:    eventTime(b.MsgTime, b.EventTime, now),
		ReplyTo:   replyRef(b.CloudCustomData),
	}
	// MsgSeq is documented as unique per group, but a topic's messages
	// have their own sequence (each topic is a conversation of its own);
	// the topic is part of the key so that two topics' message 7 are not
	// taken for one re-delivery. Without a topic the key is unchanged.
	id := "tim:msg:" + b.GroupID + ":" + seq
	if b.TopicID != "" {
		id = "tim:msg:" + b.GroupID + ":" + b.TopicID + ":" + seq
	}
	keys := []string{id}
	if b.MsgID != "" {
		keys = append(keys, "tim:msgid:"+b.MsgID)
	}
	return moderation.Event{
		Kind:       moderation.EventMessage,
		Platform:   Name,
		DeliveryID: id,
		DedupKeys:  keys,
		Message:    msg,
	}, nil
}

// msgText concatenates the texts of the TIMTextElem elements of body;
// other element types are skipped.
func msgText(body []msgElem) (string, error) {
	var text strings.Builder
	for _, el := range body {
		if el.MsgType != "TIMTextElem" {
			continue
		}
		var tc textContent
		if err := wirejson.Unmarshal(el.MsgContent, &tc); err != nil {
			return "", fmt.Errorf("tim: TIMTextElem content: %w", moderation.ErrMalformed)
		}
		text.WriteString(tc.Text)
	}
	return text.String(), nil
}

// joinEvent normalises Group.CallbackAfterNewMemberJoin; nil when the list
// is empty.
func joinEvent(b *callbackBody, now time.Time) (*moderation.Event, error) {
	if b.GroupID == "" {
		return nil, fmt.Errorf("tim: join callback without GroupId: %w", moderation.ErrMalformed)
	}
	users := make([]string, 0, len(b.NewMemberList))
	for _, m := range b.NewMemberList {
		if m.MemberAccount != "" {
			users = append(users, m.MemberAccount)
		}
	}
	if len(users) == 0 {
		return nil, nil
	}
	at := eventTime(flexInt{}, b.EventTime, now)
	id := "tim:join:" + b.GroupID + ":" + strconv.FormatInt(at.UnixMilli(), 10) + ":" + strings.Join(users, ",")
	return &moderation.Event{
		Kind:       moderation.EventJoin,
		Platform:   Name,
		DeliveryID: id,
		DedupKeys:  []string{id},
		Join: &moderation.Join{
			Chat:     moderation.ChatRef{Platform: Name, ID: b.GroupID, Kind: b.Type},
			UserIDs:  users,
			Operator: b.OperatorAccount,
			At:       at,
		},
	}, nil
}

// eventTime prefers a seconds timestamp, then EventTime in milliseconds,
// then now.
func eventTime(secs, millis flexInt, now time.Time) time.Time {
	switch {
	case secs.Set && secs.V > 0 && secs.V < maxUnixSeconds:
		return time.Unix(secs.V, 0)
	case millis.Set && millis.V > 0 && millis.V < maxUnixSeconds*1000:
		return time.UnixMilli(millis.V)
	default:
		return now
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
