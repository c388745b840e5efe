package websocket

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// rbChunkConn serves data in pseudo-random chunks, with empty reads and a
// transient error now and then; two with the same seed behave alike as
// long as they see the same calls, which the differential test relies on.
type rbChunkConn struct {
	net.Conn // nil: only Read is used
	data     []byte
	rng      *rand.Rand
}

var errRBFlaky = errors.New("flaky")

func (c *rbChunkConn) Read(p []byte) (int, error) {
	switch c.rng.IntN(16) {
	case 0:
		return 0, nil
	case 1:
		return 0, errRBFlaky
	}
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.data[:min(len(c.data), 1+c.rng.IntN(40))])
	c.data = c.data[n:]
	if len(c.data) == 0 && c.rng.IntN(2) == 0 {
		return n, io.EOF
	}
	return n, nil
}

// TestReadBufferMatchesBufio runs random Peek/Discard/Read sequences over
// the same chunked stream through bufio.Reader and readBuffer and wants
// identical results, and no buffer held whenever nothing is buffered.
func TestReadBufferMatchesBufio(t *testing.T) {
	for seed := range uint64(200) {
		size := 16 + int(seed%3)*24
		data := make([]byte, 3000)
		for i := range data {
			data[i] = byte(i * 7)
		}
		br := bufio.NewReaderSize(&rbChunkConn{data: data, rng: rand.New(rand.NewPCG(seed, 1))}, size)
		rb := newReadBuffer(&rbChunkConn{data: data, rng: rand.New(rand.NewPCG(seed, 1))}, nil, size)
		ops := rand.New(rand.NewPCG(seed, 2))
		for step := 0; step < 400; step++ {
			var want, got string
			switch op, n := ops.IntN(3), ops.IntN(2*size+3); op {
			case 0:
				n = min(n, size+2)
				p1, e1 := br.Peek(n)
				p2, e2 := rb.Peek(n)
				want, got = fmt.Sprintf("Peek(%d) %x %v", n, p1, e1), fmt.Sprintf("Peek(%d) %x %v", n, p2, e2)
			case 1:
				n1, e1 := br.Discard(n)
				n2, e2 := rb.Discard(n)
				want, got = fmt.Sprintf("Discard(%d) %d %v", n, n1, e1), fmt.Sprintf("Discard(%d) %d %v", n, n2, e2)
			case 2:
				p1, p2 := make([]byte, n), make([]byte, n)
				n1, e1 := br.Read(p1)
				n2, e2 := rb.Read(p2)
				want, got = fmt.Sprintf("Read(%d) %x %v", n, p1[:n1], e1), fmt.Sprintf("Read(%d) %x %v", n, p2[:n2], e2)
			}
			if got != want {
				t.Fatalf("seed %d step %d: got %s, bufio %s", seed, step, got, want)
			}
			if (rb.held != nil) != (rb.Buffered() > 0) || rb.Buffered() != br.Buffered() {
				t.Fatalf("seed %d step %d: held=%v buffered=%d bufio=%d", seed, step, rb.held != nil, rb.Buffered(), br.Buffered())
			}
		}
	}
}

// rbTCPPair returns the two ends of a loopback TCP connection.
func rbTCPPair(t testing.TB) (client, server *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

// rbPair returns a connected pair over "tcp" or "pipe"; closeWrite ends
// the stream from the writer's side.
func rbPair(t *testing.T, kind string) (w net.Conn, r net.Conn, closeWrite func()) {
	if kind == "pipe" {
		a, b := net.Pipe()
		t.Cleanup(func() { a.Close(); b.Close() })
		return a, b, func() { a.Close() }
	}
	c, s := rbTCPPair(t)
	return c, s, func() { c.CloseWrite() }
}

// TestReadBufferStream reads a stream written in random chunks, with the
// head of it passed as the buffered prefix, using random operations, and
// checks every byte and the EOF at the end over TCP and net.Pipe.
func TestReadBufferStream(t *testing.T) {
	const size = 64
	for _, kind := range []string{"tcp", "pipe"} {
		for _, pre := range []int{0, 10, size, size + 7} {
			t.Run(fmt.Sprintf("%s/prefix=%d", kind, pre), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(pre), 3))
				stream := make([]byte, 20000)
				for i := range stream {
					stream[i] = byte(rng.Uint32())
				}
				w, r, closeWrite := rbPair(t, kind)
				buffered := bytes.Clone(stream[:pre])
				rb := newReadBuffer(r, buffered, size)
				defer rb.release()
				clear(buffered) // the reader must have copied it
				go func() {
					defer closeWrite()
					for rest := stream[pre:]; len(rest) > 0; {
						n := min(len(rest), 1+rng.IntN(300))
						if _, err := w.Write(rest[:n]); err != nil {
							return
						}
						rest = rest[n:]
					}
				}()
				ops := rand.New(rand.NewPCG(uint64(pre), 4))
				for pos := 0; ; {
					left := len(stream) - pos
					n := ops.IntN(2 * size)
					switch ops.IntN(3) {
					case 0:
						n = min(n, size)
						p, err := rb.Peek(n)
						if err == nil && !bytes.Equal(p, stream[pos:pos+n]) ||
							err != nil && (err != io.EOF || n <= left || !bytes.Equal(p, stream[pos:])) {
							t.Fatalf("at %d: Peek(%d) = %d bytes, %v", pos, n, len(p), err)
						}
					case 1:
						m, err := rb.Discard(n)
						if m != min(n, left) || (err != nil) != (n > left) {
							t.Fatalf("at %d: Discard(%d) = %d, %v", pos, n, m, err)
						}
						pos += m
					case 2:
						p := make([]byte, n)
						m, err := rb.Read(p)
						if !bytes.Equal(p[:m], stream[pos:pos+m]) || err != nil && err != io.EOF {
							t.Fatalf("at %d: Read(%d) = %d, %v", pos, n, m, err)
						}
						pos += m
					}
					if (rb.held != nil) != (rb.Buffered() > 0) {
						t.Fatalf("at %d: held=%v with %d buffered", pos, rb.held != nil, rb.Buffered())
					}
					if pos == len(stream) {
						if p, err := rb.Peek(1); len(p) != 0 || err != io.EOF || rb.held != nil {
							t.Fatalf("at end: Peek(1) = %q, %v, held=%v", p, err, rb.held != nil)
						}
						return
					}
				}
			})
		}
	}
}

// TestReadBufferPrefix checks that the buffered bytes, shorter or longer
// than the buffer, are copied and come before the connection's.
func TestReadBufferPrefix(t *testing.T) {
	for _, kind := range []string{"tcp", "pipe"} {
		for _, pre := range []int{1, 16, 16 + 7, 100} {
			w, r, closeWrite := rbPair(t, kind)
			want := []byte(strings.Repeat("0123456789", 10)[:pre] + "tail")
			buffered := bytes.Clone(want[:pre])
			rb := newReadBuffer(r, buffered, 16)
			clear(buffered)
			go func() { w.Write([]byte("tail")); closeWrite() }()
			got, err := io.ReadAll(rb)
			if !bytes.Equal(got, want) || err != nil || rb.held != nil {
				t.Errorf("%s/%d: read %q, %v; held=%v", kind, pre, got, err, rb.held != nil)
			}
		}
	}
}

// countingPool hands out buffers and counts those out (taken and not yet
// given back).
type countingPool struct {
	size int
	out  atomic.Int32
}

func (p *countingPool) Get() any {
	p.out.Add(1)
	b := make([]byte, p.size)
	return &b
}

func (p *countingPool) Put(any) { p.out.Add(-1) }

// rbCountingPool replaces rb's pool with a counting one and returns the
// count of buffers out.
func rbCountingPool(rb *readBuffer) *atomic.Int32 {
	p := &countingPool{size: rb.size}
	rb.pool = p
	return &p.out
}

// parkedInFill reports whether the goroutine dump stacks shows a reader
// parked in the netpoller under readBuffer.fill.
func parkedInFill(stacks string) bool {
	for _, g := range strings.Split(stacks, "\n\n") {
		if strings.Contains(g, "[IO wait") && strings.Contains(g, "(*readBuffer).fill") {
			return true
		}
	}
	return false
}

// TestReadBufferIdleWaitHoldsNoBuffer blocks a reader on an idle TCP
// connection and checks that no buffer is taken until data arrives.
func TestReadBufferIdleWaitHoldsNoBuffer(t *testing.T) {
	c, s := rbTCPPair(t)
	rb := newReadBuffer(s, nil, 4096)
	made := rbCountingPool(rb)
	done := make(chan string)
	go func() {
		p, err := rb.Peek(5)
		done <- fmt.Sprint(string(p), err)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for buf := make([]byte, 1<<16); !parkedInFill(string(buf[:runtime.Stack(buf, true)])); {
		if time.Now().After(deadline) {
			t.Fatal("reader never parked in the raw read")
		}
		runtime.Gosched()
	}
	if n := made.Load(); n != 0 {
		t.Fatalf("%d buffers held while idle", n)
	}
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r != "hello<nil>" || made.Load() != 1 {
		t.Fatalf("Peek = %q; %d buffers out", r, made.Load())
	}
	if n, err := rb.Discard(5); n != 5 || err != nil || rb.held != nil {
		t.Fatalf("Discard = %d, %v; held=%v", n, err, rb.held != nil)
	}
}

// TestReadBufferDeadline checks that a read deadline ends an idle wait
// with a timeout, without a buffer taken, and that reading goes on after.
func TestReadBufferDeadline(t *testing.T) {
	c, s := rbTCPPair(t)
	rb := newReadBuffer(s, nil, 4096)
	made := rbCountingPool(rb)
	for _, op := range []func() error{
		func() error { _, err := rb.Peek(2); return err },
		func() error { _, err := rb.Read(make([]byte, 10)); return err },
		func() error { _, err := rb.Discard(3); return err },
	} {
		s.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		err := op()
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("got %v, want a timeout", err)
		}
		if made.Load() != 0 || rb.held != nil {
			t.Fatalf("buffer taken during a wait that timed out")
		}
	}
	s.SetReadDeadline(time.Time{})
	c.Write([]byte("ab"))
	if p, err := rb.Peek(2); string(p) != "ab" || err != nil {
		t.Fatalf("after timeout: Peek = %q, %v", p, err)
	}
}

// TestReadBufferEOFAndRelease covers a short stream ending in EOF, a
// connection closed during a wait, and use after release.
func TestReadBufferEOFAndRelease(t *testing.T) {
	c, s := rbTCPPair(t)
	rb := newReadBuffer(s, []byte("x"), 4096)
	c.Write([]byte("yz"))
	c.CloseWrite()
	p, err := rb.Peek(5) // fills until EOF: "x" first, then "yz" in any chunks
	if string(p) != "xyz" || err != io.EOF {
		t.Fatalf("Peek(5) = %q, %v", p, err)
	}
	if n, err := rb.Discard(3); n != 3 || err != nil || rb.held != nil {
		t.Fatalf("Discard(3) = %d, %v, held=%v", n, err, rb.held != nil)
	}
	if n, err := rb.Read(make([]byte, 8)); n != 0 || err != io.EOF {
		t.Fatalf("Read at EOF = %d, %v", n, err)
	}

	// Closing the connection ends a wait with net.ErrClosed.
	_, s2 := rbTCPPair(t)
	rb2 := newReadBuffer(s2, nil, 4096)
	go s2.Close()
	if _, err := rb2.Peek(1); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Peek on closed conn: %v", err)
	}

	rb3 := newReadBuffer(s2, []byte("unread"), 1)
	if rb3.size != 16 {
		t.Fatalf("size %d, want bufio's minimum 16", rb3.size)
	}
	rb3.release()
	rb3.release()
	if _, err := rb3.Peek(1); err != net.ErrClosed || rb3.held != nil {
		t.Fatalf("Peek after release: %v", err)
	}
	if _, err := rb3.Read(make([]byte, 1)); err != net.ErrClosed {
		t.Fatalf("Read after release: %v", err)
	}
	if _, err := rb3.Discard(1); err != net.ErrClosed {
		t.Fatalf("Discard after release: %v", err)
	}
}

// rbReader is what the read loop uses of bufio.Reader and readBuffer.
type rbReader interface {
	Peek(int) ([]byte, error)
	Discard(int) (int, error)
	Read([]byte) (int, error)
}

// BenchmarkReadBufferIdleWait reads 16-byte messages (a 2-byte header
// peeked and discarded, then the payload), each written by the peer only
// after the previous one was acknowledged, so every read finds an empty
// socket and waits: the idle path. Ready has the message written just
// before it is read, so the wait returns at once. bufio is the baseline.
func BenchmarkReadBufferIdleWait(b *testing.B) {
	for _, ready := range []bool{false, true} {
		for _, impl := range []string{"readBuffer", "bufio"} {
			b.Run(fmt.Sprintf("ready=%v/%s", ready, impl), func(b *testing.B) {
				c, s := rbTCPPair(b)
				var r rbReader = bufio.NewReaderSize(s, 4096)
				if impl == "readBuffer" {
					rb := newReadBuffer(s, nil, 4096)
					defer rb.release()
					r = rb
				}
				msg, payload, ack := make([]byte, 16), make([]byte, 14), []byte{1}
				if !ready {
					go func() { // the peer: one message per ack
						one := make([]byte, 1)
						for {
							if _, err := c.Write(msg); err != nil {
								return
							}
							if _, err := c.Read(one); err != nil {
								return
							}
						}
					}()
				}
				b.ReportAllocs()
				for b.Loop() {
					if ready {
						c.Write(msg)
					}
					if _, err := r.Peek(2); err != nil {
						b.Fatal(err)
					}
					r.Discard(2)
					if _, err := io.ReadFull(r, payload); err != nil {
						b.Fatal(err)
					}
					if !ready {
						s.Write(ack)
					}
				}
				c.Close()
			})
		}
	}
}
