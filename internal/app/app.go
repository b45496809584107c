// Package app wires colachat together: it opens the store, builds the chat service, the
// Socket.IO server, the REST API and the web UI on one HTTP server, and owns their start
// and graceful stop.
package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"colachat/internal/broker/memory"
	"colachat/internal/broker/redis"
	"colachat/internal/chat"
	"colachat/internal/config"
	"colachat/internal/gateway"
	"colachat/internal/httpapi"
	"colachat/internal/metrics"
	"colachat/internal/ratelimit"
	"colachat/internal/socketio"
	"colachat/internal/socketio/engineio"
	"colachat/internal/store/postgres"
	"colachat/internal/store/sqlite"
)

// ShutdownTimeout bounds the graceful stop: in-flight requests and socket closes get
// this long before connections are cut.
const ShutdownTimeout = 10 * time.Second

// App is one colachat node, built and ready to serve.
type App struct {
	cfg     config.Config
	log     *slog.Logger
	store   store
	cluster *redis.Cluster // nil on a single node
	svc     *chat.Service
	sio     *socketio.Server
	gw      *gateway.Gateway
	// sessions keeps recovery sessions; on a single node they are carried over a graceful
	// restart in sessionsFile, in a cluster they live in Redis.
	sessions     *gateway.SessionStore
	sessionsFile string
	meter        meter
	handler      http.Handler
}

// New opens the store (applying migrations) and builds every component. Close the App
// with Serve, or with Close when it is never served.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log = orDiscard(log)
	store, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if cfg.NodeID == "" {
		cfg.NodeID = randomNodeID()
	}
	a := &App{cfg: cfg, log: log, store: store}
	if cfg.RedisURL != "" {
		a.cluster, err = redis.Open(ctx, redis.Options{URL: cfg.RedisURL, NodeID: cfg.NodeID, Logger: log.With("component", "redis")})
		if err != nil {
			store.Close()
			return nil, fmt.Errorf("open redis %s: %w", cfg.RedisURL, err)
		}
	}
	if err := a.build(); err != nil {
		a.closeBackends()
		return nil, err
	}
	return a, nil
}

// store is what the app needs of a database: what the chat service uses, and what only the
// app calls (readiness, migrations on demand, closing).
type store interface {
	chat.Store
	Ping(ctx context.Context) error
	Migrate(ctx context.Context) error
	Close() error
}

// openStore opens the configured database; opening applies pending migrations.
func openStore(ctx context.Context, cfg config.Config) (store, error) {
	kind, target, err := cfg.Database()
	if err != nil {
		return nil, err
	}
	var store store
	switch kind {
	case config.DatabasePostgres:
		store, err = postgres.Open(ctx, target)
		target = "postgres" // the URL may hold a password: never log it
	default:
		store, err = sqlite.Open(ctx, target, sqlite.WithBatch(0, cfg.CommitInterval))
	}
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", target, err)
	}
	return store, nil
}

// closeBackends closes Redis and the store, which flushes every pending commit.
func (a *App) closeBackends() error {
	var errs []error
	if a.cluster != nil {
		errs = append(errs, a.cluster.Close())
	}
	return errors.Join(append(errs, a.store.Close())...)
}

func randomNodeID() string {
	b := make([]byte, 4)
	rand.Read(b)
	return "node-" + hex.EncodeToString(b)
}

func (a *App) build() error {
	// Transport totals are read at scrape time from the socket server built below.
	src := metrics.Sources{
		Connections: func() int { return a.sio.Stats().Conns },
		Rooms:       func() int { return a.sio.RoomCount() },
		Deliveries:  func() uint64 { return a.sio.Stats().PacketsOut },
		QueueDrops:  func() uint64 { return a.sio.Stats().SlowCuts },
		// The service is built below, before the first scrape.
		GapsFilled:    func() uint64 { return uint64(a.svc.StreamStats().Filled) },
		Duplicates:    func() uint64 { return uint64(a.svc.StreamStats().Dropped) },
		ForeignEvents: func() uint64 { return uint64(a.svc.StreamStats().Foreign) },
	}
	if a.cluster != nil {
		b := a.cluster.Broker()
		src.BrokerReceived = func() uint64 { return b.Stats().Received }
		src.BrokerNotHosted = func() uint64 { return b.Stats().NotHosted }
		src.RoomsHosted = func() int { return b.Stats().Hosted }
	}
	m, metricsHandler, err := newMeter(src)
	if err != nil {
		return err
	}
	a.meter = m

	var broker chat.Broker = memory.NewBroker()
	var presence chat.Presence = memory.NewPresence()
	if a.cluster != nil {
		broker, presence = a.cluster.Broker(), a.cluster.Presence()
	}
	svc, err := chat.NewService(chat.Config{
		Identity:    chat.IdentityMode(a.cfg.Identity),
		Locale:      a.cfg.Locale,
		RoomTTL:     a.cfg.RoomTTL,
		MaxCapacity: a.cfg.MaxCapacity,
		LeaveGrace:  a.cfg.LeaveGrace,
		Retention:   a.cfg.Retention,
		TicketKey:   a.cfg.TicketKey,
	}, instrumentStore(a.store, m), broker, presence, a.log.With("component", "chat"))
	if err != nil {
		return fmt.Errorf("chat service: %w", err)
	}
	a.svc = svc
	if a.cluster != nil {
		// Chatters whose sockets were all on a node that died get their leave made final
		// by the live node that notices.
		a.cluster.OnGone(func(roomID, chatterID string) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := svc.Departed(ctx, roomID, chatterID); err != nil {
				a.log.Warn("leave of a dead node's chatter", "room", roomID, "chatter", chatterID, "err", err)
			}
		})
		// What was published while a room's subscription was lost never comes: the hosted
		// rooms are checked against the store once their subscriptions are back.
		a.cluster.OnResubscribed(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			svc.Resync(ctx)
		})
	}

	var recovery *socketio.RecoveryOptions
	if a.cfg.RecoveryWindow > 0 {
		// Missed messages come from the message store, so recovery survives restarts.
		a.sessions = gateway.NewSessionStore(svc, a.cfg.RecoveryWindow)
		if a.cluster != nil {
			a.sessions.Share(a.cluster)
		} else if kind, target, _ := a.cfg.Database(); kind == config.DatabaseSQLite {
			a.sessionsFile = target + ".sessions"
			if err := a.sessions.Restore(a.sessionsFile); err != nil {
				a.log.Warn("restore recovery sessions", "err", err)
			}
		}
		recovery = &socketio.RecoveryOptions{
			MaxDisconnectionDuration: a.cfg.RecoveryWindow,
			Sessions:                 a.sessions,
		}
	}
	sioLog := a.log.With("component", "socketio")
	a.sio = socketio.NewServer(socketio.Options{
		Engine: engineio.Options{
			CORS:   engineio.CORSOptions{AllowedOrigins: a.cfg.CORSOrigins, Credentials: true},
			Logger: sioLog,
		},
		Path:     "/socket.io/",
		Recovery: recovery,
		Logger:   sioLog,
	})

	// The per-IP limit on socket handshakes is applied in front of the server (see
	// limitHandshakes), so the gateway only limits per connection.
	a.gw = gateway.New(svc, a.sio, gateway.Options{
		Locale:       a.cfg.Locale,
		NodeID:       a.cfg.NodeID,
		ObserveAck:   m.ObserveAck,
		JoinLimit:    bucket(a.cfg.JoinRate),
		MessageLimit: bucket(a.cfg.MessageRate),
		// Per client IP over all its connections; the exempt networks skip these.
		IPJoinLimit:    bucket(a.cfg.IPJoinRate),
		IPMessageLimit: bucket(a.cfg.IPMessageRate),
		Exempt:         ratelimit.Exempt(a.cfg.RateLimitExempt),
		Logger:         a.log.With("component", "gateway"),
	})
	a.gw.Start()

	ipLimiter := newIPLimiter(a.cfg.IPRate)
	api := httpapi.New(svc, httpapi.Options{
		Locale:      a.cfg.Locale,
		CORSOrigins: a.cfg.CORSOrigins,
		Limiter:     ipLimiter,
		Exempt:      a.cfg.RateLimitExempt,
		Log:         a.log.With("component", "httpapi"),
	})
	a.handler = a.routes(api, a.limitHandshakes(ipLimiter, a.sio), metricsHandler)
	return nil
}

// newIPLimiter is the per-IP token bucket shared by REST and socket handshakes; nil when
// the rate is off.
func newIPLimiter(r config.Rate) httpapi.Limiter {
	if r.Unlimited() {
		return nil
	}
	return ratelimit.New(bucket(r), ratelimit.Options{})
}

// bucket converts a configured rate to the limiter's "Burst per Per" form; zero is off.
func bucket(r config.Rate) ratelimit.Rate {
	if r.Unlimited() {
		return ratelimit.Rate{}
	}
	return ratelimit.Rate{Burst: r.Burst, Per: r.Window()}
}

// Handler is the node's whole HTTP surface (for tests that serve it themselves).
func (a *App) Handler() http.Handler { return a.handler }

// Serve serves on ln until ctx ends, then stops gracefully: it stops accepting, tells
// every socket to reconnect, lets in-flight requests finish (at most ShutdownTimeout),
// stops the chat service's background work and closes the store, which flushes every
// pending commit. It always closes the App.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	runDone := make(chan error, 1)
	go func() { runDone <- a.svc.Run(runCtx) }()

	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	serveDone := make(chan error, 1)
	go func() { serveDone <- srv.Serve(ln) }()

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-serveDone:
		serveDone = nil
	}
	a.log.Info("shutting down")

	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer cancel()
	var errs []error
	// Shutdown waits for open requests, and long-polls only end when the socket server
	// closes them: run both at once.
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := srv.Shutdown(stopCtx); err != nil {
			srv.Close()
			errs = append(errs, fmt.Errorf("http shutdown: %w", err))
		}
	})
	sioErr := a.sio.Close(stopCtx)
	wg.Wait()
	if a.sessionsFile != "" {
		if err := a.sessions.Persist(a.sessionsFile); err != nil {
			a.log.Warn("persist recovery sessions", "err", err)
		}
	}
	if sioErr != nil {
		errs = append(errs, fmt.Errorf("close socket.io: %w", sioErr))
	}
	if serveDone != nil {
		if err := <-serveDone; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, fmt.Errorf("serve: %w", err))
		}
	} else if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		errs = append(errs, fmt.Errorf("serve: %w", serveErr))
	}

	// Sockets are closed, so their leaves have been handed to the service; the gateway
	// finishes its queued work before the service stops.
	a.gw.Stop()
	stopRun()
	if err := <-runDone; err != nil {
		errs = append(errs, fmt.Errorf("chat service: %w", err))
	}
	if err := a.closeBackends(); err != nil {
		errs = append(errs, fmt.Errorf("close store: %w", err))
	}
	a.log.Info("stopped")
	return errors.Join(errs...)
}

// Close releases an App that was never served.
func (a *App) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	err := a.sio.Close(ctx)
	a.gw.Stop()
	return errors.Join(err, a.closeBackends())
}

// Run builds the App, listens on the configured address, announces it on stdout and
// serves until ctx ends.
func Run(ctx context.Context, cfg config.Config, log *slog.Logger, stdout io.Writer) error {
	log = orDiscard(log)
	a, err := New(ctx, cfg, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		a.Close()
		return fmt.Errorf("listen: %w", err)
	}
	url := "http://" + displayAddr(ln.Addr())
	fmt.Fprintf(stdout, "colachat listening on %s\n", url)
	kind, _, _ := cfg.Database()
	log.Info("colachat listening", "url", url, "database", kind, "node", a.cfg.NodeID, "cluster", cfg.RedisURL != "",
		"identity", cfg.Identity, "locale", cfg.Locale, "cors", cfg.CORSOrigins)
	if cfg.DebugAddr != "" {
		stop, err := serveDebug(cfg.DebugAddr, log)
		if err != nil {
			a.Close()
			return err
		}
		defer stop()
	}
	return a.Serve(ctx, ln)
}

// displayAddr shows a wildcard listen address as localhost, which a browser can open.
func displayAddr(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// Migrate applies the store's pending migrations and returns.
func Migrate(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	log = orDiscard(log)
	if err := cfg.Validate(); err != nil {
		return err
	}
	store, err := openStore(ctx, cfg) // opening migrates
	if err != nil {
		return err
	}
	kind, _, _ := cfg.Database()
	log.Info("database migrated", "database", kind)
	return store.Close()
}

func orDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}
