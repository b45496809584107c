package gateway

import (
	"context"
	"encoding/json"
	"strconv"
	"sync/atomic"

	"colachat/internal/chat"
	"colachat/internal/socketio"
	"colachat/internal/wire"
)

// offsetTracker gives every broadcast a recovery offset that is a message id: messages
// carry their own, other events the highest message id this node has broadcast, so a
// client's last offset always says which messages it has seen.
type offsetTracker struct{ max atomic.Int64 }

func (o *offsetTracker) message(id int64) string {
	for {
		cur := o.max.Load()
		if id <= cur || o.max.CompareAndSwap(cur, id) {
			break
		}
	}
	return strconv.FormatInt(id, 10)
}

// current is "" until this node has broadcast a message: socketio then makes up an offset
// that no recovery accepts, rather than one that would replay a whole history.
func (o *offsetTracker) current() string {
	max := o.max.Load()
	if max == 0 {
		return ""
	}
	return strconv.FormatInt(max, 10)
}

// onEvent turns a broker event into one encoded broadcast per local namespace. It runs in
// the publisher's goroutine (possibly under a service lock): it only encodes and enqueues,
// and defers any service call.
func (g *Gateway) onEvent(ev chat.Event) {
	nsps := g.namespaces(ev.Namespace)
	if len(nsps) == 0 {
		return
	}
	switch ev.Kind {
	case chat.EventMessage, chat.EventAlert:
		if ev.Message == nil {
			return
		}
		name := "sendMessage"
		if ev.Kind == chat.EventAlert {
			name = "sendAlert"
		}
		offset := g.offsets.message(ev.Message.ID)
		g.emit(nsps, ev.RoomID, offset, name, wire.FromMessage(*ev.Message))
	case chat.EventChatters:
		// The room comes second (an addition the original client ignores): a socket in
		// several rooms needs it to know whose list this is.
		g.emit(nsps, ev.RoomID, g.offsets.current(), "returnChatters", wire.FromChatters(ev.Chatters), roomPayloadOut{RoomID: ev.RoomID})
	case chat.EventTyping:
		if ev.Typing == nil {
			return
		}
		payload := typingPayload{RoomID: ev.RoomID, ChatterID: ev.Typing.ChatterID, Nickname: ev.Typing.Nickname}
		g.emitTyping(nsps, ev.RoomID, ev.Typing.ChatterID, g.offsets.current(), payload)
	case chat.EventExpired:
		g.emit(nsps, ev.RoomID, g.offsets.current(), "roomExpired", roomPayloadOut{RoomID: ev.RoomID})
		for _, n := range nsps {
			g.evict(n, ev.RoomID)
		}
	}
}

type typingPayload struct {
	RoomID    string `json:"roomId"`
	ChatterID string `json:"chatterId"`
	Nickname  string `json:"nickname"`
}

type roomPayloadOut struct {
	RoomID string `json:"roomId"`
}

// emit encodes the arguments once and broadcasts them to the room in every namespace.
func (g *Gateway) emit(nsps []*socketio.Namespace, roomID, offset, event string, args ...any) {
	raw := make([]any, len(args))
	for i, v := range args {
		b, err := json.Marshal(v)
		if err != nil {
			g.log.Error("encode broadcast", "event", event, "err", err)
			return
		}
		raw[i] = json.RawMessage(b)
	}
	for _, n := range nsps {
		if err := n.To(roomID).Offset(offset).Emit(event, raw...); err != nil {
			g.log.Warn("broadcast", "event", event, "room", roomID, "err", err)
		}
	}
}

// emitTyping broadcasts a typing event to the room but the typer's own sockets, found among
// the room's local sockets: typing is rare, so no per-chatter room is kept for it.
func (g *Gateway) emitTyping(nsps []*socketio.Namespace, roomID, chatterID, offset string, v typingPayload) {
	raw, err := json.Marshal(v)
	if err != nil {
		g.log.Error("encode broadcast", "event", "typing", "err", err)
		return
	}
	for _, n := range nsps {
		var own []string
		for _, sid := range n.Adapter().Sockets([]string{roomID}) {
			if s := n.Socket(sid); s != nil {
				if m, ok := g.connOf(s).member(roomID); ok && m.ChatterID == chatterID {
					own = append(own, sid)
				}
			}
		}
		b := n.To(roomID).Offset(offset)
		if len(own) > 0 {
			b = b.Except(own...)
		}
		if err := b.Emit("typing", json.RawMessage(raw)); err != nil {
			g.log.Warn("broadcast", "event", "typing", "room", roomID, "err", err)
		}
	}
}

// evict removes this node's sockets from an expired room; their leaves are made later,
// outside the broker callback.
func (g *Gateway) evict(n *socketio.Namespace, roomID string) {
	for _, sid := range n.Adapter().Sockets([]string{roomID}) {
		s := n.Socket(sid)
		if s == nil {
			continue
		}
		c := g.connOf(s)
		if c == nil {
			continue
		}
		m, ok := c.remove(roomID)
		s.Leave(roomID)
		if !ok {
			continue
		}
		connID := c.id
		g.later(func(ctx context.Context) {
			if err := g.svc.Leave(ctx, roomID, m.ChatterID, connID); err != nil {
				g.log.Warn("leave expired room", "room", roomID, "err", err)
			}
		})
	}
}
