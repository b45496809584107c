// Package chat is the Cola Chat domain: rooms, anonymous chatters, messages and the rules
// that govern them. It knows nothing of HTTP, Socket.IO, SQL or Redis; it declares the
// interfaces it needs from them (Store, Broker, Presence) and others implement them.
package chat

import "time"

// MessageType tells a chatter's message from a system alert.
type MessageType string

const (
	TypeMessage MessageType = "MESSAGE"
	TypeAlert   MessageType = "ALERT"
)

// AlertKind names the server-made alerts.
type AlertKind string

const (
	AlertJoin   AlertKind = "join"
	AlertLeave  AlertKind = "leave"
	AlertRename AlertKind = "rename"
	AlertExpire AlertKind = "expire"
)

// Room is a chat room. PasswordHash never leaves the server.
type Room struct {
	ID           string
	Title        string
	Namespace    string
	PasswordHash string // bcrypt; empty when the room has no password
	Capacity     int
	CreatedAt    time.Time
	ExpiresAt    time.Time
	IsPassword   bool
	IsExpired    bool // set once the expiry has been noticed (access-check, sweeper)
}

// Expired reports whether the room is past its expiry at now.
func (r Room) Expired(now time.Time) bool { return r.IsExpired || !now.Before(r.ExpiresAt) }

// Chatter is an anonymous person. TokenHash is the SHA-256 of its secret token.
type Chatter struct {
	ID        string
	Nickname  string
	TokenHash []byte
	CreatedAt time.Time
	DeletedAt *time.Time
	IsActive  bool
}

// RoomChatter records a chatter's membership of a room.
type RoomChatter struct {
	ID        int64
	RoomID    string
	ChatterID string
	JoinedAt  time.Time
	LeftAt    *time.Time
	IsActive  bool
}

// Alert is the structured form of a server-made alert, for clients that localize.
type Alert struct {
	Kind        AlertKind `json:"kind"`
	Nickname    string    `json:"nickname"`
	NewNickname string    `json:"newNickname,omitempty"`
}

// Message is a chatter's message or a system alert, with its chatter embedded.
type Message struct {
	ID        int64
	Seq       int64 // position in the room: 1, 2, 3, ... without gaps (Store.AppendMessage)
	Type      MessageType
	Content   string
	SentAt    time.Time
	RoomID    string
	ChatterID string
	Chatter   Chatter
	Alert     *Alert // server-made alerts only
}
