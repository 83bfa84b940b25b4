package easemob

import "strings"

// CanonicalUserID returns id in lower case. Easemob user ids are not case
// sensitive ("Aa" and "aa" are one user; the SDKs lower-case them when an
// account is created), so Gavel compares, stores and caches them in lower
// case: `/kick @VIP` names the protected "vip", `/mute @GAVELBOT` the bot.
func CanonicalUserID(id string) string { return strings.ToLower(id) }

// CanonicalUserID implements moderation.Platform.
func (c *Client) CanonicalUserID(id string) string { return CanonicalUserID(id) }
