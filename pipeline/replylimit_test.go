package pipeline

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"gavel/commands"
	"gavel/moderation"
	"gavel/policy"
)

// Limits: the recorder takes 50 users a call and any reply (tests of
// other things); its RoleBatch is its field.
func (r *recorder) Limits() moderation.Limits {
	l := moderation.Limits{Batch: map[moderation.Verb]int{}, Reply: 1 << 20, RoleBatch: r.roleBatch}
	for _, v := range moderation.ActionVerbs {
		l.Batch[v] = 50
	}
	return l
}

// limitedPlatform is a recorder with a platform's reply limit.
type limitedPlatform struct {
	*recorder
	limit int
}

func (l *limitedPlatform) Limits() moderation.Limits {
	lim := l.recorder.Limits()
	lim.Reply = l.limit
	return lim
}

// TestMassKickReplyFitsThePlatform: a /kick of 20,000 targets answers
// within each platform's reply limit (values of platforms/<name>/limits.go),
// naming the first targets and how many more; the case keeps them all.
func TestMassKickReplyFitsThePlatform(t *testing.T) {
	t.Parallel()
	const n = 20_000
	targets := make([]string, n)
	for i := range targets {
		targets[i] = fmt.Sprintf("spammer_%05d", i)
	}
	tests := []struct {
		platform string
		limit    int
		lang     string
		refuse   bool // half the targets refused: two lists
	}{
		{platform: "feishu", limit: 20_000, lang: "en"},
		{platform: "tim", limit: 6000, lang: "en"},
		{platform: "easemob", limit: 4000, lang: "en"},
		{platform: "tim", limit: 6000, lang: "zh", refuse: true},
		{platform: "easemob", limit: 4000, lang: "en", refuse: true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%s/refuse=%v", tt.platform, tt.lang, tt.refuse), func(t *testing.T) {
			t.Parallel()
			rec := &recorder{caps: native, roles: map[string]moderation.Role{"owner": moderation.RoleOwner}, refuse: map[string]bool{}}
			if tt.refuse {
				for _, u := range targets[:n/2] {
					rec.refuse[u] = true
				}
			}
			pl := &limitedPlatform{recorder: rec, limit: tt.limit}
			audit := &caseLog{}
			eng, err := policy.New(policy.Config{MaxTargets: n, CommandsPerMinute: 100}, time.Now)
			if err != nil {
				t.Fatal(err)
			}
			p, err := New(Config{}, Deps{Store: newTestStore(t), Platforms: []moderation.Platform{pl}, Parser: commands.New(commands.Config{}), Policy: eng,
				Language: tt.lang, Audit: audit, Logger: slog.New(slog.DiscardHandler), Now: time.Now})
			if err != nil {
				t.Fatal(err)
			}
			text := "/kick @" + strings.Join(targets, " @") + " " + strings.Repeat("spam ", 2000)
			deliver(t, p, moderation.Event{Kind: moderation.EventMessage, Platform: "fake", DeliveryID: "d1",
				Message: &moderation.Message{Chat: moderation.ChatRef{Platform: "fake", ID: "c1"}, MessageID: "m1", SenderID: "owner", Text: text}})
			if len(rec.replies) != 1 {
				t.Fatalf("%d replies, want 1", len(rec.replies))
			}
			reply := rec.replies[0]
			if len(reply) > tt.limit {
				t.Fatalf("reply is %d bytes, over the %s limit %d", len(reply), tt.platform, tt.limit)
			}
			if !utf8.ValidString(reply) {
				t.Fatal("reply cut inside a UTF-8 character")
			}
			more := "more"
			if tt.lang == "zh" {
				more = "等另外"
			}
			if !strings.Contains(reply, "spammer_00000") || !strings.Contains(reply, more) {
				t.Errorf("reply does not name the first targets and how many more: %.300s…", reply)
			}
			if len(reply) < tt.limit/2 {
				t.Errorf("reply is %d bytes: shortened far more than the %d limit needs", len(reply), tt.limit)
			}
			if len(audit.cases) == 0 || len(audit.cases[len(audit.cases)-1].Results) != n {
				t.Errorf("the case does not keep all %d targets", n)
			}
		})
	}
}

func TestFitText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		text  string
		limit int
		want  string
	}{
		{name: "fits", text: "hello", limit: 5, want: "hello"},
		{name: "no limit", text: "hello", limit: 0, want: "hello"},
		{name: "ascii cut", text: "hello world", limit: 8, want: "hello…"},
		{name: "never mid-character", text: "禁言禁言禁言", limit: 10, want: "禁言…"},
		{name: "tiny limit", text: "禁言", limit: 2, want: ""},
	}
	for _, tt := range tests {
		got := fitText(tt.text, tt.limit)
		if got != tt.want || len(got) > max(tt.limit, len(tt.text)) || !utf8.ValidString(got) {
			t.Errorf("%s: fitText(%q, %d) = %q, want %q", tt.name, tt.text, tt.limit, got, tt.want)
		}
	}
}

func FuzzFitText(f *testing.F) {
	f.Add("禁言 @a @b and more", 7)
	f.Add("hello", 3)
	f.Fuzz(func(t *testing.T, text string, limit int) {
		got := fitText(text, limit)
		if limit > 0 && len(got) > limit {
			t.Fatalf("fitText(%q, %d) = %d bytes", text, limit, len(got))
		}
		if utf8.ValidString(text) && !utf8.ValidString(got) {
			t.Fatalf("fitText(%q, %d) = %q: cut inside a character", text, limit, got)
		}
		if limit <= 0 || len(text) <= limit {
			if got != text {
				t.Fatalf("fitText changed a text that fits")
			}
		}
	})
}
