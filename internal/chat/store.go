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
	// ClaimRoomExpiry marks the room expired only if it is not yet, and reports whether this
	// call did: whoever claims an expiry announces it, so exactly one node of a cluster does.
	ClaimRoomExpiry(ctx context.Context, id string) (claimed bool, err error)
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

	// RecordJoin writes a join at once: the new chatter (or its reactivation), the membership
	// and the join alert, so a join waits for one commit. It returns the membership, whether
	// it is the chatter's first in the room, and the stored alert (with its ID and Seq) when
	// j has one.
	RecordJoin(ctx context.Context, j JoinRecord) (rc RoomChatter, first bool, alert *Message, err error)
	LeaveRoom(ctx context.Context, roomID, chatterID string, at time.Time) error
	RoomChatters(ctx context.Context, roomID string) ([]RoomChatter, error)
	// ActiveRooms lists the ids of the rooms where the chatter's membership is active.
	ActiveRooms(ctx context.Context, chatterID string) ([]string, error)

	// AppendMessage stores the message and returns it with its ID and Seq set. It returns only
	// after the message is durably committed; implementations group concurrent appends into
	// one transaction. Seq is the message's position in its room: 1 for the room's first
	// message, then one more for each, with no gap, assigned in the message's own transaction
	// so that within a room Seq order and ID order are the same.
	AppendMessage(ctx context.Context, m Message) (Message, error)
	// LastSeq is the Seq of the room's latest stored message, 0 when it has none.
	LastSeq(ctx context.Context, roomID string) (int64, error)
	// FirstMessageID is the id of the chatter's first message in the room (its join alert),
	// ErrNotFound when it has none.
	FirstMessageID(ctx context.Context, roomID, chatterID string) (int64, error)
	// Messages returns messages of a room, oldest first, with their chatter, per q.
	Messages(ctx context.Context, q MessageQuery) ([]Message, error)
}

// MessageQuery selects a window of a room's messages. Only messages with ID >= MinID are
// considered. The first of these that is set drives the window:
//   - Page (>= 1): the original paging, newest page first, Limit a page;
//   - Before (> 0): the newest Limit messages with ID < Before;
//   - BySeq: the oldest Limit messages with Seq > AfterSeq;
//   - otherwise After (>= 0): the oldest Limit messages with ID > After.
//
// The result is always oldest first.
type MessageQuery struct {
	RoomID   string
	MinID    int64
	Page     int
	Before   int64
	BySeq    bool
	AfterSeq int64
	After    int64
	Limit    int
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
