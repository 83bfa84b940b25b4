// Package app wires Gavel together from a config.Config: platform
// adapters, command parser, policy, pipeline, queue and HTTP routes. main
// uses it for `serve`, the demo and the end-to-end tests use it too.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"gavel/automod"
	"gavel/cluster"
	"gavel/commands"
	"gavel/config"
	"gavel/console"
	"gavel/handlers"
	"gavel/jobs"
	"gavel/metrics"
	"gavel/moderation"
	"gavel/pipeline"
	"gavel/platforms/easemob"
	"gavel/platforms/egress"
	"gavel/platforms/feishu"
	"gavel/platforms/tim"
	"gavel/policy"
	"gavel/store"
)

// Options carry what the environment supplies.
type Options struct {
	Logger     *slog.Logger
	Now        func() time.Time
	HTTPClient *http.Client
	// Auditor receives every case instead of the store (nil: cases are
	// stored and logged).
	Auditor pipeline.Auditor
	// WrapStore, when set, wraps the opened store (tests inject faults).
	WrapStore func(moderation.Store) moderation.Store
}

// App is a wired Gavel instance. Close releases its store.
type App struct {
	cfg    config.Config
	log    *slog.Logger
	now    func() time.Time
	Router http.Handler
	// Admin serves /readyz and /metrics when server.admin_listen is set.
	Admin    http.Handler
	Store    moderation.Store
	Jobs     *jobs.Runner
	Pipeline *pipeline.Pipeline
	Metrics  *metrics.Metrics
	// Cluster is the shared Redis; nil for a single replica.
	Cluster   *cluster.Cluster
	Platforms []moderation.Platform
	// Console is the web console; nil unless console.listen is set.
	Console *console.Server
	// Figures records webhook counts and queue depth for the console.
	Figures *console.Recorder

	stopMu    sync.Mutex
	stopMaint context.CancelFunc

	// intake is the one path from events to the queue: the webhook
	// routes' and the long connection's.
	intake *handlers.Intake
	// longConn is the Feishu adapter when it receives over the long
	// connection (mode: websocket); App.Start holds the connection.
	longConn *feishu.Client
}

// New builds an App from cfg and opens its store.
func New(ctx context.Context, cfg config.Config, o Options) (_ *App, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithCanonicalIDs() // user ids compared as each platform spells them
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if cfg.Server.DedupTTL == 0 {
		// Outlasts Feishu's retry schedule (7h05m): see feishu.Config.DedupTTL.
		cfg.Server.DedupTTL = store.DefaultDedupTTL
	}
	a := &App{cfg: cfg, log: o.Logger, now: o.Now}
	storeCfg := cfg.Storage
	storeCfg.DedupTTL = cfg.Server.WithDefaults().DedupTTL
	a.Store, err = store.Open(ctx, storeCfg)
	if err != nil {
		return nil, fmt.Errorf("opening store: %w", err)
	}
	if o.WrapStore != nil {
		a.Store = o.WrapStore(a.Store)
	}
	defer func() {
		if err != nil {
			a.Store.Close()
		}
	}()
	a.Metrics = metrics.New(a.Store)
	eg := egress.Shared{Observer: a.Metrics}
	var dedup handlers.Deduper
	if cfg.Redis.Enabled() {
		a.Cluster, err = cluster.Open(ctx, cfg.Redis)
		if err != nil {
			return nil, err
		}
		defer func() {
			if err != nil {
				a.Cluster.Close()
			}
		}()
		eg.NewLimiter = a.Cluster.NewLimiter
		dedup = a.Cluster.Dedup(cfg.Server.WithDefaults().DedupTTL)
	}

	var rules *automod.Engine
	if cfg.Automod.Enabled {
		var opts []automod.Option
		if a.Cluster != nil {
			// Flood and raid windows shared by every replica; counted
			// locally while Redis is unreachable.
			local := automod.NewMemoryWindows(time.Hour, time.Hour, o.Now)
			opts = append(opts, automod.WithWindows(a.Cluster.Windows(local)))
		}
		rules, err = automod.New(cfg.Automod, o.Now, opts...)
		if err != nil {
			return nil, err
		}
	}

	// Bans and locks: the pipeline keeps them, TIM asks who may join.
	sanctions := pipeline.NewSanctionIndex(o.Now)
	var recent pipeline.RecentIndex // nil: this process's memory
	if a.Cluster != nil {
		rc := cfg.Moderation.Recent.WithDefaults()
		recent = a.Cluster.Recent(rc.PerChat, rc.MaxAge)
	}
	var plats []moderation.Platform
	if c := cfg.Platforms.Feishu; c != nil {
		fc := *c
		fc.DedupTTL = cfg.Server.DedupTTL
		p, err := feishu.New(fc, feishu.Options{Logger: o.Logger, HTTPClient: o.HTTPClient, Now: o.Now, Egress: eg, LongConn: a.Metrics})
		if err != nil {
			return nil, fmt.Errorf("feishu: %w", err)
		}
		plats = append(plats, p)
		if fc.WebSocket() {
			a.longConn = p
		}
	}
	if c := cfg.Platforms.TIM; c != nil {
		p, err := tim.New(*c, tim.Options{Logger: o.Logger, HTTPClient: o.HTTPClient, Now: o.Now, Egress: eg, Gate: pipeline.NewGate(rules, sanctions),
			JoinGate: sanctions, CommandPrefixes: commands.New(cfg.Commands).Prefixes()})
		if err != nil {
			return nil, fmt.Errorf("tim: %w", err)
		}
		plats = append(plats, p)
	}
	if c := cfg.Platforms.Easemob; c != nil {
		var ledger easemob.CallLedger // nil: this process's memory
		if a.Cluster != nil {
			// Every replica must know every verified callId (#14.3).
			ledger = &easemob.SharedLedger{Claimer: a.Cluster, Local: easemob.NewMemoryLedger(0, o.Now), Log: o.Logger}
		}
		p, err := easemob.New(*c, easemob.Options{Logger: o.Logger, HTTPClient: o.HTTPClient, Now: o.Now, Egress: eg, Gate: pipeline.NewGate(rules, sanctions), Ledger: ledger})
		if err != nil {
			return nil, fmt.Errorf("easemob: %w", err)
		}
		plats = append(plats, p)
	}
	var polOpts []policy.Option
	var roleCache pipeline.RoleCache
	if a.Cluster != nil {
		polOpts = append(polOpts, policy.WithCommandLimiter(a.Cluster))
		ttl := cfg.Moderation.RoleCacheTTL
		if ttl == 0 {
			ttl = time.Minute
		}
		roleCache = a.Cluster.Roles(ttl)
	}
	pol, err := policy.New(cfg.Policy, o.Now, polOpts...)
	if err != nil {
		return nil, err
	}
	// Each platform receives at /webhook/<name>, its hooks (Easemob's
	// pre-send) at /webhook/<name>/<hook>; Feishu in websocket mode over
	// the long connection instead.
	var receivers []moderation.Receiver
	for _, p := range plats {
		if a.longConn != nil && p == moderation.Platform(a.longConn) {
			continue
		}
		receivers = append(receivers, p)
	}
	a.Platforms = plats
	var postLimiter pipeline.PostLimiter // the mod-log's budget, shared when Redis is
	if a.Cluster != nil {
		postLimiter = a.Cluster
	}
	a.Pipeline, err = pipeline.New(cfg.Moderation, pipeline.Deps{
		Platforms:   a.Platforms,
		Parser:      commands.New(cfg.Commands),
		Policy:      pol,
		Language:    cfg.Language,
		ModLog:      cfg.ModLog,
		PostLimiter: postLimiter,
		Store:       a.Store,
		Audit:       o.Auditor,
		Observer:    a.Metrics,
		Automod:     rules,
		Roles:       roleCache,
		Recent:      recent,
		Sanctions:   sanctions,
		Logger:      o.Logger,
		Now:         o.Now,
	})
	if err != nil {
		return nil, err
	}
	if err = a.Pipeline.RefreshMutes(ctx); err != nil {
		return nil, err
	}
	if err = a.Pipeline.RefreshSanctions(ctx); err != nil {
		return nil, err
	}
	a.Jobs = a.Pipeline.NewJobs()
	if dedup == nil {
		dedup = handlers.NewLocalDedup(cfg.Server.WithDefaults().DedupTTL)
	}
	a.intake = handlers.NewIntake(a.Jobs, dedup, o.Logger)
	deps := handlers.Deps{
		Receivers: receivers,
		Queue:     a.Jobs,
		Dedup:     dedup,
		Intake:    a.intake,
		Ready:     a.ready,
		Metrics:   a.Metrics.Handler(),
		Observer:  a.Metrics,
		Logger:    o.Logger,
		Now:       o.Now,
	}
	if cfg.Console.Enabled() {
		a.Figures = console.NewRecorder(a.Store, o.Now, o.Logger)
		deps.Observer = observers{a.Metrics, a.Figures}
		a.Console, err = console.New(cfg.Console, console.Deps{
			Store: a.Store, Jobs: a.Jobs, Platforms: a.Platforms, Policy: cfg.Policy, Automod: cfg.Automod,
			Language: cfg.Language, Health: a.health, Logger: o.Logger, Now: o.Now,
		})
		if err != nil {
			return nil, err
		}
	}
	a.Router = handlers.New(cfg.Server, deps)
	if cfg.Server.AdminListen != "" {
		a.Admin = handlers.NewAdmin(cfg.Server, deps)
	}
	return a, nil
}

// ready reports whether Gavel can work: the store answers and no
// platform's last answer refused Gavel's credentials.
func (a *App) ready(ctx context.Context) error {
	if err := a.Store.Ping(ctx); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if a.Cluster != nil {
		if err := a.Cluster.Ping(ctx); err != nil {
			return fmt.Errorf("redis: %w", err)
		}
	}
	if a.longConn != nil {
		if err := a.longConn.LongConnReady(); err != nil {
			return err
		}
	}
	return a.Metrics.CredentialsOK()
}

// Close releases the store and Redis.
func (a *App) Close() error {
	if a.Cluster != nil {
		a.Cluster.Close()
	}
	return a.Store.Close()
}

// Start runs the job workers, the maintenance loop and, for Feishu in
// websocket mode, the long connection until ctx ends or stop is called;
// stop closes the long connection first (events it had not acknowledged
// are re-sent by Feishu), makes the workers finish the job each holds and
// returns once everything has stopped.
func (a *App) Start(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); a.Jobs.Run(ctx) }()
	go func() { defer wg.Done(); a.maintain(ctx) }()
	stopConn := func() {}
	if a.longConn != nil {
		connCtx, cancelConn := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := a.longConn.Connect(connCtx, a.acceptLongConn); err != nil {
				a.log.Error("feishu long connection", "err", err)
			}
		}()
		stopConn = func() { cancelConn(); <-done }
	}
	// The console's minute loop has no work to finish: it stops once the
	// workers have (its last flush then counts everything), not at the
	// shutdown timeout.
	stopFigures := func() {}
	if a.Figures != nil {
		figCtx, cancelFigures := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); a.runConsole(figCtx) }()
		stopFigures = func() { cancelFigures(); <-done }
	}
	return func() {
		stopConn()
		a.Jobs.Stop()
		cancelLater := time.AfterFunc(a.cfg.Server.WithDefaults().ShutdownTimeout, cancel)
		defer cancelLater.Stop()
		// Maintenance stops at once; workers finish their jobs.
		a.stopMaintenance()
		wg.Wait()
		stopFigures()
		cancel()
	}
}

// acceptLongConn is the long connection's sink: the same intake as the
// webhook routes.
func (a *App) acceptLongConn(ctx context.Context, evs []moderation.Event) error {
	_, err := a.intake.Accept(ctx, evs)
	return err
}

// Serve listens on the configured address (failing at once if it is
// taken), serves until ctx ends, then shuts down gracefully: it stops
// taking requests, finishes queued events, and returns.
func (a *App) Serve(ctx context.Context) error {
	srvCfg := a.cfg.Server.WithDefaults()
	ln, err := net.Listen("tcp", srvCfg.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", srvCfg.Listen, err)
	}
	return a.ServeListener(ctx, ln)
}

// ServeListener is Serve on a listener the caller opened.
func (a *App) ServeListener(ctx context.Context, ln net.Listener) error {
	srvCfg := a.cfg.Server.WithDefaults()
	srv := &http.Server{
		Handler:           a.Router,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	// Work outlives the request context so that running jobs finish
	// during shutdown; stop cancels them if that takes too long.
	stopWork := a.Start(context.WithoutCancel(ctx))

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	a.log.Info("gavel serving", "addr", ln.Addr().String(), "platforms", len(a.Platforms))
	if srvCfg.PprofListen != "" {
		stopPprof, err := servePprof(srvCfg.PprofListen, a.log)
		if err != nil {
			_ = srv.Close()
			stopWork()
			return err
		}
		defer stopPprof()
	}
	if a.Console != nil {
		stopConsole, err := a.Console.Serve(ctx)
		if err != nil {
			_ = srv.Close()
			stopWork()
			return err
		}
		defer stopConsole()
	}
	if a.Admin != nil {
		stopAdmin, err := serveAdmin(srvCfg.AdminListen, a.Admin, a.log)
		if err != nil {
			_ = srv.Close()
			stopWork()
			return err
		}
		defer stopAdmin()
	}

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	a.log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), srvCfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		a.log.Error("http shutdown", "err", err)
	}
	stopWork()
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return nil
}

// Every adapter implements the whole contract: moderation.Platform.
var (
	_ moderation.Platform = (*feishu.Client)(nil)
	_ moderation.Platform = (*tim.Client)(nil)
	_ moderation.Platform = (*easemob.Client)(nil)
)
