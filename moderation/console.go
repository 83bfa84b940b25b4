package moderation

import (
	"context"
	"strings"
	"time"
)

// ConsoleUser is an account of the web console (issue #18).
type ConsoleUser struct {
	Name string `json:"name"`
	// Hash is the password's argon2id hash in PHC form.
	Hash string `json:"-"`
	// Grants are the chats the user sees and acts on: "platform:chat_id",
	// "platform:*" (every chat of a platform) or "*" (every chat).
	Grants    []string  `json:"grants"`
	CreatedAt time.Time `json:"created_at"`
}

// ConsoleSession is a signed-in console session. The browser holds a
// random token; the store keeps only its SHA-256 (ID), so a copy of the
// database signs nobody in.
type ConsoleSession struct {
	ID   string `json:"id"`
	User string `json:"user"`
	// CSRF is the token every state-changing form of the session carries.
	CSRF    string    `json:"-"`
	Created time.Time `json:"created"`
	// Seen is the session's last use, for the idle expiry.
	Seen time.Time `json:"seen"`
}

// CaseQuery selects cases for the console; zero fields match everything
// except Scope, which must grant something.
type CaseQuery struct {
	// Scope are the grants of the user asking (ConsoleUser.Grants): only
	// cases of those chats match; an empty scope matches nothing.
	Scope            []string
	Platform, ChatID string
	// Actor matches the case's actor exactly; Target any of its targets
	// (the store's user index, the actor excluded).
	Actor, Target string
	Rule          string
	Verb          Verb
	// Outcome matches the outcome or its kind: "refused" matches every
	// "refused:<reason>".
	Outcome string
	// Since is inclusive, Until exclusive.
	Since, Until time.Time
	// Related selects the cases that follow from this case (its undo, a
	// confirmation's answer); 0: any.
	Related int64
	// Before pages: only cases with an id below it (0: from the newest).
	Before int64
	Limit  int
}

// ScopeAll reports whether scope grants every chat.
func ScopeAll(scope []string) bool {
	for _, g := range scope {
		if g == "*" {
			return true
		}
	}
	return false
}

// ScopeAllows reports whether scope grants chat.
func ScopeAllows(scope []string, chat ChatRef) bool {
	for _, g := range scope {
		p, id, _ := strings.Cut(g, ":")
		if g == "*" || (p == chat.Platform && (id == "*" || id == chat.ID)) {
			return true
		}
	}
	return false
}

// CaseCount is how many cases of one key (a verb, a rule) fell in one
// hour.
type CaseCount struct {
	Hour time.Time `json:"hour"`
	Key  string    `json:"key"`
	N    int64     `json:"n"`
}

// StatPoint is one hourly value of a time series the console charts
// (webhooks by result, queue depth).
type StatPoint struct {
	Series string    `json:"series"`
	Key    string    `json:"key"`
	Hour   time.Time `json:"hour"`
	N      int64     `json:"n"`
}

// ChatSeen is a chat Gavel has a case, mute or sanction in.
type ChatSeen struct {
	Chat ChatRef `json:"chat"`
	// LastCase is the newest case's id; zero when none.
	LastCase int64 `json:"last_case,omitempty"`
}

// ConsoleStore is what the console keeps in the store, so that every
// replica accepts the same sessions and shows the same figures.
type ConsoleStore interface {
	// PutConsoleUser adds u or replaces the user of its name.
	PutConsoleUser(ctx context.Context, u ConsoleUser) error
	// DeleteConsoleUser removes the user and every session of it; false
	// when there was no such user.
	DeleteConsoleUser(ctx context.Context, name string) (bool, error)
	// ConsoleUser returns the user of name or an error wrapping ErrNotFound.
	ConsoleUser(ctx context.Context, name string) (ConsoleUser, error)
	ConsoleUsers(ctx context.Context) ([]ConsoleUser, error)

	PutConsoleSession(ctx context.Context, s ConsoleSession) error
	// ConsoleSession returns the session of id or an error wrapping
	// ErrNotFound.
	ConsoleSession(ctx context.Context, id string) (ConsoleSession, error)
	TouchConsoleSession(ctx context.Context, id string, seen time.Time) error
	DeleteConsoleSession(ctx context.Context, id string) error
	// PurgeConsoleSessions deletes sessions last seen before idle or
	// created before created; it returns how many went.
	PurgeConsoleSessions(ctx context.Context, idle, created time.Time) (int, error)

	// SearchCases returns the cases q selects, newest first.
	SearchCases(ctx context.Context, q CaseQuery) ([]Case, error)
	// CountCases counts the cases of scope at or after since per hour and
	// per by ("verb" or "rule"; rule counts leave out cases of no rule).
	CountCases(ctx context.Context, scope []string, since time.Time, by string) ([]CaseCount, error)
	// RollupCases adds the settled cases not yet counted to the hourly
	// counts CountCases reads, a bounded chunk per call, once across
	// replicas; it returns how many case numbers it covered. The console
	// calls it every minute.
	RollupCases(ctx context.Context, now time.Time) (int, error)
	// ChatsSeen lists the chats of scope that have a case, a mute or a
	// sanction.
	ChatsSeen(ctx context.Context, scope []string) ([]ChatSeen, error)

	// AddStats adds each point's N to its hour's value; gauge points
	// keep the larger of the two instead.
	AddStats(ctx context.Context, gauge bool, points ...StatPoint) error
	// Stats returns series' points at or after since, oldest first.
	Stats(ctx context.Context, series string, since time.Time) ([]StatPoint, error)
}
