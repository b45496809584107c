package socketio

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Server is a Socket.IO server. Mount it with ServeHTTP at Options.Path.
type Server struct {
	opts Options
	log  *slog.Logger
	eng  engine

	// ctx bounds session store calls; cancelled once Close has saved sessions.
	ctx    context.Context
	cancel context.CancelFunc

	// offsetPrefix and offsetSeq make the offsets of broadcasts whose
	// application set none: unique per server run, cheap to make.
	offsetPrefix string
	offsetSeq    atomic.Uint64

	dynMu sync.Mutex // serializes the creation of dynamic namespaces

	mu       sync.RWMutex
	nsps     map[string]*Namespace
	matchers []matcher
	clients  map[*client]struct{}
	closed   bool
}

type matcher struct {
	match func(name string) bool
	setup func(*Namespace)
}

// engine is the Engine.IO server underneath (engine.go).
type engine interface {
	http.Handler
	Close(ctx context.Context) error
	Stats() TransportStats
}

// TransportStats are the transport's running totals, for metrics.
type TransportStats struct {
	Conns      int    // open Engine.IO connections
	PacketsOut uint64 // packets queued for clients since start (one per delivered event)
	SlowCuts   uint64 // connections cut because they fell behind
	LongPolls  int    // polling requests held open, waiting for packets
}

// RoomCount is the number of rooms with a member on this server, over every namespace
// whose adapter can count them.
func (s *Server) RoomCount() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := 0
	for _, nsp := range s.nsps {
		if c, ok := nsp.adapter.(interface{ RoomCount() int }); ok {
			n += c.RoomCount()
		}
	}
	return n
}

// newFanout starts one broadcast's sends.
func (s *Server) newFanout() fanout {
	if e, ok := s.eng.(interface{ newFanout() fanout }); ok {
		return e.newFanout()
	}
	return directFanout{}
}

// Stats returns the transport's running totals.
func (s *Server) Stats() TransportStats { return s.eng.Stats() }

// NewServer returns a server with the main namespace "/" ready.
func NewServer(opts Options) *Server {
	s := newServer(opts)
	s.eng = newEngine(s)
	return s
}

func newServer(opts Options) *Server {
	opts = opts.withDefaults()
	s := &Server{
		opts:    opts,
		log:     opts.Logger,
		nsps:    make(map[string]*Namespace),
		clients: make(map[*client]struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.offsetPrefix = randomID()[:8] + "-"
	s.Of("/")
	return s
}

// ServeHTTP serves the Engine.IO transports.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.eng.ServeHTTP(w, r)
}

// Path is where the server expects to be mounted.
func (s *Server) Path() string { return s.opts.Path }

// Of returns the namespace called name, creating it if needed. A name without
// a leading slash gets one.
func (s *Server) Of(name string) *Namespace {
	name = normalizeNamespace(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if n, ok := s.nsps[name]; ok {
		return n
	}
	n := newNamespace(s, name)
	s.nsps[name] = n
	return n
}

// OfMatch accepts every namespace whose name satisfies match (a
// regexp.Regexp's MatchString fits). setup runs once for each namespace so
// created, before its first socket connects.
func (s *Server) OfMatch(match func(name string) bool, setup func(*Namespace)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.matchers = append(s.matchers, matcher{match: match, setup: setup})
}

// lookup finds a fixed namespace or creates a dynamic one; nil when neither.
func (s *Server) lookup(name string) *Namespace {
	s.mu.RLock()
	n, ok := s.nsps[name]
	matchers := s.matchers
	s.mu.RUnlock()
	if ok {
		return n
	}
	for _, m := range matchers {
		if m.match(name) {
			return s.createDynamic(name, m.setup)
		}
	}
	return nil
}

// createDynamic makes a dynamic namespace once, however many connections
// ask for it at the same time; setup runs outside s.mu so it may call Of.
func (s *Server) createDynamic(name string, setup func(*Namespace)) *Namespace {
	s.dynMu.Lock()
	defer s.dynMu.Unlock()
	s.mu.RLock()
	n, ok := s.nsps[name]
	s.mu.RUnlock()
	if ok {
		return n
	}
	n = newNamespace(s, name)
	if setup != nil {
		setup(n)
	}
	s.mu.Lock()
	s.nsps[name] = n
	s.mu.Unlock()
	return n
}

func normalizeNamespace(name string) string {
	if len(name) == 0 || name[0] != '/' {
		return "/" + name
	}
	return name
}

// accept adopts a new Engine.IO connection.
func (s *Server) accept(t transport) *client {
	c := newClient(s, t)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		t.close()
		return c
	}
	s.clients[c] = struct{}{}
	s.mu.Unlock()
	c.startConnectTimer(s.opts.ConnectTimeout)
	return c
}

func (s *Server) forget(c *client) {
	s.mu.Lock()
	delete(s.clients, c)
	s.mu.Unlock()
}

// Close disconnects every client with a transport close (so that clients
// reconnect, and recover when recovery is on) and stops the engine.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	clients := make([]*client, 0, len(s.clients))
	for c := range s.clients {
		clients = append(clients, c)
	}
	s.mu.Unlock()
	for _, c := range clients {
		c.shutdown(ReasonServerShuttingDown)
	}
	s.cancel()
	if s.eng == nil {
		return nil
	}
	if err := s.eng.Close(ctx); err != nil {
		return fmt.Errorf("close engine: %w", err)
	}
	return nil
}

// storeContext bounds one session store call.
func (s *Server) storeContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(s.ctx, 5*time.Second)
}

// randomID returns 16 random bytes, base64url encoded.
func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// nextOffset makes a broadcast offset.
func (s *Server) nextOffset() string {
	return s.offsetPrefix + strconv.FormatUint(s.offsetSeq.Add(1), 36)
}
