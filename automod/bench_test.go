package automod

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"gavel/moderation"
)

// benchWords returns 1,000 blocklist words: 800 Latin pseudo-words and
// phrases, 200 CJK words, deterministic.
func benchWords() []string {
	rng := rand.New(rand.NewPCG(1, 2))
	const letters = "abcdefghijklmnopqrstuvwxyz"
	han := []rune("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严")
	var w []string
	for i := range 800 {
		n := 4 + rng.IntN(7)
		var b strings.Builder
		for range n {
			b.WriteByte(letters[rng.IntN(26)])
		}
		if i%10 == 0 { // some phrases
			b.WriteString(" now")
		}
		w = append(w, b.String())
	}
	for range 200 {
		n := 2 + rng.IntN(3)
		r := make([]rune, n)
		for j := range r {
			r[j] = han[rng.IntN(len(han))]
		}
		w = append(w, string(r))
	}
	return w
}

// benchPatterns returns 50 RE2 patterns of the shapes spam filters use.
func benchPatterns() []string {
	p := []string{
		`fr[e3]{2}\s*m[o0]ney`,
		`(?:buy|cheap|discount)\s+\w+\s+pills?`,
		`\b1[3-9]\d{9}\b`,
		`加\s*[vV微]\s*信`,
		`t\.me/\w+`,
		`(?:telegram|whatsapp)\s*[:：]?\s*\+?\d{6,}`,
		`(a+)+$`,
		`\bbit\.ly/\w+`,
		`[\x{1F4B0}\x{1F911}]{3,}`,
		`(?:crypto|btc|eth)\s+(?:giveaway|airdrop)`,
	}
	for i := len(p); i < 50; i++ {
		switch i % 4 {
		case 0:
			p = append(p, fmt.Sprintf(`promo%03d\w*`, i))
		case 1:
			p = append(p, fmt.Sprintf(`(?:win|earn)\s+\$?\d+k?\s+code%d`, i))
		case 2:
			p = append(p, fmt.Sprintf(`\b[a-z]{2,4}%d[a-z]{2,4}\b`, i))
		default:
			p = append(p, fmt.Sprintf(`优惠码\s*%d\d*`, i))
		}
	}
	return p
}

func benchConfig() Config {
	return Config{Enabled: true, Defaults: Rules{
		Flood:     &FloodRule{Common: on("mute 10m"), Messages: 8, Per: 10 * time.Second},
		Blocklist: &BlocklistRule{Common: on("delete"), Words: benchWords(), Patterns: benchPatterns(), NormalizeWidth: true},
		Mentions:  &MentionsRule{Common: on("warn"), Max: 5},
		Links:     &LinksRule{Common: on("delete"), Allow: []string{"example.com", "gavel.dev", "github.com"}},
	}}
}

// benchTexts are typical chat messages, 40–200 characters, Latin, CJK and
// mixed.
var benchTexts = []string{
	"Hey everyone, the meeting moved to 3pm tomorrow. Please update your calendars, thanks!",
	"大家好，明天下午三点开会，请准时参加，有问题在群里说一下。",
	"Did anyone try the new release? v1.2.3 fixed the crash for me, see https://github.com/org/repo/issues/42",
	"我觉得这个方案可以，但是需要再确认一下预算，e.g. 服务器和带宽的费用。",
	"lol that's hilarious 😂 can't believe it actually worked on the first try",
	"Reminder: the office is closed on Friday. 周五放假，注意安全！Have a nice weekend everyone.",
	"Can someone review my PR before lunch? It's small, mostly docs and a test for the parser.",
	"这个问题我们上周讨论过，结论是先上线再说，具体细节看文档 https://example.com/docs/plan",
	"ok",
	"I'll be 10 minutes late, traffic is terrible today. Start without me and I'll catch up asap.",
	"请问有人知道怎么申请报销吗？流程好像改了，找不到入口。Thanks in advance!",
	"The quick brown fox jumps over the lazy dog, and then it takes a well deserved nap in the sun.",
}

func BenchmarkMessage(b *testing.B) {
	e := newEngine(b, benchConfig(), nil)
	msgs := make([]*moderation.Message, len(benchTexts))
	for i, t := range benchTexts {
		msgs[i] = &moderation.Message{Chat: chat, MessageID: "m", SenderID: fmt.Sprint("u", i), Text: t}
	}
	hits := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		hits += len(e.Message(msgs[i%len(msgs)]))
	}
	b.ReportMetric(float64(hits)/float64(b.N), "hits/op")
}

// BenchmarkMessageSpam measures messages that hit (word, pattern, link).
func BenchmarkMessageSpam(b *testing.B) {
	e := newEngine(b, benchConfig(), nil)
	words := benchWords()
	texts := []string{
		"hello everyone " + words[3] + " check it out",
		"这是" + words[900] + "的内容，快来看看吧",
		"FR33 M0NEY for everyone who joins today, limited offer!!!",
		"join us at https://spam.example/promo now for the best deals",
	}
	hits := 0
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		hits += len(e.Message(&moderation.Message{Chat: chat, MessageID: "m", SenderID: "u", Text: texts[i%len(texts)]}))
	}
	b.ReportMetric(float64(hits)/float64(b.N), "hits/op")
}

func BenchmarkPreSend(b *testing.B) {
	e := newEngine(b, benchConfig(), nil)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		e.PreSend(chat, "u1", benchTexts[i%len(benchTexts)])
	}
}

// BenchmarkPreSendParallel measures the hook under concurrent load.
func BenchmarkPreSendParallel(b *testing.B) {
	e := newEngine(b, benchConfig(), nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			e.PreSend(chat, "u1", benchTexts[i%len(benchTexts)])
			i++
		}
	})
}

func BenchmarkMessageNoRules(b *testing.B) {
	e := newEngine(b, Config{Enabled: true}, nil)
	m := &moderation.Message{Chat: chat, MessageID: "m", SenderID: "u1", Text: benchTexts[0]}
	b.ReportAllocs()
	for b.Loop() {
		e.Message(m)
	}
}

// BenchmarkBlocklistParts splits blocklist cost into its stages.
func BenchmarkBlocklistParts(b *testing.B) {
	c, err := compileBlocklist(benchConfig().Defaults.Blocklist)
	if err != nil {
		b.Fatal(err)
	}
	var buf []byte
	b.Run("normalize", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			buf = normalize(buf[:0], benchTexts[i%len(benchTexts)], true)
		}
	})
	b.Run("words", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			buf = normalize(buf[:0], benchTexts[i%len(benchTexts)], true)
			c.ac.find(buf)
		}
	})
	b.Run("patterns-unfiltered", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			buf = normalize(buf[:0], benchTexts[i%len(benchTexts)], true)
			for _, p := range c.pats {
				p.re.Match(buf)
			}
		}
	})
	b.Run("patterns-prefiltered", func(b *testing.B) {
		pc := *c
		pc.ac = nil
		sc := &scratch{}
		for i := 0; b.Loop(); i++ {
			sc.text = normalize(sc.text[:0], benchTexts[i%len(benchTexts)], true)
			pc.match(sc)
		}
	})
	b.Run("links", func(b *testing.B) {
		l := &linksRule{allow: []string{"example.com", "github.com"}}
		for i := 0; b.Loop(); i++ {
			l.match(benchTexts[i%len(benchTexts)])
		}
	})
}

func BenchmarkCompile(b *testing.B) {
	cfg := benchConfig()
	for b.Loop() {
		if _, err := New(cfg, nil); err != nil {
			b.Fatal(err)
		}
	}
}
