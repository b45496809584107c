// Package sioclient is a small Socket.IO v4 client (Engine.IO 4, Socket.IO protocol 5) over
// WebSocket only, with JSON payloads only. It is built to hold thousands of connections in one
// process: one reader goroutine per connection, writes straight to the socket under a mutex,
// no per-message goroutines.
package sioclient

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gobwas/ws"
)

// ErrClosed is returned by calls on a closed client and given to pending ack callbacks when the
// connection ends before their ack arrives.
var ErrClosed = errors.New("sioclient: connection closed")

// Args are the arguments of an event or ack, each still JSON-encoded. They alias the frame they
// arrived in; a handler may keep them.
type Args []json.RawMessage

// Decode unmarshals argument i into v.
func (a Args) Decode(i int, v any) error {
	if i >= len(a) {
		return fmt.Errorf("sioclient: argument %d of %d missing", i, len(a))
	}
	if err := json.Unmarshal(a[i], v); err != nil {
		return fmt.Errorf("sioclient: argument %d: %w", i, err)
	}
	return nil
}

// Options configure Dial.
type Options struct {
	// URL is the server's base URL (http, https, ws or wss). A path in it names the namespace
	// when Namespace is empty, as in socket.io-client.
	URL string
	// Path is the Engine.IO endpoint path; "/socket.io/" when empty.
	Path string
	// Namespace to connect to; "/" when empty.
	Namespace string
	// Query holds extra handshake query parameters.
	Query url.Values
	// Header holds extra handshake headers.
	Header http.Header
	// Auth, when not nil, is sent as the CONNECT payload (socket.handshake.auth on the server).
	Auth any
	// LocalAddr, when set, is the source IP to dial from (to spread load generators over
	// several loopback addresses and their ephemeral ports).
	LocalAddr net.IP
	// HandshakeTimeout bounds dial + Engine.IO open + namespace CONNECT; 10 s when zero.
	HandshakeTimeout time.Duration
	// OnEvent is called for every event that has no handler set with On. It runs on the
	// connection's reader goroutine and must not block.
	OnEvent func(event string, args Args)
	// OnClose is called once, on the reader goroutine, when the connection ends, with the cause
	// (nil after Close).
	OnClose func(err error)
}

// Client is one Socket.IO connection to one namespace. Its methods are safe for concurrent use.
type Client struct {
	conn     net.Conn
	nsp      string
	sid      string
	pid      string
	interval time.Duration // Engine.IO pingInterval + pingTimeout: the read deadline after a ping
	onEvent  func(string, Args)
	onClose  func(error)

	wmu  sync.Mutex
	wbuf []byte
	mask uint32

	mu       sync.Mutex
	handlers map[string]func(Args)
	acks     map[int64]func(Args, error)
	nextAck  int64
	closed   bool
	closeErr error

	done chan struct{}
}

// handshake is the Engine.IO open packet.
type handshake struct {
	SID          string `json:"sid"`
	PingInterval int64  `json:"pingInterval"`
	PingTimeout  int64  `json:"pingTimeout"`
	MaxPayload   int64  `json:"maxPayload"`
}

// connectReply is the data of a CONNECT or CONNECT_ERROR packet.
type connectReply struct {
	SID     string          `json:"sid"`
	PID     string          `json:"pid"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
}

// ConnectError is returned by Dial when the server refuses the namespace CONNECT.
type ConnectError struct {
	Message string
	Data    json.RawMessage
}

func (e *ConnectError) Error() string { return "sioclient: connect refused: " + e.Message }

// Dial opens the websocket, completes the Engine.IO handshake and connects to the namespace.
// The returned client's reader goroutine runs until Close or the connection ends.
func Dial(ctx context.Context, opts Options) (*Client, error) {
	wsURL, nsp, err := endpoint(opts)
	if err != nil {
		return nil, err
	}
	timeout := opts.HandshakeTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	dialer := ws.Dialer{Timeout: timeout}
	if opts.Header != nil {
		dialer.Header = ws.HandshakeHeaderHTTP(opts.Header)
	}
	if opts.LocalAddr != nil {
		nd := net.Dialer{LocalAddr: &net.TCPAddr{IP: opts.LocalAddr}}
		dialer.NetDial = nd.DialContext
	}
	conn, br, _, err := dialer.Dial(ctx, wsURL)
	if err != nil {
		return nil, fmt.Errorf("sioclient: dial %s: %w", wsURL, err)
	}
	fr := newFrameReader(conn, br)
	c := &Client{
		conn:    conn,
		nsp:     nsp,
		onEvent: opts.OnEvent,
		onClose: opts.OnClose,
		mask:    uint32(time.Now().UnixNano()) | 1,
		done:    make(chan struct{}),
	}
	if err := c.open(ctx, fr, opts.Auth); err != nil {
		_ = conn.Close()
		return nil, err
	}
	go c.readLoop(fr)
	return c, nil
}

// endpoint builds the websocket URL and the namespace from the options.
func endpoint(opts Options) (string, string, error) {
	u, err := url.Parse(opts.URL)
	if err != nil {
		return "", "", fmt.Errorf("sioclient: url: %w", err)
	}
	switch u.Scheme {
	case "http", "ws":
		u.Scheme = "ws"
	case "https", "wss":
		u.Scheme = "wss"
	default:
		return "", "", fmt.Errorf("sioclient: url %q: scheme must be http(s) or ws(s)", opts.URL)
	}
	nsp := opts.Namespace
	if nsp == "" && u.Path != "" && u.Path != "/" {
		nsp = u.Path
	}
	if nsp == "" {
		nsp = "/"
	}
	if !strings.HasPrefix(nsp, "/") {
		nsp = "/" + nsp
	}
	path := opts.Path
	if path == "" {
		path = "/socket.io/"
	}
	q := url.Values{}
	for k, v := range opts.Query {
		q[k] = v
	}
	q.Set("EIO", "4")
	q.Set("transport", "websocket")
	u.Path = path
	u.RawQuery = q.Encode()
	u.Fragment = ""
	return u.String(), nsp, nil
}

// open reads the Engine.IO open packet, sends CONNECT and waits for the namespace's answer.
func (c *Client) open(ctx context.Context, fr *frameReader, auth any) error {
	if dl, ok := ctx.Deadline(); ok {
		_ = c.conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = c.conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	msg, err := c.nextMessage(fr)
	if err != nil {
		return fmt.Errorf("sioclient: engine.io open: %w", ctxErr(ctx, err))
	}
	if len(msg) == 0 || msg[0] != engineOpen {
		return fmt.Errorf("sioclient: engine.io open: got %q, want an open packet", trim(msg))
	}
	var hs handshake
	if err := json.Unmarshal(msg[1:], &hs); err != nil {
		return fmt.Errorf("sioclient: engine.io open: %w", err)
	}
	c.interval = time.Duration(hs.PingInterval+hs.PingTimeout) * time.Millisecond

	b := appendPacketHead(nil, packetConnect, c.nsp, noAck)
	if auth != nil {
		if b, err = appendJSON(b, auth); err != nil {
			return fmt.Errorf("sioclient: encode auth: %w", err)
		}
	}
	if err := c.writeText(b); err != nil {
		return ctxErr(ctx, err)
	}
	for {
		msg, err := c.nextMessage(fr)
		if err != nil {
			return fmt.Errorf("sioclient: connect %s: %w", c.nsp, ctxErr(ctx, err))
		}
		if len(msg) == 0 || msg[0] != engineMessage {
			continue
		}
		p, err := decodePacket(msg[1:])
		if err != nil {
			return err
		}
		if !p.in(c.nsp) {
			continue
		}
		var reply connectReply
		switch p.typ {
		case packetConnect:
			if err := json.Unmarshal(p.data, &reply); err != nil {
				return fmt.Errorf("sioclient: connect reply: %w", err)
			}
			c.sid, c.pid = reply.SID, reply.PID
			if err := c.conn.SetDeadline(time.Time{}); err != nil {
				return err
			}
			return c.conn.SetReadDeadline(c.readDeadline())
		case packetConnectError:
			if err := json.Unmarshal(p.data, &reply); err != nil {
				return &ConnectError{Message: string(p.data)}
			}
			return &ConnectError{Message: reply.Message, Data: reply.Data}
		}
	}
}

// nextMessage returns the next Engine.IO packet other than ping, answering pings on the way.
func (c *Client) nextMessage(fr *frameReader) ([]byte, error) {
	for {
		msg, err := c.readFrame(fr)
		if err != nil {
			return nil, err
		}
		if len(msg) > 0 && msg[0] == enginePing {
			if err := c.pong(msg); err != nil {
				return nil, err
			}
			continue
		}
		return msg, nil
	}
}

func (c *Client) readDeadline() time.Time {
	if c.interval <= 0 {
		return time.Time{}
	}
	return time.Now().Add(c.interval)
}

func (c *Client) pong(ping []byte) error {
	// "2probe" is answered "3probe"; a plain "2" with "3". The ping buffer is ours to reuse.
	ping[0] = enginePong
	if err := c.writeText(ping); err != nil {
		return err
	}
	// A live server pings every pingInterval: if none comes within interval+timeout, give up.
	return c.conn.SetReadDeadline(c.readDeadline())
}

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%w)", ctx.Err(), err)
	}
	return err
}

func trim(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

// SID is the Socket.IO session id the server gave this namespace connection.
func (c *Client) SID() string { return c.sid }

// PID is the private session id of the CONNECT reply when the server offers connection state
// recovery ("" otherwise). A later Dial recovers the session with Auth {"pid": PID, "offset": the
// last offset seen}, where an offset is the extra last argument of a recoverable broadcast.
func (c *Client) PID() string { return c.pid }

// Done is closed when the connection has ended and the reader goroutine has returned.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns why the connection ended: nil while open and after Close.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeErr
}

// On sets the handler for one event, replacing any earlier one. Handlers run on the connection's
// reader goroutine, in arrival order, and must not block.
func (c *Client) On(event string, h func(Args)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.handlers == nil {
		c.handlers = make(map[string]func(Args))
	}
	c.handlers[event] = h
}

// Emit sends an event without an ack. Arguments are encoded with encoding/json; a
// json.RawMessage is sent as is.
func (c *Client) Emit(event string, args ...any) error {
	b, err := appendEventData(appendPacketHead(c.scratch(), packetEvent, c.nsp, noAck), event, args)
	if err != nil {
		return err
	}
	return c.writeText(b)
}

// EmitAck sends an event that asks for an ack. Unless EmitAck returns an error, cb is called
// exactly once, on the reader goroutine, with the ack's arguments, or with an error wrapping
// ErrClosed if the connection ends first. cb must not block.
func (c *Client) EmitAck(event string, cb func(Args, error), args ...any) error {
	_, err := c.emitAck(event, cb, args)
	return err
}

func (c *Client) emitAck(event string, cb func(Args, error), args []any) (int64, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return 0, ErrClosed
	}
	id := c.nextAck
	c.nextAck++
	if c.acks == nil {
		c.acks = make(map[int64]func(Args, error))
	}
	c.acks[id] = cb
	c.mu.Unlock()

	b, err := appendEventData(appendPacketHead(c.scratch(), packetEvent, c.nsp, id), event, args)
	if err == nil {
		err = c.writeText(b)
	}
	if err != nil && !c.forgetAck(id) {
		return id, nil // the connection ended meanwhile and cb already had ErrClosed: once is enough
	}
	return id, err
}

// forgetAck drops a pending ack callback and reports whether it was still pending.
func (c *Client) forgetAck(id int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, pending := c.acks[id]
	delete(c.acks, id)
	return pending
}

// EmitWithAck sends an event and waits for its ack, the end of the connection or ctx.
func (c *Client) EmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	type result struct {
		args Args
		err  error
	}
	ch := make(chan result, 1)
	id, err := c.emitAck(event, func(a Args, err error) { ch <- result{a, err} }, args)
	if err != nil {
		return nil, err
	}
	select {
	case r := <-ch:
		return r.args, r.err
	case <-ctx.Done():
		c.forgetAck(id) // a late ack then finds nothing to call
		return nil, fmt.Errorf("sioclient: ack for %q: %w", event, ctx.Err())
	}
}

// scratch returns a buffer to build one outgoing packet in. Building happens outside the write
// lock, so each packet gets its own; the write lock guards only the frame buffer.
func (c *Client) scratch() []byte { return make([]byte, 0, 128) }

// Close leaves the namespace, closes the websocket and waits for the reader goroutine; so it
// must not be called from a handler or ack callback (which run on that goroutine).
func (c *Client) Close() error {
	c.mu.Lock()
	already := c.closed
	c.closed = true
	c.mu.Unlock()
	if !already {
		// Best effort: a polite DISCONNECT and close frame, bounded so a stuck peer cannot hold us.
		_ = c.conn.SetWriteDeadline(time.Now().Add(time.Second))
		_ = c.writeText(appendPacketHead(nil, packetDisconnect, c.nsp, noAck))
		_ = c.writeFrame(ws.OpClose, ws.NewCloseFrameBody(ws.StatusNormalClosure, ""))
		_ = c.conn.Close()
	}
	<-c.done
	return nil
}

func (c *Client) readLoop(fr *frameReader) {
	err := c.serve(fr)
	_ = c.conn.Close()

	c.mu.Lock()
	byUs := c.closed
	c.closed = true
	if !byUs {
		c.closeErr = err
	}
	acks := c.acks
	c.acks = nil
	c.mu.Unlock()

	cause := ErrClosed
	if !byUs && err != nil {
		cause = fmt.Errorf("%w: %w", ErrClosed, err)
	}
	for _, cb := range acks {
		cb(nil, cause)
	}
	if c.onClose != nil {
		if byUs {
			c.onClose(nil)
		} else {
			c.onClose(err)
		}
	}
	close(c.done)
}

// errServerDisconnect is the cause when the server closes the namespace or the engine.
var errServerDisconnect = errors.New("sioclient: server disconnected")

func (c *Client) serve(fr *frameReader) error {
	for {
		msg, err := c.nextMessage(fr)
		if err != nil {
			return err
		}
		if len(msg) == 0 {
			continue
		}
		switch msg[0] {
		case engineMessage:
		case engineClose:
			return errServerDisconnect
		default: // noop, pong, a late open: nothing to do
			continue
		}
		p, err := decodePacket(msg[1:])
		if err != nil {
			return err
		}
		if !p.in(c.nsp) {
			continue
		}
		switch p.typ {
		case packetEvent:
			if err := c.dispatchEvent(p); err != nil {
				return err
			}
		case packetAck:
			args, err := splitArray(p.data)
			if err != nil {
				return err
			}
			c.mu.Lock()
			cb := c.acks[p.ackID]
			delete(c.acks, p.ackID)
			c.mu.Unlock()
			if cb != nil {
				cb(args, nil)
			}
		case packetDisconnect:
			return errServerDisconnect
		}
	}
}

func (c *Client) dispatchEvent(p packet) error {
	all, err := splitArray(p.data)
	if err != nil {
		return err
	}
	if len(all) == 0 {
		return fmt.Errorf("%w: event without a name", errBadPacket)
	}
	event, err := decodeString(all[0])
	if err != nil {
		return err
	}
	args := Args(all[1:])
	c.mu.Lock()
	h := c.handlers[event]
	c.mu.Unlock()
	switch {
	case h != nil:
		h(args)
	case c.onEvent != nil:
		c.onEvent(event, args)
	}
	if p.ackID != noAck {
		// The server asked for an ack: answer with no arguments so it does not wait forever.
		b := appendPacketHead(c.scratch(), packetAck, c.nsp, p.ackID)
		if err := c.writeText(append(b, '[', ']')); err != nil {
			return err
		}
	}
	return nil
}

// frameReader reads websocket frames; it owns the connection's read side.
type frameReader struct {
	r   *bufio.Reader
	hdr [ws.MaxHeaderSize]byte
}

// readBufferSize is small on purpose: most frames are small, and large payloads are read straight
// into their own buffer past bufio.
const readBufferSize = 1024

// maxFrameSize bounds what a peer can make us allocate.
const maxFrameSize = 16 << 20

func newFrameReader(conn net.Conn, br *bufio.Reader) *frameReader {
	if br == nil {
		return &frameReader{r: bufio.NewReaderSize(conn, readBufferSize)}
	}
	// The server sent frames right behind its handshake answer: keep what was buffered.
	pending := make([]byte, br.Buffered())
	_, _ = br.Read(pending)
	ws.PutReader(br)
	return &frameReader{r: bufio.NewReaderSize(&prefixReader{pending: pending, conn: conn}, readBufferSize)}
}

// prefixReader yields bytes already read off the connection before the connection itself.
type prefixReader struct {
	pending []byte
	conn    net.Conn
}

func (p *prefixReader) Read(b []byte) (int, error) {
	if len(p.pending) > 0 {
		n := copy(b, p.pending)
		p.pending = p.pending[n:]
		return n, nil
	}
	return p.conn.Read(b)
}

var errBinaryFrame = errors.New("sioclient: binary frames are not supported")

// readFrame returns the next complete text message, answering websocket pings and closes.
func (c *Client) readFrame(fr *frameReader) ([]byte, error) {
	var msg []byte
	for {
		h, err := ws.ReadHeaderBuffer(fr.r, fr.hdr[:0])
		if err != nil {
			return nil, err
		}
		if h.Length > maxFrameSize || int64(len(msg))+h.Length > maxFrameSize {
			return nil, fmt.Errorf("sioclient: frame of %d bytes is too large", h.Length)
		}
		start := len(msg)
		msg = slices.Grow(msg, int(h.Length))[:start+int(h.Length)]
		payload := msg[start:]
		if _, err := io.ReadFull(fr.r, payload); err != nil {
			return nil, err
		}
		if h.Masked {
			ws.Cipher(payload, h.Mask, 0)
		}
		switch h.OpCode {
		case ws.OpPing:
			if err := c.writeFrame(ws.OpPong, payload); err != nil {
				return nil, err
			}
			msg = msg[:start]
			continue
		case ws.OpPong:
			msg = msg[:start]
			continue
		case ws.OpClose:
			code, reason := ws.ParseCloseFrameData(payload)
			_ = c.writeFrame(ws.OpClose, ws.NewCloseFrameBody(code, ""))
			return nil, fmt.Errorf("%w: websocket close %d %q", errServerDisconnect, code, reason)
		case ws.OpBinary:
			return nil, errBinaryFrame
		}
		if h.Fin {
			return msg, nil
		}
	}
}

// writeText sends one Engine.IO packet as one websocket text frame.
func (c *Client) writeText(p []byte) error {
	return c.writeFrame(ws.OpText, p)
}

// writeFrame masks p into the connection's frame buffer and writes header and payload in one call.
func (c *Client) writeFrame(op ws.OpCode, p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mask = c.mask*1664525 + 1013904223 // a cheap LCG: masks need not be secret for a load client
	mask := [4]byte{byte(c.mask >> 24), byte(c.mask >> 16), byte(c.mask >> 8), byte(c.mask)}
	buf := appendFrameHeader(c.wbuf[:0], op, len(p), mask)
	hs := len(buf)
	buf = append(buf, p...)
	ws.Cipher(buf[hs:], mask, 0)
	_, err := c.conn.Write(buf)
	if cap(buf) <= 4096 {
		c.wbuf = buf[:0]
	} else {
		c.wbuf = nil // do not pin a large buffer on an idle connection
	}
	if err != nil {
		return fmt.Errorf("sioclient: write: %w", err)
	}
	return nil
}

// appendFrameHeader appends a final, masked frame header (RFC 6455 section 5.2).
func appendFrameHeader(b []byte, op ws.OpCode, n int, mask [4]byte) []byte {
	const fin, masked = 0x80, 0x80
	b = append(b, fin|byte(op))
	switch {
	case n < 126:
		b = append(b, masked|byte(n))
	case n <= 0xffff:
		b = append(b, masked|126, byte(n>>8), byte(n))
	default:
		b = append(b, masked|127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, mask[:]...)
}
