package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"colachat/internal/chat"
)

// maxBatch bounds one transaction; the batch is whatever is waiting when the committer is
// free, so under light load a message commits alone and at once, and under heavy load many
// share one round trip and one WAL flush.
const maxBatch = 256

var errClosed = errors.New("postgres: store closed")

type appendReq struct {
	msg  chat.Message
	done chan appendResult
}

type appendResult struct {
	id  int64
	err error
}

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

func (c *committer) append(ctx context.Context, m chat.Message) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("postgres: append message: %w", err)
	}
	req := appendReq{msg: m, done: make(chan appendResult, 1)}
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return 0, errClosed
	}
	select {
	case c.reqs <- req:
	case <-ctx.Done():
		c.mu.RUnlock()
		return 0, fmt.Errorf("postgres: append message: %w", ctx.Err())
	}
	c.mu.RUnlock()
	// Once queued, the result is awaited even if ctx ends: the message may be committed,
	// and an ack must never be sent for a message whose fate is unknown.
	res := <-req.done
	return res.id, res.err
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
	ids, err := c.write(batch)
	if err != nil && len(batch) > 1 {
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
		r.done <- appendResult{id: ids[i]}
	}
}

func (c *committer) write(batch []appendReq) ([]int64, error) {
	// The batch outlives any one caller's context: a caller that gave up still gets its
	// message committed or a clear error, never a half-state.
	ctx := context.Background()
	ids := make([]int64, len(batch))
	err := pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, r := range batch {
			var alert []byte
			if r.msg.Alert != nil {
				var err error
				if alert, err = json.Marshal(r.msg.Alert); err != nil {
					return err
				}
			}
			b.Queue(insertMessageSQL, string(r.msg.Type), r.msg.Content, r.msg.SentAt, r.msg.RoomID, r.msg.ChatterID, alert)
		}
		res := tx.SendBatch(ctx, b)
		for i := range batch {
			if err := res.QueryRow().Scan(&ids[i]); err != nil {
				res.Close()
				return err
			}
		}
		return res.Close()
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: append %d messages: %w", len(batch), err)
	}
	return ids, nil
}
