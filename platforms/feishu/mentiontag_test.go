package feishu_test

import (
	"context"
	"strings"
	"testing"

	"gavel/moderation"
)

// Gavel's text replies and posts carry what users typed or chose (a
// member's report reason shown by /case, a group nickname in "Muted
// …"): a Feishu text message would turn an <at user_id="all"></at> in
// it into a mention of everyone. Such tags are sent inert.
func TestTextCarriesNoMentionTags(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 1)
	ctx := context.Background()
	for i, text := range []string{
		`Muted <at user_id="all"></at> for 10m`,
		`reason: <AT user_id="ou_m0">x</AT>`,
		`< at user_id="all">`,
	} {
		send := func() error { return f.c.Reply(ctx, &moderation.Message{Chat: chat}, text) }
		if i == 1 {
			send = func() error { _, err := f.c.Post(ctx, chat, moderation.Post{Text: text}); return err }
		}
		if err := send(); err != nil {
			t.Fatal(err)
		}
		sent := f.srv.Replies()
		for _, m := range sent[len(sent)-1:] {
			got := m.Text()
			if strings.Contains(strings.ToLower(strings.ReplaceAll(got, " ", "")), "<at") {
				t.Errorf("text %d sent as %q: a live mention tag", i, got)
			}
			if !strings.Contains(got, "user_id=") {
				t.Errorf("text %d sent as %q: its words are gone", i, got)
			}
		}
	}
}
