package tim

import (
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
