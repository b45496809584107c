package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"colachat/internal/chat"
)

// The statements the committer runs. Each write op uses at most one statement that
// changes rows, and the committer wraps every op in a savepoint as well, so a refused op
// leaves nothing behind.
const (
	insertRoomQuery    = `INSERT INTO rooms (` + roomColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	markExpiredQuery   = `UPDATE rooms SET is_expired = 1 WHERE id = ?`
	roomExpiredQuery   = `SELECT is_expired FROM rooms WHERE id = ?`
	insertChatterQuery = `INSERT INTO chatters (` + chatterColumns + `) VALUES (?, ?, ?, ?, ?, ?)`
	renameQuery        = `UPDATE chatters SET nickname = ? WHERE id = ? RETURNING ` + chatterColumns
	setActiveQuery     = `UPDATE chatters SET is_active = ? WHERE id = ?`
	memberExistsQuery  = `SELECT EXISTS (SELECT 1 FROM room_chatters WHERE room_id = ? AND chatter_id = ?)`
	joinQuery          = `INSERT INTO room_chatters (room_id, chatter_id, joined_at, is_active, first_message_id) VALUES (?, ?, ?, 1, ?)
		ON CONFLICT (room_id, chatter_id) DO UPDATE SET joined_at = excluded.joined_at, left_at = NULL, is_active = 1,
			first_message_id = coalesce(room_chatters.first_message_id, excluded.first_message_id)
		RETURNING ` + memberColumns
	// The next position is read from the room's (room_id, seq) index by the one writer, in
	// the message's own statement: a refused insert takes none, so positions have no gap.
	insertMessageQuery = `INSERT INTO messages
		(type, content, sent_at, room_id, chatter_id, alert_kind, alert_nickname, alert_new_nickname, seq)
		VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,
			(SELECT coalesce(max(seq), 0) + 1 FROM messages WHERE room_id = ?4))
		RETURNING id, seq`
)

// writeConn is the one writing connection, owned by the committer goroutine, with every
// statement the writes need prepared once on it.
type writeConn struct {
	conn *sql.Conn
	all  []*sql.Stmt // for close

	begin, commit, rollback            *sql.Stmt
	savepoint, release, rollbackToSave *sql.Stmt

	insertRoom, markExpired, purge   *sql.Stmt
	roomExpired                      *sql.Stmt
	insertChatter, rename, setActive *sql.Stmt
	memberExists, join, leave        *sql.Stmt
	insertMessage                    *sql.Stmt
}

// prepareWriteConn prepares the statements on conn, which the writeConn then owns (on
// failure the caller still does).
func prepareWriteConn(ctx context.Context, conn *sql.Conn) (*writeConn, error) {
	w := &writeConn{conn: conn}
	for _, p := range []struct {
		stmt  **sql.Stmt
		query string
	}{
		// IMMEDIATE takes the write lock at BEGIN: a statement of the batch cannot then fail
		// halfway on a lock upgrade when another process shares the file.
		{&w.begin, `BEGIN IMMEDIATE`},
		{&w.commit, `COMMIT`},
		{&w.rollback, `ROLLBACK`},
		{&w.savepoint, `SAVEPOINT op`},
		{&w.release, `RELEASE op`},
		{&w.rollbackToSave, `ROLLBACK TO op`},
		{&w.insertRoom, insertRoomQuery},
		{&w.markExpired, markExpiredQuery},
		{&w.roomExpired, roomExpiredQuery},
		{&w.purge, purgeQuery},
		{&w.insertChatter, insertChatterQuery},
		{&w.rename, renameQuery},
		{&w.setActive, setActiveQuery},
		{&w.memberExists, memberExistsQuery},
		{&w.join, joinQuery},
		{&w.leave, leaveQuery},
		{&w.insertMessage, insertMessageQuery},
	} {
		st, err := conn.PrepareContext(ctx, p.query)
		if err != nil {
			w.closeStmts()
			return nil, fmt.Errorf("prepare %q: %w", p.query, err)
		}
		*p.stmt = st
		w.all = append(w.all, st)
	}
	return w, nil
}

// appendMessage stores m at the room's next position, setting its ID and Seq.
func (w *writeConn) appendMessage(m *chat.Message) error {
	var kind, nick, newNick any
	if a := m.Alert; a != nil {
		kind, nick, newNick = string(a.Kind), a.Nickname, a.NewNickname
	}
	err := queryRow(w.insertMessage, string(m.Type), m.Content, millis(m.SentAt), m.RoomID, m.ChatterID,
		kind, nick, newNick).Scan(&m.ID, &m.Seq)
	if isForeignKey(err) {
		return fmt.Errorf("room %q or chatter %q: %w", m.RoomID, m.ChatterID, chat.ErrNotFound)
	}
	return err
}

func (w *writeConn) close() error {
	return errors.Join(w.closeStmts(), w.conn.Close())
}

func (w *writeConn) closeStmts() error {
	var errs []error
	for _, st := range w.all {
		errs = append(errs, st.Close())
	}
	return errors.Join(errs...)
}

// exec runs a statement that takes part in a batch. The batch's statements ignore their
// callers' contexts: they share one transaction, which no single caller may interrupt.
func exec(st *sql.Stmt, args ...any) (sql.Result, error) {
	return st.ExecContext(context.Background(), args...)
}

func queryRow(st *sql.Stmt, args ...any) *sql.Row {
	return st.QueryRowContext(context.Background(), args...)
}
