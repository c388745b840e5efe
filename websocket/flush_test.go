package websocket

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/testutil"
)

// TestConcurrentSendersKeepOrder has four goroutines send on one
// connection at once, half of the messages with SendMessage and half as
// shared droppable frames, while the client reads slowly enough that the
// socket fills: every message arrives once, each sender's in order, and the
// blocking writer took over at least once.
func TestConcurrentSendersKeepOrder(t *testing.T) {
	const senders, each, size = 4, 1500, 1024
	metrics := new(Metrics)
	cfg := Config{QueueMessages: senders * each * 2, QueueBytes: 64 << 20, Metrics: metrics}
	srv := startServer(t, AcceptOptions{Config: cfg, Deflate: DeflateConfig{Disabled: true}}, HandlerFunc(func(c *Conn, _ Opcode, _ []byte) {
		var wg sync.WaitGroup
		for g := range senders {
			wg.Go(func() {
				pad := strings.Repeat("x", size)
				for i := range each {
					data := []byte(fmt.Sprintf("%d:%d:%s", g, i, pad))
					var err error
					if i%2 == 0 {
						err = c.SendMessage(OpText, data)
					} else {
						err = c.SendDroppable(NewPreparedMessage(OpText, data))
					}
					if err != nil {
						t.Errorf("sender %d message %d: %v", g, i, err)
						return
					}
				}
			})
		}
		wg.Wait()
	}))
	c, in, _ := dialRun(t, srv.URL, &DialOptions{Deflate: DeflateConfig{Disabled: true}})
	_ = c.nc.(*net.TCPConn).SetReadBuffer(16 << 10) // a small window: the server's socket fills
	if err := c.SendMessage(OpText, []byte("go")); err != nil {
		t.Fatal(err)
	}
	// The inbox holds 64 messages: until the senders are done the client
	// reads only what fits, so the server's socket fills up.
	testutil.WaitFor(t, 20*time.Second, "a blocked write (the socket filling up)", func() bool {
		return metrics.BlockedWrites.Load() > 0
	})
	next := make([]int, senders)
	for range senders * each {
		m := in.next(t)
		parts := bytes.SplitN(m.data, []byte(":"), 3)
		g, _ := strconv.Atoi(string(parts[0]))
		i, _ := strconv.Atoi(string(parts[1]))
		if g < 0 || g >= senders || i != next[g] || len(parts[2]) != size {
			t.Fatalf("got message %d of sender %d (%d bytes), want %d", i, g, len(m.data), next[g])
		}
		next[g]++
	}
	if d := metrics.Dropped.Load(); d != 0 {
		t.Fatalf("%d messages dropped", d)
	}
}

// TestFanoutWritesBatch queues publications on many connections as fast as
// a broker would: the shared flusher must write each connection's pile in
// one writev, not one write per publication per subscriber.
func TestFanoutWritesBatch(t *testing.T) {
	const subs, pubs = 100, 200
	metrics := new(Metrics)
	var mu sync.Mutex
	var conns []*Conn
	ready := make(chan struct{}, subs)
	srv := startServer(t, AcceptOptions{Config: Config{Metrics: metrics}}, HandlerFunc(func(c *Conn, _ Opcode, _ []byte) {
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
		ready <- struct{}{}
	}))
	for range subs {
		c := dialDiscard(t, srv.URL)
		if err := c.SendMessage(OpText, []byte("subscribe")); err != nil {
			t.Fatal(err)
		}
	}
	for range subs {
		select {
		case <-ready:
		case <-time.After(10 * time.Second):
			t.Fatal("subscribers did not arrive")
		}
	}
	before := metrics.Writes.Load()
	for i := range pubs {
		m := NewPreparedMessage(OpText, []byte(fmt.Sprintf("publication %d", i)))
		mu.Lock()
		for _, c := range conns {
			if err := c.SendDroppable(m); err != nil {
				t.Fatal(err)
			}
		}
		mu.Unlock()
	}
	want := int64(subs * pubs)
	testutil.WaitFor(t, 20*time.Second, "every publication written", func() bool {
		return metrics.MessagesOut.Load() >= want
	})
	writes := metrics.Writes.Load() - before
	t.Logf("%d publications to %d subscribers in %d writes", pubs, subs, writes)
	if writes > want/2 {
		t.Fatalf("%d writes for %d deliveries: the flusher did not batch", writes, want)
	}
}

// dialDiscard dials url and runs the connection in the background,
// dropping what arrives.
func dialDiscard(t *testing.T, url string) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		_ = c.Run(context.Background(), HandlerFunc(func(*Conn, Opcode, []byte) {}))
	}()
	t.Cleanup(func() {
		c.Close(StatusNormalClosure, "")
		<-finished
	})
	return c
}

// BenchmarkFanoutTCP publishes to 200 subscribers over loopback TCP
// through the shared flushers, each subscriber draining its socket: the
// allocations per publication are the PreparedMessage's own, none per
// recipient.
func BenchmarkFanoutTCP(b *testing.B) {
	const subs = 200
	var mu sync.Mutex
	var conns []*Conn
	srv := startServer(b, AcceptOptions{Config: Config{QueueMessages: 1 << 16, QueueBytes: 1 << 30}}, HandlerFunc(func(c *Conn, _ Opcode, _ []byte) {
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
	}))
	var drained sync.WaitGroup
	for range subs {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, err := Dial(ctx, srv.URL, nil)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		if err := c.SendMessage(OpText, []byte("subscribe")); err != nil {
			b.Fatal(err)
		}
		nc := c.nc
		defer nc.Close()
		drained.Go(func() { _, _ = io.Copy(io.Discard, nc) })
	}
	if !testutil.Poll(10*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(conns) == subs }) {
		b.Fatal("subscribers did not arrive")
	}
	payload := bytes.Repeat([]byte("x"), 100)
	b.ReportAllocs()
	for b.Loop() {
		m := NewPreparedMessage(OpText, payload)
		for _, c := range conns {
			if err := c.SendDroppable(m); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*subs), "ns/delivery")
	srv.stop() // closes the connections: the subscribers' copies end
	drained.Wait()
}

// TestDeadlineDoesNotOutliveBlockedWrite: after the blocking writer has
// waited out a full socket, its write deadline is cleared, so a message
// sent long after still goes out without blocking (no second blocked
// write, no failure).
func TestDeadlineDoesNotOutliveBlockedWrite(t *testing.T) {
	const big, count = 64 << 10, 256 // 16 MiB: more than the socket buffers hold
	metrics := new(Metrics)
	cfg := Config{WriteTimeout: 300 * time.Millisecond, QueueMessages: 4 * count, QueueBytes: 64 << 20, Metrics: metrics}
	srv := startServer(t, AcceptOptions{Config: cfg, Deflate: DeflateConfig{Disabled: true}}, HandlerFunc(func(c *Conn, _ Opcode, data []byte) {
		if string(data) == "fill" {
			for range count {
				_ = c.SendMessage(OpBinary, make([]byte, big))
			}
			return
		}
		_ = c.SendMessage(OpText, []byte("late"))
	}))
	c, in, _ := dialRun(t, srv.URL, &DialOptions{Deflate: DeflateConfig{Disabled: true}})
	_ = c.nc.(*net.TCPConn).SetReadBuffer(16 << 10) // a small window: the server's socket fills
	if err := c.SendMessage(OpText, []byte("fill")); err != nil {
		t.Fatal(err)
	}
	// The inbox holds 64 messages until the test reads: the socket fills.
	testutil.WaitFor(t, 10*time.Second, "a blocked write", func() bool { return metrics.BlockedWrites.Load() > 0 })
	for range count {
		if m := in.next(t); len(m.data) != big {
			t.Fatalf("got %d bytes, want %d", len(m.data), big)
		}
	}
	blocked := metrics.BlockedWrites.Load()
	<-time.After(2 * cfg.WriteTimeout) // any deadline left behind has passed
	if err := c.SendMessage(OpText, []byte("one more")); err != nil {
		t.Fatal(err)
	}
	if m := in.next(t); string(m.data) != "late" {
		t.Fatalf("got %q, want late", m.data)
	}
	if n := metrics.BlockedWrites.Load(); n != blocked {
		t.Fatalf("a small write on an empty socket blocked (%d blocked writes, was %d)", n, blocked)
	}
	if n := metrics.WriteTimeouts.Load(); n != 0 {
		t.Fatalf("%d write timeouts", n)
	}
}

// ownsShard reports whether shard is one of f's flushers.
func ownsShard(f *Flusher, shard *flushShard) bool {
	for i := range f.shards {
		if &f.shards[i] == shard {
			return true
		}
	}
	return false
}

// TestConnUsesConfiguredFlusher: a connection's publications go through
// the Flusher of its Config, immediately or in a BatchDelay round, and a
// connection without one uses the process's default Flusher.
func TestConnUsesConfiguredFlusher(t *testing.T) {
	for _, delay := range []time.Duration{0, time.Millisecond} {
		t.Run(fmt.Sprintf("BatchDelay=%v", delay), func(t *testing.T) {
			f := NewFlusher()
			server := make(chan *Conn, 1)
			srv := startServer(t, AcceptOptions{Config: Config{Flusher: f, BatchDelay: delay}}, HandlerFunc(func(c *Conn, _ Opcode, data []byte) {
				if err := c.SendDroppable(NewPreparedMessage(OpText, append([]byte("pub "), data...))); err != nil {
					t.Error(err)
				}
				server <- c
			}))
			c, in, _ := dialRun(t, srv.URL, nil)
			if err := c.SendMessage(OpText, []byte("1")); err != nil {
				t.Fatal(err)
			}
			if m := in.next(t); string(m.data) != "pub 1" {
				t.Fatalf("got %q", m.data)
			}
			sc := <-server
			if !ownsShard(f, sc.shard) {
				t.Fatal("the server's connection does not use the Flusher of its Config")
			}
			if ownsShard(f, c.shard) || !ownsShard(defaultFlusher(), c.shard) {
				t.Fatal("a connection without a Flusher does not use the default one")
			}
		})
	}
}
