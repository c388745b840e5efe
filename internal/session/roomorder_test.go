package session

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/protoo"
	"github.com/switchboard/switchboard/websocket"
)

// reentrantTransport calls back into the hub's rooms from Send, as a
// transport that is slow to return would hold whatever lock Send is
// called under.
type reentrantTransport struct {
	fakeTransport
	h *Hub
}

func (r *reentrantTransport) Send(m *websocket.PreparedMessage) error {
	r.h.RoomMembers("r") // takes the rooms lock
	return r.fakeTransport.Send(m)
}

// TestRoomNoticesOutsideLock: peerJoined, peerLeft and signal are sent
// after the rooms lock is released (they were written under it, so every
// join, leave and signal of the node waited for each send).
func TestRoomNoticesOutsideLock(t *testing.T) {
	h := NewHub(Config{}) // not closed on a deadlock, which Close would join
	rt := &reentrantTransport{h: h}
	watcher := &conn{Client: h.Open(rt, nil), t: &rt.fakeTransport}
	watcher.ok(t, "login", map[string]string{"name": "w"}, nil)
	watcher.ok(t, "join", map[string]any{"room": "r"}, nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c := open(h, "")
		c.ok(t, "login", map[string]string{"name": "c"}, nil)
		c.ok(t, "join", map[string]any{"room": "r"}, nil)
		c.ok(t, "signal", map[string]any{"room": "r", "to": "w", "data": 1}, nil)
		c.ok(t, "leave", map[string]any{"room": "r"}, nil)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("deadlock: a room notification was sent under the rooms lock")
	}
	defer h.Close()
	for _, m := range []string{"peerJoined", "signal", "peerLeft"} {
		if len(watcher.t.notes(m)) != 1 {
			t.Fatalf("watcher got %d %s", len(watcher.t.notes(m)), m)
		}
	}
}

// mustOK sends a request and checks its response, which may not be the
// last message c got (other goroutines notify it meanwhile). It is safe
// to call from any goroutine: it reports with t.Errorf.
func (c *conn) mustOK(t *testing.T, method string, data any) {
	c.id++
	id := fmt.Sprint(c.id)
	b, _ := json.Marshal(data)
	c.OnMessage(c.t, websocket.OpText, protoo.AppendRequest(nil, json.RawMessage(id), method, b))
	c.t.mu.Lock()
	defer c.t.mu.Unlock()
	for i := len(c.t.msgs) - 1; i >= 0; i-- {
		if r, ok := c.t.msgs[i].(*protoo.Response); ok && string(r.ID) == id {
			if !r.OK {
				t.Errorf("%s: error %d %s", method, r.ErrorCode, r.ErrorReason)
			}
			return
		}
	}
	t.Errorf("%s: no response", method)
}

// TestRoomNoticeOrder joins, leaves and signals from many goroutines at
// once (run it with -race): every member sees each peer's peerJoined
// before its peerLeft, alternating, and each sender's signals in order.
func TestRoomNoticeOrder(t *testing.T) {
	const peers, rounds = 8, 30
	h := NewHub(Config{})
	defer h.Close()
	watchers := make([]*conn, 3)
	for i := range watchers {
		watchers[i] = open(h, "")
		watchers[i].mustOK(t, "login", map[string]string{"name": fmt.Sprint("w", i)})
		watchers[i].mustOK(t, "join", map[string]any{"room": "r"})
	}
	var wg sync.WaitGroup
	for p := range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := open(h, "")
			c.mustOK(t, "login", map[string]string{"name": fmt.Sprint("p", p)})
			n := 0
			for range rounds {
				c.mustOK(t, "join", map[string]any{"room": "r"})
				for _, w := range watchers {
					n++
					c.mustOK(t, "signal", map[string]any{"room": "r", "to": w.Session().Name(), "data": n})
				}
				c.mustOK(t, "leave", map[string]any{"room": "r"})
			}
			c.mustOK(t, "join", map[string]any{"room": "r"})
			c.Closed(websocket.StatusNormalClosure) // the session ends: peerLeft
		}()
	}
	wg.Wait()
	for _, w := range watchers {
		in := map[string]bool{}
		lastSignal := map[string]int{}
		w.t.mu.Lock()
		msgs := w.t.msgs
		w.t.mu.Unlock()
		for _, m := range msgs {
			note, isNote := m.(*protoo.Notification)
			if !isNote {
				continue
			}
			var d struct {
				ID, From string
				Data     int
			}
			_ = json.Unmarshal(note.Data, &d)
			switch note.Method {
			case "peerJoined":
				if in[d.ID] {
					t.Fatalf("%s: peerJoined %s twice without peerLeft", w.Session().Name(), d.ID)
				}
				in[d.ID] = true
			case "peerLeft":
				if !in[d.ID] {
					t.Fatalf("%s: peerLeft %s before its peerJoined", w.Session().Name(), d.ID)
				}
				in[d.ID] = false
			case "signal":
				if !in[d.From] {
					t.Fatalf("%s: signal from %s while it is not in the room", w.Session().Name(), d.From)
				}
				if d.Data <= lastSignal[d.From] {
					t.Fatalf("%s: signal %d from %s after %d", w.Session().Name(), d.Data, d.From, lastSignal[d.From])
				}
				lastSignal[d.From] = d.Data
			}
		}
		for id, still := range in {
			if still && id[0] == 'p' { // the watchers stay
				t.Fatalf("%s: %s never left", w.Session().Name(), id)
			}
		}
		if len(lastSignal) != peers {
			t.Fatalf("%s got signals from %d peers, want %d", w.Session().Name(), len(lastSignal), peers)
		}
	}
}

// TestJoinReplyBeforePeerJoined checks that a joiner's reply goes out
// before the others hear of the join, so that no signal from a member who
// reacts to peerJoined can reach the joiner before its roster does (a
// browser still waiting for its join reply drops such a signal).
func TestJoinReplyBeforePeerJoined(t *testing.T) {
	h := NewHub(Config{})
	defer h.Close()
	watcher := open(h, "")
	watcher.ok(t, "login", map[string]string{"name": "w"}, nil)
	watcher.ok(t, "join", map[string]any{"room": "r"}, nil)
	joiner := open(h, "")
	joiner.ok(t, "login", map[string]string{"name": "j"}, nil)
	replies := 0
	_, err := h.join(joiner.Session(), "r", nil, func(res *JoinResult) {
		replies++
		if n := len(watcher.t.notes("peerJoined")); n != 0 {
			t.Errorf("the watcher got %d peerJoined before the joiner's reply", n)
		}
		if len(res.Peers) != 1 || res.Peers[0].ID != "w" {
			t.Errorf("roster %+v, want w", res.Peers)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if replies != 1 {
		t.Fatalf("reply called %d times before joinReply returned, want 1", replies)
	}
	if n := len(watcher.t.notes("peerJoined")); n != 1 {
		t.Fatalf("the watcher got %d peerJoined, want 1", n)
	}
}
