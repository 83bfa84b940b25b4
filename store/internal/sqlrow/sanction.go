package sqlrow

import (
	"fmt"

	"gavel/moderation"
)

// SanctionColumns are the sanctions columns ScanSanction reads, in order.
const SanctionColumns = `verb, platform, chat_id, chat_kind, user_id, until, case_id`

// CheckSanction refuses a sanction no store should keep: a verb other than
// ban, lock, verify (a joiner's pending verification) or newcomer, a ban
// or newcomer mark of nobody, a lock of a user.
func CheckSanction(s moderation.Sanction) error {
	switch {
	case (s.Verb == moderation.VerbBan || s.Verb == moderation.VerbNewcomer) && s.UserID == "":
		return fmt.Errorf("%s in %s names no user", s.Verb, s.Chat)
	case s.Verb == moderation.VerbLock && s.UserID != "":
		return fmt.Errorf("lock in %s names user %q; a lock holds the whole chat", s.Chat, s.UserID)
	case s.Verb != moderation.VerbBan && s.Verb != moderation.VerbLock && s.Verb != moderation.VerbVerify && s.Verb != moderation.VerbNewcomer:
		return fmt.Errorf("sanction verb %q is none of %s, %s, %s, %s", s.Verb, moderation.VerbBan, moderation.VerbLock, moderation.VerbVerify, moderation.VerbNewcomer)
	case s.Chat.Platform == "" || s.Chat.ID == "":
		return fmt.Errorf("%s of %q names no chat", s.Verb, s.UserID)
	}
	return nil
}

// SanctionArgs are the arguments of an insert into SanctionColumns.
func SanctionArgs(s moderation.Sanction) []any {
	return []any{string(s.Verb), s.Chat.Platform, s.Chat.ID, s.Chat.Kind, s.UserID, NullTime(s.Until), s.CaseID}
}

// ScanSanction reads one row of SanctionColumns.
func ScanSanction(row Scanner) (moderation.Sanction, error) {
	var (
		s     moderation.Sanction
		verb  string
		until *int64
	)
	if err := row.Scan(&verb, &s.Chat.Platform, &s.Chat.ID, &s.Chat.Kind, &s.UserID, &until, &s.CaseID); err != nil {
		return moderation.Sanction{}, err
	}
	s.Verb = moderation.Verb(verb)
	s.Until = FromNullTime(until)
	return s, nil
}
