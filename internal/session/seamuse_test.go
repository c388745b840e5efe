package session

import (
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/switchboard/switchboard/websocket"
)

// TestNodeQualifiedKeys: session keys name their node, so two nodes'
// first sessions do not share a key (both were "1").
func TestNodeQualifiedKeys(t *testing.T) {
	h1, h2 := NewHub(Config{}), NewHub(Config{})
	defer h1.Close()
	defer h2.Close()
	if h1.Node() == "" || h1.Node() == h2.Node() {
		t.Fatalf("node ids %q and %q", h1.Node(), h2.Node())
	}
	var l1, l2 loginResult
	open(h1, "").ok(t, "login", map[string]string{"name": "a"}, &l1)
	open(h2, "").ok(t, "login", map[string]string{"name": "a"}, &l2)
	if l1.Key == l2.Key || !strings.HasPrefix(l1.Key, h1.Node()+"-") || !strings.HasPrefix(l2.Key, h2.Node()+"-") {
		t.Fatalf("keys %q (node %s) and %q (node %s)", l1.Key, h1.Node(), l2.Key, h2.Node())
	}
	h3 := NewHub(Config{Node: "n1"})
	defer h3.Close()
	var l3 loginResult
	open(h3, "").ok(t, "login", map[string]string{"name": "a"}, &l3)
	if l3.Key != "n1-1" {
		t.Fatalf("first key of node n1 = %q, want n1-1", l3.Key)
	}
}

// countingRouter counts the deliveries that go through it.
type countingRouter struct {
	*MemoryRouter
	sends, notices atomic.Int64
}

func (r *countingRouter) Send(key string, m *websocket.PreparedMessage, n int) error {
	r.sends.Add(1)
	return r.MemoryRouter.Send(key, m, n)
}

func (r *countingRouter) Notify(key string, m *websocket.PreparedMessage) error {
	r.notices.Add(1)
	return r.MemoryRouter.Notify(key, m)
}

// countingDirectory counts the lookups that go through it.
type countingDirectory struct {
	*MemoryDirectory
	lookups atomic.Int64
}

func (d *countingDirectory) Lookup(name string) (Entry, bool) {
	d.lookups.Add(1)
	return d.MemoryDirectory.Lookup(name)
}

// countingRooms counts the signals that go through it.
type countingRooms struct {
	*MemoryRooms
	signals atomic.Int64
}

func (rs *countingRooms) Signal(from Member, room, to string, data json.RawMessage) error {
	rs.signals.Add(1)
	return rs.MemoryRooms.Signal(from, room, to, data)
}

// TestHubUsesSeams: the hub names, delivers and runs rooms through the
// Directory, Router and Rooms of its Config.
func TestHubUsesSeams(t *testing.T) {
	router := &countingRouter{MemoryRouter: NewMemoryRouter()}
	dir := &countingDirectory{MemoryDirectory: NewMemoryDirectory()}
	rooms := &countingRooms{MemoryRooms: NewMemoryRooms(router, RoomLimits{})}
	h := NewHub(Config{Node: "n", Directory: dir, Router: router, Rooms: rooms})
	defer h.Close()
	a, b := open(h, ""), open(h, "")
	a.ok(t, "login", map[string]string{"name": "a"}, nil)
	b.ok(t, "login", map[string]string{"name": "b"}, nil)
	if e, ok := dir.MemoryDirectory.Lookup("b"); !ok || e.Key != "n-2" || e.Node != "n" || !e.Online {
		t.Fatalf("directory entry of b = %+v, %v", e, ok)
	}
	a.ok(t, "send", map[string]any{"to": "b", "data": 1}, nil)
	if dir.lookups.Load() == 0 || router.sends.Load() != 1 || len(b.t.notes("message")) != 1 {
		t.Fatalf("send: %d lookups, %d router sends, %d messages", dir.lookups.Load(), router.sends.Load(), len(b.t.notes("message")))
	}
	a.ok(t, "join", map[string]any{"room": "r"}, nil)
	b.ok(t, "join", map[string]any{"room": "r"}, nil)
	b.ok(t, "signal", map[string]any{"room": "r", "to": "a", "data": 1}, nil)
	if rooms.signals.Load() != 1 || router.notices.Load() != 2 || len(a.t.notes("signal")) != 1 {
		t.Fatalf("rooms: %d signals, %d router notices (peerJoined, signal)", rooms.signals.Load(), router.notices.Load())
	}
	var on onlineReply
	a.ok(t, "online", map[string]any{}, &on)
	if strings.Join(on.Names, ",") != "a,b" {
		t.Fatalf("online = %v", on.Names)
	}
	b.Closed(websocket.StatusNormalClosure)
	if _, ok := dir.MemoryDirectory.Lookup("b"); ok || len(rooms.Members("r")) != 1 {
		t.Fatal("the end of b left its directory entry or membership")
	}
}
