package pipeline

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gavel/moderation"
	"gavel/policy"
)

var verifyChat = moderation.ChatRef{Platform: "fake", ID: "c1"}

func verifyCfg(v VerifyConfig) Config {
	return Config{Verification: map[string]VerifyConfig{"fake:c1": v}}
}

// join delivers a join of users to c1.
func (f *fixture) join(operator string, users ...string) {
	f.t.Helper()
	f.seq++
	deliver(f.t, f.p, moderation.Event{Kind: moderation.EventJoin, Platform: "fake", DeliveryID: fmt.Sprint("j", f.seq),
		Join: &moderation.Join{Chat: verifyChat, UserIDs: users, Operator: operator, At: f.now}})
}

// maintain runs the maintenance pass (timers) and the jobs it made.
func (f *fixture) maintain() {
	f.t.Helper()
	ctx := context.Background()
	runner := f.p.NewJobs()
	if err := f.p.MaintainSanctions(ctx, runner.Submit); err != nil {
		f.t.Fatal(err)
	}
	if err := runner.Drain(ctx); err != nil {
		f.t.Fatal(err)
	}
}

// advance moves the clock by d and runs maintenance.
func (f *fixture) advance(d time.Duration) {
	f.t.Helper()
	f.now = f.now.Add(d)
	f.maintain()
}

var sumQuestion = regexp.MustCompile(`(\d+) \+ (\d+)`)

// answerOf reads the arithmetic question of the n-th post (from 0).
func (f *fixture) answerOf(n int) string {
	f.t.Helper()
	if len(f.pl.posts) <= n {
		f.t.Fatalf("post %d: only %d posts", n, len(f.pl.posts))
	}
	m := sumQuestion.FindStringSubmatch(f.pl.posts[n].Text)
	if m == nil {
		f.t.Fatalf("post %q asks no sum", f.pl.posts[n].Text)
	}
	a, _ := strconv.Atoi(m[1])
	b, _ := strconv.Atoi(m[2])
	return strconv.Itoa(a + b)
}

func TestVerifyText(t *testing.T) {
	t.Parallel()
	f := newFixture(t, verifyCfg(VerifyConfig{Mode: "text", Timeout: time.Minute, OnWrongAnswers: 2, Hold: "recall"}), policy.Config{}, "en", native)
	f.join("", "a", "b")
	if !f.p.sanctions.index.pending(verifyChat, "a") {
		t.Fatal("a not held after joining")
	}
	f.say("a", "hi") // m1: before the challenge: recalled, no answer
	f.advance(3 * time.Second)
	if len(f.pl.posts) != 1 || !strings.Contains(f.pl.posts[0].Text, "a, b") {
		t.Fatalf("posts = %+v, want one naming a, b", f.pl.posts)
	}
	ans := f.answerOf(0)
	f.say("a", "nope")       // wrong: recalled
	f.say("a", " "+ans+"  ") // right: recalled, passed
	f.say("a", "hello all")  // verified: stays
	if !slices.Equal(f.pl.recalls, []string{"m2", "m3", "m4"}) {
		t.Fatalf("recalls = %q, want m2 m3 m4 (the joiner's messages until verified)", f.pl.recalls)
	}
	if f.p.sanctions.index.pending(verifyChat, "a") {
		t.Error("a still held after the right answer")
	}
	f.say("b", "1")
	f.say("b", "2")
	if want := "remove b reason="; !slices.Contains(f.pl.calls, want) {
		t.Fatalf("calls = %q, want %q after two wrong answers", f.pl.calls, want)
	}
	if !slices.Contains(f.pl.recalls, "post-1") {
		t.Errorf("recalls = %q: the challenge was not deleted once nobody it names was pending", f.pl.recalls)
	}
}

func TestVerifyTimeoutOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, verifyCfg(VerifyConfig{Mode: "text", Timeout: time.Minute, OnTimeout: "ban 1h"}), policy.Config{}, "en", sanctionCaps)
	f.join("", "c")
	f.advance(3 * time.Second)
	f.pl.calls = nil
	f.advance(30 * time.Second)
	if len(f.pl.calls) != 0 {
		t.Fatalf("acted before the timeout: %q", f.pl.calls)
	}
	f.advance(31 * time.Second)
	f.maintain() // a second replica's pass
	if want := []string{"ban c d=1h0m0s"}; !slices.Equal(f.pl.calls, want) {
		t.Fatalf("calls = %q, want %q", f.pl.calls, want)
	}
}

func TestVerifyRaidOneChallenge(t *testing.T) {
	t.Parallel()
	f := newFixture(t, verifyCfg(VerifyConfig{Mode: "text"}), policy.Config{}, "en", native)
	for i := range 30 {
		f.join("", fmt.Sprint("r", i))
		f.now = f.now.Add(50 * time.Millisecond)
	}
	f.advance(3 * time.Second)
	f.advance(3 * time.Second)
	if n := len(f.pl.posts); n == 0 || n > 2 {
		t.Fatalf("%d challenge messages for a 30-joiner raid, want 1 or 2", n)
	}
	named := 0
	for _, p := range f.pl.posts {
		named += strings.Count(p.Card.Fields[0].Value, "r")
	}
	if named != 30 {
		t.Errorf("the challenges name %d joiners, want 30", named)
	}
}

func TestVerifyExempt(t *testing.T) {
	t.Parallel()
	f := newFixture(t, verifyCfg(VerifyConfig{Mode: "text"}), policy.Config{Protected: []string{"fake:p"}}, "en", native)
	f.join("", "owner", "mod", "p")
	f.join("mod", "x") // added by an admin
	f.join("y", "y")   // joined by themselves
	for _, u := range []string{"owner", "mod", "p", "x"} {
		if f.p.sanctions.index.pending(verifyChat, u) {
			t.Errorf("%s held; owners, admins, protected users and users an admin added are exempt", u)
		}
	}
	if !f.p.sanctions.index.pending(verifyChat, "y") {
		t.Error("y not held")
	}
}

func TestVerifyButtonAndGate(t *testing.T) {
	t.Parallel()
	f := newFixture(t, verifyCfg(VerifyConfig{Mode: "button"}), policy.Config{}, "en", native)
	f.join("", "a", "b")
	g := NewGate(nil, f.p.sanctions.index)
	if s, hit := g.Screen(verifyChat, "a", "hello"); !hit || s.DryRun || s.Rule != verifyRule {
		t.Fatalf("gate on a pending joiner = %+v, %v; want held", s, hit)
	}
	f.advance(3 * time.Second)
	card := f.pl.posts[0].Card
	if len(card.Buttons) != 2 || card.Buttons[0].Only != "a" || card.Buttons[0].Verb != moderation.VerbVerify {
		t.Fatalf("buttons = %+v, want one per joiner, only theirs", card.Buttons)
	}
	press := func(actor string, b moderation.Button) {
		f.seq++
		deliver(t, f.p, moderation.Event{Kind: moderation.EventAction, Platform: "fake", DeliveryID: fmt.Sprint("press", f.seq),
			Action: &moderation.Action{Actor: actor, Verb: b.Verb, CaseID: b.CaseID, Chat: verifyChat, Targets: b.Targets, At: f.now}})
	}
	press("b", card.Buttons[0]) // a's button pressed by b
	if !f.p.sanctions.index.pending(verifyChat, "a") {
		t.Fatal("b's press of a's button verified a")
	}
	press("a", card.Buttons[0])
	if f.p.sanctions.index.pending(verifyChat, "a") {
		t.Fatal("a's own press did not verify a")
	}
	if _, hit := g.Screen(verifyChat, "a", "hello"); hit {
		t.Error("gate still holds a verified joiner")
	}
	if !f.p.sanctions.index.pending(verifyChat, "b") {
		t.Error("b verified by a's press")
	}
}

func TestAnswers(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		text, answer string
		want         bool
	}{
		{"12", "12", true}, {" １２ ", "12", true}, {"I AM HUMAN", "i am human", true},
		{"12 ", "13", false}, {"", "", false}, {"the answer is 12", "12", false},
	} {
		if got := answers(tt.text, tt.answer); got != tt.want {
			t.Errorf("answers(%q, %q) = %v, want %v", tt.text, tt.answer, got, tt.want)
		}
	}
}

func FuzzAnswers(f *testing.F) {
	f.Add("12", "12")
	f.Add("１２", "12")
	f.Fuzz(func(t *testing.T, text, answer string) {
		if answers(text, answer) != answers(answer, text) && answer != "" && text != "" {
			t.Errorf("answers not symmetric for %q, %q", text, answer)
		}
	})
}

func TestParseSanction(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want sanctionSpec
		ok   bool
	}{
		{"kick", sanctionSpec{verb: moderation.VerbKick}, true},
		{"ban 1h", sanctionSpec{verb: moderation.VerbBan, d: time.Hour}, true},
		{"ban", sanctionSpec{verb: moderation.VerbBan}, true},
		{"mute 10m", sanctionSpec{verb: moderation.VerbMute, d: 10 * time.Minute}, true},
		{"kick 1h", sanctionSpec{}, false},
		{"warn", sanctionSpec{}, false},
		{"mute 5x", sanctionSpec{}, false},
		{"", sanctionSpec{}, false},
	} {
		got, err := parseSanction(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseSanction(%q) = %+v, %v; want %+v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func FuzzParseSanction(f *testing.F) {
	for _, s := range []string{"kick", "ban 1h", "mute", "mute 10分钟", "ban 0", "mute -1s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		spec, err := parseSanction(s)
		if err != nil {
			return
		}
		switch {
		case spec.verb != moderation.VerbKick && spec.verb != moderation.VerbMute && spec.verb != moderation.VerbBan:
			t.Errorf("parseSanction(%q) verb %q", s, spec.verb)
		case spec.d < 0 || spec.d > moderation.MaxMute:
			t.Errorf("parseSanction(%q) duration %v", s, spec.d)
		}
	})
}

func TestVerificationConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		key  string
		v    VerifyConfig
		want string // substring of the error; "" valid
	}{
		{"text on tim", "tim:@TGS#1", VerifyConfig{Mode: "text", Timeout: time.Minute, OnTimeout: "ban 1d", OnWrongAnswers: 3}, ""},
		{"button on feishu", "feishu:oc_1", VerifyConfig{Mode: "button"}, ""},
		{"button on easemob", "easemob:1", VerifyConfig{Mode: "button"}, "only Feishu"},
		{"presend on feishu", "feishu:oc_1", VerifyConfig{Mode: "text", Hold: "presend"}, "no pre-send hook"},
		{"no mode", "tim:g", VerifyConfig{}, "mode"},
		{"phrase without phrase", "tim:g", VerifyConfig{Mode: "text", Question: "phrase"}, "phrase: must be set"},
		{"bad on_timeout", "tim:g", VerifyConfig{Mode: "text", OnTimeout: "warn"}, "on_timeout"},
		{"short timeout", "tim:g", VerifyConfig{Mode: "text", Timeout: time.Millisecond}, "at least 1s"},
		{"bad key", "g", VerifyConfig{Mode: "text"}, "platform:chat_id"},
	}
	for _, tt := range tests {
		err := Config{Verification: map[string]VerifyConfig{tt.key: tt.v}}.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}

// TestVerifyChallengeNotPosted: a challenge the platform refuses for good
// lets its joiners go; nobody is removed for a question never shown.
func TestVerifyChallengeNotPosted(t *testing.T) {
	t.Parallel()
	f := newFixture(t, verifyCfg(VerifyConfig{Mode: "text", Timeout: time.Minute}), policy.Config{}, "en", native)
	f.pl.postErr = &moderation.APIError{Platform: "fake", Op: "post", Kind: moderation.Permanent, Message: "no"}
	f.join("", "a")
	f.advance(3 * time.Second)
	if f.p.sanctions.index.pending(verifyChat, "a") {
		t.Fatal("a still held though the challenge could not be posted")
	}
	f.advance(2 * time.Minute)
	if slices.ContainsFunc(f.pl.calls, func(c string) bool { return strings.HasPrefix(c, "remove") }) {
		t.Fatalf("calls = %q: a removed without having seen a challenge", f.pl.calls)
	}
}
