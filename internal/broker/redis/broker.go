package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	goredis "github.com/redis/go-redis/v9"

	"colachat/internal/chat"
)

// Broker is the cluster-wide chat.Broker on Redis sharded pub/sub: each room has its own
// channel, "<prefix>{<roomId>}:events" (the room id is the hash tag, so the channel lives
// in the room's slot), published with SPUBLISH and received only by the nodes that host
// the room. A node's load therefore follows the rooms it hosts, not the whole cluster's
// traffic. When Redis cannot be reached, an event is delivered to this node's subscribers
// directly: members connected here keep chatting.
type Broker struct {
	rdb    goredis.UniversalClient
	prefix string
	log    *slog.Logger
	subs   *subscriptions
	reload func() // refreshes a Redis Cluster's slot map; nil on one Redis

	mu   sync.RWMutex
	fns  map[int]func(chat.Event)
	next int

	failing   atomic.Bool
	received  atomic.Uint64
	notHosted atomic.Uint64
}

var _ chat.Broker = (*Broker)(nil)

// BrokerStats are the broker's running totals.
type BrokerStats struct {
	Received  uint64 // events received from Redis
	NotHosted uint64 // of those, events of rooms this node does not host (zero by design)
	Hosted    int    // rooms hosted now
}

// Stats returns the running totals.
func (b *Broker) Stats() BrokerStats {
	return BrokerStats{Received: b.received.Load(), NotHosted: b.notHosted.Load(), Hosted: b.subs.hostedCount()}
}

func (b *Broker) channel(roomID string) string { return b.prefix + "{" + roomID + "}:events" }

// channelOf reports whether channel is roomID's, without building the name.
func (b *Broker) channelOf(channel, roomID string) bool {
	const open, end = "{", "}:events"
	p := len(b.prefix)
	return len(channel) == p+len(open)+len(roomID)+len(end) &&
		channel[:p] == b.prefix && channel[p:p+1] == open &&
		channel[p+1:p+1+len(roomID)] == roomID && channel[p+1+len(roomID):] == end
}

var errNoRoom = errors.New("redis broker: event without a room")

// Publish sends ev to the nodes hosting its room: one SPUBLISH.
func (b *Broker) Publish(ctx context.Context, ev chat.Event) error {
	if ev.RoomID == "" {
		return errNoRoom
	}
	data, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("redis broker: encode event: %w", err)
	}
	if err := b.rdb.SPublish(ctx, b.channel(ev.RoomID), data).Err(); err != nil {
		if b.reload != nil {
			b.reload() // the slot's master may have failed over: go-redis only looks on MOVED
		}
		if !b.failing.Swap(true) {
			b.log.Error("redis publish failed; delivering to this node only", "err", err)
		}
		if b.subs.isHosted(b.channel(ev.RoomID)) {
			b.fanout(ev)
		}
		return nil
	}
	if b.failing.Swap(false) {
		b.log.Info("redis publish works again")
	}
	return nil
}

// Subscribe registers fn for the events of the rooms this node hosts.
func (b *Broker) Subscribe(fn func(chat.Event)) (unsubscribe func()) {
	b.mu.Lock()
	id := b.next
	b.next++
	b.fns[id] = fn
	b.mu.Unlock()
	return func() {
		b.mu.Lock()
		delete(b.fns, id)
		b.mu.Unlock()
	}
}

// Host subscribes to the room's channel and returns once Redis has confirmed it. When the
// room's Redis node cannot be reached (or refuses) it fails at once, and the room is not
// hosted. A hosted room's subscription survives lost connections: it is made again.
func (b *Broker) Host(ctx context.Context, roomID string) error {
	if roomID == "" {
		return errNoRoom
	}
	if err := b.subs.host(ctx, b.channel(roomID)); err != nil {
		return fmt.Errorf("redis broker: host room %s: %w", roomID, err)
	}
	return nil
}

// Unhost unsubscribes from the room's channel; its events stop reaching fn at once.
func (b *Broker) Unhost(_ context.Context, roomID string) error {
	if roomID == "" {
		return errNoRoom
	}
	b.subs.unhost(b.channel(roomID))
	return nil
}

// receive is called by the subscriptions for every event Redis delivers.
func (b *Broker) receive(channel string, payload []byte, state hostState) {
	b.received.Add(1)
	switch state {
	case notHosted:
		b.notHosted.Add(1)
		return
	case unhosting:
		return
	}
	var ev chat.Event
	if err := json.Unmarshal(payload, &ev); err != nil {
		b.log.Warn("redis broker: undecodable event", "channel", channel, "err", err)
		return
	}
	if !b.channelOf(channel, ev.RoomID) {
		b.notHosted.Add(1)
		b.log.Warn("redis broker: event of another room on a room's channel", "channel", channel, "room", ev.RoomID)
		return
	}
	b.fanout(ev)
}

func (b *Broker) fanout(ev chat.Event) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, fn := range b.fns {
		fn(ev)
	}
}
