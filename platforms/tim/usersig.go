package tim

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/tencentyun/tls-sig-api-v2-golang/tencentyun"
)

// redacted replaces secrets in anything Gavel logs or returns.
const redacted = "REDACTED"

// keptSigs is how many previously issued UserSigs redact still recognises,
// so an error built around a just-replaced sig is cleaned too.
const keptSigs = 4

// minRedactLen keeps redact from rewriting ordinary words when a test or
// demo configures a very short secret key.
const minRedactLen = 8

// userSigCache holds the App admin's UserSig and regenerates it before it
// expires (or on demand after TIM answers 70001).
type userSigCache struct {
	appID    int
	key      string
	identity string
	ttl      time.Duration
	now      func() time.Time

	mu        sync.Mutex
	sig       string
	expires   time.Time
	issued    []string // most recent last, at most keptSigs
	generated int
}

// refreshMargin is how long before expiry a sig is replaced: a tenth of its
// validity but at least an hour, and never more than half of it.
func (u *userSigCache) refreshMargin() time.Duration {
	m := max(u.ttl/10, time.Hour)
	return min(m, u.ttl/2)
}

// get returns a UserSig with more than refreshMargin validity left.
func (u *userSigCache) get() (string, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.sig != "" && u.now().Before(u.expires.Add(-u.refreshMargin())) {
		return u.sig, nil
	}
	return u.generateLocked()
}

// renew replaces the cached UserSig unconditionally.
func (u *userSigCache) renew() (string, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.generateLocked()
}

func (u *userSigCache) generateLocked() (string, error) {
	sig, err := tencentyun.GenUserSig(u.appID, u.key, u.identity, int(u.ttl/time.Second))
	if err != nil {
		// The library's errors carry no key material.
		return "", fmt.Errorf("tencentyun.GenUserSig: %w", err)
	}
	u.sig = sig
	u.expires = u.now().Add(u.ttl)
	u.generated++
	u.issued = append(u.issued, sig)
	if len(u.issued) > keptSigs {
		u.issued = u.issued[len(u.issued)-keptSigs:]
	}
	return sig, nil
}

// usersigParam matches the usersig query parameter in any URL-ish text.
var usersigParam = regexp.MustCompile(`(?i)(usersig=)[^&\s"']*`)

// redact removes every UserSig this cache issued recently, and any
// usersig=… query parameter, from s.
func (u *userSigCache) redact(s string) string {
	u.mu.Lock()
	issued := append([]string(nil), u.issued...)
	key := u.key
	u.mu.Unlock()
	for _, sig := range issued {
		s = strings.ReplaceAll(s, sig, redacted)
	}
	if len(key) >= minRedactLen {
		s = strings.ReplaceAll(s, key, redacted)
	}
	return usersigParam.ReplaceAllString(s, "${1}"+redacted)
}
