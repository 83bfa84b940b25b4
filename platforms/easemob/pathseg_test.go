package easemob_test

import (
	"strings"
	"testing"

	"gavel/moderation"
)

// TestDotSegmentsNeverReachThePath: `/kick @..` once sent DELETE
// …/chatgroups/{id}/users/.., which a path-normalising proxy turns into
// DELETE …/chatgroups/{id} (dissolve the group). Every path segment is
// built by pathseg now: a dot-segment user is refused before any call and
// the rest of the batch goes on; a dot-segment chat id sends nothing.
func TestDotSegmentsNeverReachThePath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		chat    moderation.ChatRef
		users   []string
		act     string
		want    map[string]moderation.Status
		noCalls bool
	}{
		{name: "kick dot-dot user in a group", chat: group("g1"), users: []string{"..", "bob", "."}, act: "kick",
			want: map[string]moderation.Status{"..": moderation.StatusRefused, ".": moderation.StatusRefused, "bob": moderation.StatusDone}},
		{name: "unmute dot-dot user", chat: group("g1"), users: []string{"..", "bob"}, act: "unmute",
			want: map[string]moderation.Status{"..": moderation.StatusRefused}},
		{name: "mute dot user", chat: group("g1"), users: []string{"."}, act: "mute",
			want: map[string]moderation.Status{".": moderation.StatusRefused}, noCalls: true},
		{name: "kick in a dot-dot chat", chat: group(".."), users: []string{"bob"}, act: "kick",
			want: map[string]moderation.Status{"bob": moderation.StatusRefused}, noCalls: true},
		{name: "kick in a dot chat of unknown kind", chat: moderation.ChatRef{Platform: "easemob", ID: "."}, users: []string{"bob"}, act: "kick",
			want: map[string]moderation.Status{"bob": moderation.StatusRefused}, noCalls: true},
		{name: "slash in a user id stays one segment", chat: group("g1"), users: []string{"../g1", "bob"}, act: "kick",
			want: map[string]moderation.Status{"bob": moderation.StatusDone}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.srv.AddGroup("g1", "owner1", nil, []string{"bob"})
			var res []moderation.Result
			switch tt.act {
			case "kick":
				res = e.c.Remove(ctx, tt.chat, tt.users, moderation.ActionOptions{})
			case "mute":
				res = e.c.Mute(ctx, tt.chat, tt.users, moderation.MuteForever, moderation.ActionOptions{})
			case "unmute":
				res = e.c.Unmute(ctx, tt.chat, tt.users, moderation.ActionOptions{})
			}
			checkOrder(t, res, tt.users)
			for _, r := range res {
				if want, ok := tt.want[r.UserID]; ok && r.Status != want {
					t.Errorf("%q: %s (%s), want %s", r.UserID, r.Status, r.Reason, want)
				}
			}
			var sent int
			for _, c := range e.srv.Calls() {
				if c.Op == "token" {
					continue
				}
				sent++
				for _, seg := range strings.Split(c.RawPath, "/") {
					if seg == "." || seg == ".." {
						t.Errorf("%s %s: a dot segment reached the platform", c.Method, c.RawPath)
					}
				}
				if c.Op == "details" && c.Method == "DELETE" {
					t.Errorf("DELETE %s names the chat itself", c.RawPath)
				}
			}
			if tt.noCalls && sent != 0 {
				t.Errorf("%d calls, want none", sent)
			}
			if !e.srv.IsMember("g1", "bob") == (tt.want["bob"] != moderation.StatusDone) {
				t.Errorf("bob's membership does not match his result")
			}
		})
	}
}
