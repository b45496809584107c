package engineio

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Server is an Engine.IO server. Mount it with ServeHTTP at the path the
// clients use (for example /socket.io/).
type Server struct {
	opts         Options
	onConnection func(c *Conn)
	readBufs     sync.Pool // *[]byte of smallReadBufferSize for websocket frames
	rawOps       sync.Pool // *rawOp
	batches      sync.Pool // *Batch
	rings        ringPool
	handlers     handlerPool
	tasks        tasks
	// the reference's 100 ms check interval; tests stretch them
	probeNoopDelay, closeNoopWait time.Duration
	// how long a closed polling session waits for its last GET; 0 means
	// PingTimeout (tests shorten it)
	lingerTimeout time.Duration

	queued, cut atomic.Uint64 // packets queued for clients; slow consumers cut
	longPolls   atomic.Int64  // GETs waiting for packets now

	mu     sync.Mutex
	conns  map[string]*Conn
	closed bool
}

// Stats are the server's running totals, for metrics.
type Stats struct {
	Conns      int    // open connections
	PacketsOut uint64 // message packets queued for clients since start
	SlowCuts   uint64 // connections cut because their queue was full
	LongPolls  int    // polling GETs being held open, waiting for packets
}

// Stats returns the server's running totals.
func (s *Server) Stats() Stats {
	return Stats{Conns: s.Count(), PacketsOut: s.queued.Load(), SlowCuts: s.cut.Load(), LongPolls: int(s.longPolls.Load())}
}

// NewServer returns a Server; opts zero values take their defaults.
func NewServer(opts Options) *Server {
	s := &Server{
		opts:           opts.withDefaults(),
		conns:          make(map[string]*Conn),
		probeNoopDelay: probeNoopDelay,
		closeNoopWait:  closeNoopWait,
	}
	s.readBufs.New = func() any {
		b := make([]byte, smallReadBufferSize)
		return &b
	}
	s.rawOps.New = newRawOp
	s.batches.New = func() any { return newBatch(s) }
	s.handlers.init(&s.tasks)
	return s
}

// OnConnection sets the function called for every new connection, before
// any of its messages are delivered: set the connection's OnMessage and
// OnClose in it. Set it before serving.
func (s *Server) OnConnection(fn func(c *Conn)) { s.onConnection = fn }

// Count returns the number of open connections.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Close closes every connection with "server shutting down" (clients will
// reconnect elsewhere), refuses new requests and waits until every goroutine
// the server started has returned. When ctx ends first, the remaining
// network connections are cut and Close still waits for the goroutines.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	conns := make([]*Conn, 0, len(s.conns))
	for _, c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()

	for _, c := range conns {
		c.closeWith(ReasonServerShutdown, closeGoingAway)
		c.endLinger() // no more GETs will be served
	}
	s.handlers.stop()
	defer s.rings.close()
	idle := s.tasks.idleChan()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		for _, c := range conns {
			c.cutNetwork()
		}
		<-idle
		return fmt.Errorf("engineio: close: %w", ctx.Err())
	}
}

// ServeHTTP answers Engine.IO requests: handshakes, polling GETs and POSTs,
// websocket connections and upgrades.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	isWebSocket := isWebSocketRequest(r)
	if !isWebSocket {
		s.setCORS(w.Header(), r)
		if r.Method == http.MethodOptions && len(s.opts.CORS.AllowedOrigins) > 0 {
			s.preflight(w, r)
			return
		}
	}
	if s.isClosed() || !s.tasks.enter() {
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	}
	defer s.tasks.exit()
	q := r.URL.Query()
	transport := q.Get("transport")
	if !s.opts.allows(transport) {
		writeError(w, errTransportUnknown)
		return
	}
	if q.Get("EIO") != protocolVersion {
		writeError(w, errUnsupportedVersion)
		return
	}
	if (transport == TransportWebSocket) != isWebSocket {
		writeError(w, errBadRequest)
		return
	}
	sid := q.Get("sid")
	if sid == "" {
		if r.Method != http.MethodGet {
			writeError(w, errBadHandshakeMethod)
			return
		}
		if isWebSocket {
			s.handshakeWebSocket(w, r)
		} else {
			s.handshakePolling(w, r)
		}
		return
	}
	c := s.lookup(sid)
	if c == nil {
		writeError(w, errSessionUnknown)
		return
	}
	if isWebSocket {
		s.upgrade(w, r, c)
		return
	}
	switch r.Method {
	case http.MethodGet:
		c.poll(w, r)
	case http.MethodPost:
		c.post(w, r)
	default:
		writeError(w, errBadRequest)
	}
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *Server) lookup(sid string) *Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns[sid]
}

// register makes c reachable by its sid; false once the server is closing.
func (s *Server) register(c *Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c.id] = c
	return true
}

func (s *Server) unregister(c *Conn) {
	s.mu.Lock()
	if s.conns[c.id] == c {
		delete(s.conns, c.id)
	}
	s.mu.Unlock()
}

// accept runs the connection callback and publishes c; it reports false
// (and closes c) when the server is shutting down.
func (s *Server) accept(c *Conn) bool {
	if s.onConnection != nil {
		s.onConnection(c)
	}
	if !s.register(c) {
		c.closeWith(ReasonServerShutdown, closeGoingAway)
		return false
	}
	c.startHeartbeat()
	return true
}

func (s *Server) handshakePolling(w http.ResponseWriter, r *http.Request) {
	c := newConn(s, r, statePolling)
	open := s.openPacket(c.id, s.opts.upgradesAllowed())
	if !s.accept(c) {
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	}
	writePayload(w, open.payload())
}

// openPacket builds the handshake packet: 0{"sid",...}.
func (s *Server) openPacket(sid string, upgrades bool) *Packet {
	b := make([]byte, 0, 128)
	b = append(b, `{"sid":"`...)
	b = append(b, sid...)
	b = append(b, `","upgrades":[`...)
	if upgrades {
		b = append(b, `"websocket"`...)
	}
	b = append(b, `],"pingInterval":`...)
	b = strconv.AppendInt(b, s.opts.PingInterval.Milliseconds(), 10)
	b = append(b, `,"pingTimeout":`...)
	b = strconv.AppendInt(b, s.opts.PingTimeout.Milliseconds(), 10)
	b = append(b, `,"maxPayload":`...)
	b = strconv.AppendInt(b, int64(s.opts.MaxPayload), 10)
	b = append(b, '}')
	return newPacket(opText, typeOpen, b, false)
}

// newSessionID returns 20 URL-safe characters from 120 random bits.
func newSessionID() string {
	var b [15]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// handshake keeps what the application may read of the handshake request.
// It holds on to the request's own URL and header (net/http is done with
// them once the handler returns) rather than copies, and builds an
// *http.Request only when asked: a connection lives long, the question is
// asked rarely.
type handshake struct {
	method, proto, host string
	remoteAddr, uri     string
	protoMajor, minor   int
	url                 *url.URL
	header              http.Header
	tls                 *tls.ConnectionState
}

func keepHandshake(r *http.Request) handshake {
	return handshake{
		method: r.Method, proto: r.Proto, host: r.Host,
		remoteAddr: r.RemoteAddr, uri: r.RequestURI,
		protoMajor: r.ProtoMajor, minor: r.ProtoMinor,
		url: r.URL, header: r.Header, tls: r.TLS,
	}
}

// request returns a new *http.Request from h, with its own URL; the header
// map is the handshake's.
func (h *handshake) request() *http.Request {
	u := *h.url
	return &http.Request{
		Method:     h.method,
		URL:        &u,
		Proto:      h.proto,
		ProtoMajor: h.protoMajor,
		ProtoMinor: h.minor,
		Header:     h.header,
		Host:       h.host,
		RemoteAddr: h.remoteAddr,
		RequestURI: h.uri,
		TLS:        h.tls,
	}
}

func isWebSocketRequest(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// setCORS adds the CORS headers when the request's origin is allowed.
func (s *Server) setCORS(h http.Header, r *http.Request) {
	cors := s.opts.CORS
	if len(cors.AllowedOrigins) == 0 {
		return
	}
	origin := r.Header.Get("Origin")
	allowed := ""
	for _, o := range cors.AllowedOrigins {
		if o == "*" {
			allowed = "*"
			if cors.Credentials && origin != "" {
				allowed = origin // "*" is not valid together with credentials
			}
			break
		}
		if origin != "" && o == origin {
			allowed = origin
			break
		}
	}
	if allowed == "" {
		return
	}
	h.Set("Access-Control-Allow-Origin", allowed)
	if allowed != "*" {
		h.Add("Vary", "Origin")
	}
	if cors.Credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
}

func (s *Server) preflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", "GET,POST,OPTIONS")
	if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
		h.Set("Access-Control-Allow-Headers", req)
		h.Add("Vary", "Access-Control-Request-Headers")
	}
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusNoContent)
}

// protocolError is an Engine.IO HTTP error code.
type protocolError int

const (
	errTransportUnknown   protocolError = 0
	errSessionUnknown     protocolError = 1
	errBadHandshakeMethod protocolError = 2
	errBadRequest         protocolError = 3
	errForbidden          protocolError = 4
	errUnsupportedVersion protocolError = 5
)

func (e protocolError) message() string {
	switch e {
	case errTransportUnknown:
		return "Transport unknown"
	case errSessionUnknown:
		return "Session ID unknown"
	case errBadHandshakeMethod:
		return "Bad handshake method"
	case errForbidden:
		return "Forbidden"
	case errUnsupportedVersion:
		return "Unsupported protocol version"
	default:
		return "Bad request"
	}
}

// writeError answers with the reference server's JSON error body.
func writeError(w http.ResponseWriter, e protocolError) {
	status := http.StatusBadRequest
	if e == errForbidden {
		status = http.StatusForbidden
	}
	body := `{"code":` + strconv.Itoa(int(e)) + `,"message":"` + e.message() + `"}`
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// writePayload answers a polling GET.
func writePayload(w http.ResponseWriter, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=UTF-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// tasks tracks the goroutines, timer callbacks and requests the server
// owns, so Close can wait for them. Once Close has seen them all finish,
// nothing new may start.
type tasks struct {
	mu      sync.Mutex
	running int
	done    bool
	idle    chan struct{} // closed when running drops to zero while Close waits
}

// enter registers a running task; false once the server is closed.
func (t *tasks) enter() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return false
	}
	t.running++
	return true
}

func (t *tasks) exit() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.running--
	if t.running == 0 && t.idle != nil {
		t.done = true
		close(t.idle)
		t.idle = nil
	}
}

// goTask runs fn in a tracked goroutine; false (fn not run) once closed.
func (t *tasks) goTask(fn func()) bool {
	if !t.enter() {
		return false
	}
	go func() {
		defer t.exit()
		fn()
	}()
	return true
}

// idleChan returns a channel closed once no task runs; from then on no task
// may start.
func (t *tasks) idleChan() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	ch := make(chan struct{})
	if t.running == 0 {
		t.done = true
		close(ch)
		return ch
	}
	if t.idle == nil {
		t.idle = ch
	}
	return t.idle
}

func (s *Server) lingerWait() time.Duration {
	if s.lingerTimeout > 0 {
		return s.lingerTimeout
	}
	return s.opts.PingTimeout
}

// gracefulDeadline bounds how long a graceful websocket close may take to
// write its last frames to a peer that does not read.
func gracefulDeadline() time.Time { return time.Now().Add(gracefulCloseDeadline) }
