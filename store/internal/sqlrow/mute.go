package sqlrow

import "gavel/moderation"

// MuteColumns are the mutes columns ScanMute reads and MuteArgs writes.
const MuteColumns = `platform, chat_id, chat_kind, user_id, until, emulated, case_id`

// AppendMuteArgs appends the arguments of an insert into MuteColumns to
// args, so that a loop of inserts may reuse one slice.
func AppendMuteArgs(args []any, m moderation.Mute) []any {
	return append(args, m.Chat.Platform, m.Chat.ID, m.Chat.Kind, m.UserID, NullTime(m.Until), m.Emulated, m.CaseID)
}

// ScanMute reads one row of MuteColumns.
func ScanMute(row Scanner) (moderation.Mute, error) {
	var (
		m     moderation.Mute
		until *int64
	)
	if err := row.Scan(&m.Chat.Platform, &m.Chat.ID, &m.Chat.Kind, &m.UserID, &until, &m.Emulated, &m.CaseID); err != nil {
		return moderation.Mute{}, err
	}
	m.Until = FromNullTime(until)
	return m, nil
}
