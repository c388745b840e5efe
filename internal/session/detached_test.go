package session

import (
	"encoding/json"
	"net"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/protoo"
	"github.com/switchboard/switchboard/websocket"
)

// openFrom opens a connection from ip and logs it in as name; the
// session's resume token is in c.resume.
func openFrom(t *testing.T, h *Hub, ip, name string) *conn {
	t.Helper()
	c := open(h, "")
	c.t.addr = &net.TCPAddr{IP: net.ParseIP(ip), Port: 40000}
	var res loginResult
	c.ok(t, "login", map[string]string{"name": name}, &res)
	c.resume = res.Resume
	return c
}

// TestDetachedCaps: sessions in their grace period are capped per address
// and in all; past a cap the oldest one (of that address, for the
// per-address cap) ends at once and is counted.
func TestDetachedCaps(t *testing.T) {
	h := NewHub(Config{MaxDetached: 3, MaxDetachedPerIP: 2})
	defer h.Close()
	drop := func(c *conn) { c.Closed(websocket.StatusAbnormalClosure) }
	a1, a2, a3 := openFrom(t, h, "10.0.0.1", "a1"), openFrom(t, h, "10.0.0.1", "a2"), openFrom(t, h, "10.0.0.1", "a3")
	drop(a1)
	drop(a2)
	if h.Detached() != 2 || h.Counters().Evicted.Load() != 0 {
		t.Fatalf("%d detached, %d evicted; want 2, 0", h.Detached(), h.Counters().Evicted.Load())
	}
	drop(a3) // the third from 10.0.0.1 ends the oldest of them, a1
	if h.Detached() != 2 || h.Counters().Evicted.Load() != 1 || h.lookup("a1") != nil || h.lookup("a2") == nil {
		t.Fatalf("per-address cap: %d detached, %d evicted, a1 %v", h.Detached(), h.Counters().Evicted.Load(), h.lookup("a1"))
	}
	b1, b2 := openFrom(t, h, "10.0.0.2", "b1"), openFrom(t, h, "2001:db8::1", "b2")
	drop(b1) // three detached: a2, a3, b1
	drop(b2) // past the total: the oldest of all, a2, ends
	if h.Detached() != 3 || h.Counters().Evicted.Load() != 2 || h.lookup("a2") != nil || h.lookup("a3") == nil {
		t.Fatalf("total cap: %d detached, %d evicted", h.Detached(), h.Counters().Evicted.Load())
	}
	// A resumed session leaves the count; an IPv6 /64 counts as one address.
	c := open(h, "")
	c.ok(t, "login", map[string]string{"name": "a3", "resume": a3.resume}, nil)
	if h.Detached() != 2 {
		t.Fatalf("%d detached after a resume, want 2", h.Detached())
	}
	b3, b4 := openFrom(t, h, "2001:db8::2", "b3"), openFrom(t, h, "2001:db8::3", "b4")
	drop(b3)
	drop(b4) // b2, b3, b4 share 2001:db8::/64: b2 ends, b1 stays
	if h.lookup("b2") != nil || h.lookup("b3") == nil || h.lookup("b1") == nil {
		t.Fatal("the IPv6 /64 was not capped as one address")
	}
}

// TestRoomInfoBudget: the info one session holds over all its rooms is
// capped (the rooms of detached sessions held 16 x 16 KB each).
func TestRoomInfoBudget(t *testing.T) {
	h := NewHub(Config{MaxRoomInfoBytes: 40 << 10})
	defer h.Close()
	c := open(h, "")
	c.ok(t, "login", map[string]string{"name": "big"}, nil)
	info := map[string]string{"pad": strings.Repeat("x", 15<<10)}
	c.ok(t, "join", map[string]any{"room": "r1", "info": info}, nil)
	c.ok(t, "join", map[string]any{"room": "r2", "info": info}, nil)
	c.ok(t, "join", map[string]any{"room": "r2", "info": info}, nil) // a rejoin replaces its info
	r := c.call(t, "join", map[string]any{"room": "r3", "info": info})
	if r.OK || r.ErrorCode != protoo.CodeTooLarge || !strings.Contains(r.ErrorReason, "per session") {
		t.Fatalf("third 15 KiB info: %v %d %q, want 413", r.OK, r.ErrorCode, r.ErrorReason)
	}
	c.ok(t, "leave", map[string]any{"room": "r1"}, nil)
	c.ok(t, "join", map[string]any{"room": "r3", "info": info}, nil)
	var small json.RawMessage
	c.ok(t, "join", map[string]any{"room": "r4"}, &small)
}

// lookup returns this node's session called name, or nil.
func (h *Hub) lookup(name string) *Session {
	e, ok := h.dir.Lookup(name)
	if !ok {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.local[e.Key]
}
