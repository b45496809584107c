package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"colachat/internal/chat"
)

const memberColumns = `id, room_id, chatter_id, joined_at, left_at, is_active`

const (
	leaveQuery       = `UPDATE room_chatters SET is_active = 0, left_at = ? WHERE room_id = ? AND chatter_id = ?`
	activeRoomsQuery = `SELECT room_id FROM room_chatters WHERE chatter_id = ? AND is_active = 1 ORDER BY id`
)

// JoinRoom records the chatter's membership of the room, or reactivates it; a reactivated
// membership gets JoinedAt = at and no LeftAt. first reports whether the chatter had never
// been a member before.
func (s *Store) JoinRoom(ctx context.Context, roomID, chatterID string, at time.Time) (chat.RoomChatter, bool, error) {
	rc, first, err := s.joinRoom(ctx, roomID, chatterID, at)
	if err != nil {
		return chat.RoomChatter{}, false, fmt.Errorf("sqlite: join room %q as %q: %w", roomID, chatterID, err)
	}
	return rc, first, nil
}

func (s *Store) joinRoom(ctx context.Context, roomID, chatterID string, at time.Time) (chat.RoomChatter, bool, error) {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return chat.RoomChatter{}, false, err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit

	var exists int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM room_chatters WHERE room_id = ? AND chatter_id = ?`,
		roomID, chatterID).Scan(&exists); err != nil {
		return chat.RoomChatter{}, false, err
	}
	rc, err := scanMember(tx.QueryRowContext(ctx, `INSERT INTO room_chatters (room_id, chatter_id, joined_at, is_active)
		VALUES (?, ?, ?, 1)
		ON CONFLICT (room_id, chatter_id) DO UPDATE SET joined_at = excluded.joined_at, left_at = NULL, is_active = 1
		RETURNING `+memberColumns, roomID, chatterID, millis(at)))
	if isForeignKey(err) {
		return chat.RoomChatter{}, false, fmt.Errorf("room or chatter: %w", chat.ErrNotFound)
	}
	if err != nil {
		return chat.RoomChatter{}, false, err
	}
	if err := tx.Commit(); err != nil {
		return chat.RoomChatter{}, false, err
	}
	return rc, exists == 0, nil
}

// LeaveRoom marks the chatter's membership of the room inactive.
func (s *Store) LeaveRoom(ctx context.Context, roomID, chatterID string, at time.Time) error {
	res, err := s.writer.ExecContext(ctx, leaveQuery, millis(at), roomID, chatterID)
	if err == nil {
		err = mustAffect(res, "membership", roomID+"/"+chatterID)
	}
	if err != nil {
		return fmt.Errorf("sqlite: leave room: %w", err)
	}
	return nil
}

// RoomChatters lists the room's memberships, active or not, in the order they began.
func (s *Store) RoomChatters(ctx context.Context, roomID string) ([]chat.RoomChatter, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT `+memberColumns+` FROM room_chatters WHERE room_id = ? ORDER BY id`, roomID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: room chatters: %w", err)
	}
	defer rows.Close()
	out := []chat.RoomChatter{}
	for rows.Next() {
		rc, err := scanMember(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: room chatters: %w", err)
		}
		out = append(out, rc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: room chatters: %w", err)
	}
	return out, nil
}

// ActiveRooms lists the ids of the rooms where the chatter's membership is active.
func (s *Store) ActiveRooms(ctx context.Context, chatterID string) ([]string, error) {
	rows, err := s.reader.QueryContext(ctx, activeRoomsQuery, chatterID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: active rooms: %w", err)
	}
	defer rows.Close()
	ids := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("sqlite: active rooms: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: active rooms: %w", err)
	}
	return ids, nil
}

func scanMember(sc scanner) (chat.RoomChatter, error) {
	var rc chat.RoomChatter
	var joined int64
	var left sql.NullInt64
	if err := sc.Scan(&rc.ID, &rc.RoomID, &rc.ChatterID, &joined, &left, &rc.IsActive); err != nil {
		return chat.RoomChatter{}, err
	}
	rc.JoinedAt, rc.LeftAt = fromMillis(joined), fromNullMillis(left)
	return rc, nil
}
