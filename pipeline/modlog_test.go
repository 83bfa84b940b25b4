package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"gavel/moderation"
	"gavel/policy"
)

func buttonVerbs(p moderation.Post) []moderation.Verb {
	if p.Card == nil {
		return nil
	}
	var out []moderation.Verb
	for _, b := range p.Card.Buttons {
		out = append(out, b.Verb)
	}
	return out
}

// Every case worth knowing goes to the mod-log chat, once, with the
// buttons that make sense.
func TestModLogPostPerCaseKind(t *testing.T) {
	t.Parallel()
	undo, ban, dismiss := moderation.VerbUndo, moderation.VerbBan, moderation.VerbDismiss
	tests := []struct {
		name        string
		from, text  string
		hit         *moderation.RuleHit // a rule hit instead of a command
		wantPost    bool
		wantButtons []moderation.Verb
		wantText    []string // substrings of the text version
		pol         policy.Config
	}{
		{name: "kick", from: "mod", text: "/kick @a spam", wantPost: true, wantButtons: []moderation.Verb{undo, ban, dismiss},
			wantText: []string{"Case #1 · Kick", "By: mod", "Targets: a", "Reason: spam", "\n/undo 1"}},
		{name: "ban", from: "mod", text: "/ban @a 1d", wantPost: true, wantButtons: []moderation.Verb{undo, dismiss}, wantText: []string{"Ban 1d"}},
		{name: "purge: no undo", from: "mod", text: "/purge @a", wantPost: true, wantButtons: nil, wantText: []string{"Purge"}},
		{name: "admin refused by policy", from: "mod", text: "/kick @owner", wantPost: true, wantButtons: nil, wantText: []string{"the chat owner cannot be a target"}},
		{name: "member refused: not posted", from: "b", text: "/kick @a"},
		{name: "held for confirmation: answered from the mod-log", from: "mod", text: "/kick @a @b", pol: policy.Config{ConfirmAbove: 1},
			wantPost: true, wantButtons: []moderation.Verb{moderation.VerbConfirm, moderation.VerbCancel}, wantText: []string{"Case #1 · Kick"}},
		{name: "rule hit", hit: &moderation.RuleHit{Rule: "flood", Verb: moderation.VerbMute, Users: []string{"a"}, Match: "12 messages in 10s"},
			wantPost: true, wantButtons: []moderation.Verb{undo, ban, dismiss}, wantText: []string{"By: Gavel, rule flood", "Rule: flood matched 12 messages in 10s"}},
		{name: "dry-run rule hit: ban only", hit: &moderation.RuleHit{Rule: "links", Verb: moderation.VerbDelete, Users: []string{"a"}, MessageID: "m0", Match: "link", DryRun: true},
			wantPost: true, wantButtons: []moderation.Verb{ban, dismiss}, wantText: []string{"[dry run]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newModLogFixture(t, oneAttempt, tt.pol)
			if tt.hit != nil {
				f.seq++
				deliver(t, f.p, moderation.Event{Kind: moderation.EventMessage, Platform: "fake", DeliveryID: "hit",
					Message: &moderation.Message{Chat: c1, MessageID: "m0", SenderID: "a", Text: "hello", SentAt: f.now},
					Hits:    []moderation.RuleHit{*tt.hit}})
			} else {
				f.say(tt.from, tt.text)
			}
			posts := f.callsOf("post")
			if !tt.wantPost {
				if len(posts) != 0 {
					t.Fatalf("posted %v", posts)
				}
				return
			}
			if len(posts) == 0 || posts[len(posts)-1] != "post ml" {
				t.Fatalf("posts %v (calls %v), want one to ml", posts, f.pl.calls)
			}
			if n := len(posts); n != 1 && tt.pol.ConfirmAbove == 0 {
				t.Fatalf("posts %v, want one", posts)
			}
			p := f.pl.posts[len(f.pl.posts)-1] // after a held command's own request
			if got := buttonVerbs(p); !slices.Equal(got, tt.wantButtons) {
				t.Fatalf("buttons %v, want %v", got, tt.wantButtons)
			}
			for _, w := range tt.wantText {
				if !strings.Contains(p.Text, w) {
					t.Errorf("text %q lacks %q", p.Text, w)
				}
			}
			if slices.Contains(tt.wantButtons, undo) != strings.HasSuffix(p.Text, "/undo 1") {
				t.Errorf("text %q: ends with /undo 1 iff undoable", p.Text)
			}
			ref, err := f.p.store.CasePost(context.Background(), 1)
			if err != nil || ref.MessageID != fmt.Sprint("post-", len(f.pl.posts)) || ref.Chat.ID != "ml" {
				t.Fatalf("recorded post %+v, %v", ref, err)
			}
		})
	}
}

// An expiry is a case too: the timer's unban goes to the mod-log.
func TestModLogExpiry(t *testing.T) {
	t.Parallel()
	f := newModLogFixture(t, oneAttempt, policy.Config{})
	f.say("mod", "/ban @a 1h")
	f.now = f.now.Add(time.Hour + time.Second)
	if err := f.p.MaintainSanctions(context.Background(), f.p.NewJobs().Submit); err != nil {
		t.Fatal(err)
	}
	if err := f.p.NewJobs().Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := f.callsOf("post"); len(got) != 2 {
		t.Fatalf("posts %v, want the ban's and the expiry's", got)
	}
	if p := f.pl.posts[1]; !strings.Contains(p.Text, "Unban") || !strings.Contains(p.Text, "the sanction ran out") {
		t.Fatalf("expiry post %q", p.Text)
	}
}

// A failed mod-log post is retried by the job, not lost; the action and
// its reply are not repeated.
func TestModLogPostFailureRetried(t *testing.T) {
	t.Parallel()
	f := newModLogFixture(t, Config{}, policy.Config{})
	f.pl.failPosts = 2
	f.say("mod", "/kick @a")
	if got := f.callsOf("remove"); len(got) != 1 || len(f.pl.replies) != 1 {
		t.Fatalf("the action and reply must not wait for the mod-log: calls %v replies %v", f.pl.calls, f.pl.replies)
	}
	if _, err := f.p.store.CasePost(context.Background(), 1); !errors.Is(err, moderation.ErrNotFound) {
		t.Fatalf("post recorded before it was made: %v", err)
	}
	for i := range 2 {
		f.now = f.now.Add(10 * time.Minute)
		if err := f.p.NewJobs().Drain(context.Background()); err != nil {
			t.Fatalf("drain %d: %v", i, err)
		}
	}
	if got := f.callsOf("post"); !slices.Equal(got, []string{"post ml"}) {
		t.Fatalf("posts %v (calls %v), want one after the failures", got, f.pl.calls)
	}
	if got := f.callsOf("post-failed"); len(got) != 2 {
		t.Fatalf("failed posts %v, want 2", got)
	}
	if got := f.callsOf("remove"); len(got) != 1 || len(f.pl.replies) != 1 {
		t.Fatalf("re-runs repeated the action or reply: calls %v replies %v", f.pl.calls, f.pl.replies)
	}
	if ref, err := f.p.store.CasePost(context.Background(), 1); err != nil || ref.MessageID != "post-1" {
		t.Fatalf("recorded post %+v, %v", ref, err)
	}
	if n, _, _ := f.p.store.Pending(context.Background(), f.now); n != 0 {
		t.Fatalf("%d jobs pending", n)
	}
}

func TestModLogConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cfg  ModLogConfig
		want string // "" valid
	}{
		{ModLogConfig{Feishu: "oc_1", TIM: "@TGS#1", Chats: map[string]string{"tim:g1": "mod"}}, ""},
		{ModLogConfig{Chats: map[string]string{"g1": "mod"}}, "modlog.chats: key \"g1\""},
		{ModLogConfig{Chats: map[string]string{"tim:": "mod"}}, "modlog.chats: key"},
		{ModLogConfig{Chats: map[string]string{"tim:g1": ""}}, "modlog.chats.tim:g1: must name a chat id"},
		{ModLogConfig{Easemob: " 123"}, "modlog.easemob"},
	}
	for i, tt := range tests {
		err := tt.cfg.Validate()
		if got := fmt.Sprint(err); (tt.want == "") != (err == nil) || err != nil && !strings.Contains(got, tt.want) {
			t.Errorf("%d: Validate() = %v, want %q", i, err, tt.want)
		}
	}
	cfg := ModLogConfig{TIM: "g", Chats: map[string]string{"feishu:oc": "oc_ml"}}
	if err := cfg.CheckPlatforms(func(p string) bool { return p == "tim" }); err == nil || !strings.Contains(err.Error(), "feishu") {
		t.Errorf("CheckPlatforms = %v, want feishu not configured", err)
	}
	got, ok := cfg.chatFor(moderation.ChatRef{Platform: "feishu", ID: "oc"})
	if !ok || got.ID != "oc_ml" {
		t.Errorf("chatFor(feishu:oc) = %v %v", got, ok)
	}
	if _, ok := cfg.chatFor(moderation.ChatRef{Platform: "feishu", ID: "other"}); ok {
		t.Error("a chat without a mod-log has one")
	}
	if got, _ := cfg.chatFor(moderation.ChatRef{Platform: "tim", ID: "any"}); got.ID != "g" {
		t.Errorf("the platform's mod-log: %v", got)
	}
}

// The mod-log costs one write transaction per case (its post's record),
// and none when it is off; an undo of a kick is measured too.
func TestModLogWriteTransactions(t *testing.T) {
	t.Parallel()
	commits := func(f *fixture) int64 { return f.p.store.(interface{ WriteCommits() int64 }).WriteCommits() }
	off := newFixture(t, oneAttempt, policy.Config{}, "", allNative)
	on := newModLogFixture(t, oneAttempt, policy.Config{})
	count := func(f *fixture, from, text string) int64 {
		before := commits(f)
		f.say(from, text)
		return commits(f) - before
	}
	kickOff, kickOn := count(off, "mod", "/kick @a"), count(on, "mod", "/kick @a")
	if kickOn != kickOff+1 {
		t.Errorf("/kick committed %d write transactions with the mod-log, %d without: want one more (the post's record)", kickOn, kickOff)
	}
	undoOff, undoOn := count(off, "mod", "/undo 1"), count(on, "mod", "/undo 1")
	t.Logf("write transactions: /kick %d (mod-log off) %d (on); /undo 1 of it %d (off) %d (on)", kickOff, kickOn, undoOff, undoOn)
	if undoOn > undoOff+1 {
		t.Errorf("/undo committed %d with the mod-log, %d without", undoOn, undoOff)
	}
}

// A very long reason is shortened on the card, visibly, so the card stays
// within the platform's size; a post the platform refuses for good is not
// retried.
func TestModLogLongReasonAndPermanentFailure(t *testing.T) {
	t.Parallel()
	f := newModLogFixture(t, Config{}, policy.Config{})
	f.pl.failPermanent = true
	f.say("mod", "/kick @a "+strings.Repeat("spam ", 2000))
	if got := f.callsOf("post-failed"); len(got) != 1 {
		t.Fatalf("failed posts %v, want one (a permanent refusal is not retried)", got)
	}
	if n, _, _ := f.p.store.Pending(context.Background(), f.now); n != 0 {
		t.Fatalf("%d jobs pending after a permanent refusal", n)
	}
	f.pl.failPermanent = false
	f.say("mod", "/kick @b "+strings.Repeat("spam ", 2000))
	p := f.pl.posts[len(f.pl.posts)-1]
	for _, fl := range p.Card.Fields {
		if utf8.RuneCountInString(fl.Value) > maxFieldRunes+40 {
			t.Fatalf("field %s holds %d runes", fl.Label, utf8.RuneCountInString(fl.Value))
		}
		if fl.Label == "Reason" && !strings.Contains(fl.Value, "(whole: /case 2)") {
			t.Fatalf("shortened reason %q does not say so", fl.Value)
		}
	}
}
