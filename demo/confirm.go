package demo

// A confirmed mass kick on TIM (issue #17.4): a /kick naming more than
// policy.confirm_above users is held and asks for /confirm N; a member's
// /confirm is refused; an admin's removes them all.

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"gavel/platforms/tim/timtest"
)

// The demo's confirmation settings (its policy block).
const (
	demoConfirmAbove = 20
	demoMaxTargets   = 100
	demoRaiders      = 30
)

var confirmNumber = regexp.MustCompile(`/confirm (\d+)`)

func (d *director) timConfirm(ts *timtest.Server, token string) {
	const group = "@TGS#raided"
	raiders := make([]string, demoRaiders)
	var text strings.Builder
	text.WriteString("/kick")
	for i := range raiders {
		raiders[i] = fmt.Sprintf("raid%02d", i)
		text.WriteString(" @" + raiders[i])
	}
	text.WriteString(" raid")
	ts.AddGroup(timtest.Group{ID: group, Type: "Public", Owner: "owner1", Admins: []string{"mod1"}, Members: append([]string{"alice"}, raiders...)})
	d.section(fmt.Sprintf("Tencent Cloud Chat — a confirmed mass kick in %s (policy.confirm_above %d)", group, demoConfirmAbove))
	v := timView{ts}
	send := timSender(ts, d.gavel+"/webhook/tim", token)
	left := func() int {
		n := 0
		for _, r := range raiders {
			if slices.Contains(ts.Members(group), r) {
				n++
			}
		}
		return n
	}

	shown := fmt.Sprintf("/kick @raid00 … @raid%02d raid (%d users)", demoRaiders-1, demoRaiders)
	d.run(v, step{who: "mod1 (admin)", text: shown, req: send(timtest.Message{GroupID: group, From: "mod1", Text: text.String()}),
		wantReply: "awaits an admin's confirmation",
		check: func() error {
			return expect(left() == demoRaiders, "raiders removed before confirmation: %d left", left())
		}})

	id := "0"
	if rs := ts.Replies(); len(rs) > 0 {
		if m := confirmNumber.FindStringSubmatch(rs[len(rs)-1].Text); m != nil {
			id = m[1]
		}
	}
	confirm := "/confirm " + id
	d.run(v, step{who: "alice (member)", text: confirm, req: send(timtest.Message{GroupID: group, From: "alice", Text: confirm}),
		wantReply: "Refused",
		check:     func() error { return expect(left() == demoRaiders, "a member's /confirm removed raiders") }})

	d.run(v, step{who: "owner1 (owner)", text: confirm, req: send(timtest.Message{GroupID: group, From: "owner1", Text: confirm}),
		wantReply: fmt.Sprintf("Removed %d", demoRaiders),
		check:     func() error { return expect(left() == 0, "%d raiders still in the group", left()) }})

	d.run(v, step{who: "mod1 (admin), again", text: confirm, req: send(timtest.Message{GroupID: group, From: "mod1", Text: confirm}),
		wantReply: "already confirmed by owner1",
		check: func() error {
			return expect(len(ts.CallsTo("delete_group_member")) > 0 && ts.Removals()["raid00"] == 1, "raid00 removed %d times", ts.Removals()["raid00"])
		}})
}
