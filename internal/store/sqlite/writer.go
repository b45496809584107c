package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
	joinQuery          = `INSERT INTO room_chatters (room_id, chatter_id, joined_at, is_active) VALUES (?, ?, ?, 1)
		ON CONFLICT (room_id, chatter_id) DO UPDATE SET joined_at = excluded.joined_at, left_at = NULL, is_active = 1
		RETURNING ` + memberColumns
	insertMessageQuery = `INSERT INTO messages
		(type, content, sent_at, room_id, chatter_id, alert_kind, alert_nickname, alert_new_nickname)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
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
