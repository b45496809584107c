package socketio

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"colachat/internal/socketio/parser"
)

// Middleware runs, in order, before a socket joins a namespace. A non-nil
// error refuses the connection: a *ConnectError sends its Message and Data,
// any other error its text.
type Middleware func(s *Socket, auth json.RawMessage) error

// Namespace is a Socket.IO namespace. Handlers registered on it are shared by
// all its sockets, which keeps sockets small.
type Namespace struct {
	name    string
	srv     *Server
	adapter Adapter

	mu           sync.RWMutex
	sockets      map[string]*Socket
	middleware   []Middleware
	onConnect    []func(*Socket)
	onDisconnect []func(*Socket, string)
	handlers     map[string][]Handler
}

func newNamespace(s *Server, name string) *Namespace {
	n := &Namespace{name: name, srv: s, sockets: make(map[string]*Socket)}
	n.adapter = s.opts.Adapter(n)
	return n
}

// Name is the namespace's name, with its leading slash.
func (n *Namespace) Name() string { return n.name }

// Adapter is the namespace's room adapter.
func (n *Namespace) Adapter() Adapter { return n.adapter }

// Use adds a middleware.
func (n *Namespace) Use(m Middleware) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.middleware = append(n.middleware, m)
}

// OnConnection adds a handler called for every socket that connects.
func (n *Namespace) OnConnection(h func(s *Socket)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.onConnect = append(n.onConnect, h)
}

// OnDisconnect adds a handler called for every socket that disconnects, while
// it is still in its rooms.
func (n *Namespace) OnDisconnect(h func(s *Socket, reason string)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.onDisconnect = append(n.onDisconnect, h)
}

// On handles event for every socket of the namespace, before the socket's own
// handlers.
func (n *Namespace) On(event string, h Handler) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.handlers == nil {
		n.handlers = make(map[string][]Handler)
	}
	n.handlers[event] = append(n.handlers[event], h)
}

// To starts a broadcast to the sockets in any of rooms (all sockets when none).
func (n *Namespace) To(rooms ...string) *Broadcast {
	return &Broadcast{nsp: n, opts: BroadcastOptions{Rooms: rooms}}
}

// Emit sends event to every socket of the namespace.
func (n *Namespace) Emit(event string, args ...any) error {
	return n.To().Emit(event, args...)
}

// Socket returns the local socket with id sid, or nil.
func (n *Namespace) Socket(sid string) *Socket {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.sockets[sid]
}

// Len is the number of local sockets.
func (n *Namespace) Len() int {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return len(n.sockets)
}

// Deliver sends p, encoded once, to the local sockets among sids. Adapters
// call it; sids nil means every local socket.
func (n *Namespace) Deliver(p *parser.Packet, sids []string) {
	f := encodeFrames(p)
	var targets []*Socket
	n.mu.RLock()
	if sids == nil {
		targets = make([]*Socket, 0, len(n.sockets))
		for _, s := range n.sockets {
			targets = append(targets, s)
		}
	} else {
		targets = make([]*Socket, 0, len(sids))
		for _, sid := range sids {
			if s, ok := n.sockets[sid]; ok {
				targets = append(targets, s)
			}
		}
	}
	n.mu.RUnlock()
	for _, s := range targets {
		s.deliver(f)
	}
}

// LocalSIDs lists the ids of the local sockets.
func (n *Namespace) LocalSIDs() []string {
	n.mu.RLock()
	defer n.mu.RUnlock()
	ids := make([]string, 0, len(n.sockets))
	for id := range n.sockets {
		ids = append(ids, id)
	}
	return ids
}

func (n *Namespace) handlersFor(event string) []Handler {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.handlers[event]
}

// connect runs the CONNECT handshake of c to this namespace.
func (n *Namespace) connect(c *client, auth json.RawMessage) {
	s := &Socket{nsp: n, client: c, auth: auth, connectedAt: time.Now()}
	var resume *resumption
	if n.srv.opts.Recovery != nil {
		resume = n.takeSession(s, auth)
		if resume == nil {
			s.pid = randomID()
		}
	}
	if s.id == "" {
		s.id = randomID()
	}

	n.mu.RLock()
	middleware := n.middleware
	n.mu.RUnlock()
	if resume != nil && !n.srv.opts.Recovery.RunMiddlewaresOnRecovery {
		middleware = nil // they ran when the session began
	}
	for _, m := range middleware {
		if err := n.runMiddleware(m, s, auth); err != nil {
			n.refuse(c, err)
			return
		}
	}

	s.mu.Lock()
	s.connected = true
	s.mu.Unlock()
	var missed catchUp
	if resume != nil {
		// Live broadcasts are held back from here until the missed events
		// are out, so that none falls between the store's answer and the
		// socket joining its rooms.
		s.buffering.Store(true)
		n.register(s, resume.session.Rooms)
		var ok bool
		if missed, ok = n.missed(resume); !ok {
			n.unregister(s)
			s.restart()
			n.register(s, nil)
		}
	} else {
		n.register(s, nil)
	}
	// Registered everywhere before the client, so that a close racing with
	// this connect (Server.Close) finds the socket and cleans it all up.
	if !c.add(s) {
		s.mu.Lock()
		s.connected = false
		s.mu.Unlock()
		n.unregister(s)
		return
	}

	reply := struct {
		SID string `json:"sid"`
		PID string `json:"pid,omitempty"`
	}{s.id, s.pid}
	data, _ := json.Marshal(reply) // two strings always encode
	if err := c.sendPacket(&parser.Packet{Type: parser.Connect, Namespace: n.name, Data: data}); err != nil {
		return
	}
	if resume != nil {
		s.catchUp(missed)
	}

	n.mu.RLock()
	onConnect := n.onConnect
	n.mu.RUnlock()
	for _, h := range onConnect {
		if !s.safely("connection handler", func() { h(s) }) {
			return
		}
	}
}

// register makes s reachable: by id, and in its own room plus rooms.
func (n *Namespace) register(s *Socket, rooms []string) {
	n.mu.Lock()
	n.sockets[s.id] = s
	n.mu.Unlock()
	n.adapter.AddAll(s.id, append([]string{s.id}, rooms...))
}

func (n *Namespace) unregister(s *Socket) {
	n.adapter.DelAll(s.id)
	n.remove(s)
}

func (n *Namespace) runMiddleware(m Middleware, s *Socket, auth json.RawMessage) (err error) {
	defer func() {
		if r := recover(); r != nil {
			n.srv.log.Error("socket.io: middleware panic", "nsp", n.name, "panic", r)
			err = errors.New("internal error")
		}
	}()
	return m(s, auth)
}

func (n *Namespace) refuse(c *client, err error) {
	body := struct {
		Message string `json:"message"`
		Data    any    `json:"data,omitempty"`
	}{Message: err.Error()}
	if ce, ok := errors.AsType[*ConnectError](err); ok {
		body.Message, body.Data = ce.Message, ce.Data
	}
	data, merr := json.Marshal(body)
	if merr != nil {
		data, _ = json.Marshal(struct {
			Message string `json:"message"`
		}{body.Message})
	}
	_ = c.sendPacket(&parser.Packet{Type: parser.ConnectError, Namespace: n.name, Data: data})
}

func (n *Namespace) remove(s *Socket) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.sockets[s.id] == s {
		delete(n.sockets, s.id)
	}
}

func (n *Namespace) String() string { return fmt.Sprintf("namespace %s", n.name) }
