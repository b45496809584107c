package gateway

import (
	"encoding/json"
	"sync"
	"time"

	"colachat/internal/ratelimit"
	"colachat/internal/socketio"
)

// stateKey is the socket state (socketio.Socket.Set) that carries the socket's memberships
// into its recovery session, as JSON ({roomId: {chatterId}}), so that a recovered socket
// knows its rooms again. It is set only on disconnect: a socket's state is a map of its
// own, which would cost every live connection a few hundred bytes.
const stateKey = "colachat.rooms"

// membership is a socket's chatter in one room. No token is kept: a recovered socket
// rejoins as a resume, which the service takes on the gateway's word.
type membership struct {
	ChatterID string `json:"chatterId"`
}

// conn is the gateway's view of one socket, made on its first event. A socket may be in
// several rooms; nearly always it is in one, so the rooms are a slice.
type conn struct {
	id   string // cluster-wide connection id
	sock *socketio.Socket

	mu    sync.Mutex
	rooms []roomMembership
	// gone is set on disconnect: the memberships are left and stay only for the recovery
	// session, which is saved after the disconnect handlers.
	gone bool
	// Per-connection budgets, held here rather than as keys of a shared limiter.
	joins, messages ratelimit.Bucket
}

type roomMembership struct {
	roomID string
	membership
}

func (c *conn) member(roomID string) (membership, bool) {
	if c == nil {
		return membership{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gone {
		return membership{}, false
	}
	for _, r := range c.rooms {
		if r.roomID == roomID {
			return r.membership, true
		}
	}
	return membership{}, false
}

func (c *conn) set(roomID string, m membership) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.rooms {
		if c.rooms[i].roomID == roomID {
			c.rooms[i].membership = m
			return
		}
	}
	c.rooms = append(c.rooms, roomMembership{roomID, m})
}

// remove forgets a room and reports the membership it had.
func (c *conn) remove(roomID string) (membership, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gone {
		return membership{}, false
	}
	for i, r := range c.rooms {
		if r.roomID == roomID {
			c.rooms = append(c.rooms[:i:i], c.rooms[i+1:]...)
			return r.membership, true
		}
	}
	return membership{}, false
}

// takeAll forgets every room.
func (c *conn) takeAll() []roomMembership {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gone {
		return nil
	}
	all := c.rooms
	c.rooms = nil
	return all
}

// disconnect returns the rooms to leave, once; they stay listed for the recovery session.
func (c *conn) disconnect() []roomMembership {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gone {
		return nil
	}
	c.gone = true
	return c.rooms
}

func (c *conn) allow(b *ratelimit.Bucket, r ratelimit.Rate) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return b.Allow(r, time.Now())
}

// MarshalJSON is the recovery session's form of the memberships.
func (c *conn) MarshalJSON() ([]byte, error) {
	c.mu.Lock()
	rooms := make(map[string]membership, len(c.rooms))
	for _, r := range c.rooms {
		rooms[r.roomID] = r.membership
	}
	c.mu.Unlock()
	return json.Marshal(rooms)
}

// conn returns the socket's conn, making it on first use.
func (g *Gateway) conn(s *socketio.Socket) *conn {
	g.connsMu.Lock()
	defer g.connsMu.Unlock()
	c := g.conns[s.ID()]
	if c == nil || c.sock != s {
		c = &conn{id: g.connID(s.ID()), sock: s}
		g.conns[s.ID()] = c
	}
	return c
}

// connOf is the socket's conn, nil when it has none.
func (g *Gateway) connOf(s *socketio.Socket) *conn {
	g.connsMu.Lock()
	defer g.connsMu.Unlock()
	if c := g.conns[s.ID()]; c != nil && c.sock == s {
		return c
	}
	return nil
}

// dropConn forgets the socket's conn and returns it, nil when it had none.
func (g *Gateway) dropConn(s *socketio.Socket) *conn {
	g.connsMu.Lock()
	defer g.connsMu.Unlock()
	c := g.conns[s.ID()]
	if c == nil || c.sock != s {
		return nil
	}
	delete(g.conns, s.ID())
	return c
}
