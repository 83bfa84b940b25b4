package sqlrow

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gavel/moderation"
	"gavel/store/internal/nanotime"
)

// ConsoleIndexes are the indexes the console's queries need, the same
// text in both stores (issue #18): the case list filtered by actor or
// rule pages down the id, and the overview counts cases per hour from
// an index that covers every column it reads.
const ConsoleIndexes = `
CREATE INDEX cases_actor ON cases (actor, id) WHERE actor <> '';
CREATE INDEX cases_rule ON cases (rule, id) WHERE rule <> '';
CREATE INDEX cases_counts ON cases (at, platform, chat_id, verb, rule);
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

// SearchQuery is the query for the cases q selects, newest first.
func (d Dialect) SearchQuery(q moderation.CaseQuery) (string, []any) {
	a := &args{d: d}
	var where []string
	if s := a.scope(q.Scope); s != "" {
		where = append(where, s)
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
	if !q.Since.IsZero() {
		where = append(where, "at >= "+a.add(nanotime.From(q.Since)))
	}
	if !q.Until.IsZero() {
		where = append(where, "at < "+a.add(nanotime.From(q.Until)))
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

// CountQuery counts the cases of scope at or after since per hour and per
// by ("verb" or "rule").
func (d Dialect) CountQuery(scope []string, since time.Time, by string) (string, []any, error) {
	if by != "verb" && by != "rule" {
		return "", nil, fmt.Errorf("count cases by %q: want verb or rule", by)
	}
	a := &args{d: d}
	where := []string{"at >= " + a.add(nanotime.From(since))}
	if by == "rule" {
		where = append(where, "rule <> ''")
	}
	if s := a.scope(scope); s != "" {
		where = append(where, s)
	}
	return `SELECT at / 3600000000000 AS h, ` + by + `, count(*) FROM cases WHERE ` +
		strings.Join(where, " AND ") + ` GROUP BY h, ` + by + ` ORDER BY h, ` + by, a.list, nil
}

// ChatsQuery lists the chats of scope with a case, a mute or a sanction,
// with their newest case. The chats of the cases are read by skipping
// through cases_chat (one index probe per chat, not a scan of every
// case), which a recursive query does in both databases.
func (d Dialect) ChatsQuery(scope []string) (string, []any) {
	a := &args{d: d}
	s := a.scope(scope)
	filter := ""
	if s != "" {
		filter = " WHERE " + s
	}
	q := `
WITH RECURSIVE seen (platform, chat_id) AS (
	SELECT * FROM (SELECT platform, chat_id FROM cases ORDER BY platform, chat_id LIMIT 1) f0
	UNION ALL
	SELECT (SELECT c.platform FROM cases c WHERE (c.platform, c.chat_id) > (seen.platform, seen.chat_id) ORDER BY c.platform, c.chat_id LIMIT 1),
	       (SELECT c.chat_id FROM cases c WHERE (c.platform, c.chat_id) > (seen.platform, seen.chat_id) ORDER BY c.platform, c.chat_id LIMIT 1)
	FROM seen WHERE seen.platform IS NOT NULL
),
chats AS (
	SELECT platform, chat_id FROM seen WHERE platform IS NOT NULL
	UNION SELECT platform, chat_id FROM mutes
	UNION SELECT platform, chat_id FROM sanctions
)
SELECT platform, chat_id,
	coalesce((SELECT max(id) FROM cases c WHERE c.platform = chats.platform AND c.chat_id = chats.chat_id), 0)
FROM chats` + filter + ` ORDER BY platform, chat_id`
	return q, a.list
}

// ScanChat reads a row of ChatsQuery.
func ScanChat(row Scanner) (moderation.ChatSeen, error) {
	var c moderation.ChatSeen
	err := row.Scan(&c.Chat.Platform, &c.Chat.ID, &c.LastCase)
	return c, err
}
