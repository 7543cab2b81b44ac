package api

import (
	"context"
	"sync"
	"time"

	"github.com/twofold-mfa/twofold/internal/clock"
	"github.com/twofold-mfa/twofold/internal/store"
)

// AccessCheck is how often a server holding API keys in memory asks the
// database whether any key was created or revoked (store.AccessRevision):
// a key revoked on any instance is refused by every other within a second.
const AccessCheck = 500 * time.Millisecond

// maxCachedKeys bounds the keys held in memory: an organization has a few,
// a service provider's server some hundreds.
const maxCachedKeys = 4096

// keyCache holds the API keys that have been presented, by hash, so that
// a request costs no query for its key. Keys not found are not held: an
// unknown key costs its query every time, as it did before, and never
// fills memory.
type keyCache struct {
	store Store
	clock clock.Clock

	mu      sync.Mutex
	rev     int64
	checked time.Time
	keys    map[string]store.APIKey
}

// lookup returns the unrevoked key with hash, as APIKeyByHash does.
func (c *keyCache) lookup(ctx context.Context, hash []byte) (store.APIKey, error) {
	c.mu.Lock()
	if now := c.clock.Now(); now.Sub(c.checked) >= AccessCheck || now.Before(c.checked) {
		// One request asks for the revision while the others wait: a
		// read of one row by its key, a few times a second.
		rev, err := c.store.AccessRevision(ctx)
		if err != nil {
			c.mu.Unlock()
			return store.APIKey{}, err
		}
		if rev != c.rev || c.keys == nil {
			c.keys = make(map[string]store.APIKey)
		}
		c.rev, c.checked = rev, now
	}
	k, ok := c.keys[string(hash)]
	rev := c.rev
	c.mu.Unlock()
	if ok {
		return k, nil
	}
	k, err := c.store.APIKeyByHash(ctx, hash)
	if err != nil {
		return k, err
	}
	c.mu.Lock()
	// A key read under an older revision than the one now known may have
	// been revoked since: it is not kept.
	if rev == c.rev {
		if len(c.keys) >= maxCachedKeys {
			clear(c.keys)
		}
		c.keys[string(hash)] = k
	}
	c.mu.Unlock()
	return k, nil
}
