package feishu

// CanonicalUserID returns id unchanged: Gavel uses open_ids (ou_…), which
// Feishu issues and sends in one spelling; two spellings are two ids.
func CanonicalUserID(id string) string { return id }

// CanonicalUserID implements moderation.Platform.
func (c *Client) CanonicalUserID(id string) string { return CanonicalUserID(id) }
