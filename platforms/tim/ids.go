package tim

// CanonicalUserID returns id unchanged. TIM's documentation says request
// parameters and values are case-sensitive and gives no case folding for
// UserIDs (≤ 32 bytes, chosen by the app); it is silent on whether "Bob"
// and "bob" may be two accounts, so Gavel takes them as two, as the REST
// API's exact matching does.
func CanonicalUserID(id string) string { return id }

// CanonicalUserID implements moderation.Platform.
func (c *Client) CanonicalUserID(id string) string { return CanonicalUserID(id) }
