package tim

import "gavel/moderation"

// replyLimit bounds a reply's text in bytes. TIM's documentation gives a
// message body limit of 12 KB on send_group_msg and 8 KB in its error
// table (80002); the stricter one, less the MsgBody wrapping and the
// escaping of the text, leaves about 6,000 bytes.
const replyLimit = 6000

// Limits implements moderation.Platform: delete_group_member takes 100
// accounts a call, forbid_send_msg and get_role_in_group 500,
// ban_group_member and unban_group_member 20, group_msg_recall 10 MsgSeq.
func (c *Client) Limits() moderation.Limits {
	return moderation.Limits{
		Batch: map[moderation.Verb]int{
			moderation.VerbAdd:    maxAddPerCall,
			moderation.VerbBan:    maxBanPerCall,
			moderation.VerbUnban:  maxBanPerCall,
			moderation.VerbPurge:  maxRecallPerCall,
			moderation.VerbKick:   maxDeletePerCall,
			moderation.VerbMute:   maxForbidPerCall,
			moderation.VerbUnmute: maxForbidPerCall,
		},
		RoleBatch: maxRolePerCall,
		Reply:     replyLimit,
	}
}

// maxAddPerCall is how many users one add call takes: add_group_member's
// MemberList holds at most 20 accounts on the Chinese page (269/1621,
// revision 2026-02-06: "一次请求最多支持添加20个成员") and 300 on the
// English one (1047/34921: "Up to 300 members can be added at a time");
// the stricter 20 is safe under both (10005 above the limit).
const maxAddPerCall = 20
