package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"time"

	"gavel/automod"
	"gavel/moderation"
	"gavel/policy"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Submitter stores an event as a durable job: the app's jobs.Runner.
type Submitter interface {
	Submit(ctx context.Context, ev moderation.Event) (stored bool, err error)
}

// Check is one health check on the overview: nil Err is healthy.
type Check struct {
	Name string
	Err  error
}

// Deps are what the console reads and acts through.
type Deps struct {
	Store moderation.Store
	// Jobs takes the lifts the console asks for.
	Jobs      Submitter
	Platforms []moderation.Platform
	// Policy and Automod are the configured blocks, shown per chat after
	// its overrides.
	Policy  policy.Config
	Automod automod.Config
	// Language is config.yaml's language: the default for users who
	// have not picked one.
	Language string
	// Health runs the overview's checks (platform credentials, store,
	// Redis).
	Health func(ctx context.Context) []Check
	Logger *slog.Logger
	Now    func() time.Time
}

// Server is the console's HTTP handler.
type Server struct {
	cfg    Config
	d      Deps
	log    *slog.Logger
	now    func() time.Time
	pages  map[string]*template.Template
	mux    *http.ServeMux
	limits *loginLimiter
}

// New builds the console.
func New(cfg Config, d Deps) (*Server, error) {
	cfg = cfg.WithDefaults()
	if d.Store == nil || d.Jobs == nil {
		return nil, errors.New("console: a store and a job runner are needed")
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Health == nil {
		d.Health = func(context.Context) []Check { return nil }
	}
	s := &Server{cfg: cfg, d: d, log: d.Logger.With("component", "console"), now: d.Now, limits: newLoginLimiter(d.Now)}
	var err error
	if s.pages, err = parsePages(); err != nil {
		return nil, err
	}
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	m := http.NewServeMux()
	m.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	m.HandleFunc("GET /login", s.loginPage)
	m.HandleFunc("POST /login", s.login)
	m.HandleFunc("POST /logout", s.authed(s.logout))
	m.HandleFunc("GET /{$}", s.authed(s.overview))
	m.HandleFunc("GET /cases", s.authed(s.cases))
	m.HandleFunc("GET /cases/{id}", s.authed(s.casePage))
	m.HandleFunc("GET /sanctions", s.authed(s.sanctions))
	m.HandleFunc("POST /sanctions/lift", s.authed(s.lift))
	m.HandleFunc("GET /chats", s.authed(s.chats))
	m.HandleFunc("GET /chats/{platform}/{chat}", s.authed(s.chatPage))
	s.mux = m
	return s, nil
}

// maxForm bounds a form body.
const maxForm = 16 << 10

// ServeHTTP serves the console with the headers every page carries.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	s.mux.ServeHTTP(w, r)
}

// Serve listens on cfg.Listen until ctx ends.
func (s *Server) Serve(ctx context.Context) (stop func(), err error) {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("console: listening on %s: %w", s.cfg.Listen, err)
	}
	return s.ServeListener(ctx, ln), nil
}

// ServeListener serves on ln until ctx ends or stop is called.
func (s *Server) ServeListener(ctx context.Context, ln net.Listener) (stop func()) {
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("console stopped", "err", err)
		}
	}()
	s.log.Info("console serving", "addr", ln.Addr().String(), "base_url", s.cfg.BaseURL)
	go func() {
		select {
		case <-ctx.Done():
		case <-done:
			return
		}
		_ = srv.Close()
	}()
	return func() {
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
		<-done
	}
}

// BaseURL is where the console is reached.
func (s *Server) BaseURL() string { return s.cfg.BaseURL }
