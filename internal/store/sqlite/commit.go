package sqlite

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// op is one write waiting for the committer. run executes it on the writer connection,
// inside the batch's transaction; a solo op runs alone, between batches, outside any
// transaction of the committer's (migrations and pings).
type op struct {
	ctx     context.Context
	run     func(w *writeConn) error
	solo    bool
	message bool // counted in Stats.Messages once stored

	err  error
	done chan struct{} // closed once err (and whatever run captured) is final
}

// committer owns the writer connection: it gathers pending writes of every kind and
// executes each gathered batch in one transaction, in the order they were queued, so that
// concurrent writers share one COMMIT and one fsync. Each caller is answered only after
// that COMMIT.
type committer struct {
	w        *writeConn
	maxBatch int
	maxWait  time.Duration

	mu     sync.RWMutex // held for reading while enqueueing, for writing to close reqs
	closed bool
	reqs   chan *op
	done   chan struct{}
	// closeErr is the writer connection's close error, set before done is closed.
	closeErr error
	// lastStart is when the last batch began; only the committer goroutine uses it.
	lastStart time.Time

	batches  atomic.Int64
	writes   atomic.Int64
	messages atomic.Int64
}

func startCommitter(w *writeConn, maxBatch int, maxWait time.Duration) *committer {
	c := &committer{
		w:        w,
		maxBatch: maxBatch,
		maxWait:  maxWait,
		reqs:     make(chan *op, maxBatch),
		done:     make(chan struct{}),
	}
	go c.run()
	return c
}

// do queues o and waits for its answer. Once o is queued the call waits even if ctx ends,
// so an error always means o's changes were not stored; a ctx that ends before o's turn
// drops o.
func (c *committer) do(ctx context.Context, o *op) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o.ctx, o.done = ctx, make(chan struct{})
	if err := c.enqueue(ctx, o); err != nil {
		return err
	}
	<-o.done
	return o.err
}

func (c *committer) enqueue(ctx context.Context, o *op) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return ErrClosed
	}
	select {
	case c.reqs <- o:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stop refuses new writes, lets the committer execute every queued one, and waits for it
// to close the writer connection.
func (c *committer) stop() error {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.reqs)
	}
	c.mu.Unlock()
	<-c.done
	return c.closeErr
}

func (c *committer) stats() Stats {
	return Stats{Batches: c.batches.Load(), Writes: c.writes.Load(), Messages: c.messages.Load()}
}

func (c *committer) run() {
	defer close(c.done)
	defer func() { c.closeErr = c.w.close() }()
	batch := make([]*op, 0, c.maxBatch)
	wait := time.NewTimer(time.Hour)
	wait.Stop()
	for {
		first, ok := <-c.reqs
		if !ok {
			return
		}
		if first.solo {
			c.runSolo(first)
			continue
		}
		batch = append(batch[:0], first)
		open, solo := c.gather(&batch, wait)
		c.write(batch)
		clear(batch)
		if solo != nil {
			c.runSolo(solo)
		}
		// A closed reqs yields its queued requests before reporting closed, so nothing is
		// left behind once gather has seen the close.
		if !open {
			return
		}
	}
}

// gather adds the pending writes to batch, up to maxBatch. Commits start at least maxWait
// apart: while the previous one started less than maxWait ago, gather waits out the rest of
// that time, collecting the writes that arrive meanwhile, so a steady stream of writes,
// even a moderate one, is committed in batches instead of paying a commit (and an fsync)
// each. A write that comes after a quiet spell is committed at once. gather stops at a solo
// op, which it returns to run after the batch, and reports false once reqs is closed.
func (c *committer) gather(batch *[]*op, wait *time.Timer) (open bool, solo *op) {
	waiting := false
	defer func() {
		if waiting {
			wait.Stop()
		}
	}()
	add := func(o *op) bool {
		if o.solo {
			solo = o
			return false
		}
		*batch = append(*batch, o)
		return true
	}
	next := c.lastStart.Add(c.maxWait)
	for len(*batch) < c.maxBatch {
		select {
		case o, ok := <-c.reqs:
			if !ok {
				return false, nil
			}
			if !add(o) {
				return true, solo
			}
			continue
		default:
		}
		if !waiting {
			d := time.Until(next)
			if d <= 0 {
				return true, nil
			}
			wait.Reset(d)
			waiting = true
		}
		select {
		case o, ok := <-c.reqs:
			if !ok {
				return false, nil
			}
			if !add(o) {
				return true, solo
			}
		case <-wait.C:
			waiting = false
			return true, nil
		}
	}
	return true, nil
}

func (c *committer) runSolo(o *op) {
	if err := o.ctx.Err(); err != nil {
		o.err = err
	} else {
		o.err = o.run(c.w)
	}
	close(o.done)
}

// write executes the batch in one transaction and answers every op once it is committed.
// An op that fails is undone alone (its savepoint) and the others go on. If an op's
// failure takes the whole transaction down, that op fails and the others are executed
// again in a new transaction; if BEGIN or COMMIT fails, every op of the batch fails and
// nothing of it is stored.
func (c *committer) write(batch []*op) {
	c.lastStart = time.Now()
	if c.attemptUnguarded(batch) {
		c.count(batch)
		for _, o := range batch {
			close(o.done)
		}
		return
	}
	live := batch
	for len(live) > 0 {
		culprit, err := c.attempt(live)
		if err == nil {
			c.count(live)
			break
		}
		if culprit < 0 {
			for _, o := range live {
				o.err = err
			}
			break
		}
		close(live[culprit].done) // its err is set
		// A new slice: batch belongs to the caller.
		live = slices.Concat(live[:culprit], live[culprit+1:])
	}
	for _, o := range live {
		close(o.done)
	}
}

func (c *committer) count(committed []*op) {
	c.batches.Add(1)
	for _, o := range committed {
		if o.err == nil {
			c.writes.Add(1)
			if o.message {
				c.messages.Add(1)
			}
		}
	}
}

// attemptUnguarded runs ops in one transaction without a savepoint each, which saves two
// statements per op, and reports whether it committed them all. When any op fails, nothing
// of the batch is kept: the batch is then written again by attempt, which isolates the op
// that fails.
func (c *committer) attemptUnguarded(ops []*op) bool {
	w := c.w
	if _, err := exec(w.begin); err != nil {
		c.abort()
		return false
	}
	for _, o := range ops {
		if o.err = o.ctx.Err(); o.err != nil {
			continue // the caller gave up before its turn: dropped
		}
		if o.err = o.run(w); o.err != nil {
			c.abort()
			return false
		}
	}
	if _, err := exec(w.commit); err != nil {
		c.abort()
		return false
	}
	return true
}

// attempt runs ops in one transaction, setting each op's err. It returns nil once COMMIT
// has succeeded. Otherwise the transaction is rolled back and it returns the error with
// the index of the op whose failure ended the transaction, or -1 when no op is to blame.
func (c *committer) attempt(ops []*op) (culprit int, err error) {
	w := c.w
	if _, err := exec(w.begin); err != nil {
		c.abort()
		return -1, err
	}
	for i, o := range ops {
		if o.err = o.ctx.Err(); o.err != nil {
			continue // the caller gave up before its turn: dropped
		}
		if _, err := exec(w.savepoint); err != nil {
			c.abort()
			return -1, err
		}
		if o.err = o.run(w); o.err != nil {
			// Fails with "no such savepoint" if the op's error already rolled the whole
			// transaction back.
			if _, err := exec(w.rollbackToSave); err != nil {
				c.abort()
				return i, o.err
			}
		}
		if _, err := exec(w.release); err != nil {
			c.abort()
			return -1, err
		}
	}
	if _, err := exec(w.commit); err != nil {
		c.abort()
		return -1, err
	}
	return -1, nil
}

// abort rolls back whatever is left of the batch's transaction; the error is that there is
// none left, or one the caller already reports.
func (c *committer) abort() {
	exec(c.w.rollback) //nolint:errcheck // see above
}

func sqliteCode(err error) (int, bool) {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return 0, false
	}
	return se.Code(), true
}

func isForeignKey(err error) bool {
	code, ok := sqliteCode(err)
	return ok && code == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}
