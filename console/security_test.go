package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"gavel/moderation"
)

func TestLoginAndCookieFlags(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		base   string
		secure bool
	}{
		{"http", "http://127.0.0.1:8081/", false},
		{"https", "https://gavel.example/", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, Config{Listen: "127.0.0.1:0", BaseURL: tt.base})
			e.addUser("ann", "*")
			_, resp := e.login("ann", testPassword)
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("sign-in: HTTP %d, want 303", resp.StatusCode)
			}
			var sess *http.Cookie
			for _, c := range resp.Cookies() {
				if c.Name == sessionCookie && c.Value != "" {
					sess = c
				}
			}
			if sess == nil {
				t.Fatal("no session cookie set")
			}
			if !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode || sess.Secure != tt.secure || sess.Path != "/" {
				t.Errorf("session cookie HttpOnly=%v SameSite=%v Secure=%v Path=%q; want HttpOnly, Strict, Secure=%v, /",
					sess.HttpOnly, sess.SameSite, sess.Secure, sess.Path, tt.secure)
			}
			if _, err := e.store.ConsoleSession(t.Context(), sess.Value); err == nil {
				t.Error("the store keeps the cookie's token itself, want only its hash")
			}
		})
	}
}

func TestWrongPasswordsAreSlowedDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{Listen: "127.0.0.1:0"})
	e.addUser("ann", "*")
	for i := range freeFailures {
		if _, resp := e.login("ann", "wrong password "+strconv.Itoa(i)); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: HTTP %d, want 401", i+1, resp.StatusCode)
		}
	}
	// Now even the right password waits: the guesser learns nothing.
	_, resp := e.login("ann", testPassword)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("after %d failures: HTTP %d Retry-After %q, want 429 with Retry-After", freeFailures, resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	e.addUser("bob", "*")
	if _, resp := e.login("bob", testPassword); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("another account from the same address: HTTP %d, want 429 (per-address limit)", resp.StatusCode)
	}
	e.advance(delayAfter(freeFailures) + time.Second)
	if _, resp := e.login("ann", "wrong again"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("after the wait: HTTP %d, want 401", resp.StatusCode)
	}
	_, resp = e.login("ann", testPassword)
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a further failure doubles the wait: HTTP %d, want 429", resp.StatusCode)
	}
	e.advance(delayAfter(freeFailures+1) + time.Second)
	if _, resp := e.login("ann", testPassword); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the right password after the wait: HTTP %d, want 303", resp.StatusCode)
	}
}

func TestStateChangesNeedCSRF(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{Listen: "127.0.0.1:0"})
	e.addUser("ann", "*")
	// Sign-in itself: no token, a wrong one.
	c := e.client()
	for _, tok := range []string{"", "forged"} {
		if resp := e.post(c, "/login", url.Values{"csrf": {tok}, "user": {"ann"}, "password": {testPassword}}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("sign-in with csrf %q: HTTP %d, want 403", tok, resp.StatusCode)
		}
	}
	c, _ = e.login("ann", testPassword)
	lift := url.Values{"verb": {"unmute"}, "platform": {"tim"}, "chat": {"g1"}, "user": {"u1"}}
	for _, tok := range []string{"", "forged"} {
		form := url.Values{}
		for k, v := range lift {
			form[k] = v
		}
		if tok != "" {
			form.Set("csrf", tok)
		}
		if resp := e.post(c, "/sanctions/lift", form); resp.StatusCode != http.StatusForbidden {
			t.Errorf("lift with csrf %q: HTTP %d, want 403", tok, resp.StatusCode)
		}
		if resp := e.post(c, "/logout", form); resp.StatusCode != http.StatusForbidden {
			t.Errorf("logout with csrf %q: HTTP %d, want 403", tok, resp.StatusCode)
		}
	}
	if n := len(e.jobs.all()); n != 0 {
		t.Fatalf("%d jobs submitted by refused requests", n)
	}
	lift.Set("csrf", e.csrfOf(c, "/sanctions"))
	if resp := e.post(c, "/sanctions/lift", lift); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("lift with the token: HTTP %d, want 303", resp.StatusCode)
	}
	evs := e.jobs.all()
	if len(evs) != 1 || evs[0].Kind != moderation.EventAction || evs[0].Action.Actor != "console:ann" ||
		evs[0].Action.Verb != moderation.VerbUnmute || evs[0].Action.Chat.ID != "g1" || len(evs[0].Action.Targets) != 1 {
		t.Fatalf("submitted %+v, want one unmute action by console:ann", evs)
	}
}

func TestGrantsAlsoByURL(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{Listen: "127.0.0.1:0"})
	e.addUser("ann", "tim:g1")
	mine := e.addCase(moderation.Case{DeliveryID: "d1", Platform: "tim", ChatID: "g1", Actor: "boss", Verb: moderation.VerbMute, Targets: []string{"u1"}})
	theirs := e.addCase(moderation.Case{DeliveryID: "d2", Platform: "tim", ChatID: "g2", Actor: "boss", Verb: moderation.VerbKick, Targets: []string{"secret-user"}})
	c, _ := e.login("ann", testPassword)
	if _, resp := e.get(c, "/cases/"+strconv.FormatInt(mine, 10)); resp.StatusCode != http.StatusOK {
		t.Errorf("own chat's case: HTTP %d, want 200", resp.StatusCode)
	}
	for _, path := range []string{"/cases/" + strconv.FormatInt(theirs, 10), "/cases/999", "/chats/tim/g2"} {
		if _, resp := e.get(c, path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: HTTP %d, want 404", path, resp.StatusCode)
		}
	}
	for _, path := range []string{"/cases", "/cases?chat=g2", "/chats", "/"} {
		if body, _ := e.get(c, path); strings.Contains(body, "secret-user") || strings.Contains(body, "tim:g2") {
			t.Errorf("%s shows the other chat", path)
		}
	}
	// A lift in a chat not granted: not found, nothing submitted.
	form := url.Values{"csrf": {e.csrfOf(c, "/sanctions")}, "verb": {"unmute"}, "platform": {"tim"}, "chat": {"g2"}, "user": {"u1"}}
	if resp := e.post(c, "/sanctions/lift", form); resp.StatusCode != http.StatusNotFound {
		t.Errorf("lift in another chat: HTTP %d, want 404", resp.StatusCode)
	}
	if n := len(e.jobs.all()); n != 0 {
		t.Errorf("%d jobs submitted for a chat not granted", n)
	}
}

func TestSessionExpiryAndLogout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{Listen: "127.0.0.1:0", IdleTimeout: 10 * time.Minute, SessionLifetime: time.Hour})
	e.addUser("ann", "*")
	c, _ := e.login("ann", testPassword)
	// Used every 9 minutes: alive until the absolute limit.
	for range 6 {
		e.advance(9 * time.Minute)
		if _, resp := e.get(c, "/cases"); resp.StatusCode != http.StatusOK {
			t.Fatalf("a session in use: HTTP %d, want 200", resp.StatusCode)
		}
	}
	e.advance(7 * time.Minute)
	if _, resp := e.get(c, "/cases"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("past the absolute lifetime: HTTP %d, want a redirect to sign in", resp.StatusCode)
	}
	c, _ = e.login("ann", testPassword)
	e.advance(11 * time.Minute)
	if _, resp := e.get(c, "/"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("idle past the timeout: HTTP %d, want a redirect", resp.StatusCode)
	}
	c, _ = e.login("ann", testPassword)
	if resp := e.post(c, "/logout", url.Values{"csrf": {e.csrfOf(c, "/")}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: HTTP %d", resp.StatusCode)
	}
	if _, resp := e.get(c, "/"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after logout: HTTP %d, want a redirect", resp.StatusCode)
	}
}
