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

// Limits of the Poster half (posts.go, cards.go), from the Open Platform
// documents (revisions read 2026-12; the SDK v3.12.0 model comments agree).
//
// Not constants here because nothing in the adapter counts them; Feishu's
// answer says when one is passed, and errors.go maps it:
//   - a card can be patched for 14 days after it was sent: "仅支持更新 14
//     天内发送的消息" (message/patch page); later, 230031 "Message can only
//     be modified within 14 days after sending".
//   - one message takes at most 5 PATCHes a second: "单条消息更新频控为
//     5 QPS" (message/patch page); beyond it, 230020 (RateLimited: egress
//     retries after a back-off). The API as a whole is tier 4 (50/s,
//     Config.Rate).
//   - only a shared card can be patched: config.update_multi must be true
//     both before and after (message/patch page); renderCard always sets
//     it. A message that is not a card: 230054 (its content cannot be
//     patched); a recalled one: 230011; bad card JSON: 230099.
//   - a card callback must be answered within 3 s ("需要在 3 秒内响应回调
//     请求", card-callback-communication page), with "{}" or a toast; the
//     card is then updated later through PATCH (the "delayed update" API
//     with the callback's token is not used: its token lives 30 minutes
//     and serves two updates, where a job may run later than that).
const (
	// maxAddPerCall is how many users one add call takes. POST
	// /open-apis/im/v1/chats/:chat_id/members: "每次请求最多拉 50 个用户"
	// (at most 50 users, or 5 bots, a request), chat-members/create page
	// and the SDK's CreateChatMembersReqBody.IdList comment.
	maxAddPerCall = 50

	// maxCardBody bounds the request body of a card send or PATCH:
	// "卡片及富文本消息请求体最大不能超过30KB" (card and rich-text request
	// bodies at most 30 KB; message/create and message/patch pages, error
	// 230025). The unit is not defined: the smaller reading, 30,000 bytes,
	// as replyLimit reads "150 KB".
	maxCardBody = 30_000

	// maxButtonTargets is how many user ids a button's value carries.
	// Beyond it the value names none (the case's targets then apply, by
	// case id) and the card says how many there are: a 30 KB card holds
	// three buttons of 50 open_ids (~37 bytes each, escaped twice) with
	// room to spare, not of 500.
	maxButtonTargets = maxAddPerCall
)
