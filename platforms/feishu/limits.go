package feishu

import "gavel/moderation"

// replyLimit bounds a reply's text in bytes. Feishu takes a text message
// request body of at most 150 KB (im/v1/messages). The text travels as a
// JSON string inside the JSON string `content`, so escaping can multiply
// its size several times over (a quote becomes \\\", < becomes \\u003c);
// 20,000 bytes stays under 150 KB even if every byte were escaped that way.
const replyLimit = 20_000

// emulatedBatch is how many users one Mute, Unmute or Unban takes. Feishu
// mutes and unbans are emulated (recorded by Gavel; Mute checks once that
// the bot may recall, Unban calls nothing), so there is no platform limit;
// the batch only sets how often a job records its results.
const emulatedBatch = 50

// Limits implements moderation.Platform.
func (c *Client) Limits() moderation.Limits {
	return moderation.Limits{
		Batch: map[moderation.Verb]int{
			moderation.VerbAdd: maxAddPerCall,
			// Ban is emulated by a removal: the same call, the same limit.
			moderation.VerbBan: MaxRemoveBatch,
			// Unban calls nothing (Feishu keeps no ban list).
			moderation.VerbUnban:  emulatedBatch,
			moderation.VerbPurge:  MaxRecallBatch,
			moderation.VerbKick:   MaxRemoveBatch,
			moderation.VerbMute:   emulatedBatch,
			moderation.VerbUnmute: emulatedBatch,
		},
		Reply: replyLimit,
	}
}

// maxAddPerCall is how many users one add call takes (POST /open-apis/im/v1/chats/:chat_id/members: id_list ≤ 50 users).
const maxAddPerCall = 50
