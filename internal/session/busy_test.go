package session

import (
	"strings"
	"testing"

	"github.com/switchboard/switchboard/protoo"
	"github.com/switchboard/switchboard/websocket"
)

// queueTransport is a fakeTransport whose outbound queue never drains,
// like a connection whose reader stopped: it reports what was sent to it
// as queued.
type queueTransport struct {
	fakeTransport
	maxBytes int
	bytes    int
	n        int
}

func (q *queueTransport) Send(m *websocket.PreparedMessage) error {
	q.mu.Lock()
	q.n++
	q.bytes += len(m.Payload()) + 4
	q.mu.Unlock()
	return q.fakeTransport.Send(m)
}

func (q *queueTransport) Queued() websocket.QueueState {
	q.mu.Lock()
	defer q.mu.Unlock()
	return websocket.QueueState{Messages: q.n, Bytes: q.bytes, MaxMessages: 1024, MaxBytes: q.maxBytes}
}

// TestSendFloodRefused: one sender cannot fill another's queue with sends
// or signals: past half of it the sender gets 429 with a reason, and the
// receiver keeps the other half (it was closed with 1013 as a slow
// consumer).
func TestSendFloodRefused(t *testing.T) {
	h := NewHub(Config{})
	defer h.Close()
	qt := &queueTransport{maxBytes: 64 << 10}
	victim := &conn{Client: h.Open(qt, nil), t: &qt.fakeTransport}
	victim.ok(t, "login", map[string]string{"name": "victim"}, nil)
	victim.ok(t, "join", map[string]any{"room": "r"}, nil)
	sender := open(h, "")
	sender.ok(t, "login", map[string]string{"name": "sender"}, nil)
	sender.ok(t, "join", map[string]any{"room": "r"}, nil)
	big := strings.Repeat("x", 4<<10)
	sent := 0
	for range 100 {
		r := sender.call(t, "send", map[string]any{"to": "victim", "data": big})
		if !r.OK {
			if r.ErrorCode != protoo.CodeTooMany || !strings.Contains(r.ErrorReason, "not keeping up") {
				t.Fatalf("send: %d %q, want 429", r.ErrorCode, r.ErrorReason)
			}
			break
		}
		sent++
	}
	if sent == 100 || qt.Queued().Bytes > qt.maxBytes/2 {
		t.Fatalf("%d sends accepted, %d bytes queued of %d", sent, qt.Queued().Bytes, qt.maxBytes)
	}
	r := sender.call(t, "signal", map[string]any{"room": "r", "to": "victim", "data": big})
	if r.OK || r.ErrorCode != protoo.CodeTooMany {
		t.Fatalf("signal to a half-full queue: %v %d %q, want 429", r.OK, r.ErrorCode, r.ErrorReason)
	}
	if h.Counters().Busy.Load() != 2 {
		t.Fatalf("Busy = %d, want 2", h.Counters().Busy.Load())
	}
	// Small replies and notices still fit the other half.
	victim.ok(t, "echo", 1, nil)
}
