package store

import "sync"

// DefaultCacheEntries bounds a Cache: past it, the cache starts again empty.
const DefaultCacheEntries = 4096

// Cache is an in-memory view of values decoded from the store, for reads on hot
// paths. It drops everything it holds when a committed write touches one of the
// buckets it was made for, so a value read after Update has returned is never
// older than that write. Safe for concurrent use. Values are shared between
// callers: treat them as read-only.
type Cache[K comparable, V any] struct {
	gen *Generation
	max int

	mu sync.RWMutex
	at uint64 // the generation m was filled at
	m  map[K]V
}

// NewCache returns an empty Cache over the given buckets of s.
func NewCache[K comparable, V any](s *Store, buckets ...string) *Cache[K, V] {
	return &Cache[K, V]{gen: s.Watch(buckets...), max: DefaultCacheEntries, m: map[K]V{}}
}

// Get returns the value for k, calling load (which reads the store) when the
// view does not hold it. Errors are returned and not kept.
func (c *Cache[K, V]) Get(k K, load func() (V, error)) (V, error) {
	g := c.gen.Load() // before the read: a write committed after it moves it
	c.mu.RLock()
	if c.at == g {
		if v, ok := c.m[k]; ok {
			c.mu.RUnlock()
			return v, nil
		}
	}
	c.mu.RUnlock()
	v, err := load()
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	if g > c.at || len(c.m) >= c.max {
		clear(c.m)
		c.at = max(c.at, g)
	}
	if c.at == g {
		c.m[k] = v
	}
	c.mu.Unlock()
	return v, nil
}
