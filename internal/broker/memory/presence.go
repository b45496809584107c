package memory

import (
	"context"
	"slices"
	"sort"
	"sync"
)

// Presence tracks sockets per chatter per room in memory. Rooms and chatters with no
// socket left are forgotten, so memory follows what is online. Safe for concurrent use.
type Presence struct {
	mu    sync.Mutex
	seq   uint64
	rooms map[string]map[string]*online // room id → chatter id → its sockets
}

type online struct {
	since uint64   // arrival order
	conns []string // a chatter has one socket in a room, rarely a few: a slice beats a set
}

// NewPresence returns an empty presence.
func NewPresence() *Presence {
	return &Presence{rooms: make(map[string]map[string]*online)}
}

// TryAdd records the socket unless it would take the room past capacity (capacity <= 0:
// no limit). A chatter already online is not counted again.
func (p *Presence) TryAdd(ctx context.Context, roomID, chatterID, connID string, capacity int) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	room := p.rooms[roomID]
	if o := room[chatterID]; o != nil {
		if !slices.Contains(o.conns, connID) {
			o.conns = append(o.conns, connID)
		}
		return true, nil
	}
	if capacity > 0 && len(room) >= capacity {
		return false, nil
	}
	if room == nil {
		room = make(map[string]*online)
		p.rooms[roomID] = room
	}
	p.seq++
	room[chatterID] = &online{since: p.seq, conns: []string{connID}}
	return true, nil
}

// Remove forgets the socket and reports whether the chatter has another one in the room.
func (p *Presence) Remove(ctx context.Context, roomID, chatterID, connID string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	room := p.rooms[roomID]
	o := room[chatterID]
	if o == nil {
		return false, nil
	}
	if i := slices.Index(o.conns, connID); i >= 0 {
		o.conns = slices.Delete(o.conns, i, i+1)
	}
	if len(o.conns) > 0 {
		return true, nil
	}
	delete(room, chatterID)
	if len(room) == 0 {
		delete(p.rooms, roomID)
	}
	return false, nil
}

// Online lists the room's chatters, earliest arrival first.
func (p *Presence) Online(ctx context.Context, roomID string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p.mu.Lock()
	room := p.rooms[roomID]
	type entry struct {
		id    string
		since uint64
	}
	entries := make([]entry, 0, len(room))
	for id, o := range room {
		entries = append(entries, entry{id, o.since})
	}
	p.mu.Unlock()
	sort.Slice(entries, func(i, j int) bool { return entries[i].since < entries[j].since })
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.id
	}
	return ids, nil
}

// IsOnline reports whether the chatter has a socket in the room.
func (p *Presence) IsOnline(ctx context.Context, roomID, chatterID string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rooms[roomID][chatterID] != nil, nil
}
