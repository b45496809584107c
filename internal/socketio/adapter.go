package socketio

import (
	"sync"

	"colachat/internal/socketio/parser"
)

// BroadcastOptions selects the recipients of a broadcast: the sockets in any
// of Rooms (every socket when Rooms is empty), minus those in any of Except
// and those listed in ExceptSIDs.
type BroadcastOptions struct {
	Rooms      []string
	Except     []string
	ExceptSIDs []string
}

// Adapter keeps a namespace's room membership and carries its broadcasts. The
// in-memory default serves one node; a distributed adapter would also send
// Broadcast to the other nodes, which deliver it with their own adapter. Every
// socket is always in the room named by its id.
type Adapter interface {
	AddAll(sid string, rooms []string)
	Del(sid, room string)
	DelAll(sid string)
	Broadcast(p *parser.Packet, opts BroadcastOptions)
	Rooms(sid string) []string
	Sockets(rooms []string) []string
}

// AdapterFactory makes the adapter of a namespace.
type AdapterFactory func(n *Namespace) Adapter

// MemoryAdapter is the in-process Adapter. A socket's own id room is implied,
// not stored, so that a socket that joins no room costs the adapter nothing.
type MemoryAdapter struct {
	nsp *Namespace

	mu    sync.RWMutex
	rooms map[string]map[string]struct{} // room → sids
	sids  map[string][]string            // sid → rooms other than its own
}

// RoomCount is the number of rooms with a member (a socket's own room is not counted).
func (a *MemoryAdapter) RoomCount() int {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return len(a.rooms)
}

// NewMemoryAdapter returns an empty in-memory adapter for n.
func NewMemoryAdapter(n *Namespace) *MemoryAdapter {
	return &MemoryAdapter{
		nsp:   n,
		rooms: make(map[string]map[string]struct{}),
		sids:  make(map[string][]string),
	}
}

// AddAll adds sid to rooms.
func (a *MemoryAdapter) AddAll(sid string, rooms []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, room := range rooms {
		if room == sid {
			continue
		}
		members := a.rooms[room]
		if members == nil {
			members = make(map[string]struct{})
			a.rooms[room] = members
		}
		if _, ok := members[sid]; ok {
			continue
		}
		members[sid] = struct{}{}
		a.sids[sid] = append(a.sids[sid], room)
	}
}

// Del removes sid from room.
func (a *MemoryAdapter) Del(sid, room string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.delLocked(sid, room)
	list := a.sids[sid]
	for i, r := range list {
		if r == room {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(a.sids, sid)
	} else {
		a.sids[sid] = list
	}
}

func (a *MemoryAdapter) delLocked(sid, room string) {
	members := a.rooms[room]
	delete(members, sid)
	if len(members) == 0 {
		delete(a.rooms, room)
	}
}

// DelAll removes sid from every room.
func (a *MemoryAdapter) DelAll(sid string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, room := range a.sids[sid] {
		a.delLocked(sid, room)
	}
	delete(a.sids, sid)
}

// Rooms lists the rooms of sid, its own id first.
func (a *MemoryAdapter) Rooms(sid string) []string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return append([]string{sid}, a.sids[sid]...)
}

// Sockets lists the local sockets in any of rooms (all when rooms is empty).
func (a *MemoryAdapter) Sockets(rooms []string) []string {
	if len(rooms) == 0 {
		return a.nsp.LocalSIDs()
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	set := a.membersLocked(rooms)
	out := make([]string, 0, len(set))
	for sid := range set {
		out = append(out, sid)
	}
	return out
}

// membersLocked is the union of rooms; a room named by a socket id (of a
// local socket) stands for that socket.
func (a *MemoryAdapter) membersLocked(rooms []string) map[string]struct{} {
	set := make(map[string]struct{})
	for _, room := range rooms {
		if members, ok := a.rooms[room]; ok {
			for sid := range members {
				set[sid] = struct{}{}
			}
		} else if a.nsp.Socket(room) != nil {
			set[room] = struct{}{}
		}
	}
	return set
}

// Broadcast delivers p to the selected local sockets, encoded once.
func (a *MemoryAdapter) Broadcast(p *parser.Packet, opts BroadcastOptions) {
	if len(opts.Rooms) == 0 && len(opts.Except) == 0 && len(opts.ExceptSIDs) == 0 {
		a.nsp.Deliver(p, nil)
		return
	}
	a.mu.RLock()
	if len(opts.Rooms) == 1 && len(opts.Except) == 0 {
		// The common case, one room: no union to build.
		if members, ok := a.rooms[opts.Rooms[0]]; ok {
			sids := make([]string, 0, len(members))
			for sid := range members {
				if !containsString(opts.ExceptSIDs, sid) {
					sids = append(sids, sid)
				}
			}
			a.mu.RUnlock()
			a.nsp.Deliver(p, sids)
			return
		}
	}
	var targets map[string]struct{}
	if len(opts.Rooms) > 0 {
		targets = a.membersLocked(opts.Rooms)
	}
	var except map[string]struct{}
	if len(opts.Except) > 0 {
		except = a.membersLocked(opts.Except)
	}
	a.mu.RUnlock()
	var all []string
	if targets == nil {
		all = a.nsp.LocalSIDs()
	} else {
		all = make([]string, 0, len(targets))
		for sid := range targets {
			all = append(all, sid)
		}
	}
	sids := all[:0]
	for _, sid := range all {
		if _, skip := except[sid]; skip {
			continue
		}
		if containsString(opts.ExceptSIDs, sid) {
			continue
		}
		sids = append(sids, sid)
	}
	a.nsp.Deliver(p, sids)
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
