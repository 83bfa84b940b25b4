package easemob

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"gavel/moderation"
)

// errorBody is Easemob's error answer.
type errorBody struct {
	Error            string `json:"error"`
	Exception        string `json:"exception"`
	ErrorDescription string `json:"error_description"`
}

// responseError carries the platform's error_description next to the
// APIError so the adapter can tell "not a member" from "unknown room".
type responseError struct {
	api  *moderation.APIError
	desc string
}

func (e *responseError) Error() string { return e.api.Error() }
func (e *responseError) Unwrap() error { return e.api }

// checkResponse turns a non-2xx answer into a *moderation.APIError (wrapped
// in a *responseError) keyed on the HTTP status and the body's "error".
func checkResponse(op string, resp *http.Response, raw []byte) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	var eb errorBody
	_ = json.Unmarshal(raw, &eb) // a non-JSON error page still maps by status
	desc := eb.ErrorDescription
	lower := strings.ToLower(desc)
	e := &moderation.APIError{
		Platform:   Name,
		Op:         op,
		HTTPStatus: resp.StatusCode,
		Name:       eb.Error,
		Kind:       moderation.Permanent,
	}
	switch st := resp.StatusCode; {
	case st == http.StatusUnauthorized && (eb.Error == "message_rewrite_error" || eb.Error == "RewriteMessageNotAuthorizedException"):
		// messages/rewrite answers 401 for a message of another app: not
		// a token problem, renewing cannot help.
		e.Message = "Easemob refused to edit the message: it does not belong to this app."
	case st == http.StatusUnauthorized:
		e.Kind = moderation.AuthExpired
		e.Message = "Easemob rejected the App Token (missing, expired or corrupt)."
	case st == http.StatusTooManyRequests:
		e.Kind = moderation.RateLimited
		e.RetryAfter = retryAfter(resp.Header.Get("Retry-After"))
		e.Message = "Easemob's rate limit was reached; try again shortly."
	case st == http.StatusBadRequest:
		switch {
		case strings.Contains(lower, "max limit") || strings.Contains(lower, "maxsize"):
			e.Message = "Too many users in one Easemob call."
		case strings.Contains(lower, "not members"):
			e.Message = "Some users are not members of this chat."
		case strings.Contains(lower, "can't find msg to"):
			e.Message = "The message is not in this chat."
		case eb.Error == "invalid_grant" || eb.Error == "illegal_argument":
			e.Message = "Easemob rejected the client_id/client_secret."
		default:
			e.Message = "Easemob rejected the request as invalid."
		}
	case st == http.StatusForbidden:
		switch {
		case eb.Error == "message_recall_error" && strings.Contains(lower, "not_found"):
			e.Message = "The message is gone already (recalled, or expired on Easemob)."
		case eb.Error == "message_recall_error" && strings.Contains(lower, "time limit"):
			e.Message = "The message is older than the app's recall time."
		case strings.Contains(lower, "reach limit"):
			e.Kind = moderation.RateLimited
			e.Message = "Easemob's message rate limit was reached; try again shortly."
		case strings.Contains(lower, "owner"):
			e.Message = "The owner of a group or chat room cannot be muted or removed."
		case strings.Contains(lower, "not members") || strings.Contains(lower, "not member"):
			e.Message = "Some users are not members of this chat."
		case strings.Contains(lower, "recall"):
			e.Message = "Message recall is not enabled for this Easemob app."
		default:
			e.Message = "Easemob does not allow this operation here."
		}
	case st == http.StatusNotFound:
		switch {
		case strings.HasPrefix(lower, "username") || strings.Contains(lower, "service resource not found"):
			e.Message = "Unknown Easemob user."
		case eb.Error == "organization_application_not_found":
			e.Message = "Unknown Easemob org_name/app_name."
		default:
			e.Message = "Unknown chat room or group."
		}
	case st == http.StatusRequestTimeout || st >= 500:
		e.Kind = moderation.Transient
		e.Message = "Easemob is temporarily unavailable."
	default:
		e.Message = fmt.Sprintf("Easemob answered HTTP %d.", st)
	}
	return &responseError{api: e, desc: desc}
}

func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// errDescription returns the platform's error_description behind err.
func errDescription(err error) string {
	var re *responseError
	if errors.As(err, &re) {
		return re.desc
	}
	return ""
}
