// Package redis carries colachat's events and presence between the nodes of a cluster:
// a chat.Broker on Redis pub/sub and a chat.Presence on Redis hashes with node heartbeats.
package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"colachat/internal/chat"
)

// Options configures a Cluster.
type Options struct {
	URL     string        // redis://host:port/db
	NodeID  string        // unique per node; names this node's presence entries
	Prefix  string        // key and channel prefix, default "colachat:"
	NodeTTL time.Duration // how long a node's entries outlive its last heartbeat, default 5s
	Logger  *slog.Logger
}

// Cluster is one node's link to Redis: it owns the client, the subscription loop and the
// heartbeat, and hands out the Broker and the Presence built on them.
type Cluster struct {
	rdb      *goredis.Client
	opts     Options
	log      *slog.Logger
	presence *Presence
	broker   *Broker

	healthy atomic.Bool // last heartbeat reached Redis
	gone    atomic.Pointer[func(roomID, chatterID string)]
	stop    context.CancelFunc
	wg      sync.WaitGroup
}

// Open connects, registers this node, and starts the heartbeat and the subscription.
func Open(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Prefix == "" {
		opts.Prefix = "colachat:"
	}
	if opts.NodeTTL <= 0 {
		opts.NodeTTL = 5 * time.Second
	}
	if opts.NodeID == "" {
		return nil, errors.New("redis: a node id is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	ropts, err := goredis.ParseURL(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("redis: parse url: %w", err)
	}
	rdb := goredis.NewClient(ropts)
	c := &Cluster{rdb: rdb, opts: opts, log: opts.Logger}
	// A per-start suffix: entries a previous run of this node left behind are ghosts at once,
	// even when it restarts within NodeTTL under the same id.
	suffix := make([]byte, 4)
	rand.Read(suffix)
	c.presence = &Presence{rdb: rdb, prefix: opts.Prefix, node: opts.NodeID + "." + hex.EncodeToString(suffix),
		local: map[string]localEntry{}}
	if err := c.beat(ctx); err != nil {
		rdb.Close()
		return nil, err
	}
	c.healthy.Store(true)
	c.broker = newBroker(rdb, opts.Prefix+"events", c.log)
	if err := c.broker.subscribe(ctx); err != nil {
		rdb.Close()
		return nil, err
	}

	loopCtx, cancel := context.WithCancel(context.Background())
	c.stop = cancel
	c.wg.Add(2)
	go func() { defer c.wg.Done(); c.heartbeat(loopCtx) }()
	go func() { defer c.wg.Done(); c.broker.receive() }()
	return c, nil
}

// Broker is the cluster-wide chat.Broker.
func (c *Cluster) Broker() *Broker { return c.broker }

// OnGone sets what to call for a chatter whose every socket was on a node that died; the
// live node that notices calls it once (set it before serving).
func (c *Cluster) OnGone(fn func(roomID, chatterID string)) { c.gone.Store(&fn) }

// Presence is the cluster-wide chat.Presence.
func (c *Cluster) Presence() *Presence { return c.presence }

// Ping reports whether Redis answers (for /readyz).
func (c *Cluster) Ping(ctx context.Context) error {
	if err := c.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: ping: %w", err)
	}
	return nil
}

// Close stops the loops, removes this node's heartbeat (its entries die at once), and
// closes the client.
func (c *Cluster) Close() error {
	c.stop()
	c.broker.ps.Close() // ends receive
	c.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	// Best effort: the key expires by itself anyway. A node that stops gracefully has
	// removed its sockets already, so there is nothing left to reap.
	c.rdb.Del(ctx, c.nodeKey(), c.presence.roomsKey(c.presence.node))
	c.rdb.ZRem(ctx, c.presence.nodesKey(), c.presence.node)
	return c.rdb.Close()
}

func (c *Cluster) nodeKey() string { return c.presence.nodePrefix() + c.presence.node }

// beat refreshes this node's key. A key that had vanished while this node lived means Redis
// lost its data (a restart without persistence): this node's presence entries are written
// again, so online lists and capacity count its members.
func (c *Cluster) beat(ctx context.Context) error {
	now := time.Now().UnixMilli()
	if err := c.rdb.ZAdd(ctx, c.presence.nodesKey(), goredis.Z{Score: float64(now), Member: c.presence.node}).Err(); err != nil {
		return fmt.Errorf("redis: heartbeat: %w", err)
	}
	_, err := c.rdb.SetArgs(ctx, c.nodeKey(), now, goredis.SetArgs{TTL: c.opts.NodeTTL, Get: true}).Result()
	switch {
	case errors.Is(err, goredis.Nil):
		if err := c.presence.restore(ctx); err != nil {
			return err
		}
	case err != nil:
		return fmt.Errorf("redis: heartbeat: %w", err)
	}
	return nil
}

// heartbeat refreshes the node key several times per TTL, logging once when Redis goes
// away and once when it is back.
func (c *Cluster) heartbeat(ctx context.Context) {
	t := time.NewTicker(c.opts.NodeTTL / 5)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		bctx, cancel := context.WithTimeout(ctx, c.opts.NodeTTL)
		err := c.beat(bctx)
		if err == nil {
			gone := func(string, string) {}
			if fn := c.gone.Load(); fn != nil {
				gone = *fn
			}
			if rerr := c.presence.reap(bctx, c.opts.NodeTTL, gone); rerr != nil {
				c.log.Warn("reap dead nodes", "err", rerr)
			}
		}
		cancel()
		switch {
		case err != nil && c.healthy.Swap(false):
			c.log.Error("redis unreachable; serving local members only until it returns", "err", err)
		case err == nil && !c.healthy.Swap(true):
			c.log.Info("redis reachable again")
		}
	}
}

// Broker publishes events on one Redis channel that every node subscribes to. Every event,
// the local node's included, goes through Redis, so all nodes see one order per room.
// When Redis cannot be reached, events are delivered to this node's subscribers directly:
// members connected here keep chatting.
type Broker struct {
	rdb     *goredis.Client
	channel string
	log     *slog.Logger

	mu   sync.RWMutex
	subs map[int]func(chat.Event)
	next int

	ps      *goredis.PubSub
	failing atomic.Bool
}

var _ chat.Broker = (*Broker)(nil)

func newBroker(rdb *goredis.Client, channel string, log *slog.Logger) *Broker {
	return &Broker{rdb: rdb, channel: channel, log: log, subs: map[int]func(chat.Event){}}
}

func (b *Broker) Publish(ctx context.Context, ev chat.Event) error {
	data, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("redis broker: encode event: %w", err)
	}
	if err := b.rdb.Publish(ctx, b.channel, data).Err(); err != nil {
		if !b.failing.Swap(true) {
			b.log.Error("redis publish failed; delivering to this node only", "err", err)
		}
		b.deliver(ev)
		return nil
	}
	if b.failing.Swap(false) {
		b.log.Info("redis publish works again")
	}
	return nil
}

// Host and Unhost do nothing: every node receives every room's events on the one channel.
func (b *Broker) Host(context.Context, string) error   { return nil }
func (b *Broker) Unhost(context.Context, string) error { return nil }

func (b *Broker) Subscribe(fn func(chat.Event)) (unsubscribe func()) {
	b.mu.Lock()
	id := b.next
	b.next++
	b.subs[id] = fn
	b.mu.Unlock()
	return func() {
		b.mu.Lock()
		delete(b.subs, id)
		b.mu.Unlock()
	}
}

func (b *Broker) deliver(ev chat.Event) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, fn := range b.subs {
		fn(ev)
	}
}

// subscribe starts the subscription and returns once Redis has confirmed it, so no event
// published after Open returns is missed.
func (b *Broker) subscribe(ctx context.Context) error {
	b.ps = b.rdb.Subscribe(ctx, b.channel)
	if _, err := b.ps.Receive(ctx); err != nil {
		b.ps.Close()
		return fmt.Errorf("redis broker: subscribe: %w", err)
	}
	return nil
}

// receive delivers events until the subscription is closed; go-redis re-subscribes by
// itself after a lost connection.
func (b *Broker) receive() {
	for m := range b.ps.Channel() {
		var ev chat.Event
		if err := json.Unmarshal([]byte(m.Payload), &ev); err != nil {
			b.log.Warn("redis broker: undecodable event", "err", err)
			continue
		}
		b.deliver(ev)
	}
}

func (c *Cluster) sessionKey(pid string) string { return c.opts.Prefix + "session:" + pid }

// PutSession keeps a disconnected socket's recovery session for ttl, for any node to take.
func (c *Cluster) PutSession(ctx context.Context, pid string, data []byte, ttl time.Duration) error {
	if err := c.rdb.Set(ctx, c.sessionKey(pid), data, ttl).Err(); err != nil {
		return fmt.Errorf("redis: put session: %w", err)
	}
	return nil
}

// TakeSession returns and deletes a session in one step, so only one node recovers it.
func (c *Cluster) TakeSession(ctx context.Context, pid string) ([]byte, bool, error) {
	data, err := c.rdb.GetDel(ctx, c.sessionKey(pid)).Bytes()
	if errors.Is(err, goredis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("redis: take session: %w", err)
	}
	return data, true, nil
}
