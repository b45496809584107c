package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"colachat/internal/chat"
)

const chatterColumns = `id, nickname, token_hash, created_at, deleted_at, is_active`

const (
	chatterQuery  = `SELECT ` + chatterColumns + ` FROM chatters WHERE id = ?`
	chattersQuery = `SELECT ` + chatterColumns + ` FROM chatters WHERE id IN (SELECT value FROM json_each(?))`
)

// CreateChatter stores a new chatter.
func (s *Store) CreateChatter(ctx context.Context, c chat.Chatter) error {
	err := s.commit.do(ctx, &op{run: func(w *writeConn) error {
		_, err := exec(w.insertChatter, c.ID, c.Nickname, nullBytes(c.TokenHash), millis(c.CreatedAt),
			nullMillis(c.DeletedAt), boolInt(c.IsActive))
		return err
	}})
	if err != nil {
		return fmt.Errorf("sqlite: create chatter %q: %w", c.ID, err)
	}
	return nil
}

// Chatter returns the chatter with the given id.
func (s *Store) Chatter(ctx context.Context, id string) (chat.Chatter, error) {
	c, err := scanChatter(s.reads.chatter.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return chat.Chatter{}, fmt.Errorf("sqlite: chatter %q: %w", id, chat.ErrNotFound)
	}
	if err != nil {
		return chat.Chatter{}, fmt.Errorf("sqlite: chatter %q: %w", id, err)
	}
	return c, nil
}

// Chatters returns the chatters with the given ids, in the order of ids; unknown ids and
// repeats are skipped.
func (s *Store) Chatters(ctx context.Context, ids []string) ([]chat.Chatter, error) {
	if len(ids) == 0 {
		return []chat.Chatter{}, nil
	}
	// The ids travel as one JSON array, so one prepared statement serves any number of them.
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, fmt.Errorf("sqlite: chatters: %w", err)
	}
	found := make(map[string]chat.Chatter, len(ids))
	if err := s.chattersByID(ctx, string(list), found); err != nil {
		return nil, fmt.Errorf("sqlite: chatters: %w", err)
	}
	out := make([]chat.Chatter, 0, len(found))
	for _, id := range ids {
		if c, ok := found[id]; ok {
			out = append(out, c)
			delete(found, id)
		}
	}
	return out, nil
}

func (s *Store) chattersByID(ctx context.Context, list string, into map[string]chat.Chatter) error {
	rows, err := s.reads.chatters.QueryContext(ctx, list)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		c, err := scanChatter(rows)
		if err != nil {
			return err
		}
		into[c.ID] = c
	}
	return rows.Err()
}

// RenameChatter sets the chatter's nickname and returns the updated chatter.
func (s *Store) RenameChatter(ctx context.Context, id, nickname string) (chat.Chatter, error) {
	var c chat.Chatter
	err := s.commit.do(ctx, &op{run: func(w *writeConn) error {
		var err error
		c, err = scanChatter(queryRow(w.rename, nickname, id))
		if errors.Is(err, sql.ErrNoRows) {
			return chat.ErrNotFound
		}
		return err
	}})
	if err != nil {
		return chat.Chatter{}, fmt.Errorf("sqlite: rename chatter %q: %w", id, err)
	}
	return c, nil
}

// SetChatterActive sets the chatter's isActive flag.
func (s *Store) SetChatterActive(ctx context.Context, id string, active bool) error {
	err := s.commit.do(ctx, &op{run: func(w *writeConn) error {
		res, err := exec(w.setActive, boolInt(active), id)
		if err != nil {
			return err
		}
		return mustAffect(res, "chatter", id)
	}})
	if err != nil {
		return fmt.Errorf("sqlite: set chatter active: %w", err)
	}
	return nil
}

func scanChatter(sc scanner) (chat.Chatter, error) {
	var c chat.Chatter
	var created int64
	var deleted sql.NullInt64
	var token []byte
	if err := sc.Scan(&c.ID, &c.Nickname, &token, &created, &deleted, &c.IsActive); err != nil {
		return chat.Chatter{}, err
	}
	if len(token) > 0 {
		c.TokenHash = token
	}
	c.CreatedAt, c.DeletedAt = fromMillis(created), fromNullMillis(deleted)
	return c, nil
}

func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}
