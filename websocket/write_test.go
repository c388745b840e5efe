package websocket

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/testutil"
)

func TestPreparedMessageOwnsItsBytes(t *testing.T) {
	for _, size := range []int{10, 3 << 20} {
		data := bytes.Repeat([]byte("a"), size)
		m := NewPreparedMessage(OpText, data)
		before := bytes.Clone(m.plain)
		for i := range data {
			data[i] = 'b'
		}
		if !bytes.Equal(m.plain, before) || m.data[0] != 'a' {
			t.Fatalf("size %d: the prepared message changed with the caller's slice", size)
		}
	}
}

func fakeServerConn(p deflateParams, compressed bool) *Conn {
	c := &Conn{isServer: true, cfg: Config{}.withDefaults()}
	c.shard, c.cell = c.cfg.Flusher.pick()
	if compressed {
		c.comp = newCompressor(p, true, 0)
	}
	return c
}

// TestPreparedMessageEncodedOnce checks the fan-out property: connections
// without compression share the plain frame, connections with stateless
// compression share one compressed frame, and a connection that needs its
// own (a small window) gets its own.
func TestPreparedMessageEncodedOnce(t *testing.T) {
	noCtx := deflateParams{serverNoContextTakeover: true, clientNoContextTakeover: true}
	plainA, plainB := fakeServerConn(noCtx, false), fakeServerConn(noCtx, false)
	zA, zB := fakeServerConn(noCtx, true), fakeServerConn(noCtx, true)
	small := fakeServerConn(deflateParams{serverNoContextTakeover: true, serverMaxWindowBits: 10}, true)

	m := NewPreparedMessage(OpText, bytes.Repeat([]byte("switchboard "), 100))
	same := func(a, b []byte) bool { return len(a) > 0 && &a[0] == &b[0] }
	if !same(m.frameFor(plainA), m.frameFor(plainB)) || !same(m.frameFor(plainA), m.plain) {
		t.Fatal("plain connections do not share the encoded frame")
	}
	fa, fb := m.frameFor(zA), m.frameFor(zB)
	if !same(fa, fb) {
		t.Fatal("compressing connections do not share the compressed frame")
	}
	if fa[0]&0x40 == 0 || len(fa) >= len(m.plain) {
		t.Fatalf("shared frame is not compressed: % x", fa[:2])
	}
	if fs := m.frameFor(small); same(fs, fa) {
		t.Fatal("a small-window connection got the shared 32 KiB-window frame")
	}
}

func TestIncompressibleGoesPlain(t *testing.T) {
	c := fakeServerConn(deflateParams{serverNoContextTakeover: true, clientNoContextTakeover: true}, true)
	data := make([]byte, 4096)
	for i := range data {
		data[i] = byte(i*7919 + i>>3*31)
	}
	f := c.compressedMessage(OpBinary, data, nil)
	h, n, err := parseHeader(f)
	if err != nil {
		t.Fatal(err)
	}
	if h.Rsv1 && int(h.Length) >= len(data) {
		t.Fatal("sent a compressed frame larger than the data")
	}
	if !h.Rsv1 && !bytes.Equal(f[n:], data) {
		t.Fatal("plain fallback changed the data")
	}
}

func BenchmarkPreparedFanout(b *testing.B) {
	conns := make([]*Conn, 1000)
	for i := range conns {
		conns[i] = fakeServerConn(deflateParams{}, false)
	}
	payload := bytes.Repeat([]byte("x"), 100)
	b.ReportAllocs()
	for b.Loop() {
		m := NewPreparedMessage(OpText, payload)
		for _, c := range conns {
			_ = m.frameFor(c)
		}
	}
}

// stallWriter gives c a writer that never comes back for its queue, on a
// pipe closed when the test ends: what is queued stays queued.
func stallWriter(t *testing.T, c *Conn) {
	c.wbusy.Store(true)
	c.done = make(chan struct{})
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	c.nc = a
}

// TestSendDroppableEvictsOldest fills a queue that no writer drains: the
// oldest droppable messages make room, replies are never evicted, and the
// slow-consumer rule applies only when the replies alone pass the limit.
func TestSendDroppableEvictsOldest(t *testing.T) {
	c := fakeServerConn(deflateParams{}, false)
	c.cfg.QueueMessages = 4
	stallWriter(t, c)
	msg := func(s string) *PreparedMessage { return NewPreparedMessage(OpText, []byte(s)) }
	for _, s := range []string{"p1", "p2", "p3"} {
		if err := c.SendDroppable(msg(s)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Send(msg("r1")); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"p4", "p5"} {
		if err := c.SendDroppable(msg(s)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Send(msg("r2")); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range c.out.data {
		got = append(got, string(it.frame[2:]))
	}
	if strings.Join(got, " ") != "r1 p4 p5 r2" {
		t.Fatalf("queue = %v, want [r1 p4 p5 r2] in order with p1-p3 evicted", got)
	}
	if n := c.cfg.Metrics.Dropped.Load(); n != 3 {
		t.Fatalf("Dropped = %d, want 3", n)
	}
	for _, s := range []string{"r3", "r4"} {
		if err := c.Send(msg(s)); err != nil {
			t.Fatal(err)
		}
	}
	if c.out.droppable != 0 || len(c.out.data) != 4 {
		t.Fatalf("queue holds %d items, %d droppable", len(c.out.data), c.out.droppable)
	}
	if err := c.Send(msg("r5")); err != ErrQueueFull {
		t.Fatalf("Send over a queue of replies = %v, want ErrQueueFull", err)
	}
	if c.cfg.Metrics.SlowConsumers.Load() != 1 {
		t.Fatal("slow consumer not counted")
	}
}

// pipeConn is a server Conn writing into one end of a pipe (through the
// blocking writer: a pipe has no raw socket); the test reads the other end.
func pipeConn(t *testing.T, batchDelay time.Duration) (*Conn, net.Conn) {
	c := fakeServerConn(deflateParams{}, false)
	c.cfg.BatchDelay = batchDelay
	c.done = make(chan struct{})
	a, b := net.Pipe()
	c.nc = a
	t.Cleanup(func() {
		c.abort(nil)
		c.endWrites()
		b.Close()
	})
	_ = b.SetReadDeadline(time.Now().Add(10 * time.Second))
	return c, b
}

func readText(t *testing.T, r io.Reader, want string) {
	t.Helper()
	buf := make([]byte, 2+len(want))
	if _, err := io.ReadFull(r, buf); err != nil {
		t.Fatalf("reading %q: %v", want, err)
	}
	if string(buf[2:]) != want {
		t.Fatalf("read %q, want %q", buf[2:], want)
	}
}

// TestBatchDelayGathersPublications: droppable messages queued within
// BatchDelay go out in one write.
func TestBatchDelayGathersPublications(t *testing.T) {
	c, peer := pipeConn(t, 200*time.Millisecond)
	for _, s := range []string{"p1", "p2", "p3"} {
		if err := c.SendDroppable(NewPreparedMessage(OpText, []byte(s))); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []string{"p1", "p2", "p3"} {
		readText(t, peer, s)
	}
	// The writer counts its write after the pipe handed over the bytes.
	testutil.WaitFor(t, 10*time.Second, "the write to be counted", func() bool { return c.cfg.Metrics.Writes.Load() > 0 })
	if n := c.cfg.Metrics.Writes.Load(); n != 1 {
		t.Fatalf("%d writes for three publications queued together, want 1", n)
	}
}

// TestBatchDelayDoesNotHoldReplies: a reply is written at once however
// long BatchDelay is, and closing does not wait for the delay.
func TestBatchDelayDoesNotHoldReplies(t *testing.T) {
	c, peer := pipeConn(t, time.Hour)
	if err := c.Send(NewPreparedMessage(OpText, []byte("r1"))); err != nil {
		t.Fatal(err)
	}
	readText(t, peer, "r1")
	if err := c.SendDroppable(NewPreparedMessage(OpText, []byte("p1"))); err != nil {
		t.Fatal(err)
	}
	// The cleanup aborts the connection while the writer waits out its
	// hour: the test ending at all shows the wait ends with the
	// connection.
}

// BenchmarkSendDroppableFanout queues one publication on 1000
// connections, as the broker does, and takes each connection's batch as
// its owner would: the allocations are the publication's own, none per
// recipient.
func BenchmarkSendDroppableFanout(b *testing.B) {
	conns := make([]*Conn, 1000)
	for i := range conns {
		c := fakeServerConn(deflateParams{}, false)
		c.wbusy.Store(true) // owned: the benchmark plays the owner
		c.done = make(chan struct{})
		conns[i] = c
	}
	payload := bytes.Repeat([]byte("x"), 100)
	b.ReportAllocs()
	for b.Loop() {
		m := NewPreparedMessage(OpText, payload)
		for _, c := range conns {
			_ = c.SendDroppable(m)
		}
		for _, c := range conns {
			if !c.takePending() {
				b.Fatal("nothing queued")
			}
			c.batchWritten()
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(conns)), "ns/delivery")
}
