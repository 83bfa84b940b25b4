package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"gavel/moderation"
)

// Cookie names.
const (
	sessionCookie = "gavel_session"
	// loginCookie carries the sign-in form's CSRF token before there is a
	// session (double submit: cookie and form field must agree).
	loginCookie = "gavel_login"
	langCookie  = "gavel_lang"
)

// request is what an authenticated handler is given.
type request struct {
	user    moderation.ConsoleUser
	session moderation.ConsoleSession
	lang    string
}

// newToken returns 32 random bytes, base64url.
func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// sessionID is what the store keeps of a cookie's token.
func sessionID(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

func (s *Server) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.cfg.secure()}
}

// authed runs h for a signed-in user with a live session; a POST must
// carry the session's CSRF token. Others go to the sign-in page.
func (s *Server) authed(h func(http.ResponseWriter, *http.Request, *request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req, err := s.session(r)
		if err != nil {
			if r.Method != http.MethodGet {
				http.Error(w, "not signed in", http.StatusForbidden)
				return
			}
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		if r.Method != http.MethodGet {
			if !sameToken(r.PostFormValue("csrf"), req.session.CSRF) {
				s.log.Warn("console: request without a valid CSRF token refused", "user", req.user.Name, "path", r.URL.Path)
				http.Error(w, "missing or wrong CSRF token", http.StatusForbidden)
				return
			}
		}
		req.lang = s.language(w, r)
		h(w, r, req)
	}
}

func sameToken(a, b string) bool {
	return a != "" && b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

var errNoSession = errors.New("no session")

// session finds r's live session and its user, ending expired ones.
func (s *Server) session(r *http.Request) (*request, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" || len(c.Value) > 100 {
		return nil, errNoSession
	}
	ctx := r.Context()
	id := sessionID(c.Value)
	sess, err := s.d.Store.ConsoleSession(ctx, id)
	if err != nil {
		if !errors.Is(err, moderation.ErrNotFound) {
			s.log.Error("console: reading session", "err", err)
		}
		return nil, errNoSession
	}
	now := s.now()
	if now.Sub(sess.Seen) > s.cfg.IdleTimeout || now.Sub(sess.Created) > s.cfg.SessionLifetime {
		_ = s.d.Store.DeleteConsoleSession(ctx, id)
		return nil, errNoSession
	}
	user, err := s.d.Store.ConsoleUser(ctx, sess.User)
	if err != nil {
		return nil, errNoSession
	}
	// One write a minute at most, not one per page.
	if now.Sub(sess.Seen) > time.Minute {
		if err := s.d.Store.TouchConsoleSession(ctx, id, now); err != nil {
			s.log.Warn("console: touching session", "err", err)
		}
	}
	return &request{user: user, session: sess}, nil
}

// loginPage shows the sign-in form with a fresh CSRF token.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.renderLogin(w, r, http.StatusOK, "")
}

func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	tok := newToken()
	http.SetCookie(w, s.cookie(loginCookie, tok, 3600))
	lang := s.language(w, r)
	s.render(w, status, "login", lang, map[string]any{"CSRF": tok, "Error": msg})
}

// dummyHash is checked when no such user exists, so that a wrong name
// takes as long as a wrong password.
// It is made at the first sign-in, not at start-up.
var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("not a real password, never matches")
	return h
})

// login checks the form and starts a session.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	lang := s.language(w, r)
	c, err := r.Cookie(loginCookie)
	if err != nil || !sameToken(r.PostFormValue("csrf"), c.Value) {
		s.log.Warn("console: sign-in without a valid CSRF token refused", "addr", clientAddr(r))
		http.Error(w, "missing or wrong CSRF token", http.StatusForbidden)
		return
	}
	name, pw := r.PostFormValue("user"), r.PostFormValue("password")
	keys := []string{"addr:" + clientAddr(r)}
	if ValidName(name) {
		keys = append(keys, "user:"+name)
	}
	if wait := s.limits.wait(keys...); wait > 0 {
		secs := int(wait.Round(time.Second) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
		s.log.Warn("console: sign-in slowed down after failures", "user", name, "addr", clientAddr(r), "wait", wait)
		s.renderLogin(w, r, http.StatusTooManyRequests, tr(lang, "login.slow"))
		return
	}
	user, err := s.d.Store.ConsoleUser(r.Context(), name)
	hash := user.Hash
	if err != nil || !ValidName(name) {
		hash = dummyHash()
	}
	ok, herr := CheckPassword(hash, pw)
	if err != nil || herr != nil || !ok {
		s.limits.fail(keys...)
		s.log.Warn("console: sign-in failed", "user", name, "addr", clientAddr(r))
		s.renderLogin(w, r, http.StatusUnauthorized, tr(lang, "login.bad"))
		return
	}
	s.limits.reset(keys...)
	token := newToken()
	now := s.now()
	sess := moderation.ConsoleSession{ID: sessionID(token), User: name, CSRF: newToken(), Created: now, Seen: now}
	if err := s.d.Store.PutConsoleSession(r.Context(), sess); err != nil {
		s.log.Error("console: storing session", "err", err)
		http.Error(w, "could not start a session", http.StatusServiceUnavailable)
		return
	}
	s.log.Info("console: signed in", "user", name, "addr", clientAddr(r))
	http.SetCookie(w, s.cookie(loginCookie, "", -1))
	http.SetCookie(w, s.cookie(sessionCookie, token, int(s.cfg.SessionLifetime/time.Second)))
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// logout ends the session.
func (s *Server) logout(w http.ResponseWriter, r *http.Request, req *request) {
	if err := s.d.Store.DeleteConsoleSession(r.Context(), req.session.ID); err != nil {
		s.log.Error("console: ending session", "err", err)
	}
	http.SetCookie(w, s.cookie(sessionCookie, "", -1))
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// clientAddr is the peer's IP. X-Forwarded-For is not trusted: a client
// could name any address and so escape the per-address limit.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// language is the user's pick (?lang=, remembered in a cookie) or the
// configured one.
func (s *Server) language(w http.ResponseWriter, r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l == "en" || l == "zh" {
		c := s.cookie(langCookie, l, 365*24*3600)
		http.SetCookie(w, c)
		return l
	}
	if c, err := r.Cookie(langCookie); err == nil && (c.Value == "en" || c.Value == "zh") {
		return c.Value
	}
	if s.d.Language == "zh" {
		return "zh"
	}
	return "en"
}

// loginLimiter slows down guessing: after freeFailures failures of an
// account or an address, each further attempt must wait twice as long
// as the one before (1 s, 2 s, … up to maxWait), and is refused with
// 429 without checking the password until then. It is per replica.
type loginLimiter struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]failures
}

type failures struct {
	n    int
	last time.Time
}

const (
	freeFailures = 3
	maxWait      = 5 * time.Minute
	// forgetAfter clears a key's failures after this long without one.
	forgetAfter = time.Hour
	maxKeys     = 100_000
)

func newLoginLimiter(now func() time.Time) *loginLimiter {
	return &loginLimiter{now: now, m: map[string]failures{}}
}

func delayAfter(n int) time.Duration {
	if n < freeFailures {
		return 0
	}
	d := time.Second << min(n-freeFailures, 9)
	return min(d, maxWait)
}

// wait is how long the keys must still wait; 0 lets the attempt in.
func (l *loginLimiter) wait(keys ...string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var longest time.Duration
	for _, k := range keys {
		f, ok := l.m[k]
		if !ok {
			continue
		}
		if now.Sub(f.last) > forgetAfter {
			delete(l.m, k)
			continue
		}
		longest = max(longest, f.last.Add(delayAfter(f.n)).Sub(now))
	}
	return longest
}

func (l *loginLimiter) fail(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.m) >= maxKeys {
		for k, f := range l.m {
			if now.Sub(f.last) > forgetAfter {
				delete(l.m, k)
			}
		}
	}
	for _, k := range keys {
		f := l.m[k]
		l.m[k] = failures{n: f.n + 1, last: now}
	}
}

func (l *loginLimiter) reset(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		delete(l.m, k)
	}
}

// PurgeSessions deletes expired sessions; the app calls it now and then.
func (s *Server) PurgeSessions(ctx context.Context) error {
	now := s.now()
	_, err := s.d.Store.PurgeConsoleSessions(ctx, now.Add(-s.cfg.IdleTimeout), now.Add(-s.cfg.SessionLifetime))
	return err
}
