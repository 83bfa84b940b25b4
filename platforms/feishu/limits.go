package feishu

// replyLimit bounds a reply's text in bytes. Feishu takes a text message
// request body of at most 150 KB (im/v1/messages). The text travels as a
// JSON string inside the JSON string `content`, so escaping can multiply
// its size several times over (a quote becomes \\\", < becomes \\u003c);
// 20,000 bytes stays under 150 KB even if every byte were escaped that way.
const replyLimit = 20_000

// ReplyLimit implements moderation.Platform.
func (c *Client) ReplyLimit() int { return replyLimit }
