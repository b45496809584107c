package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"colachat/internal/chat"
	"colachat/internal/socketio"
	"colachat/internal/wire"
)

// maxMissed bounds the messages replayed on a recovery; a client that missed more starts a
// new session and reloads its history.
const maxMissed = 1000

// How long a reconnecting client's session is looked for in a cluster before it starts
// afresh, and how often.
const (
	sharedSaveWait = 500 * time.Millisecond
	sharedSavePoll = 50 * time.Millisecond
)

// SessionStore is the socketio.SessionStore for connection state recovery. Sessions (a
// socket's id, rooms and memberships, no secrets) are kept in memory and can be carried
// over a graceful restart with Persist and Restore; the missed messages come from the
// message store (offsets are message ids), so nothing is buffered per broadcast.
type SessionStore struct {
	svc    *chat.Service
	maxAge time.Duration
	now    func() time.Time
	shared SessionKeeper // nil: sessions live in this process

	mu       sync.Mutex
	sessions map[string]socketio.Session
}

// NewSessionStore keeps sessions for maxAge. Pass it as socketio.RecoveryOptions.Sessions.
func NewSessionStore(svc *chat.Service, maxAge time.Duration) *SessionStore {
	return &SessionStore{svc: svc, maxAge: maxAge, now: time.Now, sessions: make(map[string]socketio.Session)}
}

// SessionKeeper keeps encoded sessions where every node of a cluster can take them, so a
// client that reconnects through another node recovers too.
type SessionKeeper interface {
	PutSession(ctx context.Context, pid string, data []byte, ttl time.Duration) error
	// TakeSession returns the session and deletes it; found is false when there is none.
	TakeSession(ctx context.Context, pid string) (data []byte, found bool, err error)
}

// Share makes the store keep sessions in k instead of this process's memory.
func (st *SessionStore) Share(k SessionKeeper) { st.shared = k }

// Save implements socketio.SessionStore.
func (st *SessionStore) Save(ctx context.Context, s socketio.Session) error {
	if st.shared != nil {
		data, err := json.Marshal(s)
		if err != nil {
			return fmt.Errorf("encode session: %w", err)
		}
		return st.shared.PutSession(ctx, s.PID, data, st.maxAge)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.pruneLocked()
	st.sessions[s.PID] = s
	return nil
}

// Take implements socketio.SessionStore.
func (st *SessionStore) Take(ctx context.Context, pid string) (socketio.Session, error) {
	if st.shared != nil {
		data, found, err := st.shared.TakeSession(ctx, pid)
		// A client that left another node a moment ago may be back before that node has saved
		// its session: wait for it a little.
		for wait := time.Duration(0); err == nil && !found && wait < sharedSaveWait; wait += sharedSavePoll {
			select {
			case <-time.After(sharedSavePoll):
			case <-ctx.Done():
				return socketio.Session{}, socketio.ErrSessionNotFound
			}
			data, found, err = st.shared.TakeSession(ctx, pid)
		}
		if err != nil || !found {
			return socketio.Session{}, errors.Join(socketio.ErrSessionNotFound, err)
		}
		var s socketio.Session
		if err := json.Unmarshal(data, &s); err != nil || st.now().Sub(s.DisconnectedAt) > st.maxAge {
			return socketio.Session{}, socketio.ErrSessionNotFound
		}
		return s, nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	s, ok := st.sessions[pid]
	delete(st.sessions, pid)
	if !ok || st.now().Sub(s.DisconnectedAt) > st.maxAge {
		return socketio.Session{}, socketio.ErrSessionNotFound
	}
	return s, nil
}

func (st *SessionStore) pruneLocked() {
	for pid, s := range st.sessions {
		if st.now().Sub(s.DisconnectedAt) > st.maxAge {
			delete(st.sessions, pid)
		}
	}
}

// Len is the number of sessions kept.
func (st *SessionStore) Len() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.sessions)
}

// Persist writes the live sessions to path (mode 0600), for Restore after a restart. Call
// it after the socket server has closed (which saves every socket's session).
func (st *SessionStore) Persist(path string) error {
	st.mu.Lock()
	st.pruneLocked()
	list := make([]socketio.Session, 0, len(st.sessions))
	for _, s := range st.sessions {
		list = append(list, s)
	}
	st.mu.Unlock()
	data, err := json.Marshal(list)
	if err != nil {
		return fmt.Errorf("encode sessions: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".sessions-*")
	if err != nil {
		return fmt.Errorf("persist sessions: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("persist sessions: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("persist sessions: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("persist sessions: %w", err)
	}
	return nil
}

// Restore loads the sessions Persist wrote to path and removes the file (sessions are
// taken once). A missing file is no error.
func (st *SessionStore) Restore(path string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("restore sessions: %w", err)
	}
	var list []socketio.Session
	if err := json.Unmarshal(data, &list); err != nil {
		return fmt.Errorf("restore sessions %s: %w", path, err)
	}
	st.mu.Lock()
	for _, s := range list {
		if s.PID != "" {
			st.sessions[s.PID] = s
		}
	}
	st.pruneLocked()
	st.mu.Unlock()
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("restore sessions: %w", err)
	}
	return nil
}

// Missed implements socketio.SessionStore: the messages of the session's rooms after the
// positions the client has, as the broadcasts it missed.
//
// A client's position in a room is the Seq of the last message it has there. The offset
// (its last broadcast, "<roomId>:<seq>") gives it for one room; a client in several rooms
// says them all in its auth as {"positions": {"<roomId>": seq, ...}} (a room it names no
// position for: it has nothing there yet, so it gets everything from its join). A session in
// several rooms without positions cannot be resumed exactly and starts afresh.
func (st *SessionStore) Missed(ctx context.Context, s socketio.Session, offset string, auth json.RawMessage) ([]socketio.MissedEvent, func(string) bool, error) {
	var rooms map[string]membership
	if raw, ok := s.State[stateKey]; ok {
		if err := json.Unmarshal(raw, &rooms); err != nil {
			return nil, nil, socketio.ErrOffsetUnknown
		}
	}
	if len(rooms) == 0 {
		return nil, nil, nil
	}
	from, err := resumePoints(rooms, offset, auth)
	if err != nil {
		return nil, nil, err
	}
	// The socket already receives its rooms' live broadcasts (held back until this returns).
	// Each room is hosted and read up to what this node has delivered, at least the client's
	// position: the store has everything before that, and everything after comes live.
	for i, r := range from {
		delivered, err := st.svc.Host(ctx, r.RoomID, r.AfterSeq)
		if err != nil {
			if c := chat.CodeOf(err); c == chat.CodeInternal || c == chat.CodeUnavailable {
				return nil, nil, fmt.Errorf("host room: %w", err)
			}
			return nil, nil, socketio.ErrOffsetUnknown // the room is gone: start afresh
		}
		from[i].UpToSeq = delivered
	}
	msgs, err := st.svc.Missed(ctx, from, maxMissed)
	if err != nil {
		return nil, nil, fmt.Errorf("missed messages: %w", err)
	}
	if len(msgs) > maxMissed {
		return nil, nil, socketio.ErrOffsetUnknown
	}
	out := make([]socketio.MissedEvent, 0, len(msgs))
	for _, m := range msgs {
		raw, err := json.Marshal(wire.FromMessage(m))
		if err != nil {
			return nil, nil, fmt.Errorf("encode missed message: %w", err)
		}
		event := "sendMessage"
		if m.Type == chat.TypeAlert {
			event = "sendAlert"
		}
		out = append(out, socketio.MissedEvent{Event: event, Args: []any{json.RawMessage(raw)}, Offset: messageOffset(&m)})
	}
	had := make(map[string]int64, len(from))
	for _, r := range from {
		had[r.RoomID] = r.AfterSeq
	}
	return out, func(offset string) bool {
		room, seq, ok := parseOffset(offset)
		return ok && seq <= had[room]
	}, nil
}

// resumePoints says where the session picks up each of its rooms, or ErrOffsetUnknown when
// that cannot be known.
func resumePoints(rooms map[string]membership, offset string, auth json.RawMessage) ([]chat.Resume, error) {
	var claim struct {
		Positions map[string]int64 `json:"positions"`
	}
	if len(auth) > 0 && json.Unmarshal(auth, &claim) != nil {
		claim.Positions = nil
	}
	offRoom, offSeq, offOK := parseOffset(offset)
	if offset != "" && !offOK {
		return nil, socketio.ErrOffsetUnknown
	}
	if claim.Positions == nil {
		switch {
		case len(rooms) > 1:
			return nil, socketio.ErrOffsetUnknown
		case offOK:
			if _, in := rooms[offRoom]; !in {
				return nil, socketio.ErrOffsetUnknown // its last message is of a room it left
			}
		}
	}
	from := make([]chat.Resume, 0, len(rooms))
	for roomID, m := range rooms {
		r := chat.Resume{RoomID: roomID, ChatterID: m.ChatterID, AfterSeq: claim.Positions[roomID]}
		if offOK && roomID == offRoom {
			r.AfterSeq = max(r.AfterSeq, offSeq)
		}
		if r.AfterSeq < 0 {
			return nil, socketio.ErrOffsetUnknown
		}
		from = append(from, r)
	}
	return from, nil
}
