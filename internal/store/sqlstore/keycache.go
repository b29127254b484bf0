package sqlstore

import (
	"sync"
	"time"

	"github.com/paygate/paygate/internal/store"
)

// The key cache. Every merchant request looks up its key (by the secret's
// hash, or a signing key by id) before anything else, and keys almost never
// change: on PostgreSQL that lookup was one of a create's two statements.
// With the cache on (EnableKeyCache), a key read from the database serves
// this Store's lookups for the cache's lifetime (the gateway: one second).
// Expiry is still checked at every use from the key's expires_at; a
// revocation through this Store (KeyRevoke) empties the cache at once, and
// one made by another process (another node, `paygate keys`) is seen within
// the lifetime. Only found keys are kept: an unknown secret is asked of the
// database every time.

// maxCachedKeys bounds the cache; past it, it starts afresh.
const maxCachedKeys = 100_000

type keyCache struct {
	ttl time.Duration
	mu  sync.RWMutex
	gen uint64 // bumped by every revocation: a lookup older than it is not kept
	m   map[string]cachedKey
}

type cachedKey struct {
	k  store.Key
	at time.Time
}

// EnableKeyCache keeps looked-up keys for ttl (see above). Call it before
// the store is used.
func (s *Store) EnableKeyCache(ttl time.Duration) {
	if ttl > 0 {
		s.keys = &keyCache{ttl: ttl, m: map[string]cachedKey{}}
	}
}

// get returns a copy of the key cached under name, when it is fresh; and
// the generation to hand to put after reading the database otherwise.
func (c *keyCache) get(name string) (*store.Key, uint64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if e, ok := c.m[name]; ok && time.Since(e.at) < c.ttl {
		k := e.k
		return &k, c.gen
	}
	return nil, c.gen
}

// put keeps k under name, unless a revocation happened since gen.
func (c *keyCache) put(name string, k *store.Key, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if len(c.m) >= maxCachedKeys {
		clear(c.m)
	}
	c.m[name] = cachedKey{k: *k, at: time.Now()}
}

// forget empties the cache (a key changed).
func (c *keyCache) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.m)
}

// cachedKeyLookup answers from the cache when it is on and holds name, and
// reads (and keeps) otherwise.
func (s *Store) cachedKeyLookup(name string, read func() (*store.Key, error)) (*store.Key, error) {
	if s.keys == nil {
		return read()
	}
	k, gen := s.keys.get(name)
	if k != nil {
		return k, nil
	}
	k, err := read()
	if err == nil {
		s.keys.put(name, k, gen)
	}
	return k, err
}
