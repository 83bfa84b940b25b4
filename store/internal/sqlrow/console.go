package sqlrow

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"gavel/moderation"
	"gavel/store/internal/nanotime"
)

// ConsoleIndexes are the indexes the console's queries need, the same
// text in both stores (issue #18): the case list filtered by actor, rule
// or platform pages down the id.
const ConsoleIndexes = `
CREATE INDEX cases_actor ON cases (actor, id) WHERE actor <> '';
CREATE INDEX cases_rule ON cases (rule, id) WHERE rule <> '';
CREATE INDEX cases_platform ON cases (platform, id);
`

// ConsoleQueries are the console's statements both stores run as they
// are.
type ConsoleQueries struct {
	PutUser, DeleteUser, DeleteUserSessions, User, Users                     string
	PutSession, Session, TouchSession, DeleteSession, PurgeSessions, StatsOf string
}

// ConsoleFor returns the console's queries in d's placeholders.
func ConsoleFor(d Dialect) ConsoleQueries {
	q := ConsoleQueries{
		PutUser: `
			INSERT INTO console_users (name, hash, grants, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET hash = excluded.hash, grants = excluded.grants`,
		DeleteUser:         `DELETE FROM console_users WHERE name = ?`,
		DeleteUserSessions: `DELETE FROM console_sessions WHERE user_name = ?`,
		User:               `SELECT name, hash, grants, created_at FROM console_users WHERE name = ?`,
		Users:              `SELECT name, hash, grants, created_at FROM console_users ORDER BY name`,
		PutSession: `
			INSERT INTO console_sessions (id, user_name, csrf, created_at, seen_at) VALUES (?, ?, ?, ?, ?)`,
		Session:       `SELECT id, user_name, csrf, created_at, seen_at FROM console_sessions WHERE id = ?`,
		TouchSession:  `UPDATE console_sessions SET seen_at = ? WHERE id = ?`,
		DeleteSession: `DELETE FROM console_sessions WHERE id = ?`,
		PurgeSessions: `DELETE FROM console_sessions WHERE seen_at < ? OR created_at < ?`,
		StatsOf: `
			SELECT series, key, hour, n FROM console_stats
			WHERE series = ? AND hour >= ? ORDER BY hour, key`,
	}
	for _, p := range []*string{&q.PutUser, &q.DeleteUser, &q.DeleteUserSessions, &q.User, &q.Users,
		&q.PutSession, &q.Session, &q.TouchSession, &q.DeleteSession, &q.PurgeSessions, &q.StatsOf} {
		*p = d.Q(*p)
	}
	return q
}

// UserArgs are PutUser's arguments.
func (d Dialect) UserArgs(u moderation.ConsoleUser) ([]any, error) {
	grants, err := json.Marshal(u.Grants)
	if err != nil {
		return nil, fmt.Errorf("encode grants: %w", err)
	}
	return []any{u.Name, u.Hash, d.JSON(grants), nanotime.From(u.CreatedAt)}, nil
}

// ScanUser reads a row of User.
func ScanUser(row Scanner) (moderation.ConsoleUser, error) {
	var (
		u      moderation.ConsoleUser
		grants []byte
		at     int64
	)
	if err := row.Scan(&u.Name, &u.Hash, &grants, &at); err != nil {
		return u, err
	}
	u.CreatedAt = nanotime.To(at)
	if err := json.Unmarshal(grants, &u.Grants); err != nil {
		return u, fmt.Errorf("console user %s: decode grants: %w", u.Name, err)
	}
	return u, nil
}

// SessionArgs are PutSession's arguments.
func SessionArgs(s moderation.ConsoleSession) []any {
	return []any{s.ID, s.User, s.CSRF, nanotime.From(s.Created), nanotime.From(s.Seen)}
}

// ScanSession reads a row of Session.
func ScanSession(row Scanner) (moderation.ConsoleSession, error) {
	var (
		s             moderation.ConsoleSession
		created, seen int64
	)
	if err := row.Scan(&s.ID, &s.User, &s.CSRF, &created, &seen); err != nil {
		return s, err
	}
	s.Created, s.Seen = nanotime.To(created), nanotime.To(seen)
	return s, nil
}

// ScanStat reads a row of StatsOf.
func ScanStat(row Scanner) (moderation.StatPoint, error) {
	var (
		p    moderation.StatPoint
		hour int64
	)
	err := row.Scan(&p.Series, &p.Key, &hour, &p.N)
	p.Hour = nanotime.To(hour)
	return p, err
}

// ScanCount reads a row of CountQuery.
func ScanCount(row Scanner) (moderation.CaseCount, error) {
	var (
		c    moderation.CaseCount
		hour int64
	)
	err := row.Scan(&hour, &c.Key, &c.N)
	c.Hour = time.Unix(hour*3600, 0).UTC()
	return c, err
}

// HourOf is the start of t's hour in Unix nanoseconds, as console_stats
// keys its rows.
func HourOf(t time.Time) int64 { return nanotime.From(t.UTC().Truncate(time.Hour)) }

// args builds a WHERE clause's arguments in d's placeholders.
type args struct {
	d    Dialect
	list []any
}

func (a *args) add(v any) string {
	a.list = append(a.list, v)
	if a.d.Dollar {
		return "$" + strconv.Itoa(len(a.list))
	}
	return "?"
}

// scope is the condition that limits cases (or any table with platform
// and chat_id columns) to the chats scope grants; "" when it grants all.
func (a *args) scope(scope []string) string {
	if moderation.ScopeAll(scope) {
		return ""
	}
	var ors []string
	for _, g := range scope {
		p, id, ok := strings.Cut(g, ":")
		switch {
		case !ok || p == "" || id == "":
			continue // not a grant: grants nothing
		case id == "*":
			ors = append(ors, "platform = "+a.add(p))
		default:
			ors = append(ors, "(platform = "+a.add(p)+" AND chat_id = "+a.add(id)+")")
		}
	}
	if len(ors) == 0 {
		return "1 = 0"
	}
	return "(" + strings.Join(ors, " OR ") + ")"
}

// SearchQueries are the queries for the cases q selects, newest first:
// one for a scope of every chat, else one per grant (each walks one
// index newest first and stops at the limit; an OR of grants made the
// database sort every case of the scope). The caller merges them with
// MergeNewest.
func (d Dialect) SearchQueries(q moderation.CaseQuery) (queries []string, args [][]any) {
	if moderation.ScopeAll(q.Scope) {
		s, a := d.searchQuery(q, nil)
		return []string{s}, [][]any{a}
	}
	seen := map[string]bool{}
	for _, g := range q.Scope {
		p, id, ok := strings.Cut(g, ":")
		if !ok || p == "" || id == "" || seen[g] {
			continue
		}
		seen[g] = true
		s, a := d.searchQuery(q, &[2]string{p, id})
		queries, args = append(queries, s), append(args, a)
	}
	return queries, args
}

// MergeNewest merges lists of cases, each newest first, into one of at
// most limit (≤ 0: all), dropping a case two lists hold.
func MergeNewest(lists [][]moderation.Case, limit int) []moderation.Case {
	var out []moderation.Case
	seen := map[int64]bool{}
	for _, l := range lists {
		for _, c := range l {
			if !seen[c.ID] {
				seen[c.ID] = true
				out = append(out, c)
			}
		}
	}
	slices.SortFunc(out, func(a, b moderation.Case) int { return cmp.Compare(b.ID, a.ID) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

// searchQuery is the query for the cases q selects within one grant
// (platform, chat_id or "*"; nil: every chat).
func (d Dialect) searchQuery(q moderation.CaseQuery, grant *[2]string) (string, []any) {
	a := &args{d: d}
	var where []string
	if grant != nil {
		where = append(where, "platform = "+a.add(grant[0]))
		if grant[1] != "*" {
			where = append(where, "chat_id = "+a.add(grant[1]))
		}
	}
	eq := func(col, v string) {
		if v != "" {
			where = append(where, col+" = "+a.add(v))
		}
	}
	eq("platform", q.Platform)
	eq("chat_id", q.ChatID)
	eq("actor", q.Actor)
	eq("rule", q.Rule)
	eq("verb", string(q.Verb))
	if q.Target != "" {
		u := a.add(q.Target)
		where = append(where, "id IN (SELECT case_id FROM case_users WHERE user_id = "+u+") AND actor <> "+a.add(q.Target))
	}
	if q.Outcome != "" {
		where = append(where, "(outcome = "+a.add(q.Outcome)+" OR outcome LIKE "+a.add(likePrefix(q.Outcome)+":%")+")")
	}
	// "+at" keeps SQLite off cases_at, which would read every case of the
	// range and sort them: walking the ids down from the range's newest
	// stops at the page's end. (PostgreSQL reads +at as at.)
	// The ids of the range are bounded both ways by the cases_at index,
	// with a minute of slack (see Until).
	if !q.Since.IsZero() {
		where = append(where, "+at >= "+a.add(nanotime.From(q.Since)),
			"id >= coalesce((SELECT id FROM cases WHERE at >= "+a.add(nanotime.From(q.Since.Add(-time.Minute)))+" ORDER BY at LIMIT 1), "+a.add(int64(math.MaxInt64))+")")
	}
	if !q.Until.IsZero() {
		// The cases before Until are read from the newest of them down,
		// not from the newest case: ids grow with time, up to a job's
		// few milliseconds between making a case and storing it, which
		// the minute of slack covers.
		where = append(where, "+at < "+a.add(nanotime.From(q.Until)),
			"id <= coalesce((SELECT id FROM cases WHERE at < "+a.add(nanotime.From(q.Until.Add(time.Minute)))+" ORDER BY at DESC LIMIT 1), 0)")
	}
	if q.Related > 0 {
		where = append(where, "related = "+a.add(q.Related))
	}
	if q.Before > 0 {
		where = append(where, "id < "+a.add(q.Before))
	}
	s := `SELECT ` + CaseColumns + ` FROM cases`
	if len(where) > 0 {
		s += ` WHERE ` + strings.Join(where, " AND ")
	}
	s += ` ORDER BY id DESC`
	if q.Limit > 0 {
		s += ` LIMIT ` + a.add(q.Limit)
	}
	return s, a.list
}

// likePrefix escapes LIKE's wildcards in s; outcomes hold none, but a
// typed filter may.
func likePrefix(s string) string {
	return strings.NewReplacer("%", "", "_", "").Replace(s)
}

// Hourly case counts (case_hours): cases are rolled up, a bounded
// chunk at a time, into one row per hour, verb and rule for each chat,
// each platform (chat_id '*') and everything (platform and chat_id
// '*'); console_marks holds the newest case id rolled up. The overview
// reads the rows of its scope and counts the cases above the mark (the
// last minute or two) directly, so its figures are exact and its cost
// does not grow with the number of cases.
var (
	// RollupMark is the newest case id rolled up.
	RollupMark = `SELECT coalesce((SELECT value FROM console_marks WHERE name = 'case_hours'), 0)`
	// RollupUpto takes ?1 the mark, ?2 the time before which cases are
	// settled (a transaction still open has long committed its case) and
	// ?3 the chunk.
	RollupUpto = `SELECT coalesce(max(id), 0) FROM (
		SELECT id FROM cases WHERE id > ?1 AND at < ?2 ORDER BY id LIMIT ?3) chunk`
	RollupInsert = `
		INSERT INTO case_hours (platform, chat_id, hour, verb, rule, n)
		SELECT platform, chat_id, h, verb, rule, count(*) FROM (
			SELECT platform, chat_id, at / 3600000000000 AS h, verb, rule FROM cases WHERE id > ?1 AND id <= ?2
			UNION ALL SELECT platform, '*', at / 3600000000000, verb, rule FROM cases WHERE id > ?1 AND id <= ?2
			UNION ALL SELECT '*', '*', at / 3600000000000, verb, rule FROM cases WHERE id > ?1 AND id <= ?2
		) g WHERE true GROUP BY platform, chat_id, h, verb, rule
		ON CONFLICT (platform, chat_id, hour, verb, rule) DO UPDATE SET n = case_hours.n + excluded.n`
	RollupSetMark = `
		INSERT INTO console_marks (name, value) VALUES ('case_hours', ?)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value`
)

// RollupChunk bounds the cases one rollup reads: a database upgraded
// with a long history catches up a chunk a minute, never in one long
// transaction.
const RollupChunk = 200_000

// RollupSettle is how old a case must be to be rolled up: a case whose
// transaction has not committed by then is not expected.
const RollupSettle = time.Minute

// hourKeys reduces scope to the (platform, chat_id) rows of case_hours
// that count it once: "*" alone if granted, else each platform grant and
// the chats of other platforms.
func hourKeys(scope []string) [][2]string {
	if moderation.ScopeAll(scope) {
		return [][2]string{{"*", "*"}}
	}
	whole := map[string]bool{}
	for _, g := range scope {
		if p, id, ok := strings.Cut(g, ":"); ok && p != "" && id == "*" {
			whole[p] = true
		}
	}
	var keys [][2]string
	seen := map[[2]string]bool{}
	for _, g := range scope {
		p, id, ok := strings.Cut(g, ":")
		if !ok || p == "" || id == "" || (id != "*" && whole[p]) {
			continue
		}
		k := [2]string{p, id}
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	return keys
}

// CountQueries are the two queries of a count by by ("verb" or "rule")
// since since: the rolled-up hours of scope, and the cases above the
// mark (the first argument of tail, filled by the caller from
// RollupMark). Both return hour, key, count.
func (d Dialect) CountQueries(scope []string, since time.Time, by string) (hours string, hoursArgs []any, tail string, tailArgs []any, err error) {
	if by != "verb" && by != "rule" {
		return "", nil, "", nil, fmt.Errorf("count cases by %q: want verb or rule", by)
	}
	hour := nanotime.From(since) / int64(time.Hour)
	a := &args{d: d}
	var ors []string
	for _, k := range hourKeys(scope) {
		ors = append(ors, "(platform = "+a.add(k[0])+" AND chat_id = "+a.add(k[1])+")")
	}
	if len(ors) == 0 {
		ors = []string{"1 = 0"}
	}
	where := []string{"(" + strings.Join(ors, " OR ") + ")", "hour >= " + a.add(hour)}
	if by == "rule" {
		where = append(where, "rule <> ''")
	}
	hours = `SELECT hour, ` + by + `, CAST(sum(n) AS BIGINT) FROM case_hours WHERE ` + strings.Join(where, " AND ") + ` GROUP BY hour, ` + by
	hoursArgs = a.list

	t := &args{d: d}
	tw := []string{"id > " + t.add(int64(0)), "at >= " + t.add(nanotime.From(since))}
	if by == "rule" {
		tw = append(tw, "rule <> ''")
	}
	if s := t.scope(scope); s != "" {
		tw = append(tw, s)
	}
	tail = `SELECT at / 3600000000000 AS h, ` + by + `, count(*) FROM cases WHERE ` + strings.Join(tw, " AND ") + ` GROUP BY h, ` + by
	return hours, hoursArgs, tail, t.list, nil
}

// MergeCounts adds up the counts of both queries, by hour and key, in
// hour order.
func MergeCounts(lists ...[]moderation.CaseCount) []moderation.CaseCount {
	type k struct {
		h   int64
		key string
	}
	sum := map[k]int64{}
	for _, l := range lists {
		for _, c := range l {
			sum[k{c.Hour.Unix(), c.Key}] += c.N
		}
	}
	out := make([]moderation.CaseCount, 0, len(sum))
	for kk, n := range sum {
		out = append(out, moderation.CaseCount{Hour: time.Unix(kk.h, 0).UTC(), Key: kk.key, N: n})
	}
	slices.SortFunc(out, func(a, b moderation.CaseCount) int {
		if c := a.Hour.Compare(b.Hour); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	return out
}

// RowFunc runs a query that returns one row.
type RowFunc func(query string, args ...any) Scanner

// Statements of WalkChats; each is an index probe of cases_chat.
var (
	nextChat     = `SELECT min(chat_id) FROM cases WHERE platform = ? AND chat_id > ?`
	firstChat    = `SELECT min(chat_id) FROM cases WHERE platform = ?`
	nextPlatform = `SELECT min(platform) FROM cases WHERE platform > ?`
	lastCase     = `SELECT coalesce(max(id), 0) FROM cases WHERE platform = ? AND chat_id = ?`
	// OtherChats are the chats with a mute or a sanction: small tables,
	// holding only what is in force.
	OtherChats = `SELECT platform, chat_id FROM mutes UNION SELECT platform, chat_id FROM sanctions`
)

// WalkChats lists the chats of scope that have a case, a mute or a
// sanction (others: the chats of OtherChats, read by the caller), with
// each one's newest case. The chats of the cases are found by skipping
// through cases_chat, two index probes per chat, not by reading every
// case.
func (d Dialect) WalkChats(row RowFunc, scope []string, others []moderation.ChatRef) ([]moderation.ChatSeen, error) {
	seen := map[moderation.ChatRef]bool{}
	var out []moderation.ChatSeen
	add := func(c moderation.ChatRef) error {
		if seen[c] || !moderation.ScopeAllows(scope, c) {
			return nil
		}
		seen[c] = true
		cs := moderation.ChatSeen{Chat: c}
		if err := row(d.Q(lastCase), c.Platform, c.ID).Scan(&cs.LastCase); err != nil {
			return fmt.Errorf("newest case of %s: %w", c, err)
		}
		out = append(out, cs)
		return nil
	}
	var platform *string
	if err := row(d.Q(`SELECT min(platform) FROM cases`)).Scan(&platform); err != nil {
		return nil, fmt.Errorf("first platform: %w", err)
	}
	for platform != nil {
		var chat *string
		if err := row(d.Q(firstChat), *platform).Scan(&chat); err != nil {
			return nil, fmt.Errorf("first chat of %s: %w", *platform, err)
		}
		for chat != nil {
			if err := add(moderation.ChatRef{Platform: *platform, ID: *chat}); err != nil {
				return nil, err
			}
			if err := row(d.Q(nextChat), *platform, *chat).Scan(&chat); err != nil {
				return nil, fmt.Errorf("next chat of %s: %w", *platform, err)
			}
		}
		if err := row(d.Q(nextPlatform), *platform).Scan(&platform); err != nil {
			return nil, fmt.Errorf("next platform: %w", err)
		}
	}
	for _, c := range others {
		if err := add(c); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(out, func(a, b moderation.ChatSeen) int { return strings.Compare(a.Chat.String(), b.Chat.String()) })
	return out, nil
}

// ScanChatRef reads a row of OtherChats.
func ScanChatRef(row Scanner) (moderation.ChatRef, error) {
	var c moderation.ChatRef
	err := row.Scan(&c.Platform, &c.ID)
	return c, err
}
