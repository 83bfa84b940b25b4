package console

import (
	"strconv"
	"strings"
	"testing"

	"gavel/moderation"
)

// A chat id is one path segment of the links that name it: an id with
// '/', '?' or '#' (TIM's "@TGS#…" ids have '#') links to that chat, not
// to another page of the console.
func TestCaseLinksEscapeChatIDs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{Listen: "127.0.0.1:0"})
	e.addUser("ann", "*")
	c, _ := e.login("ann", testPassword)
	for _, id := range []string{"@TGS#2abc", "g1?lang=zh", "a/b"} {
		n := e.addCase(moderation.Case{DeliveryID: "d-" + id, Platform: "tim", ChatID: id, Actor: "boss", Verb: moderation.VerbMute, Targets: []string{"u1"}})
		body, _ := e.get(c, "/cases/"+strconv.FormatInt(n, 10))
		want := `href="` + funcs["chatURL"].(func(moderation.ChatRef) string)(moderation.ChatRef{Platform: "tim", ID: id}) + `"`
		if !strings.Contains(body, want) {
			i := strings.Index(body, `href="/chats/`)
			t.Errorf("chat %q: no link %s on its case page; found %.80s", id, want, body[max(i, 0):])
		}
	}
}
