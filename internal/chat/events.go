package chat

import (
	"context"
	"time"
)

// EventKind names what a broker Event tells the socket side to do.
type EventKind string

const (
	EventMessage  EventKind = "message"  // a chatter's message: emit "sendMessage"
	EventAlert    EventKind = "alert"    // an alert: emit "sendAlert"
	EventChatters EventKind = "chatters" // the online list: emit "returnChatters"
	EventExpired  EventKind = "expired"  // emit "roomExpired" {roomId}, then remove the room's sockets
	EventTyping   EventKind = "typing"   // emit "typing" to the room but the typer's sockets
)

// Event is what the service publishes for the socket side of every node.
// Chatters and the embedded Message.Chatter never carry a token hash.
type Event struct {
	Kind      EventKind
	RoomID    string
	Namespace string
	Message   *Message     // EventMessage, EventAlert
	Chatters  []Chatter    // EventChatters
	Typing    *TypingEvent // EventTyping
	// After is, for an event that is not stored, the Seq of the room's last stored event its
	// publisher had seen: a node delivers the event only after that one (0: at once).
	After int64 `json:",omitempty"`
}

// TypingEvent says who is typing.
type TypingEvent struct {
	ChatterID string
	Nickname  string
}

// Broker fans events out to the nodes that host their room (in-process, or Redis for a
// cluster). Delivery may reorder or lose events: the service puts each room's stored events
// back in order and reads lost ones from the store.
type Broker interface {
	// Publish sends ev to every node that hosts ev.RoomID. Subscribers must not block.
	Publish(ctx context.Context, ev Event) error
	// Subscribe registers fn for the events of the rooms this node hosts.
	Subscribe(fn func(Event)) (unsubscribe func())
	// Host makes this node receive the room's events. It returns once the subscription is
	// in place: every event published after it returns reaches the subscribers. Idempotent.
	Host(ctx context.Context, roomID string) error
	// Unhost stops receiving the room's events. Idempotent.
	Unhost(ctx context.Context, roomID string) error
}

// Presence tracks which sockets (connections) each chatter has in each room, across nodes.
type Presence interface {
	// TryAdd records connID for the chatter in the room, unless the chatter is not online yet
	// and the room already holds capacity chatters (capacity <= 0: no limit). A chatter
	// already online is not counted twice. The check and the add are one atomic step.
	TryAdd(ctx context.Context, roomID, chatterID, connID string, capacity int) (added bool, err error)
	// Remove forgets connID and reports whether the chatter still has a connection there.
	Remove(ctx context.Context, roomID, chatterID, connID string) (chatterStillOnline bool, err error)
	// Online lists the ids of the chatters online in the room, earliest arrival first.
	Online(ctx context.Context, roomID string) ([]string, error)
	IsOnline(ctx context.Context, roomID, chatterID string) (bool, error)
}

// LeaveMarks is what a cluster-wide Presence adds so that a chatter's leave grace is seen by
// every node: a reload that lands on another node makes no leave or join noise, and
// reentry-check answers true there too. A Presence without it keeps graces node-local.
type LeaveMarks interface {
	// MarkLeft records that the chatter's last socket left the room; the mark expires
	// after ttl.
	MarkLeft(ctx context.Context, roomID, chatterID string, ttl time.Duration) error
	// TakeLeft deletes the mark and reports whether there was one: exactly one caller
	// (the rejoining node, or the node making the leave final) gets true.
	TakeLeft(ctx context.Context, roomID, chatterID string) (bool, error)
	HasLeft(ctx context.Context, roomID, chatterID string) (bool, error)
}
