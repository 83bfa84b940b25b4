package app_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gavel/config"
	"gavel/moderation"

	"gavel/platforms/tim/timtest"
)

// Issue #19 on TIM, end to end: joiners held by the pre-send hook until
// they answer, removed at the timeout (also across a restart), a raid
// challenged in a handful of messages; reports muting once.

func verifyConfig(chat string, timeout time.Duration) func(*config.Config) {
	return func(c *config.Config) { verifyTestConfig(c, chat, timeout) }
}

// challenges returns Gavel's challenge messages in the TIM group.
func (e *timSanc) challenges() []string {
	var out []string
	for _, r := range e.ts.Replies() {
		if strings.Contains(r.Text, "Welcome") {
			out = append(out, r.Text)
		}
	}
	return out
}

// preSendSeq numbers the pre-send callbacks (TIM's Random): each is a
// message of its own.
var preSendSeq atomic.Uint32

// preSend asks Gavel whether from's text may be delivered: TIM's
// ErrorCode 0 delivers.
func (e *timSanc) preSend(from, text string) bool {
	e.t.Helper()
	got := e.answer(e.ts.PreSendDelivery(timToken, time.Now(), timtest.PreSend{GroupID: sancGroup, From: from, Texts: []string{text}, Random: preSendSeq.Add(1)}))
	return got["ErrorCode"] == float64(0)
}

func (e *timSanc) join(users ...string) {
	e.t.Helper()
	if _, err := e.ts.AddGroupMember(sancGroup, users...); err != nil {
		e.t.Fatal(err)
	}
	post(e.t, e.h, e.ts.JoinDelivery(timToken, time.Now(), timtest.Join{GroupID: sancGroup, Members: users}))
	e.h.Wait()
}

func TestTIMVerification(t *testing.T) {
	t.Parallel()
	e := newTIMSanc(t, timtest.Group{Members: []string{"alice"}}, verifyConfig("tim:"+sancGroup, 4*time.Second))
	e.join("j1", "j2")
	if e.preSend("j1", "buy cheap followers") {
		t.Fatal("an unverified joiner's message was let through before the challenge")
	}
	eventually(t, 10*time.Second, "a challenge", func() bool { return len(e.challenges()) > 0 })
	ch := e.challenges()
	if len(ch) != 1 || !strings.Contains(ch[0], "j1") || !strings.Contains(ch[0], "j2") {
		t.Fatalf("challenges = %q, want one naming j1 and j2", ch)
	}
	if e.preSend("j1", "12345") {
		t.Fatal("a wrong answer was delivered")
	}
	if e.preSend("j1", sumAnswer(t, ch[0])) {
		t.Fatal("the answer itself was delivered")
	}
	e.h.Wait()
	if !e.preSend("j1", "hello everyone") {
		t.Fatal("a verified joiner cannot speak")
	}
	if !e.preSend("alice", "hi") {
		t.Fatal("a member who joined before is held")
	}
	// j2 never answers: removed at the timeout, once.
	eventually(t, 15*time.Second, "j2 removed at the timeout", func() bool { return e.ts.Removals()["j2"] > 0 })
	settle(t, e.h)
	if n := e.ts.Removals()["j2"]; n != 1 || e.ts.Removals()["j1"] != 0 {
		t.Fatalf("removals %v, want j2 once and not j1", e.ts.Removals())
	}
	for _, r := range e.ts.Replies() {
		if strings.Contains(r.Text, "buy cheap") || strings.Contains(r.Text, "12345") {
			t.Errorf("a held message reached the group: %q", r.Text)
		}
		// Nobody the challenge names is pending: it is recalled.
		if strings.Contains(r.Text, "Welcome") && !slices.Contains(e.ts.Recalled(sancGroup), r.MsgSeq) {
			t.Errorf("challenge (MsgSeq %d) not recalled once j1 passed and j2 was removed; recalled %v", r.MsgSeq, e.ts.Recalled(sancGroup))
		}
	}
}

func TestTIMVerificationTimeoutAcrossRestart(t *testing.T) {
	t.Parallel()
	e := newTIMSanc(t, timtest.Group{Members: []string{"alice"}}, verifyConfig("tim:"+sancGroup, 2*time.Second))
	e.join("j3")
	eventually(t, 10*time.Second, "a challenge", func() bool { return len(e.challenges()) > 0 })
	e.h.Close()
	time.Sleep(3 * time.Second) // the deadline goes by while Gavel is down
	if n := e.ts.Removals()["j3"]; n != 0 {
		t.Fatalf("j3 removed %d times while Gavel was down", n)
	}
	e.start()
	eventually(t, 15*time.Second, "j3 removed after the restart", func() bool { return e.ts.Removals()["j3"] > 0 })
	settle(t, e.h)
	if n := e.ts.Removals()["j3"]; n != 1 {
		t.Fatalf("j3 removed %d times, want 1", n)
	}
}

func TestTIMVerificationRaid(t *testing.T) {
	t.Parallel()
	e := newTIMSanc(t, timtest.Group{Members: []string{"alice"}}, verifyConfig("tim:"+sancGroup, time.Minute))
	var raiders []string
	for i := range 30 {
		u := "raid" + strconv.Itoa(i)
		raiders = append(raiders, u)
		if _, err := e.ts.AddGroupMember(sancGroup, u); err != nil {
			t.Fatal(err)
		}
		post(t, e.h, e.ts.JoinDelivery(timToken, time.Now(), timtest.Join{GroupID: sancGroup, Members: []string{u}}))
	}
	e.h.Wait()
	eventually(t, 15*time.Second, "every raider challenged", func() bool {
		return namesAll(strings.Join(e.challenges(), " "), raiders)
	})
	settle(t, e.h)
	if n := len(e.challenges()); n > 4 {
		t.Fatalf("%d challenge messages for a 30-joiner raid, want a handful (≤ 4)", n)
	}
	t.Logf("30 joiners, %d challenge messages", len(e.challenges()))
	for _, u := range raiders {
		if e.preSend(u, "spam") {
			t.Fatalf("raider %s speaks unverified", u)
		}
	}
}

func TestTIMReportsMuteOnce(t *testing.T) {
	t.Parallel()
	e := newTIMSanc(t, timtest.Group{Members: []string{"alice", "x", "r1", "r2", "r3"}}, verifyConfig("tim:other", time.Minute))
	report := func(from string) {
		e.say(timtest.Message{From: from, Text: "/report @x spam", AtAccounts: []string{"x"}})
		e.h.Wait()
	}
	for range 5 {
		report("r1")
	}
	report("r2")
	if n := len(e.ts.CallsTo("forbid_send_msg")); n != 0 {
		t.Fatalf("x muted after two distinct reporters (r1 five times): %d calls", n)
	}
	report("r3")
	report("alice")
	if n := len(e.ts.CallsTo("forbid_send_msg")); n != 1 {
		t.Fatalf("%d forbid_send_msg calls after four distinct reporters, want 1", n)
	}
	if m := e.ts.Mute(sancGroup, "x"); !m.Muted {
		t.Errorf("x not muted on TIM: %+v", m)
	}
	for _, r := range e.ts.Replies() {
		for _, name := range []string{"r1", "r2", "r3", "alice"} {
			if strings.Contains(r.Text, name) {
				t.Errorf("the group was told %q, naming reporter %s", r.Text, name)
			}
		}
	}
	cs, err := e.h.App.Store.Cases(context.Background(), moderation.CaseFilter{Platform: "tim", ChatID: sancGroup})
	if err != nil {
		t.Fatal(err)
	}
	reports := 0
	for _, c := range cs {
		if c.Verb == moderation.VerbReport && c.Outcome == moderation.OutcomeDone {
			reports++
		}
	}
	if reports != 4 {
		t.Errorf("%d report cases, want 4 (r1's five count once)", reports)
	}
}
