// Package ratelimit is a keyed token-bucket limiter with bounded memory: buckets that have
// refilled are dropped lazily, and when the key limit is reached the least recently used
// bucket is dropped. It runs no goroutine.
package ratelimit

import (
	"container/list"
	"sync"
	"time"
)

// Rate allows Burst events at once, refilled evenly over Per (Burst events per Per).
// A zero Rate allows everything.
type Rate struct {
	Burst int
	Per   time.Duration
}

// Enabled reports whether the rate limits anything.
func (r Rate) Enabled() bool { return r.Burst > 0 && r.Per > 0 }

// Options tune a Limiter.
type Options struct {
	// MaxKeys bounds the number of buckets kept (default 10,000). When full, the least
	// recently used bucket is forgotten, which forgives that key.
	MaxKeys int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Limiter holds one token bucket per key. A nil *Limiter allows everything. Safe for
// concurrent use.
type Limiter struct {
	rate    Rate
	maxKeys int
	now     func() time.Time

	mu      sync.Mutex
	buckets map[string]*list.Element // of *bucket
	lru     list.List                // front: most recently used
}

type bucket struct {
	key    string
	tokens float64
	last   time.Time
}

// evictPerCall bounds the lazy idle sweep done on each call.
const evictPerCall = 2

// New returns a limiter for rate; a disabled rate yields nil (allow everything).
func New(rate Rate, opts Options) *Limiter {
	if !rate.Enabled() {
		return nil
	}
	if opts.MaxKeys <= 0 {
		opts.MaxKeys = 10_000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Limiter{rate: rate, maxKeys: opts.MaxKeys, now: opts.Now, buckets: make(map[string]*list.Element)}
}

// Allow takes one token from key's bucket and reports whether there was one.
func (l *Limiter) Allow(key string) bool {
	if l == nil {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.bucketFor(key, now)
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// Blocked reports whether key has no token left, without taking one.
func (l *Limiter) Blocked(key string) bool {
	if l == nil {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	el, ok := l.buckets[key]
	if !ok {
		return false
	}
	b := el.Value.(*bucket)
	l.refill(b, now)
	return b.tokens < 1
}

// Len is the number of buckets held.
func (l *Limiter) Len() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// bucketFor returns key's refilled bucket, creating it full; l.mu is held.
func (l *Limiter) bucketFor(key string, now time.Time) *bucket {
	l.evictIdle(now)
	if el, ok := l.buckets[key]; ok {
		l.lru.MoveToFront(el)
		b := el.Value.(*bucket)
		l.refill(b, now)
		return b
	}
	if len(l.buckets) >= l.maxKeys {
		if tail := l.lru.Back(); tail != nil {
			l.remove(tail)
		}
	}
	b := &bucket{key: key, tokens: float64(l.rate.Burst), last: now}
	l.buckets[key] = l.lru.PushFront(b)
	return b
}

func (l *Limiter) refill(b *bucket, now time.Time) {
	elapsed := now.Sub(b.last)
	if elapsed <= 0 {
		return
	}
	b.tokens += float64(l.rate.Burst) * float64(elapsed) / float64(l.rate.Per)
	if b.tokens > float64(l.rate.Burst) {
		b.tokens = float64(l.rate.Burst)
	}
	b.last = now
}

// evictIdle drops a few least recently used buckets that have refilled completely: a full
// bucket behaves exactly like a missing one.
func (l *Limiter) evictIdle(now time.Time) {
	for range evictPerCall {
		tail := l.lru.Back()
		if tail == nil {
			return
		}
		b := tail.Value.(*bucket)
		l.refill(b, now)
		if b.tokens < float64(l.rate.Burst) {
			return
		}
		l.remove(tail)
	}
}

func (l *Limiter) remove(el *list.Element) {
	delete(l.buckets, el.Value.(*bucket).key)
	l.lru.Remove(el)
}

// Bucket is a single token bucket kept by its owner (a connection, say), for limits whose
// key lives exactly as long as the owner: no map entry or list element per key. The zero
// Bucket is full. Not safe for concurrent use: the owner serializes calls.
type Bucket struct {
	taken float64 // tokens missing from a full bucket
	last  int64   // unix nanoseconds of the last refill; 0: never used
}

// Allow takes one token at now under rate r and reports whether there was one. A disabled
// rate allows everything.
func (b *Bucket) Allow(r Rate, now time.Time) bool {
	if !r.Enabled() {
		return true
	}
	t := now.UnixNano()
	if b.last != 0 && t > b.last {
		b.taken -= float64(r.Burst) * float64(t-b.last) / float64(r.Per)
		if b.taken < 0 {
			b.taken = 0
		}
	}
	if b.last == 0 || t > b.last {
		b.last = t
	}
	if b.taken+1 > float64(r.Burst) {
		return false
	}
	b.taken++
	return true
}
