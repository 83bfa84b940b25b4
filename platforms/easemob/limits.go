package easemob

import "gavel/moderation"

// replyLimit bounds a reply's text in bytes. Easemob takes body+ext of at
// most 5 KB per message (400 message_send_error "message is too large");
// the ext (em_at_list) and the JSON around the text take the rest.
const replyLimit = 4000

// Limits implements moderation.Platform. The mute settings are this app's
// default_mute (zero when unset: moderation.default_mute applies) and
// allow_permanent_mute, which /mute without a duration follows.
func (c *Client) Limits() moderation.Limits {
	return moderation.Limits{
		Batch: map[moderation.Verb]int{
			moderation.VerbKick:   MaxKickPerCall,
			moderation.VerbMute:   MaxMutePerCall,
			moderation.VerbUnmute: MaxUnmutePerCall,
		},
		Reply:                replyLimit,
		MuteDefault:          c.cfg.DefaultMute,
		PermanentMuteDefault: c.cfg.AllowPermanentMute,
	}
}
