package engineio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// upgradeTimeout bounds the probe phase of an upgrade (the reference's
// upgradeTimeout default).
const upgradeTimeout = 10 * time.Second

var (
	errFrameTooBig  = errors.New("engineio: websocket message above max payload")
	errFrameInvalid = errors.New("engineio: websocket protocol error")
)

// acceptWebSocket completes the websocket handshake on a hijacked
// connection. net/http's 4 KB bufio reader and writer are dropped: any
// bytes the client sent early are kept in a right-sized slice instead.
func (s *Server) acceptWebSocket(w http.ResponseWriter, r *http.Request) (net.Conn, io.Reader, bool) {
	nc, rw, _, err := ws.HTTPUpgrader{}.Upgrade(r, w)
	if err != nil {
		s.opts.Logger.Debug("engineio: websocket upgrade failed", "err", err)
		if nc != nil {
			_ = nc.Close()
		}
		return nil, nil, false
	}
	var rd io.Reader = nc
	if n := rw.Reader.Buffered(); n > 0 {
		early := make([]byte, n)
		_, _ = io.ReadFull(rw.Reader, early)
		rd = io.MultiReader(bytes.NewReader(early), nc)
	}
	return nc, rd, true
}

// handshakeWebSocket opens a session directly on a websocket.
func (s *Server) handshakeWebSocket(w http.ResponseWriter, r *http.Request) {
	nc, rd, ok := s.acceptWebSocket(w, r)
	if !ok {
		return
	}
	c := newConn(s, r, stateWebSocket)
	c.setWebSocketLocked(nc) // c is not shared yet
	if _, err := nc.Write(s.openPacket(c.id, false).frame); err != nil {
		_ = nc.Close()
		return
	}
	if !s.accept(c) {
		return
	}
	fr := s.newFrameReader(rd)
	fr.useRaw(nc)
	if !s.tasks.goTask(func() { c.readLoop(fr) }) {
		c.closeWith(ReasonServerShutdown, closeAbort)
	}
}

// upgrade takes a websocket for a polling session and runs the probe.
func (s *Server) upgrade(w http.ResponseWriter, r *http.Request, c *Conn) {
	c.mu.Lock()
	state := c.state
	if state == statePolling && s.opts.upgradesAllowed() {
		c.state = stateProbing
	}
	c.mu.Unlock()
	switch {
	case !s.opts.upgradesAllowed() || state.closed():
		writeError(w, errBadRequest)
		return
	case state != statePolling:
		s.turnAway(w, r) // a websocket is probing the session, or carries it
		return
	}

	nc, rd, ok := s.acceptWebSocket(w, r)
	c.mu.Lock()
	if ok && c.state.closed() {
		_ = nc.Close()
		ok = false
	}
	if !ok {
		if c.state == stateProbing {
			c.state = statePolling
		}
		c.mu.Unlock()
		return
	}
	c.probeConn = nc
	c.mu.Unlock()

	fr := s.newFrameReader(rd)
	fr.useRaw(nc)
	if !s.tasks.goTask(func() { c.probe(nc, fr) }) {
		c.abandonUpgrade(nc)
	}
}

// turnAway accepts a websocket for a session that another websocket is
// upgrading or has upgraded, and closes it at once, leaving the session
// alone. The reference server does the same (the HTTP answer is 101, then a
// close frame without a code), and clients and the official test suites
// expect a close there, not an HTTP error.
func (s *Server) turnAway(w http.ResponseWriter, r *http.Request) {
	nc, _, ok := s.acceptWebSocket(w, r)
	if !ok {
		return
	}
	defer nc.Close()
	_ = nc.SetDeadline(gracefulDeadline())
	if _, err := nc.Write(emptyCloseFrame); err != nil {
		return
	}
	// Wait for the client's close frame (or its end) before closing, so that
	// unread bytes do not turn the close into a reset.
	var buf [64]byte
	_, _ = nc.Read(buf[:])
}

// probe answers "2probe" with "3probe" and switches the session to the
// websocket on "5". Anything else, or silence past upgradeTimeout, drops
// the websocket and leaves the session on polling.
func (c *Conn) probe(nc net.Conn, fr *frameReader) {
	_ = nc.SetReadDeadline(time.Now().Add(upgradeTimeout))
	for {
		m, err := fr.next()
		if err != nil {
			c.abandonUpgrade(nc)
			return
		}
		text := string(m.payload)
		ok := m.op == ws.OpText && (text == "2probe" || text == "5")
		fr.release(m)
		if !ok {
			c.abandonUpgrade(nc)
			return
		}
		if text == "2probe" {
			c.mu.Lock()
			if c.state == stateProbing {
				c.state = stateProbed
				c.probedAt = time.Now()
				c.wakePollLocked() // a waiting GET answers at once, so the client can send "5"
			}
			c.mu.Unlock()
			if _, err := nc.Write(probePacket.frame); err != nil {
				c.abandonUpgrade(nc)
				return
			}
			continue
		}
		c.mu.Lock()
		if c.state != stateProbed {
			c.mu.Unlock()
			c.abandonUpgrade(nc)
			return
		}
		c.setWebSocketLocked(nc)
		c.probeConn = nil
		c.wakePollLocked()
		c.kickLocked()
		c.mu.Unlock()
		_ = nc.SetReadDeadline(time.Time{})
		// a fresh goroutine: this one's stack grew during the probe
		if !c.srv.tasks.goTask(func() { c.readLoop(fr) }) {
			c.closeWith(ReasonServerShutdown, closeAbort)
		}
		return
	}
}

// setWebSocketLocked makes nc the session's transport.
func (c *Conn) setWebSocketLocked(nc net.Conn) {
	c.state = stateWebSocket
	c.ws = nc
	if sc, ok := nc.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			c.raw = raw
		}
	}
}

func (c *Conn) abandonUpgrade(nc net.Conn) {
	_ = nc.Close()
	c.mu.Lock()
	if c.probeConn == nc {
		c.probeConn = nil
		if c.state == stateProbing || c.state == stateProbed {
			c.state = statePolling
		}
	}
	c.mu.Unlock()
}

// readLoop reads the websocket until it fails or the session closes. This
// goroutine lives as long as the connection and only waits for the first
// byte of each frame: the rest of the frame and its handling run on a
// handler goroutine (see handlerPool), so its stack stays at the minimum.
func (c *Conn) readLoop(fr *frameReader) {
	defer func() {
		if v := recover(); v != nil {
			c.srv.opts.Logger.Error("engineio: reader panicked", "sid", c.id, "panic", fmt.Sprint(v))
			c.closeWith(ReasonTransportError, closeAbort)
		}
	}()
	for {
		if err := fr.awaitFrame(); err != nil {
			c.readFailed(err)
			return
		}
		if !c.srv.handlers.run(c, fr) {
			return
		}
	}
}

// readFrame reads the rest of the frame that awaitFrame found and acts on
// it. It reports whether the reader should go on.
// On a raw socket it takes everything that has arrived in one read and
// handles every frame that starts in it.
func (c *Conn) readFrame(fr *frameReader) bool {
	got, err := fr.fill()
	if err != nil {
		c.readFailed(err)
		return false
	}
	if !got {
		return true // woken with nothing to read: wait again
	}
	defer fr.drop()
	for {
		m, err := fr.next()
		if err != nil {
			c.readFailed(err)
			return false
		}
		c.handleFrame(m)
		fr.release(m)
		if c.isClosed() {
			return false
		}
		if len(fr.unread) == 0 {
			return true
		}
	}
}

// handleFrame acts on one websocket message or control frame.
func (c *Conn) handleFrame(m message) {
	switch m.op {
	case ws.OpText:
		if !utf8.Valid(m.payload) {
			c.closeWith(ReasonTransportError, closeInvalidData)
			return
		}
		typ, data, _, err := decodePacket(m.payload, false)
		if err != nil {
			c.closeWith(ReasonParseError, closeNormal)
			return
		}
		c.readMu.Lock()
		c.handlePacket(typ, data, false)
		c.readMu.Unlock()
	case ws.OpBinary:
		c.readMu.Lock()
		c.dispatch(m.payload, true)
		c.readMu.Unlock()
	case ws.OpPing:
		pong := newPacket(byte(ws.OpPong), 0, m.payload, true)
		c.mu.Lock()
		if !c.state.closed() {
			c.enqueueLocked(pong)
		}
		c.mu.Unlock()
	case ws.OpClose:
		c.closeWith(ReasonTransportClose, closeNormal)
	}
}

// readFailed closes the session after a read error, with the close code
// the error calls for.
func (c *Conn) readFailed(err error) {
	switch {
	case errors.Is(err, errFrameTooBig):
		c.closeWith(ReasonTransportError, closeTooBig)
	case errors.Is(err, errFrameInvalid):
		c.closeWith(ReasonTransportError, closeProtocolError)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		c.closeWith(ReasonTransportClose, closeAbort)
	default:
		c.closeWith(ReasonTransportError, closeAbort)
	}
}

// writeLoop drains the queue to the websocket, several frames per write
// when they piled up, and exits when the queue is empty. After a graceful
// close it writes the close frame and closes the connection.
func (c *Conn) writeLoop() {
	var bufs net.Buffers
	for {
		c.mu.Lock()
		nc := c.ws
		batch := c.queue
		c.queue = nil
		partial := c.partial
		c.partial = nil
		if len(batch) == 0 && partial == nil {
			final := c.finalFrame
			c.finalFrame = nil
			c.writing = false
			c.mu.Unlock()
			if final != nil {
				_, _ = nc.Write(final)
				_ = nc.Close()
			}
			return
		}
		c.mu.Unlock()

		var err error
		if len(batch) == 1 && partial == nil {
			_, err = nc.Write(batch[0].frame)
		} else {
			bufs = bufs[:0]
			if partial != nil {
				bufs = append(bufs, partial)
			}
			for _, p := range batch {
				bufs = append(bufs, p.frame)
			}
			pending := bufs
			_, err = pending.WriteTo(nc)
		}
		clear(batch)
		if err != nil {
			c.mu.Lock()
			c.writing = false
			c.finalFrame = nil
			fire := c.closeLocked(ReasonTransportError, closeAbort)
			c.mu.Unlock()
			_ = nc.Close()
			c.finishClose(fire)
			return
		}
	}
}

// frameReader reads websocket messages from a client, unmasking them.
// Single-frame messages up to smallReadBufferSize use pooled buffers.
type frameReader struct {
	srv *Server
	r   io.Reader
	// raw is r's socket when r is a plain TCP connection with nothing read
	// ahead. The reader then waits for readability without reading (ready
	// is its callback, bound once), and fill reads what has arrived in one
	// call into a pooled buffer, instead of a read per header and payload.
	raw    syscall.RawConn
	ready  func(fd uintptr) bool
	waited bool
	buf    *[]byte // pooled, from fill to drop
	unread []byte  // what next has not consumed of *buf
	hdr    [ws.MaxHeaderSize - 2]byte
	// a fragmented message being assembled
	partial   []byte
	partialOp ws.OpCode
	first     bool // hdr[0] already holds the frame's first byte
}

// useRaw switches fr to raw reads when nc is r itself and exposes its
// socket.
func (fr *frameReader) useRaw(nc net.Conn) {
	sc, ok := nc.(syscall.Conn)
	if !ok || fr.r != io.Reader(nc) {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	fr.raw = raw
	fr.ready = func(fd uintptr) bool {
		if fr.waited {
			return true // woken: data, end of stream or an error
		}
		// Readiness is edge-triggered: wait only when nothing is there.
		// The peek takes nothing, so a handler reads it all in one go.
		_, _, err := syscall.Recvfrom(int(fd), fr.hdr[:1], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		if errors.Is(err, syscall.EAGAIN) {
			fr.waited = true
			return false
		}
		return true
	}
}

// awaitFrame blocks until the next frame starts. On a raw socket it only
// waits for readability; otherwise it reads and keeps the first byte.
func (fr *frameReader) awaitFrame() error {
	if fr.raw != nil {
		fr.waited = false
		if err := fr.raw.Read(fr.ready); err != nil {
			return fmt.Errorf("engineio: wait for a frame: %w", err)
		}
		return nil
	}
	for {
		n, err := fr.r.Read(fr.hdr[:1])
		if n == 1 {
			fr.first = true
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// message is one complete websocket message or control frame.
type message struct {
	op      ws.OpCode
	payload []byte
	pooled  *[]byte
}

func (s *Server) newFrameReader(r io.Reader) *frameReader {
	return &frameReader{srv: s, r: r}
}

// fill reads what has arrived on a raw socket, without waiting. It
// reports false when there was nothing (a stale wake-up). Without a raw
// socket it does nothing: next reads from r.
func (fr *frameReader) fill() (bool, error) {
	if fr.raw == nil {
		return true, nil
	}
	bp := fr.srv.readBufs.Get().(*[]byte)
	op := fr.srv.rawOps.Get().(*rawOp)
	op.buf = *bp
	err := fr.raw.Read(op.read)
	n, rerr := op.n, op.err
	op.reset()
	fr.srv.rawOps.Put(op)
	if err == nil {
		err = rerr
	}
	switch {
	case errors.Is(err, syscall.EAGAIN), errors.Is(err, syscall.EINTR):
		fr.srv.readBufs.Put(bp)
		return false, nil
	case err != nil:
		fr.srv.readBufs.Put(bp)
		return false, fmt.Errorf("engineio: read: %w", err)
	case n <= 0:
		fr.srv.readBufs.Put(bp)
		return false, io.EOF
	}
	fr.buf, fr.unread = bp, (*bp)[:n]
	return true, nil
}

// drop gives fill's buffer back.
func (fr *frameReader) drop() {
	if fr.buf != nil {
		fr.srv.readBufs.Put(fr.buf)
		fr.buf, fr.unread = nil, nil
	}
}

// readFull fills p from what fill read, then from r.
func (fr *frameReader) readFull(p []byte) error {
	k := copy(p, fr.unread)
	fr.unread = fr.unread[k:]
	if k == len(p) {
		return nil
	}
	_, err := io.ReadFull(fr.r, p[k:])
	if k > 0 && errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return err
}

func (fr *frameReader) release(m message) {
	if m.pooled != nil {
		fr.srv.readBufs.Put(m.pooled)
	}
}

// next returns the next complete message or control frame.
func (fr *frameReader) next() (message, error) {
	maxPayload := int64(fr.srv.opts.MaxPayload)
	for {
		h, err := fr.readHeader()
		if err != nil {
			return message{}, fmt.Errorf("engineio: read frame header: %w", err)
		}
		state := ws.StateServerSide
		if fr.partial != nil {
			state |= ws.StateFragmented
		}
		if err := ws.CheckHeader(h, state); err != nil {
			return message{}, fmt.Errorf("%w: %w", errFrameInvalid, err)
		}
		if h.OpCode.IsControl() {
			p := make([]byte, h.Length)
			if err := fr.readPayload(p, h.Mask); err != nil {
				return message{}, err
			}
			return message{op: h.OpCode, payload: p}, nil
		}
		switch {
		case h.OpCode == ws.OpContinuation && fr.partial == nil:
			return message{}, fmt.Errorf("%w: continuation without a message", errFrameInvalid)
		case h.OpCode != ws.OpContinuation && fr.partial != nil:
			return message{}, fmt.Errorf("%w: new message inside a fragmented one", errFrameInvalid)
		case h.OpCode != ws.OpText && h.OpCode != ws.OpBinary && h.OpCode != ws.OpContinuation:
			return message{}, fmt.Errorf("%w: opcode %d", errFrameInvalid, h.OpCode)
		}
		if int64(len(fr.partial))+h.Length > maxPayload {
			return message{}, errFrameTooBig
		}
		n := int(h.Length)
		if h.Fin && fr.partial == nil {
			m := message{op: h.OpCode}
			if n <= maxPooledPayloadLength {
				m.pooled = fr.srv.readBufs.Get().(*[]byte)
				m.payload = (*m.pooled)[:n]
			} else {
				m.payload = make([]byte, n)
			}
			if err := fr.readPayload(m.payload, h.Mask); err != nil {
				fr.release(m)
				return message{}, err
			}
			return m, nil
		}
		if fr.partial == nil {
			fr.partialOp = h.OpCode
			fr.partial = make([]byte, 0, n)
		}
		start := len(fr.partial)
		fr.partial = append(fr.partial, make([]byte, n)...)
		if err := fr.readPayload(fr.partial[start:], h.Mask); err != nil {
			return message{}, err
		}
		if h.Fin {
			m := message{op: fr.partialOp, payload: fr.partial}
			fr.partial = nil
			return m, nil
		}
	}
}

// readHeader reads a frame header; its first byte may already be in hdr[0]
// (see awaitFrame).
func (fr *frameReader) readHeader() (ws.Header, error) {
	b := fr.hdr[:2]
	got := 0
	if fr.first {
		fr.first = false
		got = 1
	}
	if err := fr.readFull(b[got:]); err != nil {
		if errors.Is(err, io.EOF) && got > 0 {
			err = io.ErrUnexpectedEOF
		}
		return ws.Header{}, err
	}
	h := ws.Header{
		Fin:    b[0]&0x80 != 0,
		Rsv:    (b[0] & 0x70) >> 4,
		OpCode: ws.OpCode(b[0] & 0x0f),
		Masked: b[1]&0x80 != 0,
	}
	extra := 0
	switch l := b[1] & 0x7f; l {
	case 126:
		extra = 2
	case 127:
		extra = 8
	default:
		h.Length = int64(l)
	}
	if h.Masked {
		extra += 4
	}
	if extra == 0 {
		return h, nil
	}
	b = fr.hdr[:extra]
	if err := fr.readFull(b); err != nil {
		return ws.Header{}, err
	}
	switch extra &^ 4 {
	case 2:
		h.Length = int64(binary.BigEndian.Uint16(b))
		b = b[2:]
	case 8:
		u := binary.BigEndian.Uint64(b)
		if u > 1<<63-1 {
			return ws.Header{}, errFrameInvalid
		}
		h.Length = int64(u)
		b = b[8:]
	}
	if h.Masked {
		copy(h.Mask[:], b)
	}
	return h, nil
}

func (fr *frameReader) readPayload(p []byte, mask [4]byte) error {
	if err := fr.readFull(p); err != nil {
		return fmt.Errorf("engineio: read frame payload: %w", err)
	}
	ws.Cipher(p, mask, 0)
	return nil
}
