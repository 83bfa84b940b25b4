package easemob

import (
	"context"
	"crypto/md5"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"gavel/moderation"
	"gavel/platforms/wirejson"
)

// Sign returns the callback signature: lowercase hex md5(callID + secret +
// timestamp), the timestamp in Unix milliseconds written in base 10.
func Sign(callID, secret string, timestampMS int64) string {
	sum := md5.Sum([]byte(callID + secret + strconv.FormatInt(timestampMS, 10)))
	return hex.EncodeToString(sum[:])
}

// callback is every callback shape Gavel reads: post-send messages, the
// group_op_event operation events and the legacy "muc" events.
type callback struct {
	// The signed fields.
	CallID    string         `json:"callId"`
	Timestamp wirejson.Value `json:"timestamp"`
	Security  string         `json:"security"`

	EventType   string         `json:"eventType"`
	ChatType    string         `json:"chat_type"`
	GroupID     string         `json:"group_id"`
	From        string         `json:"from"`
	To          string         `json:"to"`
	MsgID       string         `json:"msg_id"`
	ContentType string         `json:"content_type"`
	AppKey      string         `json:"appkey"`
	Payload     wirejson.Value `json:"payload"`

	// group_op_event
	Event     string `json:"event"`
	ID        string `json:"id"`
	Type      string `json:"type"`
	Operation string `json:"operation"`
	Operator  string `json:"operator"`
}

// ackBody is the answer to every accepted callback: HTTP 200 with an empty
// JSON object (Easemob ignores the body; it must stay under 1,000 chars).
var ackBody = json.RawMessage(`{}`)

// Receive verifies a callback (security, then timestamp) from the raw body
// and returns the events Gavel acts on. A pre-send callback arriving here
// — recognised by a signature under a distinct presend_secret, or by its
// documented shape (no eventType, no event) — is answered as
// ReceivePreSend would; a separate pre-send URL is the reliable setup.
func (c *Client) Receive(ctx context.Context, d moderation.Delivery) (moderation.Ack, error) {
	cb, err := decodeCallback(d.Body)
	if err != nil {
		return moderation.Ack{}, err
	}
	ts, err := c.verify(&cb, c.cfg.CallbackSecret)
	preSend := false
	if errors.Is(err, moderation.ErrBadSignature) && c.cfg.PreSendSecret != "" && c.cfg.PreSendSecret != c.cfg.CallbackSecret {
		if pts, perr := c.verify(&cb, c.cfg.PreSendSecret); perr == nil || !errors.Is(perr, moderation.ErrBadSignature) {
			ts, err, preSend = pts, perr, true
		}
	}
	if errors.Is(err, moderation.ErrStaleTimestamp) {
		return c.ignoreStale(ctx, cb, preSend || isPreSend(cb), err), nil
	}
	if err != nil {
		return moderation.Ack{}, err
	}
	preSend = preSend || isPreSend(cb)
	rule := "post"
	if preSend {
		rule = "pre"
	}
	if err := c.claimCall(ctx, rule, cb, d.Body, ts); err != nil {
		return moderation.Ack{}, err
	}
	if preSend {
		return c.preSend(ctx, cb, ts)
	}
	events, err := c.parse(ctx, cb, ts)
	if err != nil {
		return moderation.Ack{}, err
	}
	canonicalEvents(events)
	if len(events) > 0 {
		c.log.DebugContext(ctx, "callback accepted", slog.String("event_id", events[0].DeliveryID), slog.Int("events", len(events)))
	}
	return moderation.Ack{Response: ackBody, Events: events}, nil
}

// IgnoredStale is the moderation.Ack.Ignored reason of a correctly signed
// callback outside the replay window.
const IgnoredStale = "stale"

// ignoreStale answers a correctly signed callback whose timestamp is
// outside the replay window: HTTP 200 with the usual answer and no event.
// Easemob's timestamp is when it received the message, and its callback
// storage (回调异常缓存) re-sends failed callbacks for up to 3 days, so a
// late callback is normal traffic, not an attack: refusing it would only
// count towards the 90-failures-in-30-s ban that suspends every callback
// rule of the app. A command that late is not carried out. A pre-send
// callback is answered {"valid": true}, as the Gate does for a message it
// lets through.
func (c *Client) ignoreStale(ctx context.Context, cb callback, preSend bool, err error) moderation.Ack {
	c.log.DebugContext(ctx, "late callback ignored", slog.String("call_id", cb.CallID), slog.Bool("presend", preSend), slog.Any("error", err))
	return ignoreAck(preSend, IgnoredStale)
}

// ignoreAck is the usual answer, no event, and why.
func ignoreAck(preSend bool, reason string) moderation.Ack {
	if preSend {
		return moderation.Ack{Response: preSendDeliver, Ignored: reason}
	}
	return moderation.Ack{Response: ackBody, Ignored: reason}
}

// canonicalEvents puts every user id of events in canonical form (lower
// case): the sender, the mentioned users and the joiners. Join.Operator
// stays as sent: it is informational, and "@ppAdmin" (the REST API) is
// not a user id.
func canonicalEvents(events []moderation.Event) {
	for i := range events {
		if m := events[i].Message; m != nil {
			m.SenderID = CanonicalUserID(m.SenderID)
			for j := range m.Mentions {
				m.Mentions[j].UserID = CanonicalUserID(m.Mentions[j].UserID)
			}
		}
		if j := events[i].Join; j != nil {
			for k := range j.UserIDs {
				j.UserIDs[k] = CanonicalUserID(j.UserIDs[k])
			}
		}
		if rc := events[i].RolesChanged; rc != nil {
			for k := range rc.UserIDs {
				rc.UserIDs[k] = CanonicalUserID(rc.UserIDs[k])
			}
		}
	}
}

// decodeCallback decodes a callback body, once: the signed fields and
// everything Gavel reads.
func decodeCallback(body []byte) (callback, error) {
	var cb callback
	if err := wirejson.Unmarshal(body, &cb); err != nil {
		return callback{}, fmt.Errorf("easemob: %w: %w", moderation.ErrMalformed, err)
	}
	return cb, nil
}

// verify checks the signature made with secret (one per callback rule)
// and the replay window, and returns the callback's timestamp.
func (c *Client) verify(sf *callback, secret string) (time.Time, error) {
	// A configured secret is always checked; insecure_skip_verify only
	// permits running without one.
	verifySig := secret != "" || !c.cfg.InsecureSkipVerify
	tsText := strings.TrimSpace(string(sf.Timestamp))
	if uq, err := strconv.Unquote(tsText); err == nil {
		tsText = uq // a quoted number; Easemob sends a JSON number
	}
	if sf.CallID == "" || tsText == "" || tsText == "null" ||
		(verifySig && sf.Security == "") {
		return time.Time{}, fmt.Errorf("easemob: callId, timestamp or security: %w", moderation.ErrMissingHeaders)
	}
	ms, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil || strconv.FormatInt(ms, 10) != tsText {
		// A signature over a non-integer timestamp cannot be checked the
		// way Easemob computes it.
		return time.Time{}, fmt.Errorf("easemob: timestamp is not an integer: %w", moderation.ErrMalformed)
	}
	if verifySig {
		want := Sign(sf.CallID, secret, ms)
		got := strings.ToLower(sf.Security)
		if subtle.ConstantTimeCompare([]byte(want), []byte(got)) != 1 {
			return time.Time{}, fmt.Errorf("easemob: %w", moderation.ErrBadSignature)
		}
	}
	ts := time.UnixMilli(ms)
	if skew := c.now().Sub(ts); skew > c.cfg.ReplayWindow || skew < -c.cfg.ReplayWindow {
		return time.Time{}, fmt.Errorf("easemob: %w (skew %s)", moderation.ErrStaleTimestamp, skew.Round(time.Second))
	}
	return ts, nil
}
