package conformance

import (
	"math/rand/v2"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/testutil/servertest"
)

// Robustness: abusive clients must not disturb well-behaved ones, and no
// client can make the server hold unbounded memory (RFC 6455 §10.4).

// abuser misbehaves against addr for a bounded amount of work; the
// connections it passes to hold stay open until the test ends.
type abuser struct {
	name string
	run  func(addr string, hold func(net.Conn))
}

// upgraded opens a WebSocket connection, or returns nil.
func upgraded(addr string) *rawConn {
	c, resp, err := dial(addr, request{}, &transcript{})
	if err != nil || resp.StatusCode != 101 {
		if c != nil {
			c.close()
		}
		return nil
	}
	return c
}

// readSome waits, with a deadline, for the server's first answer.
func readSome(nc net.Conn) {
	_ = nc.SetReadDeadline(time.Now().Add(ioTimeout))
	_, _ = nc.Read(make([]byte, 512))
}

func abusers() []abuser {
	// Each churning abuser opens this many connections one after another.
	const churn = 60
	return []abuser{
		{"half-request-heads", func(addr string, hold func(net.Conn)) {
			for range 20 {
				nc, err := net.DialTimeout("tcp", addr, ioTimeout)
				if err != nil {
					return
				}
				hold(nc)
				_, _ = nc.Write([]byte("GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"))
			}
		}},
		{"announce-2^40-and-stall", func(addr string, hold func(net.Conn)) {
			for range 20 {
				c := upgraded(addr)
				if c == nil {
					return
				}
				hold(c.nc)
				_ = c.writeQuiet(frameSpec{op: opBinary, announce: u64(1 << 40), payload: binOf(1000)}.encode())
			}
		}},
		{"protocol-violations", func(addr string, _ func(net.Conn)) {
			bad := [][]byte{
				frameSpec{op: opText, payload: []byte("x"), unmasked: true}.encode(),
				frameSpec{op: 5}.encode(),
				frameSpec{op: opText, rsv: rsv2}.encode(),
				textFrame("\xed\xa0\x80"),
				fragFrame(opCont, true, []byte("x")),
				frameSpec{op: opPing, payload: binOf(126)}.encode(),
				closeFrame(999, ""),
			}
			for i := 0; i < churn; i++ {
				c := upgraded(addr)
				if c == nil {
					continue
				}
				_ = c.writeQuiet(bad[i%len(bad)])
				readSome(c.nc) // the close frame
				c.close()
			}
		}},
		{"garbage-instead-of-handshake", func(addr string, _ func(net.Conn)) {
			r := rand.New(rand.NewPCG(1, 2))
			junk := make([]byte, 4096)
			for i := 0; i < churn; i++ {
				nc, err := net.DialTimeout("tcp", addr, ioTimeout)
				if err != nil {
					continue
				}
				for j := range junk {
					junk[j] = byte(r.Uint32())
				}
				_ = nc.SetWriteDeadline(time.Now().Add(ioTimeout))
				_, _ = nc.Write(junk)
				readSome(nc) // the 400
				nc.Close()
			}
		}},
		{"abrupt-close-mid-frame", func(addr string, _ func(net.Conn)) {
			for i := 0; i < churn; i++ {
				if c := upgraded(addr); c != nil {
					_ = c.writeQuiet(binaryFrame(binOf(1000))[:500])
					c.close()
				}
			}
		}},
		{"echo-flood-without-reading", func(addr string, hold func(net.Conn)) {
			c := upgraded(addr)
			if c == nil {
				return
			}
			hold(c.nc)
			msg := binaryFrame(binOf(64 << 10))
			for i := 0; i < 256; i++ { // at most 16 MiB
				if c.writeQuiet(msg) != nil {
					return
				}
			}
		}},
		{"ping-flood-without-reading", func(addr string, hold func(net.Conn)) {
			c := upgraded(addr)
			if c == nil {
				return
			}
			hold(c.nc)
			var pings [][]byte
			for range 1000 {
				pings = append(pings, pingFrame(textOf(125)))
			}
			batch := join(pings...)
			for i := 0; i < 64; i++ { // at most 8 MiB
				if c.writeQuiet(batch) != nil {
					return
				}
			}
		}},
	}
}

// TestAbusiveClientsConcurrent runs the abusers while a well-behaved
// client keeps echoing until they are all done: each of its echoes must
// arrive within ioTimeout.
func TestAbusiveClientsConcurrent(t *testing.T) {
	addr := servertest.Start(t, srvDefault.config()).Addr
	var (
		mu   sync.Mutex
		held []net.Conn
		wg   sync.WaitGroup
	)
	hold := func(nc net.Conn) {
		mu.Lock()
		held = append(held, nc)
		mu.Unlock()
	}
	tr := &transcript{}
	c, resp, err := dial(addr, request{}, tr)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("well-behaved client: handshake: %v\n%s", err, tr)
	}
	defer c.close()

	for _, a := range abusers() {
		wg.Go(func() { a.run(addr, hold) })
	}
	abusing := make(chan struct{})
	go func() {
		wg.Wait()
		close(abusing)
	}()
	defer func() {
		<-abusing // every abuser's work is bounded and every wait has a deadline
		mu.Lock()
		for _, nc := range held {
			nc.Close()
		}
		mu.Unlock()
		if err := stillServes(addr); err != nil {
			t.Errorf("after the abuse, a fresh connection does not echo: %v", err)
		}
	}()

	var slowest time.Duration
	echoes := 0
	for done := false; !done || echoes < 200; echoes++ {
		select {
		case <-abusing:
			done = true
		default:
		}
		tr.lines = tr.lines[:0]
		payload := binOf(1 + echoes*97%5000)
		start := time.Now()
		for _, s := range []step{send(binaryFrame(payload)), expectBinary(payload)} {
			if err := s.run(c); err != nil {
				t.Fatalf("well-behaved client, echo %d: %v\n%s", echoes, err, tr)
			}
		}
		slowest = max(slowest, time.Since(start))
	}
	t.Logf("%d echoes arrived while %d abusers ran; slowest took %v", echoes, len(abusers()), slowest)
}

// TestPingFloodIsBounded: a client that sends pings and never reads the
// pongs must not make the server queue pongs without limit. RFC 6455
// §10.4 asks implementations to protect themselves; a bounded server stops
// reading (so our writes block), or closes the connection. While up to
// 48 MiB of pings are offered, the heap (the server runs in this process)
// is sampled after every 4 MiB: it may grow by at most pingFloodSlack.
// Sampling during the flood matters: the server's WriteTimeout eventually
// drops the connection and frees what it queued.
func TestPingFloodIsBounded(t *testing.T) {
	const (
		offered        = 48 << 20
		sampleEvery    = 4 << 20
		pingFloodSlack = 16 << 20
	)
	addr := servertest.Start(t, srvDefault.config()).Addr
	c := upgraded(addr)
	if c == nil {
		t.Fatal("handshake failed")
	}
	defer c.close()
	var pings [][]byte
	for range 8000 {
		pings = append(pings, pingFrame(textOf(125)))
	}
	batch := join(pings...) // about 1 MiB

	heap := func() int64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return int64(ms.HeapAlloc)
	}
	before := heap()
	var grew int64
	sent, stoppedBy := 0, "all sent"
	for sent < offered && grew <= pingFloodSlack {
		_ = c.nc.SetWriteDeadline(time.Now().Add(ioTimeout))
		n, err := c.nc.Write(batch)
		if sent/sampleEvery != (sent+n)/sampleEvery {
			grew = max(grew, heap()-before)
		}
		sent += n
		if err != nil {
			stoppedBy = err.Error()
			break
		}
	}
	grew = max(grew, heap()-before)
	if grew > pingFloodSlack && stoppedBy == "all sent" {
		stoppedBy = "stopped once the heap passed the limit"
	}
	t.Logf("offered %d MiB of pings without reading (%s); the heap grew by up to %d MiB", sent>>20, stoppedBy, grew>>20)
	if grew > pingFloodSlack {
		t.Errorf("10.4/robustness/ping-flood-without-reading: %d MiB of 125-byte pings (% x ...) sent without reading the pongs made the server's heap grow by %d MiB (limit %d MiB): the pongs queue without bound.\nrule: RFC 6455 §10.4: implementations MUST protect themselves against exceeding their limits; a peer that does not read must hit the slow-consumer rule as data does (§5.5.3 also lets a server answer only the most recent of several pending pings)",
			sent>>20, pingFrame(textOf(125))[:8], grew>>20, pingFloodSlack>>20)
	}
}
