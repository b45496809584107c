package engineio

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// WebSocket close codes the server sends; closeAbort means no close frame.
const (
	closeAbort         uint16 = 0
	closeNormal        uint16 = 1000
	closeGoingAway     uint16 = 1001
	closeProtocolError uint16 = 1002
	closeInvalidData   uint16 = 1007
	closeTooBig        uint16 = 1009
)

// Packets every connection may send; immutable, so shared.
var (
	pingPacket  = newControl(typePing, "")
	probePacket = newControl(typePong, "probe")
	noopPacket  = newControl(typeNoop, "")
	closePacket = newControl(typeClose, "")
)

// connState is where a session is in its life. It changes only under
// Conn.mu, along these transitions:
//
//	statePolling   → stateProbing    a websocket asks to take the session over (upgrade)
//	stateProbing   → stateProbed     the websocket sent "2probe" and got "3probe"
//	stateProbing,
//	stateProbed    → statePolling    the probe failed or timed out: polling goes on
//	stateProbed    → stateWebSocket  the websocket sent "5": it carries the session from now on
//	statePolling,
//	stateProbing,
//	stateProbed    → stateLingering  Close while no GET is waiting: the next GET takes the rest
//	stateLingering → stateClosed     that GET came, or the wait for it ran out
//	any other      → stateClosed     the session ended
//
// A session opened on a websocket starts in stateWebSocket, one opened by a
// polling handshake in statePolling.
type connState uint8

const (
	statePolling connState = iota
	stateProbing
	stateProbed
	stateWebSocket
	stateLingering
	stateClosed
)

// closed reports whether the session has ended: nothing is queued or
// delivered any more (a lingering session only hands out what it held).
func (s connState) closed() bool { return s >= stateLingering }

// onPolling reports whether polling requests carry the session.
func (s connState) onPolling() bool { return s <= stateProbed }

// callbackPhase orders the application's callbacks: OnClose runs once, after
// any running OnMessage call, and no OnMessage call starts after it.
//
//	callbacksIdle        → callbacksDispatching  an OnMessage call starts
//	callbacksDispatching → callbacksIdle         it returns, the session still open
//	callbacksDispatching → callbacksDone         it returns, the session closed meanwhile: OnClose runs
//	callbacksIdle        → callbacksDone         the session closes: OnClose runs
type callbackPhase uint8

const (
	callbacksIdle callbackPhase = iota
	callbacksDispatching
	callbacksDone
)

// Conn is one Engine.IO session. Its methods are safe for concurrent use.
type Conn struct {
	srv *Server
	id  string
	hs  handshake

	// readMu serializes packet handling between polling POSTs and the
	// websocket reader, so OnMessage sees messages one at a time, in order.
	readMu sync.Mutex

	mu        sync.Mutex
	state     connState
	callbacks callbackPhase
	reason    string // why the session closed
	onMessage func(data []byte, binary bool)
	onClose   func(reason string)
	queue     []*Packet // packets waiting for the transport

	// the websocket (stateWebSocket)
	ws         net.Conn
	raw        syscall.RawConn // ws's socket, for non-blocking inline writes; nil under TLS
	partial    []byte          // unwritten tail of a frame written inline in part
	writing    bool            // a writer goroutine is draining queue to ws
	finalFrame []byte          // close frame the writer sends after the queue, then it closes ws

	// long-polling (statePolling to stateProbed, and stateLingering)
	pollWake    chan struct{} // wakes the waiting GET; nil on a session opened on a websocket
	getWaiting  bool          // a GET is waiting for packets
	postReading bool          // a POST is being read and handled
	pollStarted chan struct{} // closed when a GET starts; set by a client close awaiting one
	lingerTimer *time.Timer   // ends stateLingering

	// the upgrade (stateProbing, stateProbed)
	probeConn net.Conn
	probedAt  time.Time

	heartbeat    *time.Timer
	heartbeatDue time.Time
	awaitingPong bool
}

// newConn returns a session in state, not yet registered.
func newConn(s *Server, r *http.Request, state connState) *Conn {
	c := &Conn{srv: s, id: newSessionID(), hs: keepHandshake(r), state: state}
	if state == statePolling {
		c.pollWake = make(chan struct{}, 1)
	}
	return c
}

// ID returns the session id (the "sid").
func (c *Conn) ID() string { return c.id }

// Request returns a copy of the handshake request: method, URL and query,
// headers, Host and RemoteAddr. It has no body and a background context.
func (c *Conn) Request() *http.Request { return c.hs.request() }

// RemoteAddr returns the handshake request's remote address.
func (c *Conn) RemoteAddr() string { return c.hs.remoteAddr }

// Transport returns "polling" or "websocket", the transport in use now.
func (c *Conn) Transport() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ws != nil {
		return TransportWebSocket
	}
	return TransportPolling
}

// OnMessage sets the message handler. It is called with each "4" packet, one
// at a time and in order, while the transport's reader waits (on a pooled
// handler goroutine for websocket, on the POST's for polling). data is
// valid only during the call (it is reused afterwards): copy what you keep.
// Set it in the Server's OnConnection callback.
func (c *Conn) OnMessage(fn func(data []byte, binary bool)) {
	c.mu.Lock()
	c.onMessage = fn
	c.mu.Unlock()
}

// OnClose sets the close handler. It runs once, with the close reason, after
// any running OnMessage call has returned; no OnMessage call starts after it.
func (c *Conn) OnClose(fn func(reason string)) {
	c.mu.Lock()
	c.onClose = fn
	c.mu.Unlock()
}

// Send queues p for the client without blocking. It fails with ErrClosed on
// a closed connection, and with ErrSlowConsumer when the queue already holds
// QueueLimit packets, in which case the connection is closed with
// "transport error". p is not modified and may be sent to many connections.
func (c *Conn) Send(p *Packet) error { return c.SendMany(p) }

// SendMany queues ps back to back with no other packet between them (a
// Socket.IO event with binary attachments needs that), all or none, with
// the same rules as Send.
func (c *Conn) SendMany(ps ...*Packet) error { return c.sendMany(ps, nil) }

// sendMany queues ps; with a batch, a packet that could be written to the
// idle socket at once is left to the batch's Flush instead.
func (c *Conn) sendMany(ps []*Packet, b *Batch) error {
	c.mu.Lock()
	if c.state.closed() {
		c.mu.Unlock()
		return ErrClosed
	}
	if len(c.queue)+len(ps) > c.srv.opts.QueueLimit {
		fire := c.closeLocked(ReasonTransportError, closeAbort)
		c.mu.Unlock()
		c.finishClose(fire)
		c.srv.cut.Add(1)
		return ErrSlowConsumer
	}
	c.srv.queued.Add(uint64(len(ps)))
	if b != nil && len(ps) == 1 && len(c.queue) == 0 && c.canWriteInlineLocked() {
		b.add(c, ps[0].frame)
		c.mu.Unlock()
		return nil
	}
	c.queue = append(c.queue, ps...)
	c.kickLocked()
	c.mu.Unlock()
	return nil
}

// Close closes the session with reason "forced close", after the packets
// already queued have been written.
func (c *Conn) Close() { c.closeWith(ReasonForcedClose, closeNormal) }

// enqueueLocked appends p and wakes whatever drains the queue.
func (c *Conn) enqueueLocked(p *Packet) {
	c.queue = append(c.queue, p)
	c.kickLocked()
}

// kickLocked wakes the drainer of the queue: the websocket writer, or the
// pending polling GET.
func (c *Conn) kickLocked() {
	if c.ws == nil {
		c.wakePollLocked()
		return
	}
	if c.writing || (len(c.queue) == 0 && c.partial == nil && c.finalFrame == nil) {
		return
	}
	if len(c.queue) == 1 && c.canWriteInlineLocked() && c.writeInlineLocked() {
		return
	}
	c.writing = true
	if !c.srv.tasks.goTask(c.writeLoop) {
		// the server is gone: nobody will write again
		c.writing = false
		_ = c.ws.Close()
	}
}

// canWriteInlineLocked reports whether the next frame may be written
// straight to the socket: a plain socket nobody else is writing to, with
// nothing left over from an earlier frame.
func (c *Conn) canWriteInlineLocked() bool {
	return c.raw != nil && !c.writing && c.finalFrame == nil && c.partial == nil
}

// writeInlineLocked tries to write the one queued frame straight to the
// socket without blocking, saving a writer goroutine when the socket's
// buffer has room (the usual case). It reports false when the frame was not
// written whole; the rest is left in c.partial for the writer, which also
// deals with any error.
func (c *Conn) writeInlineLocked() bool {
	frame := c.queue[0].frame
	c.queue[0] = nil
	c.queue = c.queue[:0]
	n, err := c.writeRaw(frame)
	if err == nil && n == len(frame) {
		return true
	}
	c.partial = frame[n:]
	return false
}

// writeRaw writes frame to the socket with one non-blocking write and
// returns how much went out.
func (c *Conn) writeRaw(frame []byte) (int, error) {
	op := c.srv.rawOps.Get().(*rawOp)
	op.buf = frame
	err := c.raw.Write(op.write)
	n, werr := max(op.n, 0), op.err
	op.reset()
	c.srv.rawOps.Put(op)
	if err == nil {
		err = werr
	}
	return n, err
}

// finishBatchedWrite takes the socket back from a Batch that wrote n bytes
// of frame, and hands what is left (the rest of frame, packets queued
// meanwhile, a close frame) to the usual paths.
func (c *Conn) finishBatchedWrite(frame []byte, n int, err error) {
	c.mu.Lock()
	c.writing = false
	if n < len(frame) {
		switch {
		case c.state.closed() && c.finalFrame == nil:
			// cut meanwhile: nothing more goes out
		case err == nil || errors.Is(err, syscall.EAGAIN):
			c.partial = frame[n:] // the socket is full: the writer finishes it
		default: // as the writer does on an error
			c.finalFrame = nil
			fire := c.closeLocked(ReasonTransportError, closeAbort)
			nc := c.ws
			c.mu.Unlock()
			_ = nc.Close()
			c.finishClose(fire)
			return
		}
	}
	c.kickLocked()
	c.mu.Unlock()
}

// rawOp carries one non-blocking read or write through syscall.RawConn.
// It is pooled with its callbacks bound once, so that these calls, made
// once per delivered packet or received frame, allocate nothing.
type rawOp struct {
	buf         []byte
	n           int
	err         error
	read, write func(fd uintptr) bool
}

func newRawOp() any {
	op := &rawOp{}
	// both return true: never wait for readiness here
	op.read = func(fd uintptr) bool {
		op.n, op.err = syscall.Read(int(fd), op.buf)
		return true
	}
	op.write = func(fd uintptr) bool {
		op.n, op.err = syscall.Write(int(fd), op.buf)
		return true
	}
	return op
}

func (op *rawOp) reset() { op.buf, op.n, op.err = nil, 0, nil }

func (c *Conn) wakePollLocked() {
	if c.pollWake == nil {
		return
	}
	select {
	case c.pollWake <- struct{}{}:
	default:
	}
}

// closeWith closes the session. code is the websocket close code to send
// after the queued packets, or closeAbort to cut the connection at once.
func (c *Conn) closeWith(reason string, code uint16) {
	c.mu.Lock()
	fire := c.closeLocked(reason, code)
	c.mu.Unlock()
	c.finishClose(fire)
}

// closeLocked marks the session closed and starts tearing the transport
// down. It reports whether the caller must run the OnClose handler (it is
// not when a message dispatch is running: that dispatch runs it).
func (c *Conn) closeLocked(reason string, code uint16) (fireOnClose bool) {
	if c.state.closed() {
		return false
	}
	wasPolling := c.state.onPolling()
	c.reason = reason
	if reason == ReasonForcedClose && wasPolling && !c.getWaiting {
		c.lingerLocked()
	} else {
		c.state = stateClosed
		c.srv.unregister(c)
	}
	if c.heartbeat != nil {
		c.heartbeat.Stop()
	}
	if c.probeConn != nil {
		_ = c.probeConn.Close()
	}
	switch {
	case wasPolling:
		c.wakePollLocked()
	case code == closeAbort:
		c.queue = nil
		c.partial = nil
		_ = c.ws.Close()
	default:
		_ = c.ws.SetWriteDeadline(gracefulDeadline())
		c.finalFrame = closeFrame(code)
		c.kickLocked()
	}
	if c.callbacks != callbacksIdle {
		return false // a running OnMessage runs OnClose when it returns, or it ran
	}
	c.callbacks = callbacksDone
	return true
}

// lingerLocked keeps a polling session that the server closed reachable
// for the client's next GET, which then receives the packets still queued
// (the last ack, say) followed by the close packet, as the reference server
// does; without it that GET would fail with "Session ID unknown" and the
// client would report a transport error. The wait is bounded by
// PingTimeout, the time a live client is given to answer anyway.
func (c *Conn) lingerLocked() {
	c.state = stateLingering
	c.lingerTimer = time.AfterFunc(c.srv.lingerWait(), c.endLinger)
}

// endLinger forgets a lingering session whose client did not poll in time.
func (c *Conn) endLinger() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == stateLingering {
		c.stopLingerLocked()
		c.queue = nil
	}
}

// stopLingerLocked ends stateLingering: the session is gone.
func (c *Conn) stopLingerLocked() {
	c.state = stateClosed
	c.lingerTimer.Stop()
	c.srv.unregister(c)
}

// finishClose runs OnClose when closeLocked asked for it.
func (c *Conn) finishClose(fireOnClose bool) {
	if !fireOnClose {
		return
	}
	c.mu.Lock()
	fn, reason := c.onClose, c.reason
	c.mu.Unlock()
	if fn != nil {
		c.guard("OnClose", func() { fn(reason) })
	}
}

// cutNetwork closes the network connections without a goodbye; Server.Close
// uses it when its context ends.
func (c *Conn) cutNetwork() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ws != nil {
		_ = c.ws.Close()
	}
	if c.probeConn != nil {
		_ = c.probeConn.Close()
	}
}

func (c *Conn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state.closed()
}

// handlePacket acts on one decoded client packet. The caller holds readMu.
func (c *Conn) handlePacket(typ byte, data []byte, binary bool) {
	switch typ {
	case typeMessage:
		c.dispatch(data, binary)
	case typePong:
		c.pong()
	case typeClose:
		c.awaitPollForClose()
		c.closeWith(ReasonTransportClose, closeNormal)
	case typePing:
		// protocol v4: only the server pings ("invalid heartbeat direction")
		c.closeWith(ReasonTransportError, closeNormal)
	default:
		// open, upgrade and noop carry nothing for an open session
	}
}

// awaitPollForClose gives a polling client's concurrent GET a moment to
// arrive before its close ("1") ends the session, so that GET is answered
// with a noop rather than an unknown-session error.
func (c *Conn) awaitPollForClose() {
	c.mu.Lock()
	if !c.state.onPolling() || c.getWaiting {
		c.mu.Unlock()
		return
	}
	started := make(chan struct{})
	c.pollStarted = started
	c.mu.Unlock()
	t := time.NewTimer(c.srv.closeNoopWait)
	select {
	case <-started:
	case <-t.C:
	}
	t.Stop()
	c.mu.Lock()
	if c.pollStarted == started {
		c.pollStarted = nil
	}
	c.mu.Unlock()
}

// dispatch calls OnMessage unless the session is closed, and runs OnClose
// afterwards if the session was closed meanwhile.
func (c *Conn) dispatch(data []byte, binary bool) {
	c.mu.Lock()
	if c.state.closed() {
		c.mu.Unlock()
		return
	}
	fn := c.onMessage
	c.callbacks = callbacksDispatching
	c.mu.Unlock()

	if fn != nil {
		c.guard("OnMessage", func() { fn(data, binary) })
	}

	c.mu.Lock()
	fire := c.state.closed()
	if fire {
		c.callbacks = callbacksDone
	} else {
		c.callbacks = callbacksIdle
	}
	c.mu.Unlock()
	c.finishClose(fire)
}

// guard runs an application callback; a panic is logged and closes the
// session instead of killing the process.
func (c *Conn) guard(name string, fn func()) {
	defer func() {
		if v := recover(); v != nil {
			c.srv.opts.Logger.Error("engineio: callback panicked", "callback", name, "sid", c.id, "panic", fmt.Sprint(v))
			c.closeWith(ReasonTransportError, closeAbort)
		}
	}()
	fn()
}

// startHeartbeat arms the ping timer; the timer runs only while the
// session is open.
func (c *Conn) startHeartbeat() {
	interval := c.srv.opts.PingInterval
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state.closed() {
		return
	}
	c.heartbeatDue = time.Now().Add(interval)
	c.heartbeat = time.AfterFunc(interval, c.beat)
}

// beat runs on the heartbeat timer: it sends a ping, or closes the session
// when the previous ping went unanswered.
func (c *Conn) beat() {
	if !c.srv.tasks.enter() {
		return
	}
	defer c.srv.tasks.exit()
	c.mu.Lock()
	if c.state.closed() {
		c.mu.Unlock()
		return
	}
	now := time.Now()
	if wait := c.heartbeatDue.Sub(now); wait > 0 {
		// a pong moved the deadline after this firing was scheduled
		c.heartbeat.Reset(wait)
		c.mu.Unlock()
		return
	}
	if c.awaitingPong {
		fire := c.closeLocked(ReasonPingTimeout, closeNormal)
		c.mu.Unlock()
		c.finishClose(fire)
		return
	}
	// The pong deadline counts from when the ping was due, not from when a
	// busy machine got round to this timer, but leaves the client at least
	// half the timeout to answer.
	timeout := c.srv.opts.PingTimeout
	c.awaitingPong = true
	c.heartbeatDue = c.heartbeatDue.Add(timeout)
	if least := now.Add(timeout / 2); c.heartbeatDue.Before(least) {
		c.heartbeatDue = least
	}
	c.heartbeat.Reset(c.heartbeatDue.Sub(now))
	if len(c.queue) >= c.srv.opts.QueueLimit {
		fire := c.closeLocked(ReasonTransportError, closeAbort)
		c.mu.Unlock()
		c.finishClose(fire)
		return
	}
	c.enqueueLocked(pingPacket)
	c.mu.Unlock()
}

// expireLocked closes the session when its pong deadline has passed but a
// delayed timer has not fired yet, so a request never revives a session the
// reference would have timed out. It reports whether the session is closed;
// the caller runs finishClose(fire).
func (c *Conn) expireLocked() (closed, fire bool) {
	if !c.state.closed() && c.awaitingPong && time.Now().After(c.heartbeatDue) {
		fire = c.closeLocked(ReasonPingTimeout, closeNormal)
	}
	return c.state.closed(), fire
}

// pong records the client's answer and schedules the next ping.
func (c *Conn) pong() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state.closed() || !c.awaitingPong {
		return
	}
	interval := c.srv.opts.PingInterval
	c.awaitingPong = false
	c.heartbeatDue = time.Now().Add(interval)
	c.heartbeat.Reset(interval)
}
