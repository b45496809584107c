// Package gateway binds Socket.IO events to the chat service: the original Cola Chat event
// names and payloads in, ack envelopes and room broadcasts out.
package gateway

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"time"

	"colachat/internal/chat"
	"colachat/internal/ratelimit"
	"colachat/internal/socketio"
	"colachat/internal/wire"
)

// Options tune a Gateway. Zero rates mean no limit.
type Options struct {
	// Locale of error texts ("ko" default, "en").
	Locale string
	// NodeID prefixes socket ids into connection ids unique across a cluster.
	NodeID string
	// JoinLimit and MessageLimit bound joinRoom and sendMessage/sendAlert/typing per
	// connection; IPJoinLimit and IPMessageLimit the same per client IP; ConnectLimit the
	// namespace connections per client IP.
	JoinLimit, MessageLimit     ratelimit.Rate
	IPJoinLimit, IPMessageLimit ratelimit.Rate
	ConnectLimit                ratelimit.Rate
	// Exempt lists the client networks the per-IP limits skip.
	Exempt ratelimit.Exempt
	// Logger receives internal errors (discarded when nil).
	Logger *slog.Logger
	// ObserveAck, when set, is told how long each acked event took, from its arrival to
	// its ack (for the ack latency metric).
	ObserveAck func(time.Duration)
}

// Gateway serves the chat over a socketio.Server.
type Gateway struct {
	svc  *chat.Service
	srv  *socketio.Server
	opts Options
	log  *slog.Logger

	ipJoinLimit, ipMessageLimit *ratelimit.Limiter
	connectLimit                *ratelimit.Limiter

	okNull json.RawMessage // the ack of most events, encoded once

	mu          sync.Mutex
	nsps        map[string][]*socketio.Namespace // by name without leading slashes
	unsubscribe func()
	started     bool

	connsMu sync.Mutex
	conns   map[string]*conn // by socket id

	work    chan func(context.Context) // service calls a broker callback must not make itself
	cancel  context.CancelFunc
	workers sync.WaitGroup
}

// workQueue bounds the deferred service calls (leaves of sockets removed from an expired
// room); when full, the call runs on a goroutine of its own rather than blocking.
const workQueue = 1024

// callTimeout bounds one service call made for a socket event.
const callTimeout = 15 * time.Second

// New builds a gateway; Start binds it.
func New(svc *chat.Service, srv *socketio.Server, opts Options) *Gateway {
	if opts.Locale == "" {
		opts.Locale = "ko"
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	lim := func(r ratelimit.Rate) *ratelimit.Limiter {
		return ratelimit.New(r, ratelimit.Options{MaxKeys: 100_000})
	}
	okNull, err := json.Marshal(wire.OK(nil))
	if err != nil {
		panic("gateway: encode the ok envelope: " + err.Error()) // a fixed value: cannot fail
	}
	return &Gateway{
		svc: svc, srv: srv, opts: opts, log: log,
		ipJoinLimit: lim(opts.IPJoinLimit), ipMessageLimit: lim(opts.IPMessageLimit),
		connectLimit: lim(opts.ConnectLimit),
		okNull:       okNull,
		nsps:         make(map[string][]*socketio.Namespace),
		conns:        make(map[string]*conn),
		work:         make(chan func(context.Context), workQueue),
	}
}

// Start accepts every namespace (the original's /\/*.+/), binds the events and subscribes
// to the service's events. Call it once, before the server serves.
func (g *Gateway) Start() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.started {
		return
	}
	g.started = true
	ctx, cancel := context.WithCancel(context.Background())
	g.cancel = cancel
	g.workers.Add(1)
	go g.runWork(ctx)
	g.srv.OfMatch(func(name string) bool { return name != "" }, g.setup)
	g.unsubscribe = g.svc.Subscribe(g.onEvent)
}

// Stop unsubscribes from the service's events and waits for deferred work. Sockets are the
// server's: close it first so their leaves are made.
func (g *Gateway) Stop() {
	g.mu.Lock()
	if !g.started {
		g.mu.Unlock()
		return
	}
	g.started = false
	unsubscribe, cancel := g.unsubscribe, g.cancel
	g.mu.Unlock()
	unsubscribe()
	cancel()
	g.workers.Wait()
}

// runWork runs deferred service calls until ctx ends, then the ones still queued.
func (g *Gateway) runWork(ctx context.Context) {
	defer g.workers.Done()
	for {
		select {
		case f := <-g.work:
			g.call(f)
		case <-ctx.Done():
			for {
				select {
				case f := <-g.work:
					g.call(f)
				default:
					return
				}
			}
		}
	}
}

func (g *Gateway) call(f func(context.Context)) {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	f(ctx)
}

// later queues a service call from a broker callback.
func (g *Gateway) later(f func(context.Context)) {
	select {
	case g.work <- f:
	default:
		g.workers.Add(1)
		go func() {
			defer g.workers.Done()
			g.call(f)
		}()
	}
}

// setup binds a namespace when its first socket arrives.
func (g *Gateway) setup(n *socketio.Namespace) {
	key := nsKey(n.Name())
	g.mu.Lock()
	g.nsps[key] = append(g.nsps[key], n)
	g.mu.Unlock()
	if g.connectLimit != nil {
		n.Use(g.limitConnect)
	}
	n.OnConnection(g.onConnection)
	n.OnDisconnect(g.onDisconnect)
	n.On("joinRoom", g.handle(g.joinRoom))
	n.On("leaveRoom", g.handle(g.leaveRoom))
	n.On("sendMessage", g.handle(g.sendMessage))
	n.On("sendAlert", g.handle(g.sendAlert))
	n.On("returnChatters", g.handle(g.returnChatters))
	n.On("typing", g.handle(g.typing))
}

// nsKey names a namespace as rooms name theirs: "/anonymous" and "anonymous" agree.
func nsKey(name string) string { return strings.TrimLeft(name, "/") }

func (g *Gateway) namespaces(roomNamespace string) []*socketio.Namespace {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.nsps[nsKey(roomNamespace)]
}

// connID is a socket's id across the cluster.
func (g *Gateway) connID(sid string) string {
	if g.opts.NodeID == "" {
		return sid
	}
	return g.opts.NodeID + ":" + sid
}

func (g *Gateway) limitConnect(s *socketio.Socket, _ json.RawMessage) error {
	if !g.allowIP(g.connectLimit, s) {
		return &socketio.ConnectError{Message: "RATE_LIMITED"}
	}
	return nil
}

// allowIP takes a token of l for the socket's client IP, unless the IP is exempt.
func (g *Gateway) allowIP(l *ratelimit.Limiter, s *socketio.Socket) bool {
	if l == nil {
		return true
	}
	addr, err := ratelimit.HostAddr(s.Handshake().RemoteAddr)
	if err != nil {
		return true // not an IP (a test transport): nothing to key on
	}
	if g.opts.Exempt.Contains(addr) {
		return true
	}
	return l.Allow(addr.String())
}
