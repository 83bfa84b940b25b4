package tim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"gavel/moderation"
)

// sanitize returns err with every UserSig removed from its text, keeping
// what callers branch on (net.Error, context errors) reachable.
func (c *Client) sanitize(err error) error {
	if err == nil {
		return nil
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		// http.Client.Do and url.Parse return the *url.Error itself; rebuild
		// it around the redacted URL so net.Error stays reachable.
		clean := &url.Error{Op: ue.Op, URL: c.sig.redact(redactURL(ue.URL)), Err: ue.Err}
		if err != error(ue) {
			return &sanitizedError{msg: c.sig.redact(err.Error()), err: clean}
		}
		err = clean
	}
	if msg := c.sig.redact(err.Error()); msg != err.Error() {
		return &sanitizedError{msg: msg, err: errors.Unwrap(err)}
	}
	return err
}

// redactURL replaces the usersig query parameter of a URL.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return usersigParam.ReplaceAllString(raw, "${1}"+redacted)
	}
	q := u.Query()
	if q.Has("usersig") {
		q.Set("usersig", redacted)
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// sanitizedError is an error whose text was cleaned of secrets; Unwrap
// gives the cleaned cause so errors.Is/As still work.
type sanitizedError struct {
	msg string
	err error
}

func (e *sanitizedError) Error() string { return e.msg }
func (e *sanitizedError) Unwrap() error { return e.err }

// codeInfo is how Gavel treats one TIM error code.
type codeInfo struct {
	kind moderation.ErrorKind
	msg  string
}

// codes maps TIM's documented error codes to a retry class and a sentence
// fit for the chat reply. Codes not listed are Permanent.
var codes = map[int]codeInfo{
	// Retry with backoff.
	10002: {moderation.Transient, "TIM had an internal error; try again"},
	60008: {moderation.Transient, "TIM timed out"},
	60013: {moderation.Transient, "TIM could not parse its own upstream answer"},
	60014: {moderation.Transient, "TIM timed out switching accounts"},
	70169: {moderation.Transient, "TIM timed out"},
	70202: {moderation.Transient, "TIM timed out"},
	70500: {moderation.Transient, "TIM had an internal error"},
	// Rate limits.
	60007: {moderation.RateLimited, "TIM's per-API call rate was exceeded"},
	60011: {moderation.RateLimited, "TIM's per-app call rate was exceeded"},
	60018: {moderation.RateLimited, "TIM is receiving too many requests"},
	60019: {moderation.RateLimited, "TIM is receiving too many requests"},
	10006: {moderation.RateLimited, "the group's operation rate limit was reached"},
	10023: {moderation.RateLimited, "the group's message rate limit was reached"},
	// Credential expired: regenerate once.
	70001: {moderation.AuthExpired, "the bot's UserSig expired"},
	// Permanent.
	10003: {moderation.Permanent, "TIM does not know this API command"},
	10004: {moderation.Permanent, "TIM rejected a parameter (members cannot be removed from a live-stream AVChatRoom group)"},
	10005: {moderation.Permanent, "too many accounts in one request"},
	10007: {moderation.Permanent, "the bot lacks permission for this operation in this group"},
	10010: {moderation.Permanent, "the group does not exist or was disbanded"},
	10012: {moderation.Permanent, "TIM rejected the operator account"},
	10015: {moderation.Permanent, "the group ID is invalid"},
	10016: {moderation.Permanent, "the app's before-send callback rejected the message"},
	10017: {moderation.Permanent, "the bot account is muted in this group"},
	10018: {moderation.Permanent, "TIM's answer would exceed 1 MB"},
	10019: {moderation.Permanent, "the user does not exist"},
	// add_group_member's whole-call refusals (1047/34921).
	10014: {moderation.Permanent, "the group is full"},
	10037: {moderation.Permanent, "the user has joined as many groups as TIM allows"},
	10053: {moderation.Permanent, "the message mentions more than 30 users"},
	60002: {moderation.Permanent, "TIM could not parse the request URL"},
	60003: {moderation.Permanent, "TIM could not parse the request body"},
	60004: {moderation.Permanent, "TIM rejected the account or signature in the request"},
	60005: {moderation.Permanent, "TIM rejected the account or signature in the request"},
	60006: {moderation.Permanent, "the configured SDKAppID is invalid"},
	60009: {moderation.Permanent, "TIM does not know this API path"},
	60010: {moderation.Permanent, "the configured admin_identifier is not an App admin"},
	60012: {moderation.Permanent, "the request is missing the SDKAppID"},
	60016: {moderation.Permanent, "the SDKAppID is disabled"},
	60017: {moderation.Permanent, "the request is disabled"},
	60020: {moderation.Permanent, "the TIM plan has expired or is disabled"},
	60021: {moderation.Permanent, "TIM does not accept REST calls from this server's IP"},
	70002: {moderation.Permanent, "the UserSig is empty"},
	70003: {moderation.Permanent, "the UserSig is invalid"},
	70005: {moderation.Permanent, "the UserSig could not be parsed"},
	70009: {moderation.Permanent, "the UserSig does not verify: secret_key does not belong to this SDKAppID"},
	70013: {moderation.Permanent, "the UserSig was made for another identifier"},
	70014: {moderation.Permanent, "the UserSig was made for another SDKAppID"},
	70016: {moderation.Permanent, "TIM has no key for this app (wrong regional base_url?)"},
	70020: {moderation.Permanent, "TIM does not know this SDKAppID (wrong regional base_url?)"},
	70050: {moderation.Permanent, "too many failed UserSig checks; TIM blocks the account for a minute"},
	70051: {moderation.Permanent, "the account is blocklisted"},
	70398: {moderation.Permanent, "the plan's account limit was reached"},
	70402: {moderation.Permanent, "TIM rejected a parameter"},
	70403: {moderation.Permanent, "the configured admin_identifier is not an App admin"},
	80001: {moderation.Permanent, "the text hit TIM's content filter"},
	80002: {moderation.Permanent, "the message is too long"},
	80003: {moderation.Permanent, "a before-send callback failed and the console drops such messages"},
	// modify_group_msg (openim service) codes (1047/47948; its 90001,
	// JSON parse failure, is left to the unknown-code path, which keeps
	// ErrorInfo).
	20001: {moderation.Permanent, "TIM refused the request as invalid (the message may not exist)"},
	20002: {moderation.AuthExpired, "the bot's UserSig is no longer valid"},
	20004: {moderation.Transient, "TIM had a network error; try again"},
	20005: {moderation.Transient, "TIM had an internal error; try again"},
	// group_msg_recall per-message codes.
	10030: {moderation.Permanent, "the message to recall does not exist"},
	10031: {moderation.Permanent, "the message is too old to recall"},
	10032: {moderation.Permanent, "the message cannot be recalled"},
	10033: {moderation.Permanent, "messages cannot be recalled in this group type"},
	10041: {moderation.Permanent, "the app does not allow recalling messages"},
}

// maxErrorInfo bounds how much of TIM's ErrorInfo goes into a message.
const maxErrorInfo = 200

// checkResponse turns an HTTP status and a REST envelope into nil or a
// *moderation.APIError. TIM answers HTTP 200 for API failures and puts the
// outcome in ActionStatus/ErrorCode.
func checkResponse(op string, status int, h http.Header, body []byte) error {
	apiErr := &moderation.APIError{Platform: Name, Op: op, HTTPStatus: status}
	switch {
	case status == http.StatusTooManyRequests:
		apiErr.Kind, apiErr.Message = moderation.RateLimited, "TIM is throttling requests"
		apiErr.RetryAfter = retryAfter(h.Get("Retry-After"))
		return apiErr
	case status >= 500:
		apiErr.Kind, apiErr.Message = moderation.Transient, "TIM is unavailable"
		return apiErr
	case status != http.StatusOK:
		apiErr.Kind, apiErr.Message = moderation.Permanent, fmt.Sprintf("TIM answered HTTP %d", status)
		return apiErr
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		apiErr.Kind, apiErr.Message = moderation.Transient, "TIM answered with a body Gavel could not read"
		return apiErr
	}
	if env.ErrorCode == 0 && env.ActionStatus == "OK" {
		return nil
	}
	return codeError(op, status, env.ErrorCode, env.ErrorInfo)
}

// codeError builds the APIError for one TIM error code; batch APIs use it
// for their per-item codes too.
func codeError(op string, status, code int, errorInfo string) *moderation.APIError {
	apiErr := &moderation.APIError{Platform: Name, Op: op, HTTPStatus: status, Code: code}
	if info, ok := codes[code]; ok {
		apiErr.Kind, apiErr.Message = info.kind, info.msg
		return apiErr
	}
	apiErr.Kind = moderation.Permanent
	apiErr.Message = "TIM refused the request"
	if text := strings.TrimSpace(errorInfo); text != "" {
		if len(text) > maxErrorInfo {
			text = text[:maxErrorInfo]
		}
		apiErr.Message += ": " + strings.ToValidUTF8(text, "")
	}
	return apiErr
}

func retryAfter(v string) time.Duration {
	if secs, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && secs > 0 {
		return time.Duration(secs) * time.Second
	}
	return 0
}
