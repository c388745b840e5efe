package websocket

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/httphead"
)

// testServer accepts WebSocket connections on loopback with opts and
// serves them with h, tracking every goroutine it starts.
type testServer struct {
	URL     string
	Metrics *Metrics
	ln      net.Listener
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func startServer(t testing.TB, opts AcceptOptions, h Handler) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if opts.Metrics == nil {
		opts.Metrics = new(Metrics)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &testServer{URL: "ws://" + ln.Addr().String() + "/", Metrics: opts.Metrics, ln: ln, cancel: cancel}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer nc.Close()
				req, rest, err := readHead(nc)
				if err != nil {
					return
				}
				c, err := Accept(nc, headRequest(req), rest, &opts)
				if err != nil {
					return
				}
				c.Run(ctx, h)
			}()
		}
	}()
	t.Cleanup(s.stop)
	return s
}

func (s *testServer) stop() {
	s.cancel()
	s.ln.Close()
	s.wg.Wait()
}

func readHead(nc net.Conn) (*httphead.Request, []byte, error) {
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	defer nc.SetReadDeadline(time.Time{})
	buf := make([]byte, 0, 4096)
	for {
		n, err := nc.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		req, used, perr := httphead.ParseRequest(buf, cap(buf))
		if perr == nil {
			return req, buf[used:], nil
		}
		if !errors.Is(perr, httphead.ErrIncomplete) {
			return nil, nil, perr
		}
		if err != nil {
			return nil, nil, err
		}
	}
}

var echoHandler = HandlerFunc(func(c *Conn, op Opcode, data []byte) {
	_ = c.SendMessage(op, data)
})

// inbox collects a client's messages.
type inbox struct {
	ch chan msg
}

type msg struct {
	op   Opcode
	data []byte
}

func (in *inbox) OnMessage(_ *Conn, op Opcode, data []byte) { in.ch <- msg{op, data} }

func (in *inbox) next(t *testing.T) msg {
	t.Helper()
	select {
	case m := <-in.ch:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no message within 10 s")
		return msg{}
	}
}

// dialRun dials url and runs the connection in the background; the
// returned channel yields Run's result.
func dialRun(t *testing.T, url string, opts *DialOptions) (*Conn, *inbox, <-chan error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, url, opts)
	if err != nil {
		t.Fatal(err)
	}
	in := &inbox{ch: make(chan msg, 64)}
	done := make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		done <- c.Run(context.Background(), in)
	}()
	t.Cleanup(func() {
		c.Close(StatusNormalClosure, "")
		// A test that failed may leave the inbox full, and the reader
		// waiting on it: drain it so that the close can finish.
		go func() {
			for {
				select {
				case <-in.ch:
				case <-finished:
					return
				}
			}
		}()
		<-finished
	})
	return c, in, done
}

func waitErr(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(15 * time.Second):
		t.Fatal("connection did not end within 15 s")
		return nil
	}
}

func TestEchoRoundTrip(t *testing.T) {
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprintf("compress=%v", compress), func(t *testing.T) {
			srv := startServer(t, AcceptOptions{Config: Config{FragmentSize: 64 << 10}}, echoHandler)
			opts := &DialOptions{Deflate: DeflateConfig{Disabled: !compress}}
			c, in, _ := dialRun(t, srv.URL, opts)
			if c.Compressed() != compress {
				t.Fatalf("Compressed() = %v", c.Compressed())
			}
			for _, size := range []int{0, 1, 125, 126, 65535, 65536, 1 << 20} {
				bin := make([]byte, size)
				rand.Read(bin)
				text := bytes.Repeat([]byte("é"), size/2)
				for _, m := range []msg{{OpBinary, bin}, {OpText, text}} {
					if err := c.SendMessage(m.op, m.data); err != nil {
						t.Fatal(err)
					}
					got := in.next(t)
					if got.op != m.op || !bytes.Equal(got.data, m.data) {
						t.Fatalf("size %d %s: got %s of %d bytes", size, m.op, got.op, len(got.data))
					}
				}
			}
		})
	}
}

func TestCloseHandshakeReportsCodes(t *testing.T) {
	srv := startServer(t, AcceptOptions{}, HandlerFunc(func(c *Conn, op Opcode, data []byte) {
		c.Close(StatusCode(4321), string(data))
	}))
	c, _, done := dialRun(t, srv.URL, nil)
	if err := c.SendMessage(OpText, []byte("bye now")); err != nil {
		t.Fatal(err)
	}
	err := waitErr(t, done)
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Code != 4321 || ce.Reason != "bye now" {
		t.Fatalf("Run = %v, want 4321 bye now", err)
	}
}

func TestCancelSendsGoingAway(t *testing.T) {
	srv := startServer(t, AcceptOptions{}, echoHandler)
	_, _, done := dialRun(t, srv.URL, nil)
	srv.stop()
	if code := CloseStatus(waitErr(t, done)); code != StatusGoingAway {
		t.Fatalf("close code %d, want 1001", code)
	}
}

func TestMessageTooBig(t *testing.T) {
	srv := startServer(t, AcceptOptions{Config: Config{MaxMessageBytes: 1000}}, echoHandler)
	c, _, done := dialRun(t, srv.URL, &DialOptions{Deflate: DeflateConfig{Disabled: true}})
	_ = c.SendMessage(OpBinary, make([]byte, 1001))
	if code := CloseStatus(waitErr(t, done)); code != StatusMessageTooBig {
		t.Fatalf("close code %d, want 1009", code)
	}
	if srv.Metrics.ProtocolErrors.Load() != 1 {
		t.Fatalf("ProtocolErrors = %d", srv.Metrics.ProtocolErrors.Load())
	}
}

func TestCompressedBombIsTooBig(t *testing.T) {
	srv := startServer(t, AcceptOptions{Config: Config{MaxMessageBytes: 64 << 10}}, echoHandler)
	c, _, done := dialRun(t, srv.URL, nil)
	if !c.Compressed() {
		t.Fatal("compression not negotiated")
	}
	// 8 MiB of zeros compress to a few KB, under the wire limit.
	_ = c.SendMessage(OpBinary, make([]byte, 8<<20))
	if code := CloseStatus(waitErr(t, done)); code != StatusMessageTooBig {
		t.Fatalf("close code %d, want 1009", code)
	}
}

// TestSlowConsumerIsClosed fills the queue of a client that never reads
// and checks the slow-consumer rule: ErrQueueFull, a count, and the
// connection gone within the write deadline.
func TestSlowConsumerIsClosed(t *testing.T) {
	seen := make(chan *Conn, 1)
	srv := startServer(t, AcceptOptions{Config: Config{QueueMessages: 16, QueueBytes: 1 << 20, WriteTimeout: 500 * time.Millisecond}},
		HandlerFunc(func(c *Conn, op Opcode, data []byte) { seen <- c }))
	nc, err := net.Dial("tcp", srv.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(4096)
	}
	u := mustURL(t, srv.URL)
	key := newKey()
	if _, err := nc.Write(clientRequest(u, key, nil, "", "", nil)); err != nil {
		t.Fatal(err)
	}
	// Read just the 101, then never read again.
	head := make([]byte, 0, 1024)
	for {
		n, err := nc.Read(head[len(head):cap(head)])
		head = head[:len(head)+n]
		if _, _, perr := httphead.ParseResponse(head, cap(head)); perr == nil {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	mask := [4]byte{1, 2, 3, 4}
	if _, err := nc.Write(appendFrame(nil, OpText, true, false, &mask, []byte("hi"))); err != nil {
		t.Fatal(err)
	}
	var c *Conn
	select {
	case c = <-seen:
	case <-time.After(10 * time.Second):
		t.Fatal("server never saw the message")
	}
	big := NewPreparedMessage(OpBinary, make([]byte, 64<<10))
	var sendErr error
	for i := 0; i < 10000 && sendErr == nil; i++ {
		sendErr = c.Send(big)
	}
	if !errors.Is(sendErr, ErrQueueFull) && !errors.Is(sendErr, ErrClosed) {
		t.Fatalf("Send error = %v, want ErrQueueFull", sendErr)
	}
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("slow consumer not dropped")
	}
	if srv.Metrics.SlowConsumers.Load()+srv.Metrics.WriteTimeouts.Load() == 0 {
		t.Fatal("drop not counted")
	}
}

func TestDeadPeerDropped(t *testing.T) {
	srv := startServer(t, AcceptOptions{Config: Config{PingInterval: 100 * time.Millisecond, PingTimeout: 100 * time.Millisecond}}, echoHandler)
	nc, err := net.Dial("tcp", srv.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := nc.Write(clientRequest(mustURL(t, srv.URL), newKey(), nil, "", "", nil)); err != nil {
		t.Fatal(err)
	}
	// Never answer the pings: the server must hang up on its own.
	_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, nc); err != nil {
		t.Fatalf("server did not close a silent peer: %v", err)
	}
	if srv.Metrics.DeadPeers.Load() != 1 {
		t.Fatalf("DeadPeers = %d", srv.Metrics.DeadPeers.Load())
	}
}

func TestPingsKeepAnsweringPeerAlive(t *testing.T) {
	srv := startServer(t, AcceptOptions{Config: Config{PingInterval: 50 * time.Millisecond, PingTimeout: 500 * time.Millisecond}}, echoHandler)
	c, in, _ := dialRun(t, srv.URL, nil)
	// Our client answers pings by itself; after many ping periods the
	// connection still echoes.
	deadline := time.Now().Add(2 * time.Second)
	for i := 0; time.Now().Before(deadline); i++ {
		if err := c.SendMessage(OpText, []byte("still here")); err != nil {
			t.Fatal(err)
		}
		if got := in.next(t); string(got.data) != "still here" {
			t.Fatalf("got %q", got.data)
		}
	}
	if srv.Metrics.DeadPeers.Load() != 0 {
		t.Fatal("a live peer was dropped")
	}
}

func TestSendAfterCloseFails(t *testing.T) {
	srv := startServer(t, AcceptOptions{}, echoHandler)
	c, _, done := dialRun(t, srv.URL, nil)
	c.Close(StatusNormalClosure, "done")
	if err := c.SendMessage(OpText, []byte("late")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Close = %v, want ErrClosed", err)
	}
	if code := CloseStatus(waitErr(t, done)); code != StatusNormalClosure {
		t.Fatalf("code %d", code)
	}
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
