package feishu

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	larkcore "github.com/larksuite/oapi-sdk-go/v3/core"

	"gavel/moderation"
)

// Feishu error codes the adapter branches on.
const (
	codeRateLimited          = 99991400
	codeTokenInvalid         = 99991663
	codeChatRateLimited      = 232019
	codeNoPermission         = 232014
	codeNoValidMembers       = 232027
	codeCannotKickOwner      = 232076
	codeMessageDeleted       = 230110
	codeRecallRefused        = 230026
	codeMessageRecalled      = 230011
	codeMessageInvisible     = 230050
	codeMessageSelfDestructs = 230111
	codeNotChatOwner         = 232017
	headerRateLimitReset     = "x-ogw-ratelimit-reset"
	maxPlatformMessageSize   = 200
)

type codeInfo struct {
	kind    moderation.ErrorKind
	message string
}

// codes maps every documented error code of the APIs the adapter calls
// (chat get, chat members delete, message reply/delete, token, generic codes)
// to a kind and a sentence fit for a chat reply.
var codes = map[int]codeInfo{
	// Generic / gateway.
	99991400: {moderation.RateLimited, "Feishu is rate-limiting Gavel's app; retrying after the reset time."},
	99991401: {moderation.Permanent, "Feishu refused the call: this server's IP is not in the app's IP allow-list."},
	99991403: {moderation.Permanent, "Gavel's Feishu app has used up its monthly API quota."},
	99991661: {moderation.Permanent, "Feishu received no access token (a Gavel bug)."},
	99991663: {moderation.AuthExpired, "Gavel's Feishu tenant access token is invalid or expired; renewing it."},
	99991664: {moderation.AuthExpired, "Gavel's Feishu app access token is invalid or expired; renewing it."},
	99991671: {moderation.Permanent, "Feishu rejected the access token format (a Gavel bug)."},
	99991672: {moderation.Permanent, "Gavel's Feishu app lacks an API scope this action needs; grant it in the developer console."},
	10014:    {moderation.Permanent, "Feishu rejected Gavel's app credentials: check app_id and app_secret."},
	10015:    {moderation.Permanent, "Feishu rejected Gavel's app credentials: the app is disabled or the secret is wrong."},

	// Chats and chat members.
	232001: {moderation.Permanent, "Feishu rejected the request as invalid."},
	232004: {moderation.Permanent, "Feishu says Gavel's app does not exist: check app_id."},
	232006: {moderation.Permanent, "Feishu does not know this chat (invalid chat_id)."},
	232007: {moderation.Permanent, "Feishu says the chat or a user ID is invalid."},
	232009: {moderation.Permanent, "This chat has been dissolved."},
	232010: {moderation.Permanent, "Gavel's app and this chat belong to different tenants."},
	232011: {moderation.Permanent, "Gavel is not a member of this chat."},
	232014: {moderation.Permanent, "Gavel lacks permission: it must be the chat owner or a chat manager to remove members."},
	232015: {moderation.Permanent, "Feishu does not support the user ID type of the request (a Gavel bug)."},
	232017: {moderation.Permanent, "Gavel's bot must own this chat to lock or unlock it (or be the bot that created it, holding the im:chat:operate_as_owner scope); being a chat manager is not enough."},
	232019: {moderation.RateLimited, "Feishu is rate-limiting changes to this chat; retrying."},
	232025: {moderation.Permanent, "The bot ability of Gavel's Feishu app is not enabled."},
	232027: {moderation.Permanent, "None of these users are members of this chat."},
	232029: {moderation.Permanent, "Feishu found no available candidate for chat owner."},
	232033: {moderation.Permanent, "This is an external chat and Gavel's app lacks the scope to manage external chats."},
	232034: {moderation.Permanent, "Gavel's app is not installed or has been disabled in this tenant."},
	232060: {moderation.Permanent, "Feishu has banned this chat."},
	232076: {moderation.Permanent, "The chat owner cannot be removed."},
	232092: {moderation.Permanent, "A meeting is in progress in this chat: Feishu does not let its speech settings change now."},
	// Adding members (chat-members/create, #17).
	232008: {moderation.Permanent, "Feishu cannot add members to this kind of chat (a direct chat, or an unsupported chat mode)."},
	232013: {moderation.Permanent, "This chat has reached its member limit."},
	232043: {moderation.Permanent, "Feishu refused the request: it names users Gavel's app cannot add."},

	// Messages.
	230001: {moderation.Permanent, "Feishu rejected the message request as invalid."},
	230002: {moderation.Permanent, "Gavel is not a member of this chat."},
	230006: {moderation.Permanent, "The bot ability of Gavel's Feishu app is not enabled."},
	230009: {moderation.Permanent, "The message is too old to be recalled."},
	230011: {moderation.Permanent, "The message was recalled."},
	230013: {moderation.Permanent, "Gavel's app is not available to this user."},
	230018: {moderation.Permanent, "The chat's settings do not allow Gavel to do this (e.g. only listed members may speak)."},
	230020: {moderation.RateLimited, "Feishu is rate-limiting messages in this chat; retrying."},
	230022: {moderation.Permanent, "Feishu flagged the message content as sensitive."},
	230025: {moderation.Permanent, "The message is too long."},
	230026: {moderation.Permanent, "Gavel may not recall this message: it must be the owner, a manager or the creator of the chat."},
	230027: {moderation.Permanent, "Gavel's Feishu app lacks a permission this action needs."},
	230028: {moderation.Permanent, "The message did not pass Feishu's audit."},
	230035: {moderation.Permanent, "Gavel may not send messages in this chat."},
	230049: {moderation.Transient, "The message is still being sent; retrying."},
	230050: {moderation.Permanent, "The message is not visible to Gavel."},
	230054: {moderation.Permanent, "This operation is not supported for this message type."},
	230071: {moderation.Permanent, "This chat does not support replies in threads."},
	230110: {moderation.Permanent, "The message has already been deleted."},
	230111: {moderation.Permanent, "The message is about to self-destruct."},
	// Cards (message/patch, #17).
	230031: {moderation.Permanent, "Feishu edits a message only within 14 days of sending it; this card is older."},
	230099: {moderation.Permanent, "Feishu could not build the card from Gavel's card JSON."},
}

// statusError is what httpDoer returns for a non-JSON error response (a
// gateway page, a bare 429): the SDK would otherwise fail to decode it.
type statusError struct {
	status     int
	retryAfter time.Duration
}

func (e *statusError) Error() string {
	return fmt.Sprintf("http %d %s", e.status, http.StatusText(e.status))
}

// httpDoer is the larkcore.HttpClient handed to the SDK. It turns non-JSON
// error responses into *statusError so checkResponse can classify them.
type httpDoer struct{ hc *http.Client }

func (d httpDoer) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 400 && !strings.Contains(resp.Header.Get("Content-Type"), "application/json") {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
		return nil, &statusError{status: resp.StatusCode, retryAfter: resetAfter(resp.Header)}
	}
	return resp, nil
}

// resetAfter reads Feishu's x-ogw-ratelimit-reset header (seconds).
func resetAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get(headerRateLimitReset))
	if v == "" {
		return 0
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || n <= 0 || n > 3600 {
		return 0
	}
	return time.Duration(n * float64(time.Second))
}

// checkResponse turns the outcome of one SDK call into nil or an error:
// *moderation.APIError for every answer Feishu gave (HTTP status and body
// code), the context's error when the caller gave up, and a wrapped error for
// transport failures (egress retries net.Error ones). The SDK returns
// err == nil for business errors, so resp and codeErr are always inspected.
func checkResponse(ctx context.Context, op string, resp *larkcore.ApiResp, codeErr larkcore.CodeError, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil && err != nil {
		return ctxErr
	}
	if err != nil {
		return classifyTransportError(op, err)
	}
	if resp == nil {
		return &moderation.APIError{Platform: Name, Op: op, Message: "Feishu returned no response.", Kind: moderation.Transient}
	}
	status := resp.StatusCode
	if codeErr.Code == 0 && status >= 200 && status < 300 {
		return nil
	}
	apiErr := &moderation.APIError{Platform: Name, Op: op, HTTPStatus: status, Code: codeErr.Code}
	info, known := codes[codeErr.Code]
	switch {
	case status == http.StatusTooManyRequests || codeErr.Code == codeRateLimited:
		apiErr.Kind = moderation.RateLimited
		apiErr.Message = codes[codeRateLimited].message
		apiErr.RetryAfter = resetAfter(resp.Header)
	case known:
		apiErr.Kind, apiErr.Message = info.kind, info.message
		if info.kind == moderation.RateLimited {
			apiErr.RetryAfter = resetAfter(resp.Header)
		}
	case status >= 500:
		apiErr.Kind = moderation.Transient
		apiErr.Message = fmt.Sprintf("Feishu had a server error (HTTP %d); retrying.", status)
	case codeErr.Code == 0:
		apiErr.Kind = moderation.Permanent
		apiErr.Message = fmt.Sprintf("Feishu answered HTTP %d without an error code.", status)
	default:
		apiErr.Kind = moderation.Permanent
		apiErr.Message = "Feishu refused the request: " + platformMessage(codeErr.Msg)
	}
	return apiErr
}

func classifyTransportError(op string, err error) error {
	var se *statusError
	if errors.As(err, &se) {
		apiErr := &moderation.APIError{Platform: Name, Op: op, HTTPStatus: se.status}
		switch {
		case se.status == http.StatusTooManyRequests:
			apiErr.Kind, apiErr.Message, apiErr.RetryAfter = moderation.RateLimited, codes[codeRateLimited].message, se.retryAfter
		case se.status >= 500:
			apiErr.Kind, apiErr.Message = moderation.Transient, fmt.Sprintf("Feishu had a server error (HTTP %d); retrying.", se.status)
		default:
			apiErr.Kind, apiErr.Message = moderation.Permanent, fmt.Sprintf("Feishu answered HTTP %d with a non-JSON body.", se.status)
		}
		return apiErr
	}
	var apiErr *moderation.APIError
	if errors.As(err, &apiErr) {
		return err
	}
	var (
		serverTimeout *larkcore.ServerTimeoutError
		clientTimeout *larkcore.ClientTimeoutError
		dialFailed    *larkcore.DialFailedError
	)
	switch {
	case errors.As(err, &serverTimeout):
		return &moderation.APIError{Platform: Name, Op: op, HTTPStatus: http.StatusGatewayTimeout, Message: "Feishu timed out (HTTP 504); retrying.", Kind: moderation.Transient}
	case errors.As(err, &clientTimeout), errors.As(err, &dialFailed):
		return &moderation.APIError{Platform: Name, Op: op, Message: "Could not reach Feishu in time; retrying.", Kind: moderation.Transient}
	}
	return fmt.Errorf("feishu %s: %w", op, err)
}

// platformMessage trims Feishu's own msg for inclusion in a reply.
func platformMessage(msg string) string {
	msg = strings.TrimSpace(msg)
	if msg == "" {
		return "no reason given."
	}
	if r := []rune(msg); len(r) > maxPlatformMessageSize {
		msg = string(r[:maxPlatformMessageSize]) + "…"
	}
	return msg
}
