package session

import (
	"encoding/json"
	"sync"
	"testing"

	"github.com/switchboard/switchboard/protoo"
	"github.com/switchboard/switchboard/websocket"
)

// TestRoomTakeoverKeepsRoom swaps the connection of a room's only member
// many times, concurrently, while watching the room: it never empties
// (the zombie-room bug of docs/protoo.md), every replaced
// connection is closed with 4000 "replaced", and the last one is served.
func TestRoomTakeoverKeepsRoom(t *testing.T) {
	h := NewHub(Config{})
	defer h.Close()
	first := open(h, "roomId=z&peerId=solo")
	if len(first.t.notes("joined")) != 1 {
		t.Fatal("no joined notification")
	}
	stop := make(chan struct{})
	var emptied bool
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if m := h.RoomMembers("z"); len(m) != 1 || m[0] != "solo" {
				emptied = true
			}
		}
	})
	conns := make([]*conn, 50)
	var cw sync.WaitGroup
	for i := range conns {
		cw.Go(func() { conns[i] = open(h, "roomId=z&peerId=solo") })
	}
	cw.Wait()
	close(stop)
	wg.Wait()
	if emptied {
		t.Fatal("the room was seen without its member during the takeovers")
	}
	all := append(conns, first)
	var live *conn
	for _, c := range all {
		code, reason := c.t.closeCode()
		switch {
		case code == 0 && live == nil:
			live = c
		case code == 0:
			t.Fatal("two connections of solo left open")
		case code != websocket.StatusDoNotReconnect || reason != "replaced":
			t.Fatalf("replaced connection closed with %d %q", code, reason)
		}
	}
	if live == nil {
		t.Fatal("every connection was closed")
	}
	for _, c := range all {
		if c != live {
			c.Closed(websocket.StatusDoNotReconnect)
		}
	}
	other := open(h, "roomId=z&peerId=other")
	var j JoinResult
	decode(t, other.t.notes("joined")[0].Data, &j)
	if len(j.Peers) != 1 || j.Peers[0].ID != "solo" {
		t.Fatalf("other's roster %+v", j)
	}
	other.ok(t, "signal", map[string]any{"room": "z", "to": "solo", "data": map[string]int{"n": 1}}, nil)
	if n := len(live.t.notes("signal")); n != 1 {
		t.Fatalf("the live connection got %d signals", n)
	}
	if n := h.Counters().Takeovers.Load(); n != 50 {
		t.Errorf("%d takeovers, want 50", n)
	}
	live.Closed(websocket.StatusNoStatusRcvd)
	if n := len(other.t.notes("peerLeft")); n != 1 {
		t.Fatalf("other got %d peerLeft after solo's clean close", n)
	}
	other.Closed(websocket.StatusNormalClosure)
	if rs := h.Rooms(); len(rs) != 0 {
		t.Fatalf("rooms left: %v", rs)
	}
}

// TestRoomErrors covers the error replies of join, leave and signal.
func TestRoomErrors(t *testing.T) {
	h := NewHub(Config{MaxRoomMembers: 1, MaxRoomsPerSession: 1})
	defer h.Close()
	a := open(h, "")
	a.fails(t, protoo.CodeUnauthorized, "join", map[string]string{"room": "x"})
	a.ok(t, "login", map[string]string{"name": "a"}, nil)
	a.fails(t, protoo.CodeBadRequest, "join", map[string]any{})
	a.fails(t, protoo.CodeBadRequest, "join", map[string]any{"room": 5})
	a.fails(t, protoo.CodeBadRequest, "join", map[string]any{"room": "bad\x01name"})
	a.ok(t, "join", map[string]any{"room": "x"}, nil)
	a.fails(t, protoo.CodeTooMany, "join", map[string]any{"room": "y"})
	b := open(h, "")
	b.ok(t, "login", map[string]string{"name": "b"}, nil)
	b.fails(t, protoo.CodeTooMany, "join", map[string]any{"room": "x"})
	b.fails(t, protoo.CodeForbidden, "signal", map[string]any{"room": "x", "to": "a", "data": 1})
	b.fails(t, protoo.CodeNotFound, "leave", map[string]any{"room": "x"})
	a.fails(t, protoo.CodeNotFound, "signal", map[string]any{"room": "x", "to": "b", "data": 1})
	a.fails(t, protoo.CodeUnknownMethod, "createWebRtcTransport", map[string]any{})
	c := open(h, "roomId=x")
	if code, _ := c.t.closeCode(); code != websocket.StatusDoNotReconnect {
		t.Fatalf("roomId without peerId: close %d, want 4000", code)
	}
}

func decode(t *testing.T, data []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatal(err)
	}
}

// TestRoomStaleMember: a session that ended but has not left its rooms yet
// is replaced by a newer session of the same name joining, and its late
// leave does not remove the newer one.
func TestRoomStaleMember(t *testing.T) {
	rs := NewMemoryRooms(NewMemoryRouter(), RoomLimits{})
	old := Member{Key: "n-1", Name: "x"}
	watcher := Member{Key: "n-2", Name: "w"}
	if _, err := rs.Join(Join{Member: old, Room: "r"}); err != nil {
		t.Fatal(err)
	}
	if _, err := rs.Join(Join{Member: watcher, Room: "r"}); err != nil {
		t.Fatal(err)
	}
	fresh := Member{Key: "n-3", Name: "x"}
	j, err := rs.Join(Join{Member: fresh, Room: "r", Info: json.RawMessage(`{"n":2}`)})
	if err != nil || len(j.Peers) != 1 || j.Peers[0].ID != "w" {
		t.Fatalf("join of the newer session = %+v, %v", j, err)
	}
	rs.LeaveAll(old)
	if m := rs.Members("r"); len(m) != 2 || m[0] != "w" || m[1] != "x" {
		t.Fatalf("members after the stale leave: %v", m)
	}
	// fresh has no recipient here: a signal to it is 404 "offline".
	if err := rs.Signal(watcher, "r", "x", json.RawMessage(`1`)); protoo.CodeOf(err) != protoo.CodeNotFound {
		t.Fatalf("signal to a member without a connection = %v, want 404", err)
	}
	rs.LeaveAll(fresh)
	rs.LeaveAll(watcher)
	if n := rs.Names(); len(n) != 0 {
		t.Fatalf("rooms left: %v", n)
	}
}
