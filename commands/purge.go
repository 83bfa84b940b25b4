package commands

import (
	"fmt"
	"strconv"
	"strings"

	"gavel/moderation"
)

// parsePurge reads what follows /purge's targets: "/purge N" recalls the
// chat's last N messages; "/purge @a [N]" the recent messages of @a (N
// defaults to commands.purge_user_count); a bare "/purge" replying to a
// message is the second form for the replied-to sender. The rest is the
// reason.
func (p *Parser) parsePurge(cmd moderation.Command, rest []string, reply *moderation.MessageRef) (moderation.Command, error) {
	n, rest, err := p.count(rest)
	if err != nil {
		return moderation.Command{}, err
	}
	switch {
	case n > 0:
		cmd.Count = n
	case len(cmd.Targets) > 0:
		cmd.Count = p.purgeUser
	case reply != nil:
		id, err := p.replyTarget(reply)
		if err != nil {
			return moderation.Command{}, err
		}
		cmd.Targets = append(cmd.Targets, id)
		cmd.Count = p.purgeUser
	default:
		return moderation.Command{}, fmt.Errorf("%w: missing (/purge N, at most %d)", ErrBadCount, p.maxPurge)
	}
	cmd.Reason = strings.Join(rest, " ")
	return cmd, nil
}

// count reads a message count from the first of toks when it looks like
// a number: a positive whole number up to the maximum (full-width digits
// read as ASCII). It returns 0 and toks unchanged when the first token is
// no number (the reason starts there).
func (p *Parser) count(toks []string) (int, []string, error) {
	if len(toks) == 0 || !looksLikeNumber(toks[0]) {
		return 0, toks, nil
	}
	tok := toks[0]
	n, err := strconv.Atoi(strings.Map(halfWidthDigit, tok))
	switch {
	case err != nil && !isDigits(tok), err == nil && n <= 0:
		return 0, nil, fmt.Errorf("%w: %q is not a positive whole number", ErrBadCount, truncate(tok, 32))
	case err != nil || n > p.maxPurge: // all digits and too large for an int, or over the maximum
		return 0, nil, &PurgeTooManyError{Asked: n, Max: p.maxPurge}
	}
	return n, toks[1:], nil
}

// looksLikeNumber reports whether tok was meant as a count: a digit,
// or a sign and a digit ("-5" is a bad count, not a reason).
func looksLikeNumber(tok string) bool {
	tok = strings.TrimLeft(tok, "+-")
	return looksLikeDuration(tok)
}

// isDigits reports whether tok is made of digits only (ASCII or
// full-width).
func isDigits(tok string) bool {
	for _, r := range tok {
		if halfWidthDigit(r) < '0' || halfWidthDigit(r) > '9' {
			return false
		}
	}
	return tok != ""
}

// halfWidthDigit maps full-width digits (０-９) to ASCII.
func halfWidthDigit(r rune) rune {
	if r >= '０' && r <= '９' {
		return '0' + (r - '０')
	}
	return r
}
