package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"colachat/internal/chat"
)

// maxBatch bounds one transaction; the batch is whatever is waiting when the committer is
// free, so under light load a message commits alone and at once, and under heavy load many
// share one round trip and one WAL flush.
const maxBatch = 256

// writeTimeout bounds one batch's transaction: a database that does not answer in time is
// unavailable, and the batch's callers are told so rather than kept waiting.
const writeTimeout = 10 * time.Second

var errClosed = errors.New("postgres: store closed")

type appendReq struct {
	msg  chat.Message
	done chan appendResult
}

type appendResult struct {
	position
	err error
}

// position is where a stored message went: its id and its Seq in its room.
type position struct{ id, seq int64 }

// committer owns the one goroutine that writes messages, in group transactions.
type committer struct {
	pool *pgxpool.Pool
	reqs chan appendReq

	mu     sync.RWMutex // guards closed against sends on reqs after close
	closed bool
	wg     sync.WaitGroup
}

func newCommitter(pool *pgxpool.Pool) *committer {
	c := &committer{pool: pool, reqs: make(chan appendReq, maxBatch)}
	c.wg.Add(1)
	go c.loop()
	return c
}

func (c *committer) append(ctx context.Context, m chat.Message) (position, error) {
	if err := ctx.Err(); err != nil {
		return position{}, fmt.Errorf("postgres: append message: %w", err)
	}
	req := appendReq{msg: m, done: make(chan appendResult, 1)}
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return position{}, errClosed
	}
	select {
	case c.reqs <- req:
	case <-ctx.Done():
		c.mu.RUnlock()
		return position{}, fmt.Errorf("postgres: append message: %w", ctx.Err())
	}
	c.mu.RUnlock()
	// Once queued, the result is awaited even if ctx ends: the message may be committed,
	// and an ack must never be sent for a message whose fate is unknown.
	res := <-req.done
	return res.position, res.err
}

// close stops accepting appends, commits everything queued, and waits for the loop.
func (c *committer) close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.reqs)
	}
	c.mu.Unlock()
	c.wg.Wait()
}

func (c *committer) loop() {
	defer c.wg.Done()
	batch := make([]appendReq, 0, maxBatch)
	for first := range c.reqs {
		batch = append(batch[:0], first)
	fill:
		for len(batch) < maxBatch {
			select {
			case r, ok := <-c.reqs:
				if !ok {
					break fill
				}
				batch = append(batch, r)
			default:
				break fill
			}
		}
		c.commit(batch)
	}
}

func (c *committer) commit(batch []appendReq) {
	pos, err := c.write(batch)
	if err != nil && len(batch) > 1 && !errors.Is(err, chat.ErrUnavailable) {
		// One bad row (its room purged meanwhile, say) must not fail its neighbours:
		// retry each alone so every caller gets its own answer.
		for _, r := range batch {
			c.commit([]appendReq{r})
		}
		return
	}
	for i, r := range batch {
		if err != nil {
			r.done <- appendResult{err: err}
			continue
		}
		r.done <- appendResult{position: pos[i]}
	}
}

// write stores the batch in one transaction and returns each message's position. The
// messages take their rooms' counters in room order (a stable sort keeps each room's
// messages in the order they were queued), so transactions of several nodes that append to
// the same rooms wait for one another instead of deadlocking.
func (c *committer) write(batch []appendReq) ([]position, error) {
	// The batch outlives any one caller's context: a caller that gave up still gets its
	// message committed or a clear error, never a half-state.
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	order := make([]int, len(batch))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(batch[a].msg.RoomID, batch[b].msg.RoomID) })
	pos := make([]position, len(batch))
	err := pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, i := range order {
			m := batch[i].msg
			var alert []byte
			if m.Alert != nil {
				var err error
				if alert, err = json.Marshal(m.Alert); err != nil {
					return err
				}
			}
			b.Queue(insertMessageSQL, string(m.Type), m.Content, m.SentAt, m.RoomID, m.ChatterID, alert)
		}
		res := tx.SendBatch(ctx, b)
		for _, i := range order {
			if err := res.QueryRow().Scan(&pos[i].id, &pos[i].seq); err != nil {
				res.Close()
				if errors.Is(err, pgx.ErrNoRows) {
					return fmt.Errorf("room %s: %w", batch[i].msg.RoomID, chat.ErrNotFound)
				}
				return err
			}
		}
		return res.Close()
	})
	if err != nil {
		return nil, fail(fmt.Sprintf("append %d messages", len(batch)), err)
	}
	return pos, nil
}
