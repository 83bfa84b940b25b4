package tim

// replyLimit bounds a reply's text in bytes. TIM's documentation gives a
// message body limit of 12 KB on send_group_msg and 8 KB in its error
// table (80002); the stricter one, less the MsgBody wrapping and the
// escaping of the text, leaves about 6,000 bytes.
const replyLimit = 6000

// ReplyLimit implements moderation.Platform.
func (c *Client) ReplyLimit() int { return replyLimit }
