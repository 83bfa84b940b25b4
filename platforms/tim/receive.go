package tim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gavel/moderation"
	"gavel/platforms/wirejson"
)

// Callback commands Gavel acts on.
const (
	cmdAfterSendMsg       = "Group.CallbackAfterSendMsg"
	cmdAfterNewMemberJoin = "Group.CallbackAfterNewMemberJoin"
	cmdBeforeSendMsg      = "Group.CallbackBeforeSendMsg"
)

// CallbackAnswer is the body TIM expects from a callback endpoint.
type CallbackAnswer struct {
	ActionStatus string `json:"ActionStatus"`
	ErrorInfo    string `json:"ErrorInfo"`
	ErrorCode    int    `json:"ErrorCode"`
}

// callbackOK is the answer to every accepted callback; for "after"
// callbacks TIM ignores its content but wants HTTP 200 and JSON.
var callbackOK = CallbackAnswer{ActionStatus: "OK", ErrorInfo: "", ErrorCode: 0}

// callbackOKJSON is callbackOK encoded once: it answers nearly every
// delivery.
var callbackOKJSON = encodeAnswer(callbackOK)

func encodeAnswer(v CallbackAnswer) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// Sign returns the callback signature TIM sends when callback
// authentication is on: lowercase hex(sha256(token + requestTime)), with
// requestTime exactly as it stands in the URL.
func Sign(token, requestTime string) string {
	sum := sha256.Sum256([]byte(token + requestTime))
	return hex.EncodeToString(sum[:])
}

// Receive verifies a callback (SdkAppid, then Sign and RequestTime when a
// callback token is configured), decodes its body and returns the answer
// with the events Gavel acts on: the OK answer for "after" callbacks, the
// Gate's verdict for Group.CallbackBeforeSendMsg. Errors wrap the
// moderation.Err* sentinels.
func (c *Client) Receive(ctx context.Context, d moderation.Delivery) (moderation.Ack, error) {
	if err := c.verify(d); err != nil {
		c.log.DebugContext(ctx, "tim callback rejected", "error", err.Error())
		return moderation.Ack{}, err
	}
	body, err := decodeCallback(d.Query.Get("CallbackCommand"), d.Body)
	if err != nil {
		c.log.DebugContext(ctx, "tim callback malformed", "error", err.Error())
		return moderation.Ack{}, err
	}
	ack := moderation.Ack{Response: callbackOKJSON}
	switch body.CallbackCommand {
	case cmdBeforeSendMsg:
		return c.preSend(ctx, body)
	case cmdAfterSendMsg:
		if body.FromAccount == c.cfg.AdminIdentifier {
			c.log.DebugContext(ctx, "tim callback: own message ignored", "chat", body.GroupID)
			return ack, nil
		}
		ev, err := messageEvent(body, c.now())
		if err != nil {
			return moderation.Ack{}, err
		}
		ev.Message.Mentions = c.mentions(ctx, ev.Message.Chat, ev.Message.Text, body.GroupAtInfo)
		ack.Events = []moderation.Event{ev}
	case cmdBeforeApplyJoin:
		return c.beforeApplyJoin(ctx, body)
	case cmdBeforeInviteJoin:
		return c.beforeInviteJoin(ctx, body)
	case cmdAfterNewMemberJoin:
		ev, err := joinEvent(body, c.now())
		if err != nil {
			return moderation.Ack{}, err
		}
		if ev != nil {
			ack.Events = []moderation.Event{*ev}
		}
	default:
		c.log.DebugContext(ctx, "tim callback command not handled", "command", body.CallbackCommand)
	}
	return ack, nil
}

// verify checks the query string TIM appends to the callback URL.
func (c *Client) verify(d moderation.Delivery) error {
	appID := d.Query.Get("SdkAppid")
	if subtle.ConstantTimeCompare([]byte(appID), []byte(c.appID)) != 1 {
		return fmt.Errorf("tim: callback SdkAppid is not %s: %w", c.appID, moderation.ErrUnknownApp)
	}
	token := c.cfg.CallbackToken
	if token == "" {
		// Validate allows this only with insecure_skip_verify.
		return nil
	}
	sign, reqTime := d.Query.Get("Sign"), d.Query.Get("RequestTime")
	if sign == "" || reqTime == "" {
		return fmt.Errorf("tim: callback without Sign or RequestTime: %w", moderation.ErrMissingHeaders)
	}
	secs, err := strconv.ParseInt(reqTime, 10, 64)
	if err != nil || !isDecimal(reqTime) {
		return fmt.Errorf("tim: callback RequestTime is not a Unix time: %w", moderation.ErrStaleTimestamp)
	}
	skew := c.now().Sub(time.Unix(secs, 0))
	if secs > maxUnixSeconds || secs < -maxUnixSeconds || skew > c.cfg.ReplayWindow || skew < -c.cfg.ReplayWindow {
		return fmt.Errorf("tim: callback RequestTime outside ±%s: %w", c.cfg.ReplayWindow, moderation.ErrStaleTimestamp)
	}
	want := Sign(token, reqTime)
	if subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(sign))) != 1 {
		return fmt.Errorf("tim: callback Sign does not match: %w", moderation.ErrBadSignature)
	}
	return nil
}

// maxUnixSeconds keeps time.Unix arithmetic far from overflow.
const maxUnixSeconds = 1 << 40

func isDecimal(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

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
