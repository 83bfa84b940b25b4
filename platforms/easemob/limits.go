package easemob

import "gavel/moderation"

// replyLimit bounds a reply's text in bytes. Easemob takes body+ext of at
// most 5 KB per message (400 message_send_error "message is too large");
// the ext (em_at_list) and the JSON around the text take the rest.
const replyLimit = 4000

// Limits implements moderation.Platform.
func (c *Client) Limits() moderation.Limits {
	return moderation.Limits{
		Batch: map[moderation.Verb]int{
			moderation.VerbAdd:    MaxAddPerCall,
			moderation.VerbBan:    MaxBlockPerCall,
			moderation.VerbUnban:  MaxBlockPerCall,
			moderation.VerbPurge:  MaxRecallPerCall,
			moderation.VerbKick:   MaxKickPerCall,
			moderation.VerbMute:   MaxMutePerCall,
			moderation.VerbUnmute: MaxUnmutePerCall,
		},
		Reply: replyLimit,
	}
}

// MaxAddPerCall is how many users one add call takes: POST
// …/chatgroups/{id}/users takes at most 60 usernames (group_members_add_batch:
// "每次最多可以添加 60 位成员", 403 exceed_limit above), POST
// …/chatrooms/{id}/users at most 60 too (chatroom_member_add_batch, 400
// "addMembers number more than maxSize : 60"; the published page and
// all but one revision of it, which says 100); one batch size serves
// both.
const MaxAddPerCall = 60
