package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"colachat/internal/chat"
)

// AppendMessage stores m and returns it with its ID, its SentAt as stored, and the Chatter
// the caller passed. It returns only after the transaction holding m has committed. Once m
// is queued the call waits for the committer's answer even if ctx ends, so an error always
// means the message was not stored; a ctx that ends before the batch is written drops m.
func (s *Store) AppendMessage(ctx context.Context, m chat.Message) (chat.Message, error) {
	m.SentAt = truncMillis(m.SentAt)
	err := s.commit.do(ctx, &op{message: true, run: func(w *writeConn) error { return w.appendMessage(&m) }})
	if err != nil {
		return chat.Message{}, fmt.Errorf("sqlite: append message: %w", err)
	}
	return m, nil
}

// LastSeq is the Seq of the room's latest message, 0 when it has none.
func (s *Store) LastSeq(ctx context.Context, roomID string) (int64, error) {
	var seq int64
	err := s.reads.lastSeq.QueryRowContext(ctx, roomID).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("sqlite: last seq of %q: %w", roomID, chat.ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("sqlite: last seq of %q: %w", roomID, err)
	}
	return seq, nil
}

// FirstMessageID returns the id of the chatter's first message in the room.
func (s *Store) FirstMessageID(ctx context.Context, roomID, chatterID string) (int64, error) {
	var id sql.NullInt64
	err := s.reads.firstMessage.QueryRowContext(ctx, roomID, chatterID).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("sqlite: first message of %q in %q: %w", chatterID, roomID, err)
	}
	if !id.Valid {
		return 0, fmt.Errorf("sqlite: first message of %q in %q: %w", chatterID, roomID, chat.ErrNotFound)
	}
	return id.Int64, nil
}

const messageSelect = `SELECT m.id, m.seq, m.type, m.content, m.sent_at, m.room_id, m.chatter_id,
		m.alert_kind, m.alert_nickname, m.alert_new_nickname,
		c.id, c.nickname, c.token_hash, c.created_at, c.deleted_at, c.is_active
	FROM messages m JOIN chatters c ON c.id = m.chatter_id`

// The windows of MessageQuery; the args are room, MinID, then the window's own. Ids and
// positions follow one order within a room: the id windows walk the (room_id, id) index, the
// position window the (room_id, seq) one.
const (
	pageQuery   = messageSelect + ` WHERE m.room_id = ? AND m.id >= ? ORDER BY m.id DESC LIMIT ? OFFSET ?`
	beforeQuery = messageSelect + ` WHERE m.room_id = ? AND m.id >= ? AND m.id < ? ORDER BY m.id DESC LIMIT ?`
	afterQuery  = messageSelect + ` WHERE m.room_id = ? AND m.id >= ? AND m.id > ? ORDER BY m.id LIMIT ?`
	seqQuery    = messageSelect + ` WHERE m.room_id = ? AND m.id >= ? AND m.seq > ? ORDER BY m.seq LIMIT ?`
)

const lastSeqQuery = `SELECT (SELECT coalesce(max(seq), 0) FROM messages WHERE room_id = rooms.id) FROM rooms WHERE id = ?`

// firstMessageQuery reads where a chatter's view of a room starts: kept with its membership
// since it joined; otherwise (a membership recorded without an alert) its first message.
const firstMessageQuery = `SELECT coalesce(
	(SELECT first_message_id FROM room_chatters WHERE room_id = ?1 AND chatter_id = ?2),
	(SELECT min(id) FROM messages WHERE room_id = ?1 AND chatter_id = ?2))`

// Messages returns a window of the room's messages per q, oldest first, each with its
// chatter.
func (s *Store) Messages(ctx context.Context, q chat.MessageQuery) ([]chat.Message, error) {
	if q.Limit <= 0 {
		return nil, fmt.Errorf("sqlite: messages: limit %d: must be positive", q.Limit)
	}
	var (
		query  *sql.Stmt
		args   []any
		newest bool // the query walks backwards and the result must be reversed
	)
	switch {
	case q.Page >= 1:
		query = s.reads.page
		args = []any{q.RoomID, q.MinID, q.Limit, int64(q.Page-1) * int64(q.Limit)}
		newest = true
	case q.Before > 0:
		query = s.reads.before
		args = []any{q.RoomID, q.MinID, q.Before, q.Limit}
		newest = true
	case q.BySeq:
		query = s.reads.seq
		args = []any{q.RoomID, q.MinID, q.AfterSeq, q.Limit}
	default:
		query = s.reads.after
		args = []any{q.RoomID, q.MinID, q.After, q.Limit}
	}
	msgs, err := s.queryMessages(ctx, q.Limit, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: messages of %q: %w", q.RoomID, err)
	}
	if newest {
		for i, j := 0, len(msgs)-1; i < j; i, j = i+1, j-1 {
			msgs[i], msgs[j] = msgs[j], msgs[i]
		}
	}
	return msgs, nil
}

func (s *Store) queryMessages(ctx context.Context, limit int, query *sql.Stmt, args ...any) ([]chat.Message, error) {
	rows, err := query.QueryContext(ctx, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	msgs := make([]chat.Message, 0, min(limit, 256))
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, m)
	}
	return msgs, rows.Err()
}

func scanMessage(rows *sql.Rows) (chat.Message, error) {
	var (
		m                   chat.Message
		typ                 string
		sent, created       int64
		kind, nick, newNick sql.NullString
		deleted             sql.NullInt64
		token               []byte
	)
	err := rows.Scan(&m.ID, &m.Seq, &typ, &m.Content, &sent, &m.RoomID, &m.ChatterID, &kind, &nick, &newNick,
		&m.Chatter.ID, &m.Chatter.Nickname, &token, &created, &deleted, &m.Chatter.IsActive)
	if err != nil {
		return chat.Message{}, err
	}
	m.Type = chat.MessageType(typ)
	m.SentAt = fromMillis(sent)
	if kind.Valid {
		m.Alert = &chat.Alert{Kind: chat.AlertKind(kind.String), Nickname: nick.String, NewNickname: newNick.String}
	}
	if len(token) > 0 {
		m.Chatter.TokenHash = token
	}
	m.Chatter.CreatedAt, m.Chatter.DeletedAt = fromMillis(created), fromNullMillis(deleted)
	return m, nil
}
