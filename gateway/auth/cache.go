package auth

import (
	"strings"
	"sync"
	"time"
)

// maxCacheEntries bounds the result cache; past it, expired entries are swept
// and, if still full, the cache is emptied (a cold cache costs calls, never
// correctness).
const maxCacheEntries = 10000

// resultCache keeps authorizer results by identity (authorizer and identity
// source values) until their TTL passes, on the stage's clock. Safe for
// concurrent use. (ristretto's TTLs run on its own clock, which tests cannot
// drive; this map with a clock seam is the simpler thing.)
type resultCache struct {
	mu      sync.Mutex
	entries map[string]cacheEntry
}

type cacheEntry struct {
	res     *result
	expires time.Time
}

func newResultCache() *resultCache { return &resultCache{entries: map[string]cacheEntry{}} }

func (c *resultCache) get(key string, now time.Time) *result {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return nil
	}
	if !now.Before(e.expires) {
		delete(c.entries, key)
		return nil
	}
	return e.res
}

func (c *resultCache) put(key string, res *result, expires time.Time, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxCacheEntries {
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= maxCacheEntries {
			clear(c.entries)
		}
	}
	c.entries[key] = cacheEntry{res: res, expires: expires}
}

// dropPrefix deletes every entry whose key starts with prefix.
func (c *resultCache) dropPrefix(prefix string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.entries {
		if strings.HasPrefix(k, prefix) {
			delete(c.entries, k)
		}
	}
}
