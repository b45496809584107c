// Package memory holds the in-process chat.Broker and chat.Presence: everything a single
// node needs, with no outside service.
package memory

import (
	"context"
	"sync"
	"sync/atomic"

	"colachat/internal/chat"
)

// Broker delivers each published event synchronously, in the publisher's goroutine, to
// every subscriber. Subscribers must not block (the gateway only enqueues). Safe for
// concurrent use; Publish takes no lock.
type Broker struct {
	mu   sync.Mutex // serializes Subscribe/unsubscribe
	next uint64
	subs atomic.Pointer[[]subscriber] // copy on write
}

type subscriber struct {
	id uint64
	fn func(chat.Event)
}

// NewBroker returns an empty broker.
func NewBroker() *Broker {
	b := &Broker{}
	b.subs.Store(&[]subscriber{})
	return b
}

// Publish hands ev to every subscriber.
func (b *Broker) Publish(ctx context.Context, ev chat.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, s := range *b.subs.Load() {
		s.fn(ev)
	}
	return nil
}

// Subscribe adds fn; the returned func removes it (calling it twice is harmless).
// Host and Unhost do nothing: in one process every event reaches every subscriber.
func (b *Broker) Host(context.Context, string) error   { return nil }
func (b *Broker) Unhost(context.Context, string) error { return nil }

func (b *Broker) Subscribe(fn func(chat.Event)) (unsubscribe func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.next++
	id := b.next
	old := *b.subs.Load()
	subs := make([]subscriber, len(old), len(old)+1)
	copy(subs, old)
	subs = append(subs, subscriber{id: id, fn: fn})
	b.subs.Store(&subs)
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		old := *b.subs.Load()
		subs := make([]subscriber, 0, len(old))
		for _, s := range old {
			if s.id != id {
				subs = append(subs, s)
			}
		}
		b.subs.Store(&subs)
	}
}
