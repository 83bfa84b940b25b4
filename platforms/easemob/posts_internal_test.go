package easemob

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"gavel/moderation"
)

// refusal is the error checkResponse builds for an add refusal.
func refusal(status int, name, desc string) error {
	body := `{"error":"` + name + `","error_description":` + quote(desc) + `}`
	return checkResponse("group.add", &http.Response{StatusCode: status, Header: http.Header{}}, []byte(body))
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestAddRefusal: each documented refusal naming one user settles that
// user (matched case-insensitively), and nothing else is taken for one.
func TestAddRefusal(t *testing.T) {
	t.Parallel()
	pending := []string{"Erin", "ghost", "frank"}
	tests := []struct {
		name   string
		err    error
		wantOK bool
		index  int
		status moderation.Status
		reason moderation.Reason
	}{
		{"unknown user", refusal(404, "resource_not_found", "username ghost doesn't exist!"), true, 1, moderation.StatusRefused, moderation.ReasonInvalidUserID},
		{"too many groups", refusal(403, "exceed_limit", "user frank has joined too many groups!"), true, 2, moderation.StatusRefused, moderation.PlatformReason(Name, "too_many_chats")},
		{"too many chat rooms", refusal(403, "exceeded_limit", "can not join this group, reason:user frank has joined too many chatrooms!"), true, 2, moderation.StatusRefused, moderation.PlatformReason(Name, "too_many_chats")},
		{"already in the group", refusal(403, "forbidden_op", "an not join this group, reason:user: erin already in group: 66\n"), true, 0, moderation.StatusNoop, ""},
		{"block-listed", refusal(403, "forbidden_op", "can not join this group, reason:user: ghost is in the blocklist of group: 66"), true, 1, moderation.StatusRefused, moderation.PlatformReason(Name, "blocked")},
		{"names someone not asked for", refusal(404, "resource_not_found", "username zed doesn't exist!"), false, 0, "", ""},
		{"unknown group", refusal(404, "resource_not_found", "grpID 66 does not exist!"), false, 0, "", ""},
		{"batch too large", refusal(403, "exceed_limit", "members size is greater than max user size !"), false, 0, "", ""},
		{"not an API error", errors.New("username ghost doesn't exist!"), false, 0, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			i, r, ok := addRefusal(tt.err, pending)
			if ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v (%v)", ok, tt.wantOK, tt.err)
			}
			if !ok {
				return
			}
			if i != tt.index || r.UserID != pending[tt.index] || r.Status != tt.status || r.Reason != tt.reason {
				t.Errorf("got %d %+v", i, r)
			}
		})
	}
}

// TestRewriteUnauthorizedIsPermanent: messages/rewrite's 401 for a
// message of another app is not an expired token (renewing cannot help).
func TestRewriteUnauthorizedIsPermanent(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]moderation.ErrorKind{
		"message_rewrite_error":                moderation.Permanent,
		"RewriteMessageNotAuthorizedException": moderation.Permanent,
		"unauthorized":                         moderation.AuthExpired,
	} {
		err := checkResponse("message.rewrite", &http.Response{StatusCode: 401, Header: http.Header{}},
			[]byte(`{"error":"`+name+`","error_description":"You are not authorized to edit this message."}`))
		var apiErr *moderation.APIError
		if !errors.As(err, &apiErr) || apiErr.Kind != want {
			t.Errorf("%s: %v, want kind %s", name, err, want)
		}
	}
}

// FuzzAddRefusal: any error text either names one of the pending users or
// nothing; it never panics or names someone else.
func FuzzAddRefusal(f *testing.F) {
	f.Add(404, "username ghost doesn't exist!", "ghost,frank")
	f.Add(403, "can not join this group, reason:user: Frank already in group: 1\n", "ghost,frank")
	f.Add(403, "user frank has joined too many groups!", "frank")
	f.Add(403, "reason:user: a is in the blocklist of group: 2", "a")
	f.Add(401, "user: x already in group: y", "")
	f.Fuzz(func(t *testing.T, status int, desc, users string) {
		if status < 100 || status > 599 {
			return
		}
		pending := strings.Split(users, ",")
		err := refusal(status, "forbidden_op", desc)
		i, r, ok := addRefusal(err, pending)
		if !ok {
			return
		}
		if i < 0 || i >= len(pending) || r.UserID != pending[i] || !strings.Contains(strings.ToLower(desc), strings.ToLower(pending[i])) {
			t.Fatalf("addRefusal(%q, %q) = %d %+v", desc, pending, i, r)
		}
		if r.Status != moderation.StatusRefused && r.Status != moderation.StatusNoop {
			t.Fatalf("status %s", r.Status)
		}
	})
}
