package gateway

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"colachat/internal/chat"
	"colachat/internal/socketio"
	"colachat/internal/wire"
)

// messageOffset is the recovery offset a stored event carries: its room and its position
// there. Other events carry none (socketio's Transient), so a client's last offset always
// names the last message it has.
func messageOffset(m *chat.Message) string {
	return m.RoomID + ":" + strconv.FormatInt(m.Seq, 10)
}

// parseOffset reads a messageOffset; ok is false for anything else.
func parseOffset(offset string) (roomID string, seq int64, ok bool) {
	i := strings.LastIndexByte(offset, ':')
	if i <= 0 {
		return "", 0, false
	}
	seq, err := strconv.ParseInt(offset[i+1:], 10, 64)
	if err != nil || seq <= 0 {
		return "", 0, false
	}
	return offset[:i], seq, true
}

// onEvent turns an event of a hosted room into one encoded broadcast per local namespace.
// The service calls it in each room's order, under the room's delivery lock: it only encodes
// and enqueues, and defers any service call.
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
		g.emit(nsps, ev.RoomID, messageOffset(ev.Message), name, wire.FromMessage(*ev.Message))
	case chat.EventChatters:
		// The room comes second (an addition the original client ignores): a socket in
		// several rooms needs it to know whose list this is.
		g.emit(nsps, ev.RoomID, "", "returnChatters", wire.FromChatters(ev.Chatters), roomPayloadOut{RoomID: ev.RoomID})
	case chat.EventTyping:
		if ev.Typing == nil {
			return
		}
		payload := typingPayload{RoomID: ev.RoomID, ChatterID: ev.Typing.ChatterID, Nickname: ev.Typing.Nickname}
		g.emitTyping(nsps, ev.RoomID, ev.Typing.ChatterID, payload)
	case chat.EventExpired:
		g.emit(nsps, ev.RoomID, "", "roomExpired", roomPayloadOut{RoomID: ev.RoomID})
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

// emit encodes the arguments once and broadcasts them to the room in every namespace, with
// offset, or as a transient event when offset is "".
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
		b := n.To(roomID).Transient()
		if offset != "" {
			b = n.To(roomID).Offset(offset)
		}
		if err := b.Emit(event, raw...); err != nil {
			g.log.Warn("broadcast", "event", event, "room", roomID, "err", err)
		}
	}
}

// emitTyping broadcasts a typing event to the room but the typer's own sockets, found among
// the room's local sockets: typing is rare, so no per-chatter room is kept for it.
func (g *Gateway) emitTyping(nsps []*socketio.Namespace, roomID, chatterID string, v typingPayload) {
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
		b := n.To(roomID).Transient()
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
