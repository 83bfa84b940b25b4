package app_test

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gavel/app/apptest"
	"gavel/automod"
	"gavel/cluster"
	"gavel/config"
	"gavel/platforms/easemob"
	"gavel/platforms/easemob/easemobtest"
	"gavel/policy"
	"gavel/store"
)

// Issue #16 on Easemob, end to end: signed callbacks go into the real app,
// the Easemob fake answers the REST calls and keeps the block lists,
// mute-all switches and messages the assertions read.

// emRun is one Gavel on an Easemob fake with one chat: owner "owner",
// admin "mod", members a, b, c and extra; a command may name up to 100
// targets.
type emRun struct {
	t     *testing.T
	es    *easemobtest.Server
	h     *apptest.Harness
	dsn   string
	clock *apptest.Clock
	chat  string
	kind  string
	fired int // how many of the fake's operation callbacks were delivered
	// automod is the auto-moderation config start gives Gavel.
	automod automod.Config
	// storage and redis, when set, replace the SQLite file (replicas).
	storage store.Config
	redis   cluster.Config
}

var emKinds = []string{easemobtest.KindGroup, easemobtest.KindChatRoom}

func newEMRun(t *testing.T, kind string, extra ...string) *emRun {
	t.Helper()
	return newEMRunWith(t, kind, automod.Config{}, extra...)
}

func newEMRunWith(t *testing.T, kind string, am automod.Config, extra ...string) *emRun {
	t.Helper()
	es := easemobtest.NewServer()
	t.Cleanup(es.Close)
	r := &emRun{t: t, es: es, dsn: filepath.Join(t.TempDir(), "gavel.db"), clock: apptest.NewClock(time.Now()), chat: "c16", kind: kind, automod: am}
	es.SetNow(r.clock.Now)
	es.AddChat(easemobtest.Chat{ID: r.chat, Kind: kind, Owner: "owner", Admins: []string{"mod"}, Members: append([]string{"a", "b", "c"}, extra...)})
	r.start()
	return r
}

// start runs a Gavel on the run's store (a restart after stop).
func (r *emRun) start() {
	r.h = apptest.New(r.t, config.Config{
		Platforms: config.Platforms{Easemob: &easemob.Config{BaseURL: r.es.URL, OrgName: r.es.Org, AppName: r.es.App,
			ClientID: r.es.ClientID, ClientSecret: r.es.ClientSecret, CallbackSecret: r.es.CallbackSecret, BotUser: "gavel"}},
		Policy:  policy.Config{MaxTargets: 100},
		Automod: r.automod,
		Storage: r.storeConfig(),
		Redis:   r.redis,
	}, apptest.WithNow(r.clock.Now))
}

func (r *emRun) storeConfig() store.Config {
	if r.storage.DSN != "" {
		return r.storage
	}
	return store.Config{Driver: store.DriverSQLite, DSN: r.dsn}
}

func (r *emRun) post(body []byte) {
	r.t.Helper()
	if status, resp := r.h.Do(r.t, easemobtest.Request("http://gavel/webhook/easemob", body)); status != http.StatusOK {
		r.t.Fatalf("callback answered %d: %s", status, resp)
	}
}

// send is a client sending text: the fake must deliver it (else the test
// fails), and its post-send callback reaches Gavel. It returns the msg_id.
func (r *emRun) send(from, text string, at []string, quote *easemobtest.Quote) string {
	r.t.Helper()
	id := fmt.Sprint(emMsgSeq.next())
	r.clock.Advance(10 * time.Millisecond)
	body, err := r.es.Send(easemobtest.Message{ChatID: r.chat, Kind: r.kind, From: from, Text: text, AtList: at, Quote: quote, MsgID: id})
	if err != nil {
		r.t.Fatalf("%s cannot send %q: %v", from, text, err)
	}
	r.post(body)
	return id
}

// deliverFired sends Gavel the operation callbacks the fake's REST calls
// fired since the last delivery (BLOCK, LEAVE, UPDATE MUTE, recall …), as
// Easemob would, and waits for what they cause.
func (r *emRun) deliverFired() {
	r.t.Helper()
	fired := r.es.Fired()
	for _, body := range fired[r.fired:] {
		r.post(body)
	}
	r.fired = len(fired)
	r.h.Wait()
}

// command is mod's command; Gavel's reply to it is returned.
func (r *emRun) command(text string, at ...string) string {
	r.t.Helper()
	return r.commandFrom("mod", text, nil, at...)
}

func (r *emRun) commandFrom(from, text string, quote *easemobtest.Quote, at ...string) string {
	r.t.Helper()
	before := len(r.es.Messages())
	r.send(from, text, at, quote)
	r.h.Wait()
	ms := r.es.Messages()
	if len(ms) != before+1 {
		r.t.Fatalf("%q: %d replies, want 1: %+v", text, len(ms)-before, ms[before:])
	}
	return ms[before].Text
}

// eventually polls cond for up to 20 s (the maintenance loop ticks every
// second in real time).
func (r *emRun) eventually(what string, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.h.Wait()
}

// settle lets the maintenance loop tick a few more times and the jobs it
// submits finish: what has not happened by then does not happen.
func (r *emRun) settle() {
	time.Sleep(2500 * time.Millisecond)
	r.h.Wait()
}

// calls counts the successful calls of op in the run's chat.
func (r *emRun) calls(op string) []easemobtest.Call {
	var out []easemobtest.Call
	for _, c := range r.es.CallsTo(op) {
		if c.Status == http.StatusOK {
			out = append(out, c)
		}
	}
	return out
}

// recalled returns the msg_ids of the successful msg_recall calls, in
// order; every call must carry exactly one.
func (r *emRun) recalled() []string {
	r.t.Helper()
	var ids []string
	for _, c := range r.calls("recall") {
		id, _ := c.Body["msg_id"].(string)
		if id == "" || c.Body["to"] != r.chat {
			r.t.Fatalf("msg_recall body %v", c.Body)
		}
		ids = append(ids, id)
	}
	return ids
}

type emSeq struct {
	mu sync.Mutex
	n  int64
}

func (s *emSeq) next() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	return 1200000000000000000 + s.n
}

var emMsgSeq emSeq

// TestEasemobBan: /ban block-lists the target, whom the fake then keeps
// out; a ban Easemob could not record (the target was not a member) is
// Gavel's, which removes them when their JOIN callback arrives.
func TestEasemobBan(t *testing.T) {
	t.Parallel()
	for _, kind := range emKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			r := newEMRun(t, kind)
			if got := r.command("/ban @a spam", "a"); got != "Banned until unbanned 1: a. Reason: spam" {
				t.Fatalf("/ban reply %q", got)
			}
			blocks := r.calls("block")
			if len(blocks) != 1 || !slices.Equal(blocks[0].Users, []string{"a"}) {
				t.Fatalf("block calls %+v, want one for a", blocks)
			}
			if !r.es.IsBlocked(r.chat, "a") || r.es.IsMember(r.chat, "a") {
				t.Fatal("a is not block-listed and out")
			}
			if err := r.es.ClientJoin(r.chat, "a"); !errors.Is(err, easemobtest.ErrBlocked) {
				t.Fatalf("a rejoining: %v, want ErrBlocked", err)
			}
			// Easemob's BLOCK ADD and LEAVE BLOCK callbacks about it
			// change nothing.
			replies := len(r.es.Messages())
			r.deliverFired()
			if n, m := len(r.es.Calls()), len(r.es.Messages()); m != replies || len(r.calls("kick")) != 0 || len(r.calls("block")) != 1 {
				t.Fatalf("the ban's own callbacks caused calls (%d) or replies (%d → %d)", n, replies, m)
			}

			// x is not a member: Easemob block-lists members only.
			got := r.command("/ban @x", "x")
			// The reply says the ban is Gavel's own record.
			if got != "Banned until unbanned 1: x. Not in the chat now, and Easemob block-lists members only: the ban is Gavel's record, which removes them if they join." {
				t.Fatalf("/ban of a non-member: reply %q", got)
			}
			if r.es.IsBlocked(r.chat, "x") {
				t.Fatal("the fake block-listed a non-member")
			}
			if err := r.es.ClientJoin(r.chat, "x"); err != nil {
				t.Fatalf("x joining: %v", err)
			}
			r.post(r.es.JoinBody(easemobtest.Join{ChatID: r.chat, Kind: kind, Users: []string{"x"}}))
			r.h.Wait()
			kicks := r.calls("kick")
			if len(kicks) != 1 || !slices.Equal(kicks[0].Users, []string{"x"}) {
				t.Fatalf("kick calls %+v, want one removing x", kicks)
			}
			if r.es.IsMember(r.chat, "x") {
				t.Fatal("banned x is still in the chat after joining")
			}
			// A member who was never banned joins and stays.
			if err := r.es.ClientJoin(r.chat, "y"); err != nil {
				t.Fatal(err)
			}
			r.post(r.es.JoinBody(easemobtest.Join{ChatID: r.chat, Kind: kind, Users: []string{"y"}}))
			r.h.Wait()
			if n := len(r.calls("kick")); n != 1 || !r.es.IsMember(r.chat, "y") {
				t.Fatalf("y joined: %d kicks, member %v", n, r.es.IsMember(r.chat, "y"))
			}
		})
	}
}

// TestEasemobBanBatches: Easemob block-lists at most 60 users a call, so
// a /ban of 61 makes two calls; /unban of them two more.
func TestEasemobBanBatches(t *testing.T) {
	t.Parallel()
	for _, kind := range emKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			var users []string
			for i := range 61 {
				users = append(users, fmt.Sprintf("raider%02d", i))
			}
			r := newEMRun(t, kind, users...)
			if got := r.command("/ban @"+strings.Join(users, " @"), users...); !strings.HasPrefix(got, "Banned until unbanned 61: ") {
				t.Fatalf("/ban reply %q", got)
			}
			batches := func(op string) {
				t.Helper()
				var sizes []int
				var all []string
				for _, c := range r.calls(op) {
					sizes = append(sizes, len(c.Users))
					all = append(all, c.Users...)
				}
				if !slices.Equal(sizes, []int{60, 1}) || !slices.Equal(all, users) {
					t.Fatalf("%s calls of %v users, want 60 then 1, every user once in order", op, sizes)
				}
			}
			batches("block")
			if got := r.command("/unban @"+strings.Join(users, " @"), users...); !strings.HasPrefix(got, "Unbanned 61: ") {
				t.Fatalf("/unban reply %q", got)
			}
			batches("unblock")
			for _, u := range users {
				if r.es.IsBlocked(r.chat, u) {
					t.Fatalf("%s still block-listed after /unban", u)
				}
			}
		})
	}
}

// TestEasemobTimedSanctionsEnd: a timed ban or lock ends at its expiry
// exactly once — in the running Gavel, or in a new one started on the same
// store after the expiry — and one lifted early leaves no timer behind.
func TestEasemobTimedSanctionsEnd(t *testing.T) {
	t.Parallel()
	type sanction struct {
		name, impose string
		imposed      string // in the reply
		at           []string
		lift         string // the command ending it early
		held         func(r *emRun) bool
		endOp        string // the fake's op that ends it
	}
	sanctions := []sanction{
		{name: "ban", impose: "/ban @a 1h", imposed: "Banned for 1h 1: a.", at: []string{"a"}, lift: "/unban @a", endOp: "unblock",
			held: func(r *emRun) bool { return r.es.IsBlocked(r.chat, "a") }},
		{name: "lock", impose: "/lock 1h", imposed: "Chat locked for 1h", lift: "/unlock", endOp: "unmuteall",
			held: func(r *emRun) bool { return r.es.MutedAll(r.chat) }},
	}
	for _, kind := range emKinds {
		for _, s := range sanctions {
			for _, how := range []string{"expiry", "restart", "lifted"} {
				t.Run(kind+"/"+s.name+"/"+how, func(t *testing.T) {
					t.Parallel()
					r := newEMRun(t, kind)
					if got := r.command(s.impose, s.at...); !strings.Contains(got, s.imposed) {
						t.Fatalf("%s: reply %q, want %q", s.impose, got, s.imposed)
					}
					if !s.held(r) {
						t.Fatalf("%s did not take", s.impose)
					}
					wantEnds := 1
					switch how {
					case "expiry":
						r.clock.Advance(59 * time.Minute)
						r.settle()
						if !s.held(r) || len(r.calls(s.endOp)) != 0 {
							t.Fatal("ended before its expiry")
						}
						r.clock.Advance(time.Minute + time.Second)
					case "restart":
						r.h.Close()
						r.clock.Advance(time.Hour + time.Second)
						r.start()
					case "lifted":
						r.command(s.lift, s.at...)
						if s.held(r) {
							t.Fatalf("%s did not lift it", s.lift)
						}
						r.clock.Advance(time.Hour + time.Second)
						r.settle()
					}
					r.eventually(s.name+" ended", func() bool { return !s.held(r) })
					r.settle()
					if n := len(r.calls(s.endOp)); n != wantEnds {
						t.Fatalf("%s called %d times, want %d", s.endOp, n, wantEnds)
					}
					wantNotices := 1
					if how == "lifted" {
						wantNotices = 0 // the timer found nothing to end
					}
					if n := emNotices(r, "ended"); n != wantNotices {
						t.Fatalf("%d expiry notices, want %d: %+v", n, wantNotices, r.es.Messages())
					}
					if s.name == "ban" {
						if err := r.es.ClientJoin(r.chat, "a"); err != nil {
							t.Fatalf("a rejoining after the ban: %v", err)
						}
					}
				})
			}
		}
	}
}

// emNotices counts Gavel's messages containing text.
func emNotices(r *emRun, text string) int {
	n := 0
	for _, m := range r.es.Messages() {
		if strings.Contains(m.Text, text) {
			n++
		}
	}
	return n
}

// TestEasemobLockLeavesAdminsSpeaking: while locked, the fake delivers
// the owner's and the admins' messages (and Gavel's commands from them)
// and refuses the members'; /unlock lets members speak again.
func TestEasemobLockLeavesAdminsSpeaking(t *testing.T) {
	t.Parallel()
	for _, kind := range emKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			r := newEMRun(t, kind)
			if got := r.command("/lock 30m"); !strings.Contains(got, "Chat locked for 30m") {
				t.Fatalf("/lock reply %q", got)
			}
			if n := len(r.calls("muteall")); n != 1 || !r.es.MutedAll(r.chat) {
				t.Fatalf("muteall calls %d, muted-all %v", n, r.es.MutedAll(r.chat))
			}
			for _, u := range []string{"owner", "mod"} {
				r.send(u, "still here", nil, nil)
			}
			for _, u := range []string{"a", "b"} {
				if _, err := r.es.Send(easemobtest.Message{ChatID: r.chat, Kind: kind, From: u, Text: "hello?"}); !errors.Is(err, easemobtest.ErrMutedAll) {
					t.Fatalf("%s sending while locked: %v, want ErrMutedAll", u, err)
				}
			}
			if got := r.command("/unlock"); !strings.Contains(got, "Chat unlocked") {
				t.Fatalf("/unlock reply %q", got)
			}
			r.send("a", "back", nil, nil)
			r.clock.Advance(time.Hour)
			r.settle()
			if n := len(r.calls("unmuteall")); n != 1 {
				t.Fatalf("unmuteall calls %d, want 1 (the /unlock; no timer after it)", n)
			}
		})
	}
}

// TestEasemobPurge: /purge N recalls exactly the last N messages Gavel saw
// before the command, one msg_recall each, none sent after it; /purge @a N
// recalls a's last N only.
func TestEasemobPurge(t *testing.T) {
	t.Parallel()
	for _, kind := range emKinds {
		t.Run(kind+"/last 30", func(t *testing.T) {
			t.Parallel()
			r := newEMRun(t, kind)
			var ids []string
			for i := range 40 {
				ids = append(ids, r.send([]string{"a", "b", "c"}[i%3], fmt.Sprint("message ", i), nil, nil))
			}
			// The command's job waits on its role lookup while later
			// messages arrive: they are in the index when the purge
			// chooses, and must not be taken.
			r.es.SetDelay("details", 2*time.Second)
			before := len(r.es.Messages())
			cmd := r.send("mod", "/purge 30", nil, nil)
			var later []string
			for i := range 5 {
				later = append(later, r.send("a", fmt.Sprint("later ", i), nil, nil))
			}
			if n := len(r.es.CallsTo("recall")); n != 0 {
				t.Fatalf("the purge ran before the later messages arrived (%d recalls): the test proves nothing", n)
			}
			r.h.Wait()
			got := r.recalled()
			want := slices.Clone(ids[10:])
			slices.Reverse(want) // newest first
			if !slices.Equal(got, want) {
				t.Fatalf("recalled %v\nwant     %v", got, want)
			}
			for _, id := range append(append(slices.Clone(ids[:10]), later...), cmd) {
				if r.es.Recalled(id) {
					t.Errorf("message %s recalled", id)
				}
			}
			ms := r.es.Messages()
			if len(ms) != before+1 || ms[before].Text != "Recalled 30 message(s)." {
				t.Fatalf("replies %+v", ms[before:])
			}
			if n := len(r.es.CallsTo("batch_recall")); n != 0 {
				t.Fatalf("%d batch_recall calls: it documents no per-message failure", n)
			}
			// Easemob's recall callbacks come back; the next purge
			// reaches further back: the five later messages and the
			// command, then the last five of the older ones — never a
			// recalled message or a recall notification.
			r.es.SetDelay("details", 0)
			r.deliverFired()
			r.command("/purge 11")
			want = slices.Clone(later)
			want = append(want, cmd)
			want = append(want, ids[5:10]...)
			slices.Reverse(want[:5])
			slices.Reverse(want[6:])
			if got := r.recalled()[30:]; !slices.Equal(got, want) {
				t.Fatalf("second purge recalled %v\nwant                %v", got, want)
			}
		})
		t.Run(kind+"/one user", func(t *testing.T) {
			t.Parallel()
			r := newEMRun(t, kind)
			var aIDs []string
			for i := range 20 {
				from := []string{"a", "b"}[i%2]
				id := r.send(from, fmt.Sprint("message ", i), nil, nil)
				if from == "a" {
					aIDs = append(aIDs, id)
				}
			}
			got := r.command("/purge @a 5", "a")
			want := slices.Clone(aIDs[len(aIDs)-5:])
			slices.Reverse(want)
			if rec := r.recalled(); !slices.Equal(rec, want) {
				t.Fatalf("recalled %v, want a's last 5 %v", rec, want)
			}
			if !strings.Contains(got, "Recalled the recent messages of 1: a") {
				t.Fatalf("reply %q", got)
			}
		})
	}
}

// TestEasemobBanPurgeAndReplyKick: /ban -p @a block-lists a and recalls
// a's recent messages (no one else's); a /kick replying to a message
// (ext.msgQuote) removes its sender — named by the quote, or, when the
// quote does not name one, the sender Gavel saw for that message.
func TestEasemobBanPurgeAndReplyKick(t *testing.T) {
	t.Parallel()
	for _, kind := range emKinds {
		t.Run(kind+"/ban -p", func(t *testing.T) {
			t.Parallel()
			r := newEMRun(t, kind)
			var aIDs, bIDs []string
			for i := range 6 {
				if i%2 == 0 {
					aIDs = append(aIDs, r.send("a", fmt.Sprint("ad ", i), nil, nil))
				} else {
					bIDs = append(bIDs, r.send("b", fmt.Sprint("hi ", i), nil, nil))
				}
			}
			got := r.command("/ban -p @a", "a")
			if !r.es.IsBlocked(r.chat, "a") || r.es.IsMember(r.chat, "a") {
				t.Fatal("a not block-listed")
			}
			rec := r.recalled()
			slices.Sort(rec)
			if want := slices.Sorted(slices.Values(aIDs)); !slices.Equal(rec, want) {
				t.Fatalf("recalled %v, want a's %v", rec, want)
			}
			for _, id := range bIDs {
				if r.es.Recalled(id) {
					t.Errorf("b's message %s recalled", id)
				}
			}
			if !strings.Contains(got, "Recalled 3 of their recent message(s).") {
				t.Fatalf("reply %q", got)
			}
		})
		replyKicks := []struct {
			name      string
			quote     func(target string) *easemobtest.Quote
			wantKick  []string
			wantReply string
		}{
			{name: "quote names the sender", quote: func(id string) *easemobtest.Quote { return &easemobtest.Quote{MsgID: id, Preview: "rude", Sender: "b"} },
				wantKick: []string{"b"}, wantReply: "Removed 1: b."},
			{name: "sender from the messages Gavel saw", quote: func(id string) *easemobtest.Quote { return &easemobtest.Quote{MsgID: id, Preview: "rude"} },
				wantKick: []string{"b"}, wantReply: "Removed 1: b."},
			{name: "unknown message, no sender", quote: func(string) *easemobtest.Quote { return &easemobtest.Quote{MsgID: "1199999999999999999", Preview: "?"} },
				wantReply: "Could not tell who sent the message you replied to; name them with @user. Nothing was done."},
		}
		for _, tt := range replyKicks {
			t.Run(kind+"/reply kick/"+tt.name, func(t *testing.T) {
				t.Parallel()
				r := newEMRun(t, kind)
				target := r.send("b", "rude", nil, nil)
				r.send("c", "unrelated", nil, nil)
				got := r.commandFrom("mod", "/kick", tt.quote(target))
				var kicked []string
				for _, k := range r.calls("kick") {
					kicked = append(kicked, k.Users...)
				}
				if !slices.Equal(kicked, tt.wantKick) {
					t.Fatalf("kicked %v, want %v (reply %q)", kicked, tt.wantKick, got)
				}
				if r.es.IsMember(r.chat, "b") == (len(tt.wantKick) > 0) || !r.es.IsMember(r.chat, "c") {
					t.Fatal("wrong member removed")
				}
				if got != tt.wantReply {
					t.Fatalf("reply %q, want %q", got, tt.wantReply)
				}
			})
		}
	}
}

// TestEasemobRecallRefusalsAreSpecific: a recall Easemob refuses is
// reported with the platform's reason, not as a generic failure.
func TestEasemobRecallRefusalsAreSpecific(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		setup     func(es *easemobtest.Server)
		wantReply string
	}{
		{name: "past the recall time", setup: func(es *easemobtest.Server) { es.FailNext("recall", 1, http.StatusForbidden) },
			wantReply: "older than the app's recall time"},
		{name: "recall service closed", setup: func(es *easemobtest.Server) { es.SetRecallService(false) },
			wantReply: "Message recall is not enabled for this Easemob app"},
	}
	for _, kind := range emKinds {
		for _, tt := range tests {
			t.Run(kind+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				r := newEMRun(t, kind)
				r.send("a", "old", nil, nil)
				tt.setup(r.es)
				got := r.command("/purge 1")
				if !strings.Contains(got, "Recalled 0 message(s). 1 could not be recalled: ") || !strings.Contains(got, tt.wantReply) || strings.Contains(got, "..") {
					t.Fatalf("reply %q, want it to say %q", got, tt.wantReply)
				}
			})
		}
	}
}

// TestEasemobRaidLocks: a raid rule with actions [kick, lock 10m] removes
// every joiner of the burst once, locks the chat once however many
// joiners follow, and unlocks it once at the end.
func TestEasemobRaidLocks(t *testing.T) {
	t.Parallel()
	for _, kind := range emKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			am := rules(func(r *automod.Rules) {
				r.Raid.Action, r.Raid.Actions = automod.Action{}, []automod.Action{act("kick"), act("lock 10m")}
			})
			r := newEMRunWith(t, kind, am)
			var joiners []string
			for i := range 15 {
				u := fmt.Sprintf("raid%02d", i)
				joiners = append(joiners, u)
				if err := r.es.ClientJoin(r.chat, u); err != nil {
					t.Fatal(err)
				}
				r.post(r.es.JoinBody(easemobtest.Join{ChatID: r.chat, Kind: kind, Users: []string{u}}))
			}
			r.h.Wait()
			removed := map[string]int{}
			for _, c := range r.calls("kick") {
				for _, u := range c.Users {
					removed[u]++
				}
			}
			for _, u := range joiners {
				if removed[u] != 1 || r.es.IsMember(r.chat, u) {
					t.Errorf("%s removed %d times, member %v", u, removed[u], r.es.IsMember(r.chat, u))
				}
			}
			if n := len(r.calls("muteall")); n != 1 || !r.es.MutedAll(r.chat) {
				t.Fatalf("muteall calls %d, muted-all %v; want one lock", n, r.es.MutedAll(r.chat))
			}
			if _, err := r.es.Send(easemobtest.Message{ChatID: r.chat, Kind: kind, From: "a", Text: "?"}); !errors.Is(err, easemobtest.ErrMutedAll) {
				t.Fatalf("a member speaking during the raid lock: %v", err)
			}
			r.clock.Advance(10*time.Minute + time.Second)
			r.eventually("the raid lock ended", func() bool { return !r.es.MutedAll(r.chat) })
			r.settle()
			if n := len(r.calls("unmuteall")); n != 1 {
				t.Fatalf("unmuteall calls %d, want 1", n)
			}
		})
	}
}

// TestEasemobSanctionsAcrossReplicas: two Gavel replicas sharing
// PostgreSQL and Redis both run the maintenance loop; a timed ban and a
// timed lock end once, and a raid whose joins land on both replicas
// locks once and unlocks once. It needs GAVEL_TEST_POSTGRES and
// GAVEL_TEST_REDIS.
func TestEasemobSanctionsAcrossReplicas(t *testing.T) {
	pg, rd := os.Getenv("GAVEL_TEST_POSTGRES"), os.Getenv("GAVEL_TEST_REDIS")
	if pg == "" || rd == "" {
		t.Skip("needs GAVEL_TEST_POSTGRES and GAVEL_TEST_REDIS")
	}
	t.Parallel()
	for _, kind := range emKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			am := rules(func(r *automod.Rules) { r.Raid.Action = act("lock 10m") })
			first := newEMRunWith(t, kind, am, "x")
			first.h.Close() // restarted below on the shared stores
			first.storage = store.Config{Driver: "postgres", DSN: apptest.PostgresSchema(t, pg)}
			first.redis = cluster.Config{Addr: rd, Prefix: fmt.Sprintf("gaveltest:%s:%d:", t.Name(), time.Now().UnixNano()), Timeout: 2 * time.Second}
			first.start()
			second := *first
			second.start()
			rs := []*emRun{first, &second}

			// A ban through one replica, a lock through the other.
			if got := rs[0].command("/ban @a 1h", "a"); got != "Banned for 1h 1: a." {
				t.Fatalf("/ban reply %q", got)
			}
			if got := rs[1].command("/lock 1h"); !strings.Contains(got, "Chat locked for 1h") {
				t.Fatalf("/lock reply %q", got)
			}
			first.clock.Advance(time.Hour + time.Second)
			first.eventually("the ban and the lock ended", func() bool {
				return !first.es.IsBlocked(first.chat, "a") && !first.es.MutedAll(first.chat)
			})
			second.h.Wait()
			first.settle()
			second.h.Wait()
			for op, want := range map[string]int{"unblock": 1, "unmuteall": 1} {
				if n := len(first.calls(op)); n != want {
					t.Fatalf("%s called %d times across two replicas, want %d", op, n, want)
				}
			}
			if n := emNotices(first, "ended"); n != 2 {
				t.Fatalf("%d expiry notices, want 2 (ban and lock): %+v", n, first.es.Messages())
			}

			// A raid: 12 joins alternating between the replicas.
			for i := range 12 {
				u := fmt.Sprintf("raid%02d", i)
				if err := first.es.ClientJoin(first.chat, u); err != nil {
					t.Fatal(err)
				}
				rs[i%2].post(first.es.JoinBody(easemobtest.Join{ChatID: first.chat, Kind: kind, Users: []string{u}}))
			}
			for _, r := range rs {
				r.h.Wait()
			}
			if n := len(first.calls("muteall")); n != 2 || !first.es.MutedAll(first.chat) {
				t.Fatalf("muteall calls %d (one /lock, one raid), muted-all %v", n, first.es.MutedAll(first.chat))
			}
			first.clock.Advance(10*time.Minute + time.Second)
			first.eventually("the raid lock ended", func() bool { return !first.es.MutedAll(first.chat) })
			second.h.Wait()
			first.settle()
			if n := len(first.calls("unmuteall")); n != 2 {
				t.Fatalf("unmuteall calls %d, want 2 (the /lock's end, the raid lock's end)", n)
			}
		})
	}
}

// TestEasemobChineseSanctionCommands: the Chinese names of the verbs and
// durations do on Easemob what the English ones do.
func TestEasemobChineseSanctionCommands(t *testing.T) {
	t.Parallel()
	steps := []struct {
		text  string
		at    []string
		reply string // the reply language is the config's (English)
		check func(r *emRun) bool
	}{
		{"/封禁 @a 1天 广告", []string{"a"}, "Banned for 1d 1: a. Reason: 广告", func(r *emRun) bool { return r.es.IsBlocked(r.chat, "a") }},
		{"/解封 @a", []string{"a"}, "Unbanned 1: a.", func(r *emRun) bool { return !r.es.IsBlocked(r.chat, "a") }},
		{"/拉黑 @b", []string{"b"}, "Banned until unbanned 1: b.", func(r *emRun) bool { return r.es.IsBlocked(r.chat, "b") }},
		{"/锁群 30分钟", nil, "Chat locked for 30m: only the owner and admins may speak.", func(r *emRun) bool { return r.es.MutedAll(r.chat) }},
		{"/解锁", nil, "Chat unlocked: everyone may speak again.", func(r *emRun) bool { return !r.es.MutedAll(r.chat) }},
		{"/全员禁言", nil, "Chat locked until /unlock: only the owner and admins may speak.", func(r *emRun) bool { return r.es.MutedAll(r.chat) }},
		{"/解除全员禁言", nil, "Chat unlocked: everyone may speak again.", func(r *emRun) bool { return !r.es.MutedAll(r.chat) }},
		{"/清理 2", nil, "Recalled 2 message(s).", func(r *emRun) bool { return len(r.recalled()) == 2 }},
	}
	for _, kind := range emKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			r := newEMRun(t, kind)
			for _, st := range steps {
				if strings.HasPrefix(st.text, "/清理") {
					r.send("c", "一", nil, nil)
					r.send("c", "二", nil, nil)
				}
				got := r.command(st.text, st.at...)
				if got != st.reply {
					t.Fatalf("%s: reply %q, want %q", st.text, got, st.reply)
				}
				if !st.check(r) {
					t.Fatalf("%s did not take (reply %q)", st.text, got)
				}
			}
		})
	}
}

// TestEasemobEmulatedTempBan: a timed ban of a user who is not in the
// chat (Gavel's own record, Easemob block-lists members only) keeps them
// out until it ends, and not after.
func TestEasemobEmulatedTempBan(t *testing.T) {
	t.Parallel()
	for _, kind := range emKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			r := newEMRun(t, kind)
			if got := r.command("/ban @x 1h", "x"); got != "Banned for 1h 1: x. Not in the chat now, and Easemob block-lists members only: the ban is Gavel's record, which removes them if they join." {
				t.Fatalf("/ban reply %q", got)
			}
			join := func() {
				t.Helper()
				if err := r.es.ClientJoin(r.chat, "x"); err != nil {
					t.Fatal(err)
				}
				r.post(r.es.JoinBody(easemobtest.Join{ChatID: r.chat, Kind: kind, Users: []string{"x"}}))
				r.h.Wait()
			}
			join()
			if r.es.IsMember(r.chat, "x") {
				t.Fatal("x joined during the ban and stayed")
			}
			r.clock.Advance(time.Hour + time.Second)
			r.settle()
			if n := emNotices(r, "The ban of x ended"); n != 1 || len(r.calls("unblock")) != 0 {
				t.Fatalf("%d end notices, %d unblock calls; want 1 and 0 (Easemob never blocked x)", n, len(r.calls("unblock")))
			}
			join()
			if !r.es.IsMember(r.chat, "x") {
				t.Fatal("x removed after the ban ended")
			}
			if n := len(r.calls("kick")); n != 1 {
				t.Fatalf("%d kicks, want 1 (during the ban)", n)
			}
			// /unban now: the record is gone, Easemob has no block.
			if got := r.command("/unban @x", "x"); !strings.Contains(got, "x (Not banned here.)") {
				t.Fatalf("/unban after the end: reply %q", got)
			}
		})
	}
}

// TestEasemobPurgeLimits: a /purge never silently does less than asked —
// fewer known messages are said, more than commands.max_purge is refused.
func TestEasemobPurgeLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, cmd   string
		wantRecalls int
		wantReply   string
	}{
		{name: "more than Gavel saw", cmd: "/purge 10", wantRecalls: 3,
			wantReply: "Recalled 3 message(s). Only 3 of the 10 asked for were known to Gavel (it sees messages sent since it joined, within moderation.recent)."},
		{name: "over the maximum", cmd: "/purge 201",
			wantReply: "/purge takes at most 200 messages (you asked for 201). Nothing was done."},
	}
	for _, kind := range emKinds {
		for _, tt := range tests {
			t.Run(kind+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				r := newEMRun(t, kind)
				for i := range 3 {
					r.send("a", fmt.Sprint("m", i), nil, nil)
				}
				if got := r.command(tt.cmd); got != tt.wantReply {
					t.Fatalf("reply %q\nwant  %q", got, tt.wantReply)
				}
				if n := len(r.recalled()); n != tt.wantRecalls {
					t.Fatalf("%d recalls, want %d", n, tt.wantRecalls)
				}
			})
		}
	}
}
