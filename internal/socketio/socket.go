package socketio

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"colachat/internal/socketio/parser"
)

// Socket is one client's connection to one namespace.
type Socket struct {
	id          string
	pid         string
	nsp         *Namespace
	client      *client
	auth        json.RawMessage
	connectedAt time.Time
	recovered   bool
	// buffering holds broadcasts in buffered while a resumed socket catches up.
	buffering atomic.Bool

	mu           sync.Mutex
	connected    bool
	handlers     []eventHandler               // a socket has few: a slice is smaller than a map
	state        map[string]any               // allocated on first Set
	acks         map[uint64]chan<- ackOutcome // allocated on first EmitWithAck
	nextAck      uint64
	onDisconnect []func(*Socket, string)
	buffered     []*frames
}

// Handshake describes how a socket connected.
type Handshake struct {
	Auth       json.RawMessage // the CONNECT payload, nil when none
	Header     http.Header
	Query      url.Values
	RemoteAddr string
	Time       time.Time
}

// ID is the socket id (kept across a recovery).
func (s *Socket) ID() string { return s.id }

// Namespace is the socket's namespace.
func (s *Socket) Namespace() *Namespace { return s.nsp }

// Recovered reports whether the socket resumed a previous session.
func (s *Socket) Recovered() bool { return s.recovered }

// Handshake returns the connection details.
func (s *Socket) Handshake() Handshake {
	h := Handshake{Auth: s.auth, RemoteAddr: s.client.t.remoteAddr(), Time: s.connectedAt}
	if r := s.client.t.request(); r != nil {
		h.Header = r.Header
		h.Query = r.URL.Query()
	}
	return h
}

// Connected reports whether the socket is still connected.
func (s *Socket) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected
}

// On handles event on this socket only, after the namespace's handlers.
func (s *Socket) On(event string, h Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers = append(s.handlers, eventHandler{event, h})
}

// eventHandler is a handler a socket registered with On.
type eventHandler struct {
	event string
	h     Handler
}

// OnDisconnect adds a handler called once when the socket disconnects, while
// it is still in its rooms.
func (s *Socket) OnDisconnect(h func(s *Socket, reason string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onDisconnect = append(s.onDisconnect, h)
}

// Set stores per-socket state. With recovery on, values must be
// JSON-serializable to survive a reconnection; they come back as
// json.RawMessage (read them with Decode).
func (s *Socket) Set(key string, v any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == nil {
		s.state = make(map[string]any, 1)
	}
	s.state[key] = v
}

// Get returns per-socket state, nil when unset.
func (s *Socket) Get(key string) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state[key]
}

// Decode reads per-socket state into v, whether it was set in this session or
// came back as JSON from a recovered one.
func (s *Socket) Decode(key string, v any) error {
	raw, ok := s.Get(key).(json.RawMessage)
	if !ok {
		b, err := json.Marshal(s.Get(key))
		if err != nil {
			return fmt.Errorf("socket state %q: %w", key, err)
		}
		raw = b
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("socket state %q: %w", key, err)
	}
	return nil
}

// Join adds the socket to rooms.
func (s *Socket) Join(rooms ...string) { s.nsp.adapter.AddAll(s.id, rooms) }

// Leave removes the socket from room.
func (s *Socket) Leave(room string) { s.nsp.adapter.Del(s.id, room) }

// Rooms lists the socket's rooms, its own id room included.
func (s *Socket) Rooms() []string { return s.nsp.adapter.Rooms(s.id) }

// To starts a broadcast to rooms that skips this socket.
func (s *Socket) To(rooms ...string) *Broadcast {
	return &Broadcast{nsp: s.nsp, opts: BroadcastOptions{Rooms: rooms, ExceptSIDs: []string{s.id}}}
}

// Broadcast starts a broadcast to the whole namespace but this socket.
func (s *Socket) Broadcast() *Broadcast { return s.To() }

// Emit sends event with args to this socket.
func (s *Socket) Emit(event string, args ...any) error {
	if err := checkEventName(event); err != nil {
		return err
	}
	p, err := newPacket(parser.Event, s.nsp.name, &event, args)
	if err != nil {
		return fmt.Errorf("emit %q: %w", event, err)
	}
	return s.send(p)
}

type ackOutcome struct {
	args Args
	err  error
}

// EmitWithAck sends event and waits for the client's ack, until ctx ends or,
// when ctx has no deadline, Options.AckTimeout passes.
func (s *Socket) EmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	if err := checkEventName(event); err != nil {
		return Args{}, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.nsp.srv.opts.AckTimeout)
		defer cancel()
	}
	p, err := newPacket(parser.Event, s.nsp.name, &event, args)
	if err != nil {
		return Args{}, fmt.Errorf("emit %q: %w", event, err)
	}
	ch := make(chan ackOutcome, 1)
	s.mu.Lock()
	if !s.connected {
		s.mu.Unlock()
		return Args{}, ErrDisconnected
	}
	if s.acks == nil {
		s.acks = make(map[uint64]chan<- ackOutcome, 1)
	}
	id := s.nextAck
	s.nextAck++
	s.acks[id] = ch
	s.mu.Unlock()
	p.ID, p.HasID = id, true
	if err := s.send(p); err != nil {
		s.dropAck(id)
		return Args{}, err
	}
	select {
	case out := <-ch:
		return out.args, out.err
	case <-ctx.Done():
		s.dropAck(id)
		return Args{}, fmt.Errorf("emit %q: waiting for ack: %w", event, ctx.Err())
	}
}

func (s *Socket) dropAck(id uint64) {
	s.mu.Lock()
	delete(s.acks, id)
	s.mu.Unlock()
}

func (s *Socket) send(p *parser.Packet) error {
	if !s.Connected() {
		return ErrDisconnected
	}
	if err := s.client.sendPacket(p); err != nil {
		return fmt.Errorf("send to socket %s: %w", s.id, err)
	}
	return nil
}

// Disconnect tells the client it was disconnected from this namespace (it
// will not reconnect by itself) and closes the socket.
func (s *Socket) Disconnect() {
	if !s.Connected() {
		return
	}
	_ = s.client.sendPacket(&parser.Packet{Type: parser.Disconnect, Namespace: s.nsp.name})
	s.onClose(ReasonServerNamespaceDisconnect)
}

// CloseTransport cuts the whole underlying connection, as a network failure
// would: the client reconnects (and recovers, when recovery is on).
func (s *Socket) CloseTransport() { s.client.shutdown("forced server close") }

func (s *Socket) onEvent(p *parser.Packet) {
	var event string
	if err := json.Unmarshal(p.Args[0], &event); err != nil {
		s.client.protocolError(err)
		return
	}
	args := Args{raw: p.Args[1:], attachments: p.Attachments}
	var ack AckFunc
	if p.HasID {
		ack = s.ackFunc(p.ID)
	}
	for _, h := range s.nsp.handlersFor(event) {
		if !s.runHandler(h, event, args, ack) {
			return
		}
	}
	// On may add handlers meanwhile: walk the list as it was, by index.
	s.mu.Lock()
	own := s.handlers
	s.mu.Unlock()
	for _, eh := range own {
		if eh.event == event && !s.runHandler(eh.h, event, args, ack) {
			return
		}
	}
}

// runHandler runs an event handler; a panic is logged and disconnects the
// socket, as in safely.
func (s *Socket) runHandler(h Handler, event string, args Args, ack AckFunc) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			s.nsp.srv.log.Error("socket.io: handler panic", "nsp", s.nsp.name, "sid", s.id, "event", event, "panic", r, "stack", string(debug.Stack()))
			s.Disconnect()
			ok = false
		}
	}()
	h(s, args, ack)
	return true
}

// ackFunc answers ack id once.
func (s *Socket) ackFunc(id uint64) AckFunc {
	var done atomic.Bool
	return func(args ...any) {
		if done.Swap(true) {
			return
		}
		p, err := newPacket(parser.Ack, s.nsp.name, nil, args)
		if err != nil {
			s.nsp.srv.log.Warn("socket.io: encode ack", "nsp", s.nsp.name, "err", err)
			return
		}
		p.ID, p.HasID = id, true
		_ = s.send(p)
	}
}

func (s *Socket) onAck(p *parser.Packet) {
	s.mu.Lock()
	ch, ok := s.acks[p.ID]
	delete(s.acks, p.ID)
	s.mu.Unlock()
	if !ok {
		// A late ack after its timeout, or a bogus id: nothing waits for it.
		return
	}
	ch <- ackOutcome{args: Args{raw: p.Args, attachments: p.Attachments}}
}

// safely runs a user callback; a panic is logged and disconnects the socket.
func (s *Socket) safely(what string, f func()) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			s.nsp.srv.log.Error("socket.io: handler panic", "nsp", s.nsp.name, "sid", s.id, "in", what, "panic", r, "stack", string(debug.Stack()))
			s.Disconnect()
			ok = false
		}
	}()
	f()
	return true
}

// onClose ends the socket once: disconnect handlers run while it is still in
// its rooms, then it leaves them; with recovery on, a session is saved when
// the reason allows the client to come back.
func (s *Socket) onClose(reason string) {
	s.mu.Lock()
	if !s.connected {
		s.mu.Unlock()
		return
	}
	s.connected = false
	acks := s.acks
	s.acks = nil
	own := s.onDisconnect
	s.mu.Unlock()

	for _, ch := range acks {
		ch <- ackOutcome{err: ErrDisconnected}
	}
	n := s.nsp
	n.mu.RLock()
	shared := n.onDisconnect
	n.mu.RUnlock()
	for _, list := range [][]func(*Socket, string){shared, own} {
		for _, h := range list {
			func() {
				defer func() {
					if r := recover(); r != nil {
						n.srv.log.Error("socket.io: disconnect handler panic", "nsp", n.name, "sid", s.id, "panic", r)
					}
				}()
				h(s, reason)
			}()
		}
	}
	if n.srv.opts.Recovery != nil && recoverable(reason) {
		n.saveSession(s)
	}
	n.adapter.DelAll(s.id)
	n.remove(s)
	s.client.remove(s)
}
