package websocket

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/httphead"
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
	stallWriter(t, c)
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

// TestTakeIsBounded: the writer takes at most maxWriteBytes of messages;
// the rest stays queued, droppable, and the close frame queued after them
// is reported only with the batch that holds it.
func TestTakeIsBounded(t *testing.T) {
	var q outQueue
	const size = 10 << 10
	total := 0
	for range 3 * maxWriteBytes / size {
		q.data = append(q.data, outItem{frame: make([]byte, size), droppable: true})
		q.bytes += size
		q.droppable++
		total++
	}
	q.data = append(q.data, outItem{frame: []byte("close")})
	q.bytes += 5
	q.closing = true
	var bufs net.Buffers
	var pooled []*[]byte
	var busy atomic.Bool
	taken := 0
	for batch := 0; ; batch++ {
		n, closing, ok := q.take(&bufs, &pooled, &busy)
		if !ok {
			t.Fatal("the queue emptied before the close frame was taken")
		}
		var bytesTaken int
		for _, b := range bufs {
			bytesTaken += len(b)
		}
		if bytesTaken > maxWriteBytes {
			t.Fatalf("batch %d: took %d bytes, more than %d", batch, bytesTaken, maxWriteBytes)
		}
		taken += n
		if bytesLeft, droppableLeft := queued(&q); q.droppable != droppableLeft || q.bytes != bytesLeft {
			t.Fatalf("batch %d: %d droppable counted of %d, %d bytes counted of %d", batch, q.droppable, droppableLeft, q.bytes, bytesLeft)
		}
		if closing != (len(q.data) == 0) {
			t.Fatalf("batch %d: closing = %v with %d messages still queued", batch, closing, len(q.data))
		}
		if closing {
			break
		}
	}
	if taken != total+1 {
		t.Fatalf("took %d messages, want %d", taken, total+1)
	}
}

// queued counts the bytes and the droppable messages in q.
func queued(q *outQueue) (size, droppable int) {
	for _, it := range q.data {
		size += len(it.frame)
		if it.droppable {
			droppable++
		}
	}
	return size, droppable
}

// slowPeer is a raw client that reads the server's frames through a small
// receive buffer, readSize bytes at a time at every tick.
type slowPeer struct {
	nc net.Conn
}

func dialSlowPeer(t *testing.T, srv *testServer) *slowPeer {
	t.Helper()
	// A small receive buffer, and a segment size of a real link: with
	// loopback's 64 KiB one, a receive window a few KiB wide stays shut
	// (silly window avoidance) until the sender's persist timer probes it.
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = errors.Join(
				syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 16<<10),
				syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_MAXSEG, 1400))
		})
		return errors.Join(err, serr)
	}}
	nc, err := d.Dial("tcp", srv.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	u := mustURL(t, srv.URL)
	if _, err := nc.Write(clientRequest(u, newKey(), nil, "", "", nil)); err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 0, 1024)
	for {
		n, err := nc.Read(head[len(head) : len(head)+1]) // byte by byte: nothing past the head
		head = head[:len(head)+n]
		if _, _, perr := httphead.ParseResponse(head, cap(head)); perr == nil {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return &slowPeer{nc: nc}
}

// readFrames reads at most readSize bytes per tick and reports each
// frame's payload to got until got returns false or reading fails.
func (p *slowPeer) readFrames(tick time.Duration, readSize int, got func([]byte) bool) error {
	tk := time.NewTicker(tick)
	defer tk.Stop()
	var buf []byte
	chunk := make([]byte, readSize)
	for range tk.C {
		_ = p.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := p.nc.Read(chunk)
		buf = append(buf, chunk[:n]...)
		for {
			h, hn, herr := parseHeader(buf)
			if errors.Is(herr, errShortHeader) || (herr == nil && int64(len(buf)-hn) < h.Length) {
				break
			}
			if herr != nil {
				return herr
			}
			end := hn + int(h.Length)
			if !got(buf[hn:end]) {
				return nil
			}
			buf = buf[end:]
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// TestSlowReaderLosesPublicationsNotConnection publishes a burst far larger
// than the queue to a subscriber that reads slowly but steadily: a full
// queue takes it about a second, 2.5 times the write timeout. The
// subscriber must keep its connection and see the newest publication, the
// ones it missed counted as dropped: no write may time out while the peer
// makes progress. (A writer that took the whole queue under one deadline
// dropped it by write timeout.)
func TestSlowReaderLosesPublicationsNotConnection(t *testing.T) {
	const (
		count     = 800
		size      = 1 << 10
		queue     = 256 << 10
		readSize  = 2 << 10
		readEvery = 8 * time.Millisecond // 256 KB/s: a full queue takes a second
	)
	metrics := new(Metrics)
	cfg := Config{WriteTimeout: 400 * time.Millisecond, QueueBytes: queue, PingInterval: -1, Metrics: metrics}
	subscribed := make(chan *Conn, 1)
	srv := startServer(t, AcceptOptions{Config: cfg, Deflate: DeflateConfig{Disabled: true}}, HandlerFunc(func(c *Conn, _ Opcode, _ []byte) {
		_ = c.nc.(*net.TCPConn).SetWriteBuffer(4096) // the kernel buffers next to nothing
		subscribed <- c
	}))
	p := dialSlowPeer(t, srv)
	mask := [4]byte{1, 2, 3, 4}
	if _, err := p.nc.Write(appendFrame(nil, OpText, true, false, &mask, []byte("subscribe"))); err != nil {
		t.Fatal(err)
	}
	var c *Conn
	select {
	case c = <-subscribed:
	case <-time.After(10 * time.Second):
		t.Fatal("the server never saw the subscription")
	}
	for i := range count {
		payload := make([]byte, size)
		binary.BigEndian.PutUint32(payload, uint32(i))
		if err := c.SendDroppable(NewPreparedMessage(OpBinary, payload)); err != nil {
			t.Fatalf("publication %d: %v", i, err)
		}
	}
	var received []uint32
	err := p.readFrames(readEvery, readSize, func(b []byte) bool {
		i := binary.BigEndian.Uint32(b)
		received = append(received, i)
		return i < count-1
	})
	if err != nil {
		t.Fatalf("after %d publications (last %v): %v; write timeouts %d, dropped %d",
			len(received), received[max(0, len(received)-1):], err, metrics.WriteTimeouts.Load(), metrics.Dropped.Load())
	}
	for k := 1; k < len(received); k++ {
		if received[k] <= received[k-1] {
			t.Fatalf("publication %d after %d: out of order", received[k], received[k-1])
		}
	}
	if n := metrics.WriteTimeouts.Load(); n != 0 {
		t.Errorf("%d write timeouts for a peer that kept reading", n)
	}
	select {
	case <-c.Done():
		t.Errorf("the slow subscriber lost its connection: %v", c.CloseStatus())
	default:
	}
	dropped := metrics.Dropped.Load()
	if dropped == 0 {
		t.Error("no publication counted as dropped")
	}
	if got := int64(len(received)) + dropped; got != count {
		t.Errorf("received %d and dropped %d of %d publications: every missing one must be counted", len(received), dropped, count)
	}
}
