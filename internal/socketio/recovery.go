package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"colachat/internal/socketio/parser"
)

// RecoveryOptions turns on connection state recovery (Socket.IO ≥ 4.6): the
// CONNECT reply carries a private session id (pid), broadcasts carry an
// offset as their last argument, and a client that comes back with
// {pid, offset} within MaxDisconnectionDuration gets its socket id, rooms and
// state back, then every event it missed, once and in order.
type RecoveryOptions struct {
	// MaxDisconnectionDuration is how long a session can be resumed (2 min).
	MaxDisconnectionDuration time.Duration
	// Sessions keeps sessions and finds missed events (an in-memory store
	// with a bounded buffer of broadcasts by default). An application can
	// serve missed events from its own storage, across restarts and nodes,
	// by setting the offsets itself (Broadcast.Offset) and implementing
	// Missed.
	Sessions SessionStore
	// RunMiddlewaresOnRecovery runs the namespace middleware again for a
	// resumed session; by default they are skipped, as in the reference
	// server (the session's state was set when they first ran).
	RunMiddlewaresOnRecovery bool
}

// Session is what a disconnected socket leaves behind to be resumed.
type Session struct {
	PID            string
	SID            string
	Namespace      string
	Rooms          []string                   // without the socket's own id room
	State          map[string]json.RawMessage // Socket.Set values, as JSON
	DisconnectedAt time.Time
}

// MissedEvent is one broadcast a recovering client missed. Args may hold
// json.RawMessage and []byte values; Offset is sent as the last argument.
type MissedEvent struct {
	Event  string
	Args   []any
	Offset string
}

// SessionStore keeps sessions of disconnected sockets.
type SessionStore interface {
	// Save keeps s until it is taken or too old.
	Save(ctx context.Context, s Session) error
	// Take returns and forgets the session pid; ErrSessionNotFound when
	// there is none.
	Take(ctx context.Context, pid string) (Session, error)
	// Missed returns the events the session's socket missed after offset
	// (the last one it received; empty when it received none), oldest
	// first. auth is the whole CONNECT payload of the reconnecting client,
	// where an application may have it say more than its last offset.
	// ErrOffsetUnknown when that cannot be known: the client then starts a
	// new session.
	//
	// had, when not nil, tells by its offset a live broadcast that the client
	// already had before it disconnected: one held back while the missed
	// events go out is then dropped. A store whose live broadcasts may lag
	// behind what it reads (several nodes) needs it.
	Missed(ctx context.Context, s Session, offset string, auth json.RawMessage) (missed []MissedEvent, had func(offset string) bool, err error)
}

// Recorder is implemented by a SessionStore that keeps broadcasts itself, as
// the in-memory one does; the server calls Record for every broadcast.
type Recorder interface {
	Record(nsp string, opts BroadcastOptions, ev MissedEvent)
}

// Errors of session stores.
var (
	ErrSessionNotFound = errors.New("recovery session not found")
	ErrOffsetUnknown   = errors.New("recovery offset unknown")
)

// recoverable lists the disconnect reasons after which a client comes back.
func recoverable(reason string) bool {
	switch reason {
	case "transport error", "transport close", "forced close", "ping timeout",
		ReasonServerShuttingDown, "forced server close":
		return true
	}
	return false
}

// resumption is a session being resumed by a reconnecting client.
type resumption struct {
	session Session
	offset  string
	auth    json.RawMessage
}

// takeSession finds the session named in auth and, when it can be resumed,
// gives s its id and state back.
func (n *Namespace) takeSession(s *Socket, auth json.RawMessage) *resumption {
	var ref struct {
		PID    string `json:"pid"`
		Offset string `json:"offset"`
	}
	if len(auth) == 0 || json.Unmarshal(auth, &ref) != nil || ref.PID == "" {
		return nil
	}
	rec := n.srv.opts.Recovery
	ctx, cancel := n.srv.storeContext()
	defer cancel()
	sess, err := rec.Sessions.Take(ctx, ref.PID)
	if err != nil {
		if !errors.Is(err, ErrSessionNotFound) {
			n.srv.log.Warn("socket.io: recovery: take session", "err", err)
		}
		return nil
	}
	if sess.Namespace != n.name || time.Since(sess.DisconnectedAt) > rec.MaxDisconnectionDuration {
		return nil
	}
	s.id, s.pid, s.recovered = sess.SID, sess.PID, true
	if len(sess.State) > 0 {
		s.state = make(map[string]any, len(sess.State))
		for k, v := range sess.State {
			s.state[k] = v
		}
	}
	return &resumption{session: sess, offset: ref.Offset, auth: auth}
}

// missed asks the store what the resumed socket missed; false when it
// cannot tell, and the socket must start afresh.
func (n *Namespace) missed(r *resumption) (catchUp, bool) {
	ctx, cancel := n.srv.storeContext()
	defer cancel()
	missed, had, err := n.srv.opts.Recovery.Sessions.Missed(ctx, r.session, r.offset, r.auth)
	if err != nil {
		if !errors.Is(err, ErrOffsetUnknown) {
			n.srv.log.Warn("socket.io: recovery: missed events", "err", err)
		}
		return catchUp{}, false
	}
	return catchUp{missed: missed, had: had}, true
}

// catchUp is what a resumed socket is sent before its live broadcasts.
type catchUp struct {
	missed []MissedEvent
	had    func(offset string) bool
}

// restart turns a socket whose session could not be resumed into a new one.
func (s *Socket) restart() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.id, s.pid, s.recovered, s.state = randomID(), randomID(), false, nil
	s.buffered = nil
	s.buffering.Store(false)
}

// deliver sends a broadcast's frames, or holds them while the socket catches up.
func (s *Socket) deliver(f *frames) {
	if s.buffering.Load() {
		s.mu.Lock()
		if s.buffering.Load() {
			s.buffered = append(s.buffered, f)
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
	}
	// A failed send means that connection is being cut; the others go on.
	_ = s.client.send(f)
}

// catchUp sends the missed events, then the broadcasts held back meanwhile
// except those the missed events already carried (same offset) and those the
// client had.
func (s *Socket) catchUp(c catchUp) {
	seen := make(map[string]bool, len(c.missed))
	for _, ev := range c.missed {
		seen[ev.Offset] = true
		if err := s.Emit(ev.Event, append(slices.Clip(ev.Args), ev.Offset)...); err != nil {
			s.nsp.srv.log.Warn("socket.io: deliver missed event", "nsp", s.nsp.name, "event", ev.Event, "err", err)
		}
	}
	for {
		s.mu.Lock()
		batch := s.buffered
		s.buffered = nil
		if len(batch) == 0 {
			s.buffering.Store(false)
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		for _, f := range batch {
			off := frameOffset(f)
			if !seen[off] && (c.had == nil || off == "" || !c.had(off)) {
				_ = s.client.send(f)
			}
		}
	}
}

// frameOffset reads the offset a broadcast carries as its last argument.
func frameOffset(f *frames) string {
	p, _, err := parser.Decode(f.text)
	if err != nil || len(p.Args) < 2 {
		return ""
	}
	var offset string
	if json.Unmarshal(p.Args[len(p.Args)-1], &offset) != nil {
		return ""
	}
	return offset
}

// saveSession keeps what a recovering client needs.
func (n *Namespace) saveSession(s *Socket) {
	sess := Session{PID: s.pid, SID: s.id, Namespace: n.name, DisconnectedAt: time.Now()}
	for _, r := range n.adapter.Rooms(s.id) {
		if r != s.id {
			sess.Rooms = append(sess.Rooms, r)
		}
	}
	s.mu.Lock()
	if len(s.state) > 0 {
		sess.State = make(map[string]json.RawMessage, len(s.state))
		for k, v := range s.state {
			b, err := json.Marshal(v)
			if err != nil {
				n.srv.log.Warn("socket.io: recovery: state not JSON-serializable, dropped", "key", k, "err", err)
				continue
			}
			sess.State[k] = b
		}
	}
	s.mu.Unlock()
	ctx, cancel := n.srv.storeContext()
	defer cancel()
	if err := n.srv.opts.Recovery.Sessions.Save(ctx, sess); err != nil {
		n.srv.log.Warn("socket.io: recovery: save session", "err", err)
	}
}

// MemorySessionStore keeps sessions and the latest broadcasts in memory.
type MemorySessionStore struct {
	maxAge time.Duration
	limit  int

	mu       sync.Mutex
	sessions map[string]memorySession
	events   []recorded // oldest first, at most limit
	seq      uint64     // sequence number of the next recorded event
	pruned   time.Time
}

type memorySession struct {
	Session
	mark uint64 // seq at disconnection
}

type recorded struct {
	seq  uint64
	at   time.Time
	nsp  string
	opts BroadcastOptions
	ev   MissedEvent
}

// NewMemorySessionStore keeps sessions for maxAge and at most limit
// broadcasts (10,000 when limit ≤ 0).
func NewMemorySessionStore(maxAge time.Duration, limit int) *MemorySessionStore {
	if limit <= 0 {
		limit = 10_000
	}
	return &MemorySessionStore{maxAge: maxAge, limit: limit, sessions: make(map[string]memorySession)}
}

// Save implements SessionStore.
func (m *MemorySessionStore) Save(_ context.Context, s Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pruneLocked(time.Now())
	m.sessions[s.PID] = memorySession{Session: s, mark: m.seq}
	return nil
}

// Take implements SessionStore.
func (m *MemorySessionStore) Take(_ context.Context, pid string) (Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pruneLocked(time.Now())
	s, ok := m.sessions[pid]
	if !ok {
		return Session{}, fmt.Errorf("pid %q: %w", pid, ErrSessionNotFound)
	}
	delete(m.sessions, pid)
	// Remember the mark for Missed; the session is not stored any more.
	m.sessions[markKey(pid)] = s
	return s.Session, nil
}

func markKey(pid string) string { return "\x00" + pid }

// Missed implements SessionStore: the recorded broadcasts after offset that
// reached the session's rooms.
func (m *MemorySessionStore) Missed(_ context.Context, s Session, offset string, _ json.RawMessage) ([]MissedEvent, func(string) bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ms, ok := m.sessions[markKey(s.PID)]
	delete(m.sessions, markKey(s.PID))
	start := -1
	if offset == "" {
		// Nothing received: whatever was recorded after the disconnection.
		if !ok {
			return nil, nil, ErrOffsetUnknown
		}
		start = len(m.events)
		for i, e := range m.events {
			if e.seq >= ms.mark {
				start = i
				break
			}
		}
		if len(m.events) > 0 && m.events[0].seq > ms.mark {
			return nil, nil, ErrOffsetUnknown // the buffer no longer reaches back
		}
	} else {
		for i := len(m.events) - 1; i >= 0; i-- {
			if m.events[i].ev.Offset == offset {
				start = i + 1
				break
			}
		}
		if start < 0 {
			return nil, nil, fmt.Errorf("offset %q: %w", offset, ErrOffsetUnknown)
		}
	}
	rooms := append([]string{s.SID}, s.Rooms...)
	var out []MissedEvent
	for _, e := range m.events[start:] {
		if e.nsp != s.Namespace || !reaches(e.opts, s.SID, rooms) {
			continue
		}
		out = append(out, e.ev)
	}
	return out, nil, nil
}

func reaches(o BroadcastOptions, sid string, rooms []string) bool {
	if slices.Contains(o.ExceptSIDs, sid) {
		return false
	}
	for _, r := range o.Except {
		if slices.Contains(rooms, r) {
			return false
		}
	}
	if len(o.Rooms) == 0 {
		return true
	}
	for _, r := range o.Rooms {
		if slices.Contains(rooms, r) {
			return true
		}
	}
	return false
}

// Record implements Recorder.
func (m *MemorySessionStore) Record(nsp string, opts BroadcastOptions, ev MissedEvent) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	m.events = append(m.events, recorded{seq: m.seq, at: now, nsp: nsp, opts: opts, ev: ev})
	m.seq++
	if len(m.events) > m.limit {
		m.events = slices.Delete(m.events, 0, len(m.events)-m.limit)
	}
}

func (m *MemorySessionStore) pruneLocked(now time.Time) {
	if now.Sub(m.pruned) < time.Second {
		return // a sweep costs O(sessions): at most one a second
	}
	m.pruned = now
	for pid, s := range m.sessions {
		if now.Sub(s.DisconnectedAt) > m.maxAge {
			delete(m.sessions, pid)
		}
	}
	cut := 0
	for cut < len(m.events) && now.Sub(m.events[cut].at) > m.maxAge {
		cut++
	}
	if cut > 0 {
		m.events = slices.Delete(m.events, 0, cut)
	}
}
