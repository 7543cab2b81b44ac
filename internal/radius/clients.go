package radius

import (
	"context"
	"net/netip"
	"sync"
	"time"

	"github.com/twofold-mfa/twofold/internal/store"
)

// client is a registered client with its secret opened.
type client struct {
	store.RadiusClient
	prefix netip.Prefix
	secret []byte
	actor  string // in the audit log: "radius:NAME"
}

// clientTable holds the clients in memory.
type clientTable struct {
	server *Server

	mu     sync.RWMutex
	list   []*client
	loaded time.Time
	rev    int64 // the access revision the list was read at

	reloading sync.Mutex
}

// reload reads the clients from the store and opens their secrets. A
// client whose secret cannot be opened is left out, and said so.
func (t *clientTable) reload(ctx context.Context) error {
	t.reloading.Lock()
	defer t.reloading.Unlock()
	return t.reloadLocked(ctx)
}

// refresh reloads the clients when the store's access revision has moved
// since they were read.
func (t *clientTable) refresh(ctx context.Context) error {
	rev, err := t.server.c.Store.AccessRevision(ctx)
	if err != nil {
		return err
	}
	t.mu.RLock()
	same := rev == t.rev
	t.mu.RUnlock()
	if same {
		return nil
	}
	return t.reload(ctx)
}

func (t *clientTable) reloadLocked(ctx context.Context) error {
	s := t.server
	now := s.c.Clock.Now()
	// The revision is read first: a change made between the two reads is
	// read again at the next refresh.
	rev, err := s.c.Store.AccessRevision(ctx)
	if err != nil {
		t.mu.Lock()
		t.loaded = now // a database that is down is not asked again at once
		t.mu.Unlock()
		return err
	}
	rows, err := s.c.Store.RadiusClients(ctx, 0)
	if err != nil {
		t.mu.Lock()
		t.loaded = now // a database that is down is not asked again at once
		t.mu.Unlock()
		return err
	}
	list := make([]*client, 0, len(rows))
	for _, r := range rows {
		p, err := netip.ParsePrefix(r.CIDR)
		if err != nil {
			s.c.Log.Error("radius: client has an invalid address range; ignoring it", "client", r.Name, "cidr", r.CIDR)
			continue
		}
		sec, err := s.c.Keys.Open(r.Secret, store.RadiusSecretAD(r))
		if err != nil {
			s.c.Log.Error("radius: the client's shared secret cannot be opened (is the master key file the one it was sealed with?); ignoring the client", "client", r.Name, "err", err)
			continue
		}
		list = append(list, &client{RadiusClient: r, prefix: p, secret: sec, actor: "radius:" + r.Name})
	}
	t.mu.Lock()
	t.list, t.loaded, t.rev = list, now, rev
	t.mu.Unlock()
	return nil
}

// lookup finds the client for a source address: the one with the longest
// matching prefix. On a miss it reloads, at most once a second, so a
// client registered a moment ago is found without waiting for the next
// periodic reload.
func (t *clientTable) lookup(ctx context.Context, a netip.Addr) (*client, bool) {
	if c, ok := t.find(a); ok {
		return c, true
	}
	t.reloading.Lock()
	defer t.reloading.Unlock()
	t.mu.RLock()
	fresh := t.server.c.Clock.Now().Sub(t.loaded) < time.Second
	t.mu.RUnlock()
	if fresh {
		return t.find(a)
	}
	if err := t.reloadLocked(ctx); err != nil {
		t.server.c.Log.Error("radius: cannot reload the clients", "err", err)
		return nil, false
	}
	return t.find(a)
}

func (t *clientTable) find(a netip.Addr) (*client, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var best *client
	for _, c := range t.list {
		if c.prefix.Contains(a) && (best == nil || c.prefix.Bits() > best.prefix.Bits()) {
			best = c
		}
	}
	return best, best != nil
}
