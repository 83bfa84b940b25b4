package tim

import (
	"context"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/patrickmn/go-cache"

	"gavel/moderation"
	"gavel/platforms/egress"
)

// Per-call limits of the name look-ups.
const (
	// maxMemberInfoPerCall is get_specified_group_member_info's
	// Member_List_Account limit.
	maxMemberInfoPerCall = 50
	// maxPortraitPerCall is portrait_get's To_Account limit (the docs
	// "recommend" at most 100).
	maxPortraitPerCall = 100
	tagNick            = "Tag_Profile_IM_Nick"
)

type memberInfoReq struct {
	GroupID          string   `json:"GroupId"`
	Accounts         []string `json:"Member_List_Account"`
	MemberInfoFilter []string `json:"MemberInfoFilter"`
}

type memberInfoResp struct {
	MemberList []struct {
		MemberAccount string `json:"Member_Account"`
		NameCard      string `json:"NameCard"`
	} `json:"MemberList"`
}

type portraitReq struct {
	To      []string `json:"To_Account"`
	TagList []string `json:"TagList"`
}

type portraitResp struct {
	UserProfileItem []struct {
		To          string `json:"To_Account"`
		ResultCode  int    `json:"ResultCode"`
		ProfileItem []struct {
			Tag   string `json:"Tag"`
			Value any    `json:"Value"`
		} `json:"ProfileItem"`
	} `json:"UserProfileItem"`
}

// memberNames is what Gavel knows of how a member is shown: the group
// name card and the nickname, each only when a look-up answered.
type memberNames struct {
	card, nick           string
	cardKnown, nickKnown bool
}

// display returns the name clients show: name card, else nickname; "" if
// neither is known to be set.
func (n memberNames) display() string {
	if n.card != "" {
		return n.card
	}
	return n.nick
}

// candidates returns the texts a client may have inserted for the member,
// '@' included: the name card, the nickname, and the id once both are
// known (so a nickname that merely starts with the id is not mistaken
// for it).
func (n memberNames) candidates(id string) []string {
	out := make([]string, 0, 3)
	if n.card != "" {
		out = append(out, "@"+n.card)
	}
	if n.nick != "" && n.nick != n.card {
		out = append(out, "@"+n.nick)
	}
	if n.cardKnown && n.nickKnown {
		out = append(out, "@"+id)
	}
	return out
}

func cardKey(groupID, userID string) string { return "card\x00" + groupID + "\x00" + userID }
func nickKey(userID string) string          { return "nick\x00" + userID }

// mentions turns GroupAtInfo (one entry per @-mention, in text order)
// into moderation.Mentions whose Token is the exact text the client
// inserted, learned from the members' name cards and nicknames. A mention
// whose text cannot be learned within MentionLookupTimeout, or is not in
// the text, gets an empty Token and commands refuses the command. @all
// becomes a Mention without UserID.
func (c *Client) mentions(ctx context.Context, chat moderation.ChatRef, text string, at []groupAt) []moderation.Mention {
	if len(at) == 0 {
		return nil
	}
	accounts := make([]string, 0, len(at))
	for _, a := range at {
		if a.GroupAtAllFlag == 0 && a.GroupAtAccount != "" && !containsString(accounts, a.GroupAtAccount) {
			accounts = append(accounts, a.GroupAtAccount)
		}
	}
	return matchMentions(text, at, c.lookupNames(ctx, chat, accounts))
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// lookupNames returns the cached or looked-up names of accounts in chat.
// Name cards come from get_specified_group_member_info (AVChatRoom groups
// have none that the REST API can read), nicknames from portrait_get; both
// run at once under MentionLookupTimeout, and failures leave the names
// unknown.
func (c *Client) lookupNames(ctx context.Context, chat moderation.ChatRef, accounts []string) map[string]memberNames {
	out := make(map[string]memberNames, len(accounts))
	var needCard, needNick []string
	av := kindOf(chat.Kind, c.cachedType(chat.ID)) == typeAVChatRoom
	for _, a := range accounts {
		var n memberNames
		if av {
			n.cardKnown = true
		} else if v, ok := c.names.Get(cardKey(chat.ID, a)); ok {
			n.card, n.cardKnown = v.(string), true
		} else {
			needCard = append(needCard, a)
		}
		if v, ok := c.names.Get(nickKey(a)); ok {
			n.nick, n.nickKnown = v.(string), true
		} else {
			needNick = append(needNick, a)
		}
		out[a] = n
	}
	if len(needCard) == 0 && len(needNick) == 0 {
		return out
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.MentionLookupTimeout)
	defer cancel()
	var (
		wg           sync.WaitGroup
		cards, nicks map[string]string
	)
	if len(needCard) > 0 {
		wg.Go(func() { cards = c.fetchCards(ctx, chat.ID, needCard) })
	}
	if len(needNick) > 0 {
		wg.Go(func() { nicks = c.fetchNicks(ctx, needNick) })
	}
	wg.Wait()
	for a, card := range cards {
		n := out[a]
		n.card, n.cardKnown = card, true
		out[a] = n
	}
	for a, nick := range nicks {
		n := out[a]
		n.nick, n.nickKnown = nick, true
		out[a] = n
	}
	return out
}

// fetchCards returns the name cards of the accounts TIM answered for; an
// account missing from MemberList is not a member and has no card.
func (c *Client) fetchCards(ctx context.Context, groupID string, accounts []string) map[string]string {
	out := make(map[string]string, len(accounts))
	for _, batch := range egress.Chunk(accounts, maxMemberInfoPerCall) {
		var resp memberInfoResp
		req := memberInfoReq{GroupID: groupID, Accounts: batch, MemberInfoFilter: []string{"NameCard"}}
		if err := c.call(ctx, opMemberInfo, req, &resp); err != nil {
			c.log.WarnContext(ctx, "tim name card look-up failed; mentions of these members cannot be matched",
				"chat", groupID, "users", len(batch), "error", c.sig.redact(err.Error()))
			continue
		}
		for _, a := range batch {
			out[a] = ""
		}
		for _, m := range resp.MemberList {
			if _, asked := out[m.MemberAccount]; asked {
				out[m.MemberAccount] = m.NameCard
			}
		}
		for _, a := range batch {
			c.names.Set(cardKey(groupID, a), out[a], cache.DefaultExpiration)
		}
	}
	return out
}

// fetchNicks returns the nicknames of the accounts portrait_get answered
// for (ResultCode 0).
func (c *Client) fetchNicks(ctx context.Context, accounts []string) map[string]string {
	out := make(map[string]string, len(accounts))
	for _, batch := range egress.Chunk(accounts, maxPortraitPerCall) {
		var resp portraitResp
		if err := c.call(ctx, opPortraitGet, portraitReq{To: batch, TagList: []string{tagNick}}, &resp); err != nil {
			c.log.WarnContext(ctx, "tim nickname look-up failed; mentions of these users cannot be matched",
				"users", len(batch), "error", c.sig.redact(err.Error()))
			continue
		}
		for _, item := range resp.UserProfileItem {
			if item.ResultCode != 0 || !containsString(batch, item.To) {
				continue
			}
			nick := ""
			for _, p := range item.ProfileItem {
				if s, ok := p.Value.(string); ok && p.Tag == tagNick {
					nick = s
				}
			}
			out[item.To] = nick
			c.names.Set(nickKey(item.To), nick, cache.DefaultExpiration)
		}
	}
	return out
}

// matchMentions pairs GroupAtInfo entries with their text, in order: each
// member's mention is the earliest of its candidate texts after the
// previous one (the longest when several start there).
func matchMentions(text string, at []groupAt, names map[string]memberNames) []moderation.Mention {
	out := make([]moderation.Mention, 0, len(at))
	cursor := 0
	for _, a := range at {
		if a.GroupAtAllFlag != 0 || a.GroupAtAccount == "" {
			out = append(out, moderation.Mention{}) // @all: never a target
			continue
		}
		n := names[a.GroupAtAccount]
		m := moderation.Mention{UserID: a.GroupAtAccount, Name: n.display()}
		if pos, tok := findMention(text[cursor:], n.candidates(a.GroupAtAccount)); pos >= 0 {
			m.Token = tok
			cursor += pos + len(tok)
		}
		out = append(out, m)
	}
	return out
}

// findMention returns the byte offset and text of the first candidate
// found in s at the start of a word and followed by a word end; -1 if
// none.
func findMention(s string, cands []string) (int, string) {
	if len(cands) == 0 {
		return -1, ""
	}
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '@')
		if j < 0 {
			return -1, ""
		}
		p := i + j
		if p == 0 || startsWord(s[:p]) {
			best := ""
			for _, cand := range cands {
				if len(cand) > len(best) && strings.HasPrefix(s[p:], cand) && endsWord(s[p+len(cand):]) {
					best = cand
				}
			}
			if best != "" {
				return p, best
			}
		}
		i = p + 1
	}
	return -1, ""
}

// startsWord reports whether a mention may start right after before.
func startsWord(before string) bool {
	r, _ := utf8.DecodeLastRuneInString(before)
	return unicode.IsSpace(r) || r == '@' || r == '＠'
}

// endsWord reports whether a mention may end right before after.
func endsWord(after string) bool {
	if after == "" {
		return true
	}
	r, _ := utf8.DecodeRuneInString(after)
	return unicode.IsSpace(r) || r == '@' || r == '＠'
}

// atMentions lists GroupAtInfo without looking names up (the before-send
// path, which must answer at once): user ids only, no tokens.
func atMentions(at []groupAt) []moderation.Mention {
	if len(at) == 0 {
		return nil
	}
	out := make([]moderation.Mention, 0, len(at))
	for _, a := range at {
		if a.GroupAtAllFlag != 0 {
			out = append(out, moderation.Mention{})
			continue
		}
		out = append(out, moderation.Mention{UserID: a.GroupAtAccount})
	}
	return out
}
