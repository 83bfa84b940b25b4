package easemob

import (
	"context"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"gavel/moderation"
	"gavel/platforms/egress"
	"gavel/platforms/wirejson"
)

// Nickname lookups for mentions. Easemob clients put the mentioned users'
// IDs in ext.em_at_list ("ALL" for everyone) and their nicknames in the
// text ("@Alice Smith" — nicknames may hold spaces), so the IDs say who is
// mentioned and the nicknames, read with the user-attribute API, say where
// each mention stands in the text.
const (
	// MaxMetadataTargets is the documented limit of users per
	// POST /metadata/user/get.
	MaxMetadataTargets = 100
	// maxNicknameLookups bounds the IDs of one message looked up.
	maxNicknameLookups = 5 * MaxMetadataTargets
)

// atListIDs returns the user IDs of ext.em_at_list, de-duplicated (IDs are
// case-insensitive) and in list order; nil for "ALL" (any case), which
// mentions everyone and no one in particular, or for anything else.
func atListIDs(raw wirejson.Value) []string {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var list []string
	if wirejson.Unmarshal(raw, &list) != nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, id := range list {
		l := strings.ToLower(id)
		if id == "" || seen[l] || l == "all" {
			continue
		}
		seen[l] = true
		out = append(out, id)
	}
	return out
}

// mentions returns one Mention per em_at_list ID, in text order: Token is
// "@nickname" or "@userid" exactly as it stands in text, Name the
// nickname. A mention whose text cannot be found keeps Token "" (the
// command parser then refuses rather than guesses) and goes last.
func (c *Client) mentions(ctx context.Context, text string, raw wirejson.Value) []moderation.Mention {
	ids := atListIDs(raw)
	if len(ids) == 0 {
		return nil
	}
	var lookup []string
	for _, id := range ids {
		if _, ok := findMention(text, "@"+id, true, nil); !ok {
			lookup = append(lookup, id)
		}
	}
	names := c.nicknames(ctx, lookup)
	type placed struct {
		pos int
		m   moderation.Mention
	}
	claimed := map[int]bool{}
	out := make([]placed, 0, len(ids))
	for _, id := range ids {
		m := moderation.Mention{UserID: id, Name: names[strings.ToLower(id)]}
		pos := -1
		if m.Name != "" {
			if p, ok := findMention(text, "@"+m.Name, false, claimed); ok {
				pos, m.Token = p, text[p:p+1+len(m.Name)]
			}
		}
		if pos < 0 {
			if p, ok := findMention(text, "@"+id, true, claimed); ok {
				pos, m.Token = p, text[p:p+1+len(id)]
			}
		}
		if pos >= 0 {
			claimed[pos] = true
		} else {
			pos = len(text) + 1 // unresolved: last, in list order
		}
		out = append(out, placed{pos, m})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].pos < out[j].pos })
	res := make([]moderation.Mention, len(out))
	for i, p := range out {
		res[i] = p.m
	}
	return res
}

// findMention returns the first position of tok in text not in claimed
// that ends the text or is followed by a space or '@' (as the command
// parser reads mentions); fold compares ASCII case-insensitively (IDs).
func findMention(text, tok string, fold bool, claimed map[int]bool) (int, bool) {
	for i := 0; i+len(tok) <= len(text); i++ {
		if text[i] != '@' || claimed[i] {
			continue
		}
		seg := text[i : i+len(tok)]
		if seg != tok && !(fold && strings.EqualFold(seg, tok)) {
			continue
		}
		after := text[i+len(tok):]
		if after == "" {
			return i, true
		}
		r, _ := utf8.DecodeRuneInString(after)
		if unicode.IsSpace(r) || r == '@' || r == '＠' {
			return i, true
		}
	}
	return -1, false
}

// nicknames returns the nicknames of ids (lower-case ID → nickname, ""
// for a user without one) from the cache or POST /metadata/user/get
// (≤100 targets per call), within mention_lookup_timeout. Failures are logged
// and leave those IDs out.
func (c *Client) nicknames(ctx context.Context, ids []string) map[string]string {
	out := map[string]string{}
	var missing []string
	for _, id := range ids {
		l := strings.ToLower(id)
		if v, ok := c.nicks.Get(l); ok {
			out[l] = v.(string)
		} else if len(missing) < maxNicknameLookups {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return out
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.MentionLookupTimeout)
	defer cancel()
	for _, batch := range egress.Chunk(missing, MaxMetadataTargets) {
		var env envelope
		body := map[string]any{"targets": batch, "properties": []string{"nickname"}}
		if err := c.callWith(ctx, c.metadata, "metadata.user.get", http.MethodPost, "/metadata/user/get", body, &env); err != nil {
			c.log.InfoContext(ctx, "nickname lookup failed; those mentions stay unresolved", slog.Int("users", len(batch)), slog.Any("error", err))
			return out
		}
		var data map[string]map[string]any
		if len(env.Data) > 0 && string(env.Data) != "null" {
			if err := wirejson.Unmarshal(env.Data, &data); err != nil {
				c.log.InfoContext(ctx, "nickname lookup: unexpected answer", slog.Any("error", err))
				return out
			}
		}
		byUser := make(map[string]string, len(data))
		for u, props := range data {
			if n, ok := props["nickname"].(string); ok {
				byUser[strings.ToLower(u)] = n
			}
		}
		for _, id := range batch {
			l := strings.ToLower(id)
			out[l] = byUser[l] // "" when the user has no nickname
			c.nicks.Set(l, byUser[l], c.cfg.NameCacheTTL)
		}
	}
	return out
}
