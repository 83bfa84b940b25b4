package feishu

import "regexp"

// atTag finds the start of a Feishu text mention tag (<at user_id="…">,
// any case, spaces allowed after '<').
var atTag = regexp.MustCompile(`(?i)<(\s*at\b)`)

// inertText returns s with every mention tag made inert: a zero-width
// space after its '<', so that Feishu shows the words and mentions
// nobody. Gavel's own texts name users without tags; a tag in a text is
// what a user typed or chose (a reason, a nickname) and, sent as is,
// would mention whoever it names, everyone with user_id="all".
func inertText(s string) string {
	return atTag.ReplaceAllString(s, "<\u200b$1")
}
