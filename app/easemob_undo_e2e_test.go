package app_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gavel/app/apptest"
	"gavel/config"
	"gavel/pipeline"
	"gavel/platforms/easemob"
	"gavel/platforms/easemob/easemobtest"
	"gavel/policy"
)

// Issue #17 on Easemob, end to end, in a group and in a chat room: a kick
// posted to the mod-log group, then /undo re-adds exactly the removed
// users (batch add) and the case's mod-log message is rewritten; a second
// /undo does nothing.
func TestEasemobUndoKickEndToEnd(t *testing.T) {
	t.Parallel()
	for _, kind := range emKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			const modlog = "ml17"
			es := easemobtest.NewServer()
			t.Cleanup(es.Close)
			r := &emRun{t: t, es: es, dsn: filepath.Join(t.TempDir(), "gavel.db"), clock: apptest.NewClock(time.Now()), chat: "c17", kind: kind}
			es.SetNow(r.clock.Now)
			es.AddChat(easemobtest.Chat{ID: r.chat, Kind: kind, Owner: "owner", Admins: []string{"mod"}, Members: []string{"a", "b", "c"}})
			es.AddChat(easemobtest.Chat{ID: modlog, Kind: easemobtest.KindGroup, Owner: "owner", Admins: []string{"mod"}})
			r.h = apptest.New(t, config.Config{
				Platforms: config.Platforms{Easemob: &easemob.Config{BaseURL: es.URL, OrgName: es.Org, AppName: es.App,
					ClientID: es.ClientID, ClientSecret: es.ClientSecret, CallbackSecret: es.CallbackSecret, BotUser: "gavel"}},
				Policy:  policy.Config{MaxTargets: 100},
				Storage: r.storeConfig(),
				ModLog:  pipeline.ModLogConfig{Easemob: modlog},
			}, apptest.WithNow(r.clock.Now))
			logPosts := func() []easemobtest.SentMessage {
				var out []easemobtest.SentMessage
				for _, m := range es.Messages() {
					if slices.Contains(m.To, modlog) {
						out = append(out, m)
					}
				}
				return out
			}
			command := func(text string, at ...string) {
				r.send("mod", text, at, nil)
				r.h.Wait()
				r.deliverFired()
			}

			command("/kick @a @b", "a", "b")
			if es.IsMember(r.chat, "a") || es.IsMember(r.chat, "b") {
				t.Fatalf("still members after the kick: %s", es.Describe(r.chat))
			}
			posts := logPosts()
			if len(posts) != 1 || !strings.Contains(posts[0].Text, "#1") {
				t.Fatalf("mod-log posts after the kick: %+v", posts)
			}
			kickPost := posts[0]

			command("/undo 1")
			adds := r.calls("add")
			if len(adds) != 1 {
				t.Fatalf("add calls = %d, want 1", len(adds))
			}
			got := slices.Clone(adds[0].Users)
			slices.Sort(got)
			if !slices.Equal(got, []string{"a", "b"}) {
				t.Errorf("re-added %v, want exactly [a b]", got)
			}
			if !es.IsMember(r.chat, "a") || !es.IsMember(r.chat, "b") {
				t.Errorf("not members after the undo: %s", es.Describe(r.chat))
			}
			text, edits, ok := es.MessageText(kickPost.MsgID)
			if !ok || edits != 1 || text == kickPost.Text {
				t.Errorf("case 1's mod-log message %s: edited %d times, text %q", kickPost.MsgID, edits, text)
			}
			if posts := logPosts(); len(posts) != 2 || !strings.Contains(posts[1].Text, "#2") {
				t.Errorf("mod-log posts after the undo: %+v", posts)
			}

			command("/undo 1")
			if n := len(r.calls("add")); n != 1 {
				t.Errorf("a second /undo made %d add calls in all, want still 1", n)
			}
		})
	}
}
