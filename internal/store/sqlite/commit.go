package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"colachat/internal/chat"

	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// appendReq is one AppendMessage waiting for its commit.
type appendReq struct {
	ctx  context.Context
	m    chat.Message
	done chan appendResult // buffered: the committer never blocks on a caller
}

type appendResult struct {
	id  int64
	err error
}

// committer owns the writer connection's message inserts: it gathers pending appends and
// writes each gathered batch in one transaction.
type committer struct {
	db       *sql.DB
	maxBatch int
	maxWait  time.Duration

	mu     sync.RWMutex // held for reading while enqueueing, for writing to close reqs
	closed bool
	reqs   chan *appendReq
	done   chan struct{}

	batches  atomic.Int64
	messages atomic.Int64
}

func startCommitter(db *sql.DB, maxBatch int, maxWait time.Duration) *committer {
	c := &committer{
		db:       db,
		maxBatch: maxBatch,
		maxWait:  maxWait,
		reqs:     make(chan *appendReq, maxBatch),
		done:     make(chan struct{}),
	}
	go c.run()
	return c
}

// AppendMessage stores m and returns it with its ID, its SentAt as stored, and the Chatter
// the caller passed. It returns only after the transaction holding m has committed. Once m
// is queued the call waits for the committer's answer even if ctx ends, so an error always
// means the message was not stored; a ctx that ends before the batch is written drops m.
func (s *Store) AppendMessage(ctx context.Context, m chat.Message) (chat.Message, error) {
	if err := ctx.Err(); err != nil {
		return chat.Message{}, fmt.Errorf("sqlite: append message: %w", err)
	}
	m.SentAt = truncMillis(m.SentAt)
	req := &appendReq{ctx: ctx, m: m, done: make(chan appendResult, 1)}
	if err := s.commit.enqueue(ctx, req); err != nil {
		return chat.Message{}, fmt.Errorf("sqlite: append message: %w", err)
	}
	res := <-req.done
	if res.err != nil {
		return chat.Message{}, fmt.Errorf("sqlite: append message: %w", res.err)
	}
	m.ID = res.id
	return m, nil
}

func (c *committer) enqueue(ctx context.Context, req *appendReq) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return ErrClosed
	}
	select {
	case c.reqs <- req:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stop refuses new appends, lets the committer write every queued one, and waits for it.
func (c *committer) stop() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.reqs)
	}
	c.mu.Unlock()
	<-c.done
}

func (c *committer) stats() Stats {
	return Stats{Batches: c.batches.Load(), Messages: c.messages.Load()}
}

func (c *committer) run() {
	defer close(c.done)
	batch := make([]*appendReq, 0, c.maxBatch)
	wait := time.NewTimer(time.Hour)
	wait.Stop()
	for {
		first, ok := <-c.reqs
		if !ok {
			return
		}
		batch = append(batch[:0], first)
		open := c.gather(&batch, wait)
		c.write(batch)
		clear(batch)
		// A closed reqs yields its queued requests before reporting closed, so nothing is
		// left behind once gather has seen the close.
		if !open {
			return
		}
	}
}

// gather adds pending requests to batch and, when more than one was pending, waits up to
// maxWait for more while it is not full. It reports false once reqs is closed.
func (c *committer) gather(batch *[]*appendReq, wait *time.Timer) bool {
	waiting := false
	defer func() {
		if waiting {
			wait.Stop()
		}
	}()
	for len(*batch) < c.maxBatch {
		select {
		case r, ok := <-c.reqs:
			if !ok {
				return false
			}
			*batch = append(*batch, r)
			continue
		default:
		}
		// A lone append is committed at once, or a single sender would pay maxWait on every
		// message; when several were pending, more are likely on their way.
		if c.maxWait <= 0 || len(*batch) < 2 {
			return true
		}
		if !waiting {
			wait.Reset(c.maxWait)
			waiting = true
		}
		select {
		case r, ok := <-c.reqs:
			if !ok {
				return false
			}
			*batch = append(*batch, r)
		case <-wait.C:
			waiting = false
			return true
		}
	}
	return true
}

// write inserts the batch in one transaction and answers every request. A message whose own
// insert is refused (a missing room or chatter, a cancelled caller) fails alone; any other
// failure fails the whole batch, and nothing of it is stored.
func (c *committer) write(batch []*appendReq) {
	ids := make([]int64, len(batch))
	errs := make([]error, len(batch))
	err := c.insertAll(batch, ids, errs)
	stored := int64(0)
	for i, r := range batch {
		switch {
		case err != nil:
			r.done <- appendResult{err: err}
		case errs[i] != nil:
			r.done <- appendResult{err: errs[i]}
		default:
			stored++
			r.done <- appendResult{id: ids[i]}
		}
	}
	if err == nil {
		c.batches.Add(1)
		c.messages.Add(stored)
	}
}

const insertMessage = `INSERT INTO messages
	(type, content, sent_at, room_id, chatter_id, alert_kind, alert_nickname, alert_new_nickname)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?)`

func (c *committer) insertAll(batch []*appendReq, ids []int64, errs []error) error {
	// The batch is written even if its first caller gave up: others share the transaction.
	ctx := context.Background()
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit

	stmt, err := tx.PrepareContext(ctx, insertMessage)
	if err != nil {
		return err
	}
	defer stmt.Close()

	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		m := r.m
		var kind, nick, newNick sql.NullString
		if m.Alert != nil {
			kind = sql.NullString{String: string(m.Alert.Kind), Valid: true}
			nick = sql.NullString{String: m.Alert.Nickname, Valid: true}
			newNick = sql.NullString{String: m.Alert.NewNickname, Valid: true}
		}
		res, err := stmt.ExecContext(ctx, string(m.Type), m.Content, millis(m.SentAt), m.RoomID, m.ChatterID, kind, nick, newNick)
		if err != nil {
			// A constraint failure undoes only its own statement; the transaction goes on.
			if !isConstraint(err) {
				return err
			}
			if isForeignKey(err) {
				errs[i] = fmt.Errorf("room %q or chatter %q: %w", m.RoomID, m.ChatterID, chat.ErrNotFound)
			} else {
				errs[i] = err
			}
			continue
		}
		if ids[i], err = res.LastInsertId(); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func sqliteCode(err error) (int, bool) {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return 0, false
	}
	return se.Code(), true
}

func isConstraint(err error) bool {
	code, ok := sqliteCode(err)
	return ok && code&0xff == sqlite3.SQLITE_CONSTRAINT
}

func isForeignKey(err error) bool {
	code, ok := sqliteCode(err)
	return ok && code == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}
