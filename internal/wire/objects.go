package wire

import "colachat/internal/chat"

// Room is a room as clients see it: never its password or hash.
type Room struct {
	ID           string        `json:"id"`
	Title        string        `json:"title"`
	Namespace    string        `json:"namespace"`
	Capacity     int           `json:"capacity"`
	CreatedAt    Time          `json:"createdAt"`
	ExpiresAt    Time          `json:"expiresAt"`
	IsPassword   bool          `json:"isPassword"`
	IsExpired    bool          `json:"isExpired"`
	UserID       *string       `json:"userId"`
	RoomChatters []RoomChatter `json:"roomChatters,omitempty"`
}

// RoomChatter is a membership record, as the original's room detail embeds it.
type RoomChatter struct {
	ID        int64    `json:"id"`
	JoinedAt  Time     `json:"joinedAt"`
	LeftAt    *Time    `json:"leftAt"`
	IsActive  bool     `json:"isActive"`
	RoomID    string   `json:"roomId"`
	ChatterID string   `json:"chatterId"`
	Chatter   *Chatter `json:"chatter,omitempty"`
}

// Chatter is an anonymous person. Token is set only in the joinRoom ack to its owner.
type Chatter struct {
	ID        string `json:"id"`
	Nickname  string `json:"nickname"`
	CreatedAt Time   `json:"createdAt"`
	DeletedAt *Time  `json:"deletedAt"`
	IsActive  bool   `json:"isActive"`
	Token     string `json:"token,omitempty"`
}

// Message is a chatter's message or an alert, with its chatter embedded.
type Message struct {
	ID        int64       `json:"id"`
	Seq       int64       `json:"seq"`
	Type      string      `json:"type"`
	Content   string      `json:"content"`
	SentAt    Time        `json:"sentAt"`
	RoomID    string      `json:"roomId"`
	ChatterID string      `json:"chatterId"`
	Chatter   Chatter     `json:"chatter"`
	Alert     *chat.Alert `json:"alert,omitempty"`
}

// FromRoom converts a room; memberships are added by the caller when wanted.
func FromRoom(r chat.Room) Room {
	return Room{
		ID: r.ID, Title: r.Title, Namespace: r.Namespace, Capacity: r.Capacity,
		CreatedAt: Time(r.CreatedAt), ExpiresAt: Time(r.ExpiresAt),
		IsPassword: r.IsPassword, IsExpired: r.IsExpired,
	}
}

// FromRooms converts a list, keeping an empty list as [] rather than null.
func FromRooms(rs []chat.Room) []Room {
	out := make([]Room, len(rs))
	for i, r := range rs {
		out[i] = FromRoom(r)
	}
	return out
}

// FromRoomChatter converts a membership record.
func FromRoomChatter(rc chat.RoomChatter) RoomChatter {
	return RoomChatter{
		ID: rc.ID, JoinedAt: Time(rc.JoinedAt), LeftAt: timePtr(rc.LeftAt), IsActive: rc.IsActive,
		RoomID: rc.RoomID, ChatterID: rc.ChatterID,
	}
}

// FromChatter converts a chatter; the token hash never leaves the server.
func FromChatter(c chat.Chatter) Chatter {
	return Chatter{
		ID: c.ID, Nickname: c.Nickname, CreatedAt: Time(c.CreatedAt),
		DeletedAt: timePtr(c.DeletedAt), IsActive: c.IsActive,
	}
}

// FromChatters converts a list, keeping an empty list as [].
func FromChatters(cs []chat.Chatter) []Chatter {
	out := make([]Chatter, len(cs))
	for i, c := range cs {
		out[i] = FromChatter(c)
	}
	return out
}

// FromMessage converts a message with its embedded chatter.
func FromMessage(m chat.Message) Message {
	return Message{
		ID: m.ID, Seq: m.Seq, Type: string(m.Type), Content: m.Content, SentAt: Time(m.SentAt),
		RoomID: m.RoomID, ChatterID: m.ChatterID, Chatter: FromChatter(m.Chatter), Alert: m.Alert,
	}
}

// FromMessages converts a list, keeping an empty list as [].
func FromMessages(ms []chat.Message) []Message {
	out := make([]Message, len(ms))
	for i, m := range ms {
		out[i] = FromMessage(m)
	}
	return out
}
