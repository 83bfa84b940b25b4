package demo

// Joiner verification and member reports (issue #19) on Tencent Cloud
// Chat: two users join, the pre-send hook holds them, one answers the
// challenge and speaks, the other is removed at the timeout; three
// members report a spammer, who is muted once.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"time"

	"gavel/config"
	"gavel/pipeline"
	"gavel/platforms/tim/timtest"
)

const verifyGroup = "@TGS#verify"

// verifyConfig turns verification on for verifyGroup (a short timeout,
// for the demo) and reports on everywhere.
func verifyConfig(cfg *config.Config) {
	cfg.Moderation.Verification = map[string]pipeline.VerifyConfig{
		"tim:" + verifyGroup: {Mode: "text", Timeout: 3 * time.Second, Gather: 300 * time.Millisecond},
	}
	cfg.Moderation.Reports = pipeline.ReportsConfig{Enabled: true, ActAt: 3, Action: "mute 1h"}
}

var demoSum = regexp.MustCompile(`(\d+) \+ (\d+)`)

func (d *director) timVerify(ts *timtest.Server, token string) {
	ts.AddGroup(timtest.Group{ID: verifyGroup, Type: "Public", Owner: "owner1", Admins: []string{"mod1"},
		Members: []string{"alice", "bob", "carol", "spammer"}})
	ts.SetNick("spammer", "Spammer")
	d.section("Tencent Cloud Chat — group " + verifyGroup + ": joiner verification (pre-send hook) and a report threshold")
	v := timView{ts}
	target := d.gavel + "/webhook/tim"
	send := timSender(ts, target, token)
	member := func(id string) bool { return slices.Contains(ts.Members(verifyGroup), id) }
	var random uint32
	// preSend asks Gavel, as TIM's Group.CallbackBeforeSendMsg does,
	// whether from's text may be delivered.
	preSend := func(from, text string) (bool, error) {
		random++
		req, err := ts.PreSendRequest(target, token, now(), timtest.PreSend{GroupID: verifyGroup, From: from, Texts: []string{text}, Random: 9000 + random})
		if err != nil {
			return false, err
		}
		u := req.URL
		u.Scheme, u.Host = "http", d.gavel[len("http://"):]
		req.Host, req.RequestURI = u.Host, ""
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var ans struct{ ErrorCode int }
		if err := json.Unmarshal(body, &ans); err != nil {
			return false, fmt.Errorf("pre-send answer %s: %w", body, err)
		}
		return ans.ErrorCode == 0, nil
	}
	mayspeak := func(from string, want bool) error {
		ok, err := preSend(from, "hello")
		if err != nil {
			return err
		}
		return expect(ok == want, "pre-send of %s's message delivered: %v, want %v", from, ok, want)
	}

	join, err := timtest.CallbackRequest(target, ts.JoinDelivery(token, now(), timtest.Join{GroupID: verifyGroup, Members: []string{"newbie", "bot1"}}))
	if err != nil {
		panic(err) // building a request from constants cannot fail
	}
	d.run(v, step{who: "newbie and bot1 join (Group.CallbackAfterNewMemberJoin)", text: "(two joiners)", req: join,
		check: func() error { return errors.Join(mayspeak("newbie", false), mayspeak("alice", true)) }})

	var challenge string
	d.wait(v, waitStep{who: "(time passes)", text: "Gavel posts one challenge naming both joiners", wantReply: "Welcome bot1, newbie", timeout: 8 * time.Second,
		until: func() error {
			for _, r := range v.replies(0) {
				if demoSum.MatchString(r) {
					challenge = r
					return nil
				}
			}
			return errors.New("no challenge yet")
		}})
	answer := "?"
	if m := demoSum.FindStringSubmatch(challenge); m != nil {
		a, _ := strconv.Atoi(m[1])
		b, _ := strconv.Atoi(m[2])
		answer = strconv.Itoa(a + b)
	}
	req, err := ts.PreSendRequest(target, token, now(), timtest.PreSend{GroupID: verifyGroup, From: "newbie", Texts: []string{answer}, Random: 8000})
	if err != nil {
		panic(err)
	}
	d.run(v, step{who: "newbie answers (Group.CallbackBeforeSendMsg: held, read as the answer)", text: answer, req: req,
		check: func() error { return mayspeak("newbie", true) }})

	d.wait(v, waitStep{who: "(time passes)", text: "bot1 never answers: removed at the 3s timeout", timeout: 10 * time.Second,
		until: func() error {
			return expect(!member("bot1") && member("newbie"), "bot1 member %v, newbie member %v", member("bot1"), member("newbie"))
		}})

	mutes := func() int {
		return countOps(ts.Calls(), 0, func(c timtest.Call) bool { return c.Op == "forbid_send_msg" && c.Body["GroupId"] == verifyGroup })
	}
	for i, from := range []string{"alice", "alice", "bob", "carol"} {
		text := "/report @Spammer selling accounts"
		s := step{who: from + " (member)", text: text, req: send(timtest.Message{GroupID: verifyGroup, From: from, Text: text, AtAccounts: []string{"spammer"}}),
			wantReply: "A report was received"}
		switch i {
		case 1:
			s.who, s.wantReply = from+" (member) again: counts once", ""
		case 2:
			s.check = func() error { return expect(mutes() == 0, "spammer muted after two reporters") }
		case 3:
			s.who, s.wantReply = from+" (member), the third distinct reporter", "rule reports"
			s.check = func() error {
				return expect(mutes() == 1 && ts.Mute(verifyGroup, "spammer").Muted, "spammer not muted once: %d calls", mutes())
			}
		}
		d.run(v, s)
	}
}
