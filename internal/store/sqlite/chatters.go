package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"colachat/internal/chat"
)

const chatterColumns = `id, nickname, token_hash, created_at, deleted_at, is_active`

// CreateChatter stores a new chatter.
func (s *Store) CreateChatter(ctx context.Context, c chat.Chatter) error {
	_, err := s.writer.ExecContext(ctx, `INSERT INTO chatters (`+chatterColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
		c.ID, c.Nickname, nullBytes(c.TokenHash), millis(c.CreatedAt), nullMillis(c.DeletedAt), boolInt(c.IsActive))
	if err != nil {
		return fmt.Errorf("sqlite: create chatter %q: %w", c.ID, err)
	}
	return nil
}

// Chatter returns the chatter with the given id.
func (s *Store) Chatter(ctx context.Context, id string) (chat.Chatter, error) {
	c, err := scanChatter(s.reader.QueryRowContext(ctx, `SELECT `+chatterColumns+` FROM chatters WHERE id = ?`, id))
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
	found := make(map[string]chat.Chatter, len(ids))
	// Stay well below SQLite's limit on bound parameters.
	const chunk = 500
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		if err := s.chattersByID(ctx, part, found); err != nil {
			return nil, fmt.Errorf("sqlite: chatters: %w", err)
		}
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

func (s *Store) chattersByID(ctx context.Context, ids []string, into map[string]chat.Chatter) error {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	marks := strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",")
	rows, err := s.reader.QueryContext(ctx, `SELECT `+chatterColumns+` FROM chatters WHERE id IN (`+marks+`)`, args...)
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
	c, err := scanChatter(s.writer.QueryRowContext(ctx,
		`UPDATE chatters SET nickname = ? WHERE id = ? RETURNING `+chatterColumns, nickname, id))
	if errors.Is(err, sql.ErrNoRows) {
		return chat.Chatter{}, fmt.Errorf("sqlite: rename chatter %q: %w", id, chat.ErrNotFound)
	}
	if err != nil {
		return chat.Chatter{}, fmt.Errorf("sqlite: rename chatter %q: %w", id, err)
	}
	return c, nil
}

// SetChatterActive sets the chatter's isActive flag.
func (s *Store) SetChatterActive(ctx context.Context, id string, active bool) error {
	res, err := s.writer.ExecContext(ctx, `UPDATE chatters SET is_active = ? WHERE id = ?`, boolInt(active), id)
	if err == nil {
		err = mustAffect(res, "chatter", id)
	}
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
