package pipeline

import (
	"strings"
	"testing"

	"gavel/moderation"
)

// TestEveryReasonHasText: each of Gavel's reason codes has its own reply
// text in English and in Chinese, so adding a code without a text fails
// here (moderation's TestReasonsListsEveryConstant keeps Reasons() whole).
func TestEveryReasonHasText(t *testing.T) {
	t.Parallel()
	for _, code := range moderation.Reasons() {
		t.Run(string(code), func(t *testing.T) {
			t.Parallel()
			en, zh, _, ok := reasonWords(code)
			if !ok || en == "" || zh == "" {
				t.Fatalf("reasonWords(%q) = %q, %q, ok %v; want a text in both languages", code, en, zh, ok)
			}
			for _, lang := range []string{"en", "zh"} {
				got := textsFor(lang).reasonText(moderation.Result{Reason: code, Detail: "detail for the case"})
				if got == "" || strings.Contains(got, "detail for the case") && code != moderation.ReasonUnsupported && code != moderation.ReasonNoResult {
					t.Errorf("%s reasonText(%q) = %q", lang, code, got)
				}
			}
		})
	}
}

func TestReasonText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		lang string
		r    moderation.Result
		want string
	}{
		{"own code en", "en", moderation.Result{Reason: moderation.ReasonNotMember, Detail: "Not a member of this chat."}, "not in this chat"},
		{"own code zh", "zh", moderation.Result{Reason: moderation.ReasonNotMember}, "不在此群"},
		{"detail preferred", "en", moderation.Result{Reason: moderation.ReasonUnsupported, Detail: "mute is not supported in this chat"}, "mute is not supported in this chat"},
		{"detail missing", "en", moderation.Result{Reason: moderation.ReasonUnsupported}, "not supported in this chat"},
		{"platform code with message", "en", moderation.Result{Reason: "feishu:232076", Detail: "The bot is not in the chat."}, "The bot is not in the chat."},
		{"platform code alone", "en", moderation.Result{Reason: "tim:10007"}, "tim:10007"},
		{"internal failure hides detail", "en", moderation.Result{Reason: moderation.ReasonStore, Detail: "database is locked"}, "internal error: store"},
		{"unknown code hides detail", "en", moderation.Result{Reason: "from_a_newer_version", Detail: "dial tcp 10.0.0.1:443"}, "internal error: from_a_newer_version"},
		{"command-level refusal", "en", moderation.Result{Reason: moderation.ReasonActorNotAdmin}, "only the chat owner, chat managers and Gavel admins may moderate"},
		{"no code", "zh", moderation.Result{}, "失败"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := textsFor(tt.lang).reasonText(tt.r); got != tt.want {
				t.Errorf("reasonText(%+v) = %q, want %q", tt.r, got, tt.want)
			}
		})
	}
}

// TestCaseTextSaysWhyRefused: /case of a refused command names the reason
// in words, command-level codes included.
// TestSanctionTextsPunctuation: a platform's message that is a sentence
// gets no second period, and a -p note does not run into the reason.
func TestSanctionTextsPunctuation(t *testing.T) {
	t.Parallel()
	refused := moderation.Result{Status: moderation.StatusRefused, Reason: "feishu:232017", Detail: "Gavel's bot must own this chat."}
	tests := []struct{ name, got, want string }{
		{"lock refused en", textsFor("en").lockDone(moderation.VerbLock, 0, "", refused), "Could not lock the chat: Gavel's bot must own this chat."},
		{"purge failed en", textsFor("en").purged(1, []moderation.Result{refused}), "Recalled 0 message(s). 1 could not be recalled: Gavel's bot must own this chat."},
		{"-p note en", "Banned 1: a. Reason: spam" + textsFor("en").purgedNote([]moderation.Result{{Status: moderation.StatusDone, Detail: "2/2"}}),
			"Banned 1: a. Reason: spam\nRecalled 2 of their recent message(s)."},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

func TestCaseTextSaysWhyRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		outcome moderation.Outcome
		want    string
	}{
		{"command refused", moderation.RefusedOutcome(moderation.ReasonActorNotAdmin), "Refused because: only the chat owner"},
		{"too many targets", moderation.RefusedOutcome(moderation.ReasonTooManyTargets), "Refused because: too many targets."},
		{"done says nothing", moderation.OutcomeDone, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := textsFor("en").caseText(moderation.Case{ID: 3, Verb: moderation.VerbKick, Actor: "mod", Outcome: tt.outcome})
			if !strings.Contains(got, "→ "+string(tt.outcome)+".") {
				t.Errorf("caseText = %q, want the outcome %q", got, tt.outcome)
			}
			if tt.want == "" && strings.Contains(got, "Refused because") || !strings.Contains(got, tt.want) {
				t.Errorf("caseText = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestSummaryNotesHowABanWasDone: a ban the adapter carried out another
// way (TIM without its ban API: a removal, Gavel keeping the user out)
// says so in the reply, once however many users; a plain ban and other
// verbs add nothing.
func TestSummaryNotesHowABanWasDone(t *testing.T) {
	t.Parallel()
	const note = "ban emulated"
	two := []moderation.Result{{UserID: "a", Status: moderation.StatusDone, Detail: note}, {UserID: "b", Status: moderation.StatusDone, Detail: note}}
	tests := []struct {
		name    string
		verb    moderation.Verb
		results []moderation.Result
		notes   int
	}{
		{"emulated ban", moderation.VerbBan, two, 1},
		{"native ban", moderation.VerbBan, []moderation.Result{{UserID: "a", Status: moderation.StatusDone}}, 0},
		{"kick ignores details", moderation.VerbKick, two, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := textsFor("en").summary(moderation.Command{Verb: tt.verb}, 0, false, tt.results, nil, 0)
			if n := strings.Count(got, note); n != tt.notes {
				t.Errorf("summary %q mentions %q %d times, want %d", got, note, n, tt.notes)
			}
		})
	}
}

// TestSanctionRepliesEndOnce: a platform's message that ends with its own
// full stop is not followed by a second one in the purge and lock replies.
func TestSanctionRepliesEndOnce(t *testing.T) {
	refused := moderation.Result{UserID: "m1", Status: moderation.StatusRefused,
		Reason: moderation.PlatformReason("easemob", "exceed_recall_time_limit"), Detail: "The message is older than the recall time."}
	for _, lang := range []string{"en", "zh"} {
		tx := textsFor(lang)
		for name, got := range map[string]string{
			"purged": tx.purged(1, []moderation.Result{refused}),
			"lock":   tx.lockDone(moderation.VerbLock, 0, "", moderation.Result{Status: moderation.StatusFailed, Reason: refused.Reason, Detail: "The bot is not allowed。"}),
		} {
			if strings.Contains(got, "..") || strings.Contains(got, "。。") || strings.Contains(got, ".。") || strings.Contains(got, "。.") {
				t.Errorf("%s %s: %q ends a sentence twice", lang, name, got)
			}
			if !strings.Contains(got, "The message is older than the recall time") && !strings.Contains(got, "The bot is not allowed") {
				t.Errorf("%s %s: %q lost the platform's reason", lang, name, got)
			}
		}
	}
}
