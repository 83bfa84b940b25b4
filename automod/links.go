package automod

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Link detection. A link is
//   - an http:// or https:// URL (any case); its host is the domain, or
//   - a bare domain of ASCII labels ending in an alphabetic top-level label
//     of two or more letters that either starts with "www.", is followed by
//     a path ("bad.example/x"), or ends in a common top-level domain
//     ("spam.xyz"). This leaves "e.g.", "v1.2", "3.14", "main.go" and
//     "config.yaml" alone. A domain right after '@' is an e-mail address,
//     not a link.

// commonTLDs are top-level domains recognised without "www." or a path.
// File-extension look-alikes (md, py, rs, sh, pl, so, ps, ml) are left
// out on purpose.
var commonTLDs = func() map[string]bool {
	m := map[string]bool{}
	for _, t := range strings.Fields(`
		com net org info biz io co me ai app dev xyz top site online club shop store
		vip live link click win bid loan icu cyou buzz fun pro one mobi name asia tel
		xxx porn sex cam bet casino game games money work tech space website world today
		news life email cloud host press fit wang ren ltd gov edu int
		tk ga cf gq pw su ws to ly gg tv cc ru cn uk de jp kr fr br us eu hk tw sg in nl
		it es au ca ch se no fi be at cz ua ir vn id th my ph pk tr mx ar cl za nz ie pt
		gr ro hu dk il sa ae ng ke`) {
		m[t] = true
	}
	return m
}()

// firstLink returns the first link domain in s (lower case) that is not
// allowed: neither in allow nor a subdomain of an entry.
func firstLink(s string, allow []string) (string, bool) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ':':
			if !strings.HasPrefix(s[i:], "://") || schemeBefore(s, i) == 0 {
				continue
			}
			host, end := urlHost(s, i+3)
			if host != "" && !domainAllowed(allow, host) {
				return host, true
			}
			i = end - 1
		case '.':
			host, end, ok := bareDomain(s, i)
			if ok && !domainAllowed(allow, host) {
				return host, true
			}
			// Later dots of the same run give no new candidate; skipping
			// them keeps the scan linear.
			i = max(i, end-1)
		}
	}
	return "", false
}

// schemeBefore returns the length of "https" or "http" (any case) ending at
// s[at], where s[at:] starts "://", unless it is glued to a preceding ASCII
// letter or digit; 0 otherwise.
func schemeBefore(s string, at int) int {
	for _, n := range [...]int{5, 4} {
		if at < n || !strings.EqualFold(s[at-n:at], "https"[:n]) {
			continue
		}
		if at-n > 0 && isASCIIAlnum(s[at-n-1]) {
			return 0
		}
		return n
	}
	return 0
}

// urlHost returns the lower-cased host of the URL authority starting at
// s[start] and where the link ends.
func urlHost(s string, start int) (string, int) {
	end := start
	for end < len(s) {
		c := s[end]
		if c < utf8.RuneSelf {
			if isASCIIAlnum(c) || strings.IndexByte("-._~%@:[]!$&'()*+,;=", c) >= 0 {
				end++
				continue
			}
			break
		}
		r, size := utf8.DecodeRuneInString(s[end:])
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)) {
			break
		}
		end += size
	}
	auth := s[start:end]
	if at := strings.LastIndexByte(auth, '@'); at >= 0 {
		auth = auth[at+1:]
	}
	// Trailing punctuation of the sentence, not of the host.
	auth = strings.TrimRight(auth, ".,;:!'()*")
	if strings.HasPrefix(auth, "[") { // IPv6 literal
		if i := strings.IndexByte(auth, ']'); i > 0 {
			auth = auth[:i+1]
		}
	} else if i := strings.IndexAny(auth, ":!$&'()*+,;="); i >= 0 {
		auth = auth[:i]
	}
	auth = strings.TrimRight(auth, ".")
	return strings.ToLower(auth), end
}

// bareDomain tries to read a domain around the dot at s[dot].
func bareDomain(s string, dot int) (host string, end int, ok bool) {
	start := dot
	for start > 0 && isHostByte(s[start-1]) {
		start--
	}
	end = dot
	for end < len(s) && (isHostByte(s[end]) || s[end] == '.') {
		end++
	}
	cand := s[start:end]
	trimmed := strings.TrimRight(cand, ".")
	if start > 0 {
		switch p := s[start-1]; {
		case p == '@', p == '.', p == '/', p == ':', p == '_', p == '\\':
			return "", end, false
		case p >= utf8.RuneSelf:
			// A domain glued to a non-ASCII letter of a spaced script is part
			// of that word; glued to CJK it is a link.
			if r, _ := utf8.DecodeLastRuneInString(s[:start]); needsBoundary(r) {
				return "", end, false
			}
		}
	}
	if !strings.Contains(trimmed, ".") {
		return "", end, false
	}
	tld := ""
	for rest := trimmed; rest != ""; {
		l, r, _ := strings.Cut(rest, ".")
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return "", end, false
		}
		tld, rest = l, r
	}
	if len(tld) < 2 {
		return "", end, false
	}
	for i := 0; i < len(tld); i++ {
		if c := tld[i] | 0x20; c < 'a' || c > 'z' {
			return "", end, false
		}
	}
	tld = strings.ToLower(tld)
	host = strings.ToLower(trimmed)
	path := end < len(s) && s[end] == '/' && len(trimmed) == len(cand)
	if !(strings.HasPrefix(host, "www.") || path || commonTLDs[tld]) {
		return "", end, false
	}
	return host, end, true
}

func isASCIIAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func isHostByte(c byte) bool { return isASCIIAlnum(c) || c == '-' }

// normalizeAllowed turns an allow-list entry ("example.com",
// "*.example.com", ".Example.com") into its matching form.
func normalizeAllowed(d string) (string, bool) {
	d = strings.ToLower(strings.TrimSpace(d))
	d = strings.TrimPrefix(d, "*.")
	d = strings.TrimPrefix(d, ".")
	d = strings.TrimSuffix(d, ".")
	if d == "" {
		return "", false
	}
	for _, l := range strings.Split(d, ".") {
		if l == "" || l[0] == '-' || l[len(l)-1] == '-' {
			return "", false
		}
		for i := 0; i < len(l); i++ {
			if !isHostByte(l[i]) {
				return "", false
			}
		}
	}
	return d, true
}

// domainAllowed reports whether host is one of allow or a subdomain of one.
func domainAllowed(allow []string, host string) bool {
	for _, a := range allow {
		if host == a || len(host) > len(a) && host[len(host)-len(a)-1] == '.' && strings.HasSuffix(host, a) {
			return true
		}
	}
	return false
}
