package session

import (
	"sync"

	"github.com/switchboard/switchboard/websocket"
)

// MemoryRouter is the Router of one node: every key is a session of this
// node, looked up in a map.
type MemoryRouter struct {
	mu    sync.RWMutex
	byKey map[string]Recipient
}

var _ Router = (*MemoryRouter)(nil)

// NewMemoryRouter returns a router with no recipients.
func NewMemoryRouter() *MemoryRouter {
	return &MemoryRouter{byKey: make(map[string]Recipient)}
}

// Add implements Router.
func (r *MemoryRouter) Add(key string, to Recipient) {
	r.mu.Lock()
	r.byKey[key] = to
	r.mu.Unlock()
}

// Remove implements Router.
func (r *MemoryRouter) Remove(key string) {
	r.mu.Lock()
	delete(r.byKey, key)
	r.mu.Unlock()
}

func (r *MemoryRouter) get(key string) Recipient {
	r.mu.RLock()
	to := r.byKey[key]
	r.mu.RUnlock()
	return to
}

// Send implements Router.
func (r *MemoryRouter) Send(key string, m *websocket.PreparedMessage, n int) error {
	to := r.get(key)
	if to == nil {
		return ErrOffline
	}
	return to.SendFrom(m, n)
}

// Notify implements Router.
func (r *MemoryRouter) Notify(key string, m *websocket.PreparedMessage) error {
	to := r.get(key)
	if to == nil {
		return ErrOffline
	}
	return to.Notify(m)
}

// CanTake implements Router.
func (r *MemoryRouter) CanTake(key string, n int) error {
	to := r.get(key)
	if to == nil {
		return ErrOffline
	}
	return to.CanTake(n)
}
