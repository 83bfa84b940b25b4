package console

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"gavel/moderation"
	"gavel/store/sqlite"
)

// jobsSpy is the job runner: it keeps what the console submitted.
type jobsSpy struct {
	mu     sync.Mutex
	events []moderation.Event
}

func (j *jobsSpy) Submit(_ context.Context, ev moderation.Event) (bool, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.events = append(j.events, ev)
	return true, nil
}

func (j *jobsSpy) all() []moderation.Event {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]moderation.Event(nil), j.events...)
}

// env is a console over a temporary SQLite store.
type env struct {
	t     *testing.T
	store *sqlite.Store
	jobs  *jobsSpy
	srv   *Server
	http  *httptest.Server
	now   time.Time
	mu    sync.Mutex
}

const testPassword = "correct horse battery"

func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "gavel.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, store: st, jobs: &jobsSpy{}, now: time.Now()}
	e.srv, err = New(cfg, Deps{Store: st, Jobs: e.jobs, Now: e.clock, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	e.http = httptest.NewServer(e.srv)
	t.Cleanup(e.http.Close)
	return e
}

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	e.now = e.now.Add(d)
	e.mu.Unlock()
}

func (e *env) addUser(name string, grants ...string) {
	e.t.Helper()
	hash, err := HashPassword(testPassword)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.PutConsoleUser(e.t.Context(), moderation.ConsoleUser{Name: name, Hash: hash, Grants: grants, CreatedAt: e.clock()}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) addCase(c moderation.Case) int64 {
	e.t.Helper()
	if c.Outcome == "" {
		c.Outcome = moderation.OutcomeDone
	}
	if c.At.IsZero() {
		c.At = e.clock()
	}
	if err := e.store.AddCase(e.t.Context(), &c); err != nil {
		e.t.Fatal(err)
	}
	return c.ID
}

// client is a browser-like client with its own cookie jar that does not
// follow redirects.
func (e *env) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrfOf fetches path and returns the CSRF token of its first form.
func (e *env) csrfOf(c *http.Client, path string) string {
	e.t.Helper()
	body, _ := e.get(c, path)
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		e.t.Fatalf("no csrf field on %s:\n%s", path, body)
	}
	return m[1]
}

func (e *env) get(c *http.Client, path string) (string, *http.Response) {
	e.t.Helper()
	resp, err := c.Get(e.http.URL + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String(), resp
}

func (e *env) post(c *http.Client, path string, form url.Values) *http.Response {
	e.t.Helper()
	resp, err := c.PostForm(e.http.URL+path, form)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// login signs in as name and returns the client holding the session.
func (e *env) login(name, password string) (*http.Client, *http.Response) {
	e.t.Helper()
	c := e.client()
	tok := e.csrfOf(c, "/login")
	return c, e.post(c, "/login", url.Values{"csrf": {tok}, "user": {name}, "password": {password}})
}
