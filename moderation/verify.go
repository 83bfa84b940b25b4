package moderation

// VerbNewcomer marks a user who joined a chat recently: a Sanction the
// pipeline keeps until reports.newcomer_age has passed, so that a report
// by a fresh account does not count towards a report threshold. It is no
// action and no command.
const VerbNewcomer Verb = "newcomer"

// A pending verification of a joiner is a Sanction of VerbVerify: UserID
// the joiner and Until the deadline of the challenge. Two further rows of
// the same verb belong to it: UserID empty is the chat's gathering of new
// joiners into one challenge message (Until: when it is posted), and a
// UserID of VerifyPostPrefix+message id is a posted challenge message
// (Until: when it is recalled at the latest).
const VerifyPostPrefix = "#post:"
