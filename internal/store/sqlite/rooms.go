package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"colachat/internal/chat"
)

const roomColumns = `id, title, namespace, password_hash, capacity, created_at, expires_at, is_password, is_expired`

const (
	roomQuery         = `SELECT ` + roomColumns + ` FROM rooms WHERE id = ?`
	roomsQuery        = `SELECT ` + roomColumns + ` FROM rooms ORDER BY created_at DESC, id DESC`
	expiredRoomsQuery = `SELECT ` + roomColumns + ` FROM rooms WHERE expires_at <= ? AND is_expired = 0 ORDER BY expires_at, id`
	purgeQuery        = `DELETE FROM rooms WHERE expires_at <= ?`
)

// CreateRoom stores a new room.
func (s *Store) CreateRoom(ctx context.Context, r chat.Room) error {
	err := s.commit.do(ctx, &op{run: func(w *writeConn) error {
		_, err := exec(w.insertRoom, r.ID, r.Title, r.Namespace, r.PasswordHash, r.Capacity, millis(r.CreatedAt),
			millis(r.ExpiresAt), boolInt(r.IsPassword), boolInt(r.IsExpired))
		return err
	}})
	if err != nil {
		return fmt.Errorf("sqlite: create room %q: %w", r.ID, err)
	}
	return nil
}

// Room returns the room with the given id.
func (s *Store) Room(ctx context.Context, id string) (chat.Room, error) {
	r, err := scanRoom(s.reads.room.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return chat.Room{}, fmt.Errorf("sqlite: room %q: %w", id, chat.ErrNotFound)
	}
	if err != nil {
		return chat.Room{}, fmt.Errorf("sqlite: room %q: %w", id, err)
	}
	return r, nil
}

// Rooms lists every room, newest first.
func (s *Store) Rooms(ctx context.Context) ([]chat.Room, error) {
	rooms, err := s.queryRooms(ctx, s.reads.rooms)
	if err != nil {
		return nil, fmt.Errorf("sqlite: rooms: %w", err)
	}
	return rooms, nil
}

// ClaimRoomExpiry marks the room expired only if it is not yet, and reports whether this call
// did: whoever claims an expiry announces it, once.
func (s *Store) ClaimRoomExpiry(ctx context.Context, id string) (bool, error) {
	var claimed bool
	err := s.commit.do(ctx, &op{run: func(w *writeConn) error {
		var wasExpired bool
		if err := queryRow(w.roomExpired, id).Scan(&wasExpired); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("room %q: %w", id, chat.ErrNotFound)
			}
			return err
		}
		if wasExpired {
			return nil
		}
		_, err := exec(w.markExpired, id)
		claimed = err == nil
		return err
	}})
	if err != nil {
		return false, fmt.Errorf("sqlite: claim room expiry: %w", err)
	}
	return claimed, nil
}

// ExpiredRooms lists the rooms past their expiry at now that are not yet marked expired,
// the longest expired first.
func (s *Store) ExpiredRooms(ctx context.Context, now time.Time) ([]chat.Room, error) {
	rooms, err := s.queryRooms(ctx, s.reads.expiredRooms, millis(now))
	if err != nil {
		return nil, fmt.Errorf("sqlite: expired rooms: %w", err)
	}
	return rooms, nil
}

// PurgeRooms deletes the rooms that expired at or before cutoff; their messages and
// memberships go with them (ON DELETE CASCADE).
func (s *Store) PurgeRooms(ctx context.Context, cutoff time.Time) (int, error) {
	var n int64
	err := s.commit.do(ctx, &op{run: func(w *writeConn) error {
		res, err := exec(w.purge, millis(cutoff))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	}})
	if err != nil {
		return 0, fmt.Errorf("sqlite: purge rooms: %w", err)
	}
	return int(n), nil
}

func (s *Store) queryRooms(ctx context.Context, query *sql.Stmt, args ...any) ([]chat.Room, error) {
	rows, err := query.QueryContext(ctx, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	rooms := []chat.Room{}
	for rows.Next() {
		r, err := scanRoom(rows)
		if err != nil {
			return nil, err
		}
		rooms = append(rooms, r)
	}
	return rooms, rows.Err()
}

// scanner is what *sql.Row and *sql.Rows share.
type scanner interface{ Scan(dest ...any) error }

func scanRoom(sc scanner) (chat.Room, error) {
	var r chat.Room
	var created, expires int64
	if err := sc.Scan(&r.ID, &r.Title, &r.Namespace, &r.PasswordHash, &r.Capacity, &created, &expires,
		&r.IsPassword, &r.IsExpired); err != nil {
		return chat.Room{}, err
	}
	r.CreatedAt, r.ExpiresAt = fromMillis(created), fromMillis(expires)
	return r, nil
}

// mustAffect turns an UPDATE or DELETE that matched no row into ErrNotFound.
func mustAffect(res sql.Result, what, id string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s %q: %w", what, id, chat.ErrNotFound)
	}
	return nil
}
