package gateway

import (
	"maps"
	"sync"

	"colachat/internal/socketio"
)

// stateKey is the socket state (socketio.Socket.Set) holding the socket's memberships, so
// that a recovered socket knows its rooms again.
const stateKey = "colachat.rooms"

// membership is a socket's chatter in one room. No token is kept: a recovered socket
// rejoins as a resume, which the service takes on the gateway's word.
type membership struct {
	ChatterID string `json:"chatterId"`
}

// conn is the gateway's view of one socket: a socket may be in several rooms.
type conn struct {
	id   string // cluster-wide connection id
	sock *socketio.Socket

	mu    sync.Mutex
	rooms map[string]membership // room id → membership
}

func (c *conn) member(roomID string) (membership, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.rooms[roomID]
	return m, ok
}

func (c *conn) set(roomID string, m membership) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rooms[roomID] = m
	c.sock.Set(stateKey, maps.Clone(c.rooms))
}

// remove forgets a room and reports the membership it had.
func (c *conn) remove(roomID string) (membership, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.rooms[roomID]
	if ok {
		delete(c.rooms, roomID)
		c.sock.Set(stateKey, maps.Clone(c.rooms))
	}
	return m, ok
}

// takeAll forgets every room.
func (c *conn) takeAll() map[string]membership {
	c.mu.Lock()
	defer c.mu.Unlock()
	all := c.rooms
	c.rooms = make(map[string]membership)
	c.sock.Set(stateKey, map[string]membership{})
	return all
}

// chatterRoom is the socket.io room of one chatter's sockets in a room: typing goes to the
// room except it.
func chatterRoom(roomID, chatterID string) string { return "chatter\x00" + roomID + "\x00" + chatterID }

func (g *Gateway) conn(s *socketio.Socket) *conn {
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.conns[s.ID()]
	if c == nil || c.sock != s {
		c = &conn{id: g.connID(s.ID()), sock: s, rooms: make(map[string]membership)}
		g.conns[s.ID()] = c
	}
	return c
}

func (g *Gateway) dropConn(s *socketio.Socket) *conn {
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.conns[s.ID()]
	if c == nil || c.sock != s {
		return nil
	}
	delete(g.conns, s.ID())
	return c
}

// connOf finds the local conn of a socket id, nil when gone.
func (g *Gateway) connOf(sid string) *conn {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.conns[sid]
}
