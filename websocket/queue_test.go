package websocket

import (
	"bytes"
	"errors"
	"net"
	"testing"
)

// TestQueueLimitBoundsBacklogNotMessage checks the queue rule: a message
// always fits an empty queue, whatever its size; one that would take a
// queue holding something past QueueBytes is refused.
func TestQueueLimitBoundsBacklogNotMessage(t *testing.T) {
	const limit = 1000
	for _, tc := range []struct {
		name             string
		queued, incoming int // bytes already queued (0: empty) and the new message's
		full             bool
	}{
		{"empty-queue-small", 0, 10, false},
		{"empty-queue-at-limit", 0, limit, false},
		{"empty-queue-over-limit", 0, 16 * limit, false},
		{"fits-beside", 400, 600, false},
		{"past-limit-beside", 400, 601, true},
		{"over-limit-beside-small", 1, 16 * limit, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var q outQueue
			if tc.queued > 0 {
				q.data = append(q.data, outItem{frame: make([]byte, tc.queued)})
				q.bytes = tc.queued
			}
			if got := q.full(8, limit, tc.incoming); got != tc.full {
				t.Errorf("full = %v, want %v", got, tc.full)
			}
		})
	}
	var q outQueue
	for range 8 {
		q.data = append(q.data, outItem{frame: []byte("x")})
	}
	q.bytes = 8
	if !q.full(8, limit, 1) {
		t.Error("a queue holding QueueMessages messages took one more")
	}
}

// TestDroppableMakesRoomForLargeMessage: publications queued ahead of a
// message larger than QueueBytes are evicted, and counted, so that it fits
// the emptied queue; a reply ahead of it cannot be, and the slow-consumer
// rule applies.
func TestDroppableMakesRoomForLargeMessage(t *testing.T) {
	c := fakeServerConn(deflateParams{}, false)
	c.cfg.QueueBytes = 1000
	c.wbusy.Store(true) // a writer that never comes back for the queue
	c.done = make(chan struct{})
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	c.nc = a
	for range 3 {
		if err := c.SendDroppable(NewPreparedMessage(OpText, []byte("publication"))); err != nil {
			t.Fatal(err)
		}
	}
	big := NewPreparedMessage(OpBinary, make([]byte, 5000))
	if err := c.SendDroppable(big); err != nil {
		t.Fatalf("a message larger than QueueBytes behind publications: %v", err)
	}
	if n := c.cfg.Metrics.Dropped.Load(); n != 3 {
		t.Errorf("Dropped = %d, want the 3 publications ahead of it", n)
	}
	if len(c.out.data) != 1 || c.out.droppable != 1 {
		t.Fatalf("queue holds %d items (%d droppable), want the large one alone", len(c.out.data), c.out.droppable)
	}
	if err := c.Send(NewPreparedMessage(OpText, []byte("reply"))); err != nil {
		t.Fatal(err)
	}
	if err := c.Send(big); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("a large reply behind a reply: %v, want ErrQueueFull", err)
	}
}

// TestMessageLargerThanQueueIsSent sends replies and a publication larger
// than QueueBytes through a real connection, with and without compression:
// each goes out whole to the empty queue instead of closing with 1013.
func TestMessageLargerThanQueueIsSent(t *testing.T) {
	const queue, size = 64 << 10, 1 << 20
	for _, compress := range []bool{false, true} {
		name := "plain"
		if compress {
			name = "deflate"
		}
		t.Run(name, func(t *testing.T) {
			deflate := DeflateConfig{Disabled: !compress}
			cfg := Config{QueueBytes: queue, MaxMessageBytes: 4 << 20}
			srv := startServer(t, AcceptOptions{Config: cfg, Deflate: deflate}, HandlerFunc(func(c *Conn, op Opcode, data []byte) {
				if string(data) == "publish" {
					_ = c.SendDroppable(NewPreparedMessage(OpBinary, bytes.Repeat([]byte("p"), size)))
					return
				}
				_ = c.SendMessage(op, data)
			}))
			c, in, _ := dialRun(t, srv.URL, &DialOptions{Deflate: deflate, Config: Config{MaxMessageBytes: 4 << 20}})
			text := bytes.Repeat([]byte("switchboard "), size/12)
			binary := make([]byte, size)
			for i := range binary {
				binary[i] = byte(i * 131 >> 3)
			}
			for _, m := range []msg{{OpText, text}, {OpBinary, binary}, {OpText, []byte("publish")}} {
				if err := c.SendMessage(m.op, m.data); err != nil {
					t.Fatal(err)
				}
				want := m.data
				if string(m.data) == "publish" {
					want = bytes.Repeat([]byte("p"), size)
				}
				if got := in.next(t); !bytes.Equal(got.data, want) {
					t.Fatalf("got %d bytes (op %v), want %d (op %v)", len(got.data), got.op, len(want), m.op)
				}
			}
			if n := srv.Metrics.SlowConsumers.Load(); n != 0 {
				t.Fatalf("%d slow consumers", n)
			}
		})
	}
}
