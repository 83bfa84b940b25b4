package main

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"time"

	"gavel/platforms/easemob/easemobtest"
	"gavel/platforms/feishu/feishutest"
	"gavel/platforms/tim/timtest"
)

// delivery is one prepared webhook POST: the same bytes go to Gavel and to
// the bare gin baseline.
type delivery struct {
	path    string // /webhook/<platform>
	query   string // raw query ("" for none)
	header  http.Header
	body    []byte
	command bool
}

// platformLoad prepares one platform's traffic and reads its fake.
type platformLoad interface {
	name() string
	// build returns n deliveries signed now, each distinct (event ids,
	// message ids, sequence numbers) from every delivery built before.
	build(n int) []delivery
	// replies counts the chat replies Gavel has posted in the fake.
	replies() int
	// apiCalls counts the API calls the fake has received.
	apiCalls() int
	// callSummary counts the fake's calls from index since by API and answer.
	callSummary(since int) string
	close()
}

// Shape of the seeded chats: every chat has the same owner, admins,
// ordinary members (who send the chat) and victims (only ever targets of
// commands, so a Feishu emulated mute never turns their messages into jobs).
const (
	numChats   = 50
	numMembers = 300
	numVictims = 20
	numAdmins  = 2
	// commandEvery: one delivery in 100 is a command (1 %).
	commandEvery = 100
	// mentionShare of ordinary messages @-mention another member.
	mentionShare = 0.15
)

// buildParallel fills n deliveries with one generator call per index,
// spread over the CPUs; each worker has its own deterministic generator.
func buildParallel(n int, seed uint64, one func(i int, g *chatter) delivery) []delivery {
	out := make([]delivery, n)
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := &chatter{rng: rand.New(rand.NewPCG(seed, uint64(w)))}
			for i := w; i < n; i += workers {
				out[i] = one(i, g)
			}
		}()
	}
	wg.Wait()
	return out
}

// chatter writes ordinary group chat: 20–200 characters, some Chinese,
// never the command prefix "/" (a message containing it may be a command
// and becomes a job; that share is the 1 % of real commands).
type chatter struct{ rng *rand.Rand }

var (
	enWords = strings.Fields(`the a to and is it of for on that you this with have are be at not
		we can just so what about was do if all like meeting tomorrow lunch release build deploy
		thanks please sure okay nice great coffee weekend photo link docs review merge ticket
		customer support today later question answer idea plan team project update channel`)
	zhPhrases = []string{"大家好", "今天天气不错", "我们几点开会", "谢谢", "哈哈哈", "这个怎么弄",
		"收到", "明天见", "辛苦了", "好的没问题", "周末愉快", "文档已经更新", "稍等一下", "我看看",
		"有人在吗", "中午吃什么", "已经发布了", "请大家注意", "没关系", "太棒了"}
	punct = []string{",", ".", "!", "?", ""}
)

func (c *chatter) intn(n int) int { return c.rng.IntN(n) }

// text returns a message of 20–200 characters (runes).
func (c *chatter) text() string {
	target := 20 + c.intn(181)
	zh := c.rng.Float64() < 0.3
	var b strings.Builder
	runes := 0
	for runes < target {
		var w string
		switch {
		case zh && c.rng.Float64() < 0.8, !zh && c.rng.Float64() < 0.05:
			w = zhPhrases[c.intn(len(zhPhrases))]
		default:
			w = enWords[c.intn(len(enWords))]
		}
		if runes > 0 {
			if !zh {
				b.WriteByte(' ')
				runes++
			}
			if c.rng.Float64() < 0.1 {
				w += punct[c.intn(len(punct))]
			}
		}
		b.WriteString(w)
		runes += len([]rune(w))
	}
	s := []rune(b.String())
	if len(s) > 200 {
		s = s[:200]
	}
	return strings.TrimSpace(string(s))
}

func (c *chatter) mention() bool { return c.rng.Float64() < mentionShare }

// isCommand says whether delivery id is one of the 1 % commands.
func isCommand(id int) bool { return id%commandEvery == commandEvery/2 }

// chatOf spreads ordinary messages and commands evenly over the chats.
func chatOf(id int) int {
	if isCommand(id) {
		return (id / commandEvery) % numChats
	}
	return id % numChats
}

func member(i int) string { return fmt.Sprintf("m%04d", i) }
func victim(i int) string { return fmt.Sprintf("v%02d", i) }
func admin(i int) string  { return fmt.Sprintf("admin%d", i) }

func listOf(n int, f func(int) string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

// counter hands out disjoint index ranges across builds.
type counter struct {
	mu   sync.Mutex
	next int
}

func (c *counter) take(n int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	base := c.next
	c.next += n
	return base
}

// --- Feishu: encrypted and signed im.message.receive_v1 ---------------------

type feishuLoad struct {
	fs    *feishutest.Server
	run   string
	seq   counter
	chats []string
}

func newFeishuLoad(fs *feishutest.Server, run string) *feishuLoad {
	l := &feishuLoad{fs: fs, run: run}
	members := append(listOf(numMembers, func(i int) string { return "ou_" + member(i) }),
		listOf(numVictims, func(i int) string { return "ou_" + victim(i) })...)
	for i := range numChats {
		id := fmt.Sprintf("oc_bench%02d", i)
		l.chats = append(l.chats, id)
		fs.AddChat(feishutest.Chat{ID: id, Name: id, OwnerID: "ou_owner",
			Managers: listOf(numAdmins, func(i int) string { return "ou_" + admin(i) }), Members: members, BotIsManager: true})
	}
	return l
}

func (l *feishuLoad) name() string  { return "feishu" }
func (l *feishuLoad) close()        { l.fs.Close() }
func (l *feishuLoad) replies() int  { return len(l.fs.Replies()) }
func (l *feishuLoad) apiCalls() int { return len(l.fs.Calls()) }
func (l *feishuLoad) callSummary(since int) string {
	var keys []string
	for _, c := range l.fs.Calls()[since:] {
		keys = append(keys, fmt.Sprintf("%s→%d/%d", c.Op, c.Status, c.Code))
	}
	return summarize(keys)
}

func (l *feishuLoad) build(n int) []delivery {
	base := l.seq.take(n)
	now := time.Now()
	ts := feishutest.Timestamp(now)
	bot := feishutest.Mention{Key: "@_user_1", OpenID: l.fs.BotOpenID, Name: "Gavel"}
	return buildParallel(n, uint64(base)+1, func(i int, g *chatter) delivery {
		id := base + i
		chat := l.chats[chatOf(id)]
		var d delivery
		if isCommand(id) {
			v := feishutest.Mention{Key: "@_user_2", OpenID: "ou_" + victim(g.intn(numVictims)), Name: "victim"}
			// NewMessage records the message in the fake so the reply has a parent.
			m := l.fs.NewMessage(chat, "ou_"+admin(g.intn(numAdmins)), "@_user_1 /mute @_user_2 10m", bot, v)
			dv := l.fs.MessageDelivery(m, now)
			d = delivery{header: dv.Header, body: dv.Body, command: true}
		} else {
			m := feishutest.TextMessage{
				EventID:    fmt.Sprintf("%s%012d", l.run, id),
				MessageID:  fmt.Sprintf("om_%s%012d", l.run, id),
				ChatID:     chat,
				SenderID:   "ou_" + member(g.intn(numMembers)),
				Text:       g.text(),
				AppID:      l.fs.AppID,
				CreateTime: now,
			}
			if g.mention() {
				m.Text = "@_user_1 " + m.Text
				m.Mentions = []feishutest.Mention{{Key: "@_user_1", OpenID: "ou_" + member(g.intn(numMembers)), Name: "member"}}
			}
			dv := feishutest.SignedDelivery(l.fs.EncryptKey, ts, fmt.Sprintf("n%x", id), feishutest.MessageEvent(l.fs.VerificationToken, m))
			d = delivery{header: dv.Header, body: dv.Body}
		}
		d.path = "/webhook/feishu"
		return d
	})
}

// --- TIM: Group.CallbackAfterSendMsg signed with Sign/RequestTime ----------

type timLoad struct {
	ts     *timtest.Server
	token  string
	run    string
	seq    counter
	groups []string
}

func newTIMLoad(ts *timtest.Server, token, run string) *timLoad {
	l := &timLoad{ts: ts, token: token, run: run}
	members := append(listOf(numMembers, member), listOf(numVictims, victim)...)
	for i := range numChats {
		id := fmt.Sprintf("@TGS#bench%02d", i)
		l.groups = append(l.groups, id)
		ts.AddGroup(timtest.Group{ID: id, Type: "Public", Owner: "owner", Admins: listOf(numAdmins, admin), Members: members})
	}
	return l
}

func (l *timLoad) name() string  { return "tim" }
func (l *timLoad) close()        { l.ts.Close() }
func (l *timLoad) replies() int  { return len(l.ts.Replies()) }
func (l *timLoad) apiCalls() int { return len(l.ts.Calls()) }
func (l *timLoad) callSummary(since int) string {
	var keys []string
	for _, c := range l.ts.Calls()[since:] {
		keys = append(keys, fmt.Sprintf("%s→%d", c.Op, c.Code))
	}
	return summarize(keys)
}

func (l *timLoad) build(n int) []delivery {
	base := l.seq.take(n)
	now := time.Now()
	return buildParallel(n, uint64(base)+2, func(i int, g *chatter) delivery {
		id := base + i
		m := timtest.Message{
			GroupID:   l.groups[chatOf(id)],
			GroupType: "Public",
			MsgSeq:    uint64(id + 1),
			MsgID:     fmt.Sprintf("%s-%d-%d", l.run, now.Unix(), id),
		}
		cmd := isCommand(id)
		if cmd {
			v := victim(g.intn(numVictims))
			m.From, m.Text, m.AtAccounts = admin(g.intn(numAdmins)), "/mute @"+v+" 10m", []string{v}
		} else {
			m.From, m.Text = member(g.intn(numMembers)), g.text()
			if g.mention() {
				at := member(g.intn(numMembers))
				m.Text, m.AtAccounts = "@"+at+" "+m.Text, []string{at}
			}
		}
		dv := timtest.SignedDelivery(l.ts.SDKAppID, timtest.CommandAfterSendMsg, l.token, now, timtest.MessageBody(m, now))
		return delivery{path: "/webhook/tim", query: dv.Query.Encode(), header: dv.Header, body: dv.Body, command: cmd}
	})
}

// --- Easemob: post-send callback with the md5 security field ---------------

// easemobHeader is what Easemob's callback client sends (read-only, shared).
var easemobHeader = easemobtest.Request("http://127.0.0.1/", nil).Header

type easemobLoad struct {
	es    *easemobtest.Server
	seq   counter
	rooms []string
}

func newEasemobLoad(es *easemobtest.Server) *easemobLoad {
	l := &easemobLoad{es: es}
	members := append(listOf(numMembers, member), listOf(numVictims, victim)...)
	for i := range numChats {
		id := fmt.Sprintf("2624635282%05d", i)
		l.rooms = append(l.rooms, id)
		es.AddChatRoom(id, "owner", listOf(numAdmins, admin), members)
	}
	return l
}

func (l *easemobLoad) name() string  { return "easemob" }
func (l *easemobLoad) close()        { l.es.Close() }
func (l *easemobLoad) replies() int  { return len(l.es.Messages()) }
func (l *easemobLoad) apiCalls() int { return len(l.es.Calls()) }
func (l *easemobLoad) callSummary(since int) string {
	var keys []string
	for _, c := range l.es.Calls()[since:] {
		keys = append(keys, fmt.Sprintf("%s→%d", c.Op, c.Status))
	}
	return summarize(keys)
}

// summarize counts equal keys: "a×3 b×1", in first-seen order.
func summarize(keys []string) string {
	counts := map[string]int{}
	var order []string
	for _, k := range keys {
		if counts[k] == 0 {
			order = append(order, k)
		}
		counts[k]++
	}
	var b strings.Builder
	for _, k := range order {
		fmt.Fprintf(&b, " %s×%d", k, counts[k])
	}
	return strings.TrimSpace(b.String())
}

func (l *easemobLoad) build(n int) []delivery {
	base := l.seq.take(n)
	now := time.Now()
	return buildParallel(n, uint64(base)+3, func(i int, g *chatter) delivery {
		id := base + i
		m := easemobtest.Message{ChatID: l.rooms[chatOf(id)], Kind: easemobtest.KindChatRoom, At: now}
		cmd := isCommand(id)
		if cmd {
			v := victim(g.intn(numVictims))
			m.From, m.Text, m.AtList = admin(g.intn(numAdmins)), "/mute @"+v+" 10m", []string{v}
		} else {
			m.From, m.Text = member(g.intn(numMembers)), g.text()
			if g.mention() {
				at := member(g.intn(numMembers))
				m.Text, m.AtList = "@"+at+" "+m.Text, []string{at}
			}
		}
		// MsgID and CallID come from the fake's sequence: distinct.
		body := l.es.MessageBody(m)
		return delivery{path: "/webhook/easemob", header: easemobHeader, body: body, command: cmd}
	})
}
