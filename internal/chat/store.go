package chat

import (
	"context"
	"time"
)

// Store is the persistence the chat service needs. Implementations: internal/store/sqlite,
// internal/store/postgres; internal/store/storetest is the suite both must pass.
//
// Lookups of a missing row return an error wrapping ErrNotFound. Methods are safe for
// concurrent use.
type Store interface {
	CreateRoom(ctx context.Context, r Room) error
	Room(ctx context.Context, id string) (Room, error)
	// Rooms lists rooms newest first.
	Rooms(ctx context.Context) ([]Room, error)
	MarkRoomExpired(ctx context.Context, id string) error
	// ExpiredRooms lists rooms whose expiresAt is at or before now and that are not yet
	// marked expired.
	ExpiredRooms(ctx context.Context, now time.Time) ([]Room, error)
	// PurgeRooms deletes the rooms (with their messages and memberships) that expired at or
	// before cutoff, and returns how many rooms it deleted.
	PurgeRooms(ctx context.Context, cutoff time.Time) (int, error)

	CreateChatter(ctx context.Context, c Chatter) error
	Chatter(ctx context.Context, id string) (Chatter, error)
	Chatters(ctx context.Context, ids []string) ([]Chatter, error)
	RenameChatter(ctx context.Context, id, nickname string) (Chatter, error)
	SetChatterActive(ctx context.Context, id string, active bool) error

	// JoinRoom records (or reactivates) the membership and returns it; first reports whether
	// the chatter had never been in the room before.
	JoinRoom(ctx context.Context, roomID, chatterID string, at time.Time) (rc RoomChatter, first bool, err error)
	LeaveRoom(ctx context.Context, roomID, chatterID string, at time.Time) error
	RoomChatters(ctx context.Context, roomID string) ([]RoomChatter, error)
	// ActiveRooms lists the ids of the rooms where the chatter's membership is active.
	ActiveRooms(ctx context.Context, chatterID string) ([]string, error)

	// AppendMessage stores the message and returns it with its ID set. It returns only after
	// the message is durably committed; implementations group concurrent appends into one
	// transaction.
	AppendMessage(ctx context.Context, m Message) (Message, error)
	// FirstMessageID is the id of the chatter's first message in the room (its join alert),
	// ErrNotFound when it has none.
	FirstMessageID(ctx context.Context, roomID, chatterID string) (int64, error)
	// Messages returns messages of a room, oldest first, with their chatter, per q.
	Messages(ctx context.Context, q MessageQuery) ([]Message, error)

	Ping(ctx context.Context) error
	Close() error
}

// MessageQuery selects a window of a room's messages. Only messages with ID >= MinID are
// considered. Exactly one of Page, Before, After drives the window:
//   - Page (>= 1): the original paging, newest page first, Limit a page;
//   - Before (> 0): the newest Limit messages with ID < Before;
//   - After (>= 0, with Page and Before zero): the oldest Limit messages with ID > After.
//
// The result is always oldest first.
type MessageQuery struct {
	RoomID string
	MinID  int64
	Page   int
	Before int64
	After  int64
	Limit  int
}

// JoinRecorder is an optional Store method that writes a join at once: the new chatter (or
// its reactivation), the membership and the join alert, so a join waits for one commit
// instead of three.
type JoinRecorder interface {
	// RecordJoin applies j in one write and returns the membership, whether it is the
	// chatter's first in the room, and the stored alert (with its ID) when j has one.
	RecordJoin(ctx context.Context, j JoinRecord) (rc RoomChatter, first bool, alert *Message, err error)
}

// JoinRecord is what one join writes.
type JoinRecord struct {
	NewChatter *Chatter // created first when set
	Reactivate bool     // mark an existing chatter active again
	RoomID     string
	ChatterID  string
	At         time.Time
	Alert      *Message // the join alert to append, when the join is announced
}
