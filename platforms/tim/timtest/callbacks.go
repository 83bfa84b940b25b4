package timtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"gavel/moderation"
)

// Callback commands.
const (
	CommandAfterSendMsg       = "Group.CallbackAfterSendMsg"
	CommandAfterNewMemberJoin = "Group.CallbackAfterNewMemberJoin"
	CommandBeforeSendMsg      = "Group.CallbackBeforeSendMsg"
)

// Message describes a Group.CallbackAfterSendMsg callback.
type Message struct {
	GroupID   string
	GroupType string // default: the seeded group's type, else Public
	From      string
	Text      string
	// AtAccounts are the mentioned user IDs in the order their @-tokens
	// appear in Text (GroupAtInfo with GroupAtAllFlag 0).
	AtAccounts []string
	// AtAll prepends an @all entry (GroupAtAllFlag 1) to GroupAtInfo.
	AtAll bool
	// TopicID is the topic of a Community group with topics the message
	// was sent in; its MsgSeq comes from the topic's own sequence.
	TopicID string
	// MsgSeq is assigned from the group's (or topic's) sequence when zero.
	MsgSeq uint64
	// MsgID is the client message id (2025+ payloads); empty omits it.
	MsgID   string
	MsgTime time.Time // default: the request time
	// EventTimeString sends EventTime as a string, as the English samples do.
	EventTimeString bool
	// CloudCustomData is the client's free-form string (ReplyCustomData
	// builds a TUIKit reply reference); empty sends "".
	CloudCustomData string
}

// PreSend describes a Group.CallbackBeforeSendMsg callback: the message is
// not stored yet, so it has no MsgSeq or MsgTime.
type PreSend struct {
	GroupID   string
	GroupType string // default: the seeded group's type, else Public
	From      string
	// Texts become one TIMTextElem each, in order; Custom appends a
	// TIMCustomElem after them.
	Texts  []string
	Custom bool
	// Random is the client's random number; zero sends 1.
	Random uint32
	// MsgID is the client message id (2025+ payloads); empty omits it.
	MsgID string
	// EventTimeString sends EventTime as a string, as the English samples do.
	EventTimeString bool
}

// Join describes a Group.CallbackAfterNewMemberJoin callback.
type Join struct {
	GroupID   string
	GroupType string
	JoinType  string // Apply (default) or Invited
	Operator  string
	Members   []string
	EventTime time.Time // default: the request time
}

// Sign returns lowercase hex(sha256(token + requestTime)), the callback
// authentication signature.
func Sign(token, requestTime string) string {
	sum := sha256.Sum256([]byte(token + requestTime))
	return hex.EncodeToString(sum[:])
}

// MessageBody returns the JSON body of an after-send-msg callback.
func MessageBody(m Message, at time.Time) []byte {
	if m.GroupType == "" {
		m.GroupType = "Public"
	}
	if m.MsgTime.IsZero() {
		m.MsgTime = at
	}
	type atInfo struct {
		GroupAtAllFlag int    `json:"GroupAtAllFlag"`
		GroupAtAccount string `json:"GroupAt_Account,omitempty"`
	}
	body := map[string]any{
		"CallbackCommand":  CommandAfterSendMsg,
		"GroupId":          m.GroupID,
		"Type":             m.GroupType,
		"From_Account":     m.From,
		"Operator_Account": m.From,
		"Random":           uint32(m.MsgSeq*2654435761 + 1),
		"MsgSeq":           m.MsgSeq,
		"MsgTime":          m.MsgTime.Unix(),
		"OnlineOnlyFlag":   0,
		"MsgBody": []map[string]any{{
			"MsgType":    "TIMTextElem",
			"MsgContent": map[string]any{"Text": m.Text},
		}},
		"CloudCustomData": m.CloudCustomData,
		"EventTime":       eventTime(at, m.EventTimeString),
	}
	if m.MsgID != "" {
		body["MsgId"] = m.MsgID
	}
	if m.TopicID != "" {
		body["TopicId"] = m.TopicID
	}
	var ats []atInfo
	if m.AtAll {
		ats = append(ats, atInfo{GroupAtAllFlag: 1})
	}
	for _, a := range m.AtAccounts {
		ats = append(ats, atInfo{GroupAtAccount: a})
	}
	if len(ats) > 0 {
		body["GroupAtInfo"] = ats
	}
	return mustJSON(body)
}

// PreSendBody returns the JSON body of a before-send-msg callback sent at.
func PreSendBody(p PreSend, at time.Time) []byte {
	if p.GroupType == "" {
		p.GroupType = "Public"
	}
	if p.Random == 0 {
		p.Random = 1
	}
	elems := make([]map[string]any, 0, len(p.Texts)+1)
	for _, t := range p.Texts {
		elems = append(elems, map[string]any{"MsgType": "TIMTextElem", "MsgContent": map[string]any{"Text": t}})
	}
	if p.Custom {
		elems = append(elems, map[string]any{"MsgType": "TIMCustomElem",
			"MsgContent": map[string]any{"Desc": "CustomElement.MemberLevel", "Data": "LV1"}})
	}
	body := map[string]any{
		"CallbackCommand":  CommandBeforeSendMsg,
		"GroupId":          p.GroupID,
		"Type":             p.GroupType,
		"From_Account":     p.From,
		"Operator_Account": p.From,
		"Random":           p.Random,
		"OnlineOnlyFlag":   0,
		"MsgBody":          elems,
		"CloudCustomData":  "",
		"EventTime":        eventTime(at, p.EventTimeString),
	}
	if p.MsgID != "" {
		body["MsgId"] = p.MsgID
	}
	return mustJSON(body)
}

// JoinBody returns the JSON body of a new-member-join callback.
func JoinBody(j Join, at time.Time) []byte {
	if j.GroupType == "" {
		j.GroupType = "Public"
	}
	if j.JoinType == "" {
		j.JoinType = "Apply"
	}
	if j.EventTime.IsZero() {
		j.EventTime = at
	}
	members := make([]map[string]string, len(j.Members))
	for i, m := range j.Members {
		members[i] = map[string]string{"Member_Account": m}
	}
	return mustJSON(map[string]any{
		"CallbackCommand":  CommandAfterNewMemberJoin,
		"GroupId":          j.GroupID,
		"Type":             j.GroupType,
		"JoinType":         j.JoinType,
		"Operator_Account": j.Operator,
		"NewMemberList":    members,
		"EventTime":        j.EventTime.UnixMilli(),
	})
}

func eventTime(at time.Time, asString bool) any {
	if asString {
		return strconv.FormatInt(at.UnixMilli(), 10)
	}
	return at.UnixMilli()
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("timtest: " + err.Error()) // only plain maps and strings are encoded
	}
	return b
}

// CallbackQuery returns the query string TIM appends to the callback URL;
// with a non-empty token it carries Sign and RequestTime for at.
func CallbackQuery(sdkAppID int, command, token string, at time.Time) url.Values {
	q := url.Values{
		"SdkAppid":        {strconv.Itoa(sdkAppID)},
		"CallbackCommand": {command},
		"contenttype":     {"json"},
		"ClientIP":        {"127.0.0.1"},
		"OptPlatform":     {"Web"},
	}
	if token != "" {
		rt := strconv.FormatInt(at.Unix(), 10)
		q.Set("RequestTime", rt)
		q.Set("Sign", Sign(token, rt))
	}
	return q
}

// SignedDelivery wraps a callback body as a moderation.Delivery signed
// with token at requestTime (unsigned when token is empty).
func SignedDelivery(sdkAppID int, command, token string, requestTime time.Time, body []byte) moderation.Delivery {
	return moderation.Delivery{
		Header:     http.Header{"Content-Type": {"application/json"}},
		Query:      CallbackQuery(sdkAppID, command, token, requestTime),
		Body:       body,
		ReceivedAt: requestTime,
	}
}

// MessageDelivery returns a signed Group.CallbackAfterSendMsg delivery for
// this server's app. A zero MsgSeq gets the group's next sequence, and the
// message is stored so group_msg_recall can find it.
func (s *Server) MessageDelivery(token string, requestTime time.Time, m Message) moderation.Delivery {
	s.mu.Lock()
	if g, ok := s.groups[m.GroupID]; ok {
		if m.GroupType == "" {
			m.GroupType = g.Type
		}
		msgs, next := g.msgs, &g.nextSeq
		if t := g.topics[m.TopicID]; t != nil {
			msgs, next = t.msgs, &t.nextSeq
		}
		if m.MsgSeq == 0 {
			m.MsgSeq = *next
		}
		if _, seen := msgs[m.MsgSeq]; !seen {
			at := m.MsgTime
			if at.IsZero() {
				at = requestTime
			}
			msgs[m.MsgSeq] = &storedMsg{from: m.From, at: at, text: m.Text}
			*next = max(*next, m.MsgSeq+1)
		}
	} else if m.MsgSeq == 0 {
		m.MsgSeq = 1
	}
	appID := s.SDKAppID
	s.mu.Unlock()
	return SignedDelivery(appID, CommandAfterSendMsg, token, requestTime, MessageBody(m, requestTime))
}

// PreSendDelivery returns a signed Group.CallbackBeforeSendMsg delivery for
// sdkAppID (unsigned when token is empty).
func PreSendDelivery(sdkAppID int, token string, requestTime time.Time, p PreSend) moderation.Delivery {
	return SignedDelivery(sdkAppID, CommandBeforeSendMsg, token, requestTime, PreSendBody(p, requestTime))
}

// PreSendDelivery returns a signed Group.CallbackBeforeSendMsg delivery for
// this server's app; the group type defaults to the seeded group's.
func (s *Server) PreSendDelivery(token string, requestTime time.Time, p PreSend) moderation.Delivery {
	s.mu.Lock()
	if g, ok := s.groups[p.GroupID]; ok && p.GroupType == "" {
		p.GroupType = g.Type
	}
	appID := s.SDKAppID
	s.mu.Unlock()
	return PreSendDelivery(appID, token, requestTime, p)
}

// PreSendRequest returns the POST TIM would send to target (Gavel's
// callback URL) for a before-send-msg callback of this server's app.
func (s *Server) PreSendRequest(target, token string, requestTime time.Time, p PreSend) (*http.Request, error) {
	return CallbackRequest(target, s.PreSendDelivery(token, requestTime, p))
}

// JoinDelivery returns a signed Group.CallbackAfterNewMemberJoin delivery
// and adds the members to the seeded group.
func (s *Server) JoinDelivery(token string, requestTime time.Time, j Join) moderation.Delivery {
	s.mu.Lock()
	if g, ok := s.groups[j.GroupID]; ok {
		if j.GroupType == "" {
			j.GroupType = g.Type
		}
		// A banned user cannot rejoin (tim.md §5.8): they stay out of
		// the group and of the callback.
		now := s.now().Unix()
		kept := j.Members[:0:0]
		for _, m := range j.Members {
			if until, banned := g.banned[m]; banned && until > now {
				continue
			}
			kept = append(kept, m)
			g.join(m, roleMember)
		}
		j.Members = kept
	}
	appID := s.SDKAppID
	s.mu.Unlock()
	return SignedDelivery(appID, CommandAfterNewMemberJoin, token, requestTime, JoinBody(j, requestTime))
}

// CallbackRequest returns the POST TIM would send to target (Gavel's
// callback URL) for d.
func CallbackRequest(target string, d moderation.Delivery) (*http.Request, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	q := u.Query()
	for k, vs := range d.Query {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequest(http.MethodPost, u.String(), bytes.NewReader(d.Body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	return req, nil
}
