package app_test

import (
	"regexp"
	"strconv"
	"testing"
	"time"

	"gavel/app/apptest"
	"gavel/config"
	"gavel/pipeline"
)

// Helpers of the #19 end-to-end tests (verification, reports) shared by
// the three platforms' files.

var challengeSum = regexp.MustCompile(`(\d+) \+ (\d+)`)

// sumAnswer answers the arithmetic challenge in text.
func sumAnswer(t *testing.T, text string) string {
	t.Helper()
	m := challengeSum.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("challenge %q asks no sum", text)
	}
	a, _ := strconv.Atoi(m[1])
	b, _ := strconv.Atoi(m[2])
	return strconv.Itoa(a + b)
}

// verifyTestConfig verifies joiners of chat by an arithmetic question with
// a short timeout and gathering, and lets members report (three distinct
// reporters mute for the default 1h).
func verifyTestConfig(c *config.Config, chat string, timeout time.Duration) {
	c.Moderation.Verification = map[string]pipeline.VerifyConfig{chat: {Mode: "text", Timeout: timeout, Gather: 200 * time.Millisecond}}
	c.Moderation.Reports = pipeline.ReportsConfig{Enabled: true, ActAt: 3}
}

// namesAll reports whether text names every user as a whole word.
func namesAll(text string, users []string) bool {
	for _, u := range users {
		if !regexp.MustCompile(`\b` + regexp.QuoteMeta(u) + `\b`).MatchString(text) {
			return false
		}
	}
	return true
}

// settle lets the maintenance loop tick a few more times (every second)
// and waits for the jobs it made: what should happen once has had the
// chance to happen twice.
func settle(t *testing.T, h *apptest.Harness) {
	t.Helper()
	time.Sleep(2500 * time.Millisecond)
	h.Wait()
}
