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
	roomChattersQuery = `SELECT ` + memberColumns + ` FROM room_chatters WHERE room_id = ? ORDER BY id`
	leaveQuery        = `UPDATE room_chatters SET is_active = 0, left_at = ? WHERE room_id = ? AND chatter_id = ?`
	activeRoomsQuery  = `SELECT room_id FROM room_chatters WHERE chatter_id = ? AND is_active = 1 ORDER BY id`
)

// LeaveRoom marks the chatter's membership of the room inactive.
func (s *Store) LeaveRoom(ctx context.Context, roomID, chatterID string, at time.Time) error {
	err := s.commit.do(ctx, &op{run: func(w *writeConn) error {
		res, err := exec(w.leave, millis(at), roomID, chatterID)
		if err != nil {
			return err
		}
		return mustAffect(res, "membership", roomID+"/"+chatterID)
	}})
	if err != nil {
		return fmt.Errorf("sqlite: leave room: %w", err)
	}
	return nil
}

// RoomChatters lists the room's memberships, active or not, in the order they began.
func (s *Store) RoomChatters(ctx context.Context, roomID string) ([]chat.RoomChatter, error) {
	rows, err := s.reads.roomChatters.QueryContext(ctx, roomID)
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
	rows, err := s.reads.activeRooms.QueryContext(ctx, chatterID)
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

// RecordJoin writes a whole join in one operation of the group commit: the new chatter (or
// its reactivation), the membership and the join alert.
func (s *Store) RecordJoin(ctx context.Context, j chat.JoinRecord) (chat.RoomChatter, bool, *chat.Message, error) {
	var (
		rc     chat.RoomChatter
		member bool
		alert  *chat.Message
	)
	if j.Alert != nil {
		m := *j.Alert
		m.SentAt = truncMillis(m.SentAt)
		alert = &m
	}
	err := s.commit.do(ctx, &op{message: alert != nil, run: func(w *writeConn) error {
		if c := j.NewChatter; c != nil {
			if _, err := exec(w.insertChatter, c.ID, c.Nickname, nullBytes(c.TokenHash), millis(c.CreatedAt),
				nullMillis(c.DeletedAt), boolInt(c.IsActive)); err != nil {
				return fmt.Errorf("create chatter: %w", err)
			}
		} else if j.Reactivate {
			res, err := exec(w.setActive, boolInt(true), j.ChatterID)
			if err != nil {
				return err
			}
			if err := mustAffect(res, "chatter", j.ChatterID); err != nil {
				return err
			}
		}
		if err := queryRow(w.memberExists, j.RoomID, j.ChatterID).Scan(&member); err != nil {
			return err
		}
		// The alert first: a new membership starts at it (first_message_id).
		var first any
		if alert != nil {
			if err := w.appendMessage(alert); err != nil {
				return err
			}
			first = alert.ID
		}
		var err error
		rc, err = scanMember(queryRow(w.join, j.RoomID, j.ChatterID, millis(j.At), first))
		if isForeignKey(err) {
			return fmt.Errorf("room or chatter: %w", chat.ErrNotFound)
		}
		return err
	}})
	if err != nil {
		return chat.RoomChatter{}, false, nil, fmt.Errorf("sqlite: record join of %q in %q: %w", j.ChatterID, j.RoomID, err)
	}
	return rc, !member, alert, nil
}
