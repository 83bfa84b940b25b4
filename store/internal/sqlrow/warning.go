package sqlrow

import (
	"time"

	"gavel/moderation"
	"gavel/store/internal/nanotime"
)

// WarningArgs are the arguments of Queries.AddWarning.
func (d Dialect) WarningArgs(w moderation.Warning) []any {
	return []any{w.Chat.Platform, w.Chat.ID, w.UserID, w.Key, d.Text(w.Actor), d.Text(w.Rule), d.Text(w.Reason), nanotime.From(w.At)}
}

// UserSinceArgs are the arguments of the warning queries that select a
// user's warnings in chat since since.
func UserSinceArgs(chat moderation.ChatRef, userID string, since time.Time) []any {
	return []any{chat.Platform, chat.ID, userID, nanotime.From(since)}
}

// ScanWarning reads one row of Queries.Warnings, a warning of userID in
// chat.
func ScanWarning(chat moderation.ChatRef, userID string) func(Scanner) (moderation.Warning, error) {
	return func(row Scanner) (moderation.Warning, error) {
		w := moderation.Warning{Chat: moderation.ChatRef{Platform: chat.Platform, ID: chat.ID}, UserID: userID}
		var at int64
		if err := row.Scan(&w.ID, &w.Key, &w.Actor, &w.Rule, &w.Reason, &at); err != nil {
			return moderation.Warning{}, err
		}
		w.At = nanotime.To(at)
		return w, nil
	}
}
