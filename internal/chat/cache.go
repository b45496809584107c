package chat

import "sync"

// genCache is a bounded cache without a list, a goroutine or an allocation per entry: entries
// live in a young and an old generation; a hit in the old one moves the entry to the young
// one, and when the young one is full it becomes the old one and the previous old one is
// dropped. It holds at most 2*gen entries and keeps whatever was used in the last gen puts.
// Safe for concurrent use.
type genCache[K comparable, V any] struct {
	gen int

	mu         sync.Mutex
	young, old map[K]V
}

func newGenCache[K comparable, V any](gen int) *genCache[K, V] {
	return &genCache[K, V]{gen: gen, young: make(map[K]V)}
}

func (c *genCache[K, V]) get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.young[k]; ok {
		return v, true
	}
	v, ok := c.old[k]
	if ok {
		delete(c.old, k)
		c.putLocked(k, v)
	}
	return v, ok
}

func (c *genCache[K, V]) put(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.old, k)
	c.putLocked(k, v)
}

func (c *genCache[K, V]) putLocked(k K, v V) {
	if _, ok := c.young[k]; !ok && len(c.young) >= c.gen {
		c.old, c.young = c.young, make(map[K]V)
	}
	c.young[k] = v
}

// update replaces k's value with f(value) when k is cached; it never adds k.
func (c *genCache[K, V]) update(k K, f func(V) V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.young[k]; ok {
		c.young[k] = f(v)
	} else if v, ok := c.old[k]; ok {
		c.old[k] = f(v)
	}
}

func (c *genCache[K, V]) remove(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.young, k)
	delete(c.old, k)
}

func (c *genCache[K, V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.young) + len(c.old)
}
