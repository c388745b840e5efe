package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/internal/testutil/servertest"
	"github.com/switchboard/switchboard/websocket"
)

// stalledClient opens a WebSocket to /echo over raw TCP with a small
// receive buffer, completes the handshake and then never reads again.
func stalledClient(t *testing.T, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{
		Timeout: waitTimeout,
		// A small receive buffer, set before connect so that the window
		// advertised in the handshake is small too.
		Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
			})
			return errors.Join(err, serr)
		},
	}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(waitTimeout))
	if _, err := io.WriteString(nc, upgradeRequest(addr, "/echo")); err != nil {
		t.Fatal(err)
	}
	// Read the 101 head byte by byte: nothing after it may be consumed.
	var head []byte
	b := make([]byte, 1)
	for !strings.HasSuffix(string(head), "\r\n\r\n") {
		if _, err := nc.Read(b); err != nil {
			t.Fatalf("reading the handshake reply: %v (so far %q)", err, head)
		}
		head = append(head, b[0])
	}
	if !strings.HasPrefix(string(head), "HTTP/1.1 101 ") {
		t.Fatalf("handshake reply %q, want 101", head)
	}
	_ = nc.SetDeadline(time.Time{})
	return nc
}

// TestStalledReaderDoesNotStallOthers connects a client that sends large
// messages to /echo and never reads the echoes. Its outbound queue fills
// up; meanwhile another client's round trips keep completing, and the
// stalled client is dropped by the slow-consumer rule and the write
// deadline.
func TestStalledReaderDoesNotStallOthers(t *testing.T) {
	logger, _ := captureLogs(t)
	ts := servertest.Start(t, server.Config{
		QueueMessages: 64,
		QueueBytes:    1 << 20,
		WriteTimeout:  3 * time.Second,
		PingInterval:  -1,
		Logger:        logger,
	})
	m := ts.Metrics()
	good := dial(t, ts.URL("ws", "/echo"), &websocket.DialOptions{Deflate: websocket.DeflateConfig{Disabled: true}})
	if err := good.roundTrip(websocket.OpText, []byte("warm-up")); err != nil {
		t.Fatal(err)
	}

	stalled := stalledClient(t, ts.Addr)
	// A masked binary frame of 64 KiB: FIN and opcode 2, the mask bit and
	// a 64-bit length of 0x10000, a zero mask key. That key leaves the
	// payload as it is, so the same bytes can be written again and again.
	frame := append([]byte{0x82, 0x80 | 127, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0}, randomBytes(64<<10, 1)...)
	stopPump := make(chan struct{})
	pumpDone := make(chan error, 1)
	go func() {
		// The server reads it all and queues the echoes. Bounded all the
		// same: 512 MiB, 4*waitTimeout.
		end := time.Now().Add(4 * waitTimeout)
		for i := 0; i < 8192 && time.Now().Before(end); i++ {
			select {
			case <-stopPump:
				pumpDone <- nil
				return
			default:
			}
			_ = stalled.SetWriteDeadline(time.Now().Add(waitTimeout))
			if _, err := stalled.Write(frame); err != nil {
				pumpDone <- err
				return
			}
		}
		pumpDone <- errors.New("wrote 512 MiB without the queue overflowing")
	}()
	stopOnce := sync.OnceValue(func() error {
		close(stopPump)
		return <-pumpDone
	})
	defer stopOnce()

	testutil.WaitFor(t, 4*waitTimeout, "the stalled client's queue to overflow", func() bool {
		return m.SlowConsumers.Load() > 0 || m.WriteTimeouts.Load() > 0
	})
	t.Logf("queue full: slow consumers %d, write timeouts %d, messages in %d, out %d",
		m.SlowConsumers.Load(), m.WriteTimeouts.Load(), m.MessagesIn.Load(), m.MessagesOut.Load())
	if err := stopOnce(); err != nil {
		t.Logf("stalled client's writes: %v", err)
	}

	// The stalled connection's writer is blocked in a write for up to
	// WriteTimeout; the other client is served all the same.
	start := time.Now()
	deadline := start.Add(10 * time.Second)
	msg := randomBytes(1<<10, 2)
	for i := range 200 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of 200 round trips within 10 s", i)
		}
		if err := good.roundTrip(websocket.OpBinary, msg); err != nil {
			t.Fatalf("round trip %d: %v", i, err)
		}
	}
	t.Logf("200 round trips of 1 KiB in %v", time.Since(start).Round(time.Millisecond))

	testutil.WaitFor(t, waitTimeout, "the stalled client to be dropped", func() bool { return m.Open.Load() == 1 })
	if m.SlowConsumers.Load() == 0 && m.WriteTimeouts.Load() == 0 {
		t.Errorf("stalled client dropped without a slow-consumer or write-timeout count")
	}
	t.Logf("slow consumers %d, write timeouts %d", m.SlowConsumers.Load(), m.WriteTimeouts.Load())
	// The stalled client finds its connection closed: the echoes that made
	// it to its socket, then EOF or a reset, not a read timeout.
	_ = stalled.SetReadDeadline(time.Now().Add(waitTimeout))
	n, err := io.Copy(io.Discard, stalled)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("stalled client's connection still open after it was dropped (read %d bytes)", n)
	}
	t.Logf("stalled client read %d bytes, then %v", n, err)
	if err := good.roundTrip(websocket.OpText, []byte("still here")); err != nil {
		t.Fatalf("after the drop: %v", err)
	}
}

// TestShutdownClosesWebSockets checks graceful shutdown: every client sees
// close code 1001, Shutdown returns nil, Serve returns, new connections are
// refused, and no goroutine is left behind.
func TestShutdownClosesWebSockets(t *testing.T) {
	base := runtime.NumGoroutine()
	ts := servertest.Start(t, server.Config{})
	const n = 8
	clients := make([]*client, n)
	for i := range clients {
		opts := &websocket.DialOptions{}
		opts.Deflate.Disabled = i%2 == 0
		clients[i] = dial(t, ts.URL("ws", "/echo"), opts)
		if err := clients[i].roundTrip(websocket.OpText, []byte(fmt.Sprint("client ", i))); err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
	}
	// A plain HTTP connection that has not sent its head yet.
	idle, err := net.Dial("tcp", ts.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	testutil.WaitFor(t, waitTimeout, "all connections to be open", func() bool { return ts.Metrics().Open.Load() == n })

	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := ts.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown = %v, want nil", err)
	}
	for i, cl := range clients {
		err := cl.wait(t, waitTimeout)
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.StatusGoingAway {
			t.Errorf("client %d: Run = %v, want a *websocket.CloseError with code 1001", i, err)
		}
	}
	ts.WaitServed(t)
	if open := ts.Metrics().Open.Load(); open != 0 {
		t.Errorf("%d WebSockets still open after Shutdown", open)
	}
	_ = idle.SetReadDeadline(time.Now().Add(waitTimeout))
	if _, err := idle.Read(make([]byte, 1)); err == nil {
		t.Errorf("idle connection still readable after Shutdown")
	}
	idle.Close()
	if nc, err := net.DialTimeout("tcp", ts.Addr, time.Second); err == nil {
		nc.Close()
		t.Errorf("a new connection was accepted after Shutdown")
	}
	if err := testutil.WaitGoroutines(base, waitTimeout); err != nil {
		t.Fatal(err)
	}
}

// TestHTTP checks the plain-HTTP side of the port: the handlers, and the
// replies of the front door to requests it refuses.
func TestHTTP(t *testing.T) {
	ts := servertest.Start(t, server.Config{})
	hc := &http.Client{Timeout: waitTimeout}

	t.Run("healthz", func(t *testing.T) {
		resp, err := hc.Get(ts.URL("http", "/healthz"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(body) != "ok\n" {
			t.Fatalf("GET /healthz = %d %q, want 200 \"ok\\n\"", resp.StatusCode, body)
		}
	})

	t.Run("stats", func(t *testing.T) {
		cl := dial(t, ts.URL("ws", "/echo"), nil)
		if err := cl.roundTrip(websocket.OpText, []byte("count me")); err != nil {
			t.Fatal(err)
		}
		// The echo is counted out once its write has returned, which can
		// be a moment after the client has read it: poll.
		var st server.Stats
		counted := func() bool {
			st = getStats(t, hc, ts.URL("http", "/stats"))
			return st.Connections >= 1 && st.ConnectionsOpened >= 1 && st.MessagesIn >= 1 && st.MessagesOut >= 1 && st.UptimeSeconds > 0
		}
		if !testutil.Poll(waitTimeout, counted) {
			t.Errorf("/stats = %+v, want the open connection and its message counted", st)
		}
	})

	t.Run("index", func(t *testing.T) {
		resp, err := hc.Get(ts.URL("http", "/"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.Contains(string(body), "<h1>Switchboard</h1>") {
			t.Fatalf("GET / = %d %q", resp.StatusCode, truncate(string(body), 80))
		}
	})

	t.Run("unknown-websocket-path", func(t *testing.T) {
		resp, body := rawExchange(t, ts.Addr, upgradeRequest(ts.Addr, "/nope"))
		if resp.StatusCode != 404 || !strings.Contains(string(body), "/nope") {
			t.Fatalf("upgrade to /nope = %d %q, want 404", resp.StatusCode, body)
		}
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if _, err := websocket.Dial(ctx, ts.URL("ws", "/nope"), nil); err == nil || !strings.Contains(err.Error(), "404") {
			t.Fatalf("Dial /nope = %v, want a 404 handshake error", err)
		}
	})

	t.Run("echo-without-upgrade", func(t *testing.T) {
		// Not an upgrade: the HTTP mux answers, and it has no /echo.
		resp, err := hc.Get(ts.URL("http", "/echo"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Fatalf("GET /echo without upgrade = %d, want the mux's 404", resp.StatusCode)
		}
	})

	t.Run("http10-without-host", func(t *testing.T) {
		// HTTP/1.0 has no Host header; net/http serves such requests
		// (RFC 9112 requires Host only from HTTP/1.1 on).
		resp, body := rawExchange(t, ts.Addr, "GET /healthz HTTP/1.0\r\n\r\n")
		t.Logf("HTTP/1.0 without Host: %s %q", resp.Status, body)
		if resp.StatusCode != 200 || string(body) != "ok\n" {
			t.Fatalf("HTTP/1.0 GET /healthz without Host = %d %q, want 200 \"ok\\n\"", resp.StatusCode, body)
		}
	})

	t.Run("http11-without-host", func(t *testing.T) {
		resp, body := rawExchange(t, ts.Addr, "GET /healthz HTTP/1.1\r\n\r\n")
		t.Logf("HTTP/1.1 without Host: %s %q", resp.Status, body)
		if resp.StatusCode != 400 {
			t.Fatalf("HTTP/1.1 GET /healthz without Host = %d %q, want 400", resp.StatusCode, body)
		}
	})

	t.Run("garbage", func(t *testing.T) {
		resp, body := rawExchange(t, ts.Addr, "\x16\x03\x01 this is not HTTP\r\n\r\n")
		if resp.StatusCode != 400 {
			t.Fatalf("garbage = %d %q, want 400", resp.StatusCode, body)
		}
		if cl := resp.Header.Get("Content-Length"); cl == "" || resp.ContentLength != int64(len(body)) {
			t.Fatalf("400 reply has Content-Length %q for a body of %d bytes", cl, len(body))
		}
	})

	t.Run("head-too-large", func(t *testing.T) {
		req := "GET /healthz HTTP/1.1\r\nHost: " + ts.Addr + "\r\nX-Filler: " + strings.Repeat("x", 20<<10) + "\r\n\r\n"
		resp, body := rawExchange(t, ts.Addr, req)
		if resp.StatusCode != 431 {
			t.Fatalf("20 KiB head = %d %q, want 431", resp.StatusCode, body)
		}
		if resp.ContentLength != int64(len(body)) {
			t.Errorf("431 reply has Content-Length %d for a body of %d bytes", resp.ContentLength, len(body))
		}
	})
}

// getStats fetches and strictly decodes /stats.
func getStats(t *testing.T, hc *http.Client, url string) server.Stats {
	t.Helper()
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "application/json" {
		t.Fatalf("GET /stats = %d, Content-Type %q", resp.StatusCode, ct)
	}
	var st server.Stats
	dec := json.NewDecoder(resp.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		t.Fatalf("decode /stats: %v", err)
	}
	return st
}

// TestMaxConnections checks that connections past MaxConnections get 503,
// and that a slot freed is usable again.
func TestMaxConnections(t *testing.T) {
	ts := servertest.Start(t, server.Config{MaxConnections: 2})
	cl := dial(t, ts.URL("ws", "/echo"), nil)
	// The second slot: a connection that has not sent its head.
	idle, err := net.Dial("tcp", ts.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	// Accept takes connections in order, so idle holds a slot before the
	// next one is admitted.
	resp, body := rawExchange(t, ts.Addr, "GET /healthz HTTP/1.1\r\nHost: "+ts.Addr+"\r\n\r\n")
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third connection = %d %q (Retry-After %q), want 503 with Retry-After", resp.StatusCode, body, resp.Header.Get("Retry-After"))
	}
	if err := cl.roundTrip(websocket.OpText, []byte("still served")); err != nil {
		t.Fatal(err)
	}
	// Free a slot: the idle connection goes away, and a request gets in.
	idle.Close()
	testutil.WaitFor(t, waitTimeout, "a freed slot", func() bool {
		resp, _ := rawExchange(t, ts.Addr, "GET /healthz HTTP/1.1\r\nHost: "+ts.Addr+"\r\n\r\n")
		return resp.StatusCode == 200
	})
}

// TestManyClientsEcho runs several clients at once, mixing compression,
// each doing round trips; it exercises the engine under the race detector.
func TestManyClientsEcho(t *testing.T) {
	ts := servertest.Start(t, server.Config{})
	const clients, rounds = 16, 50
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		opts := &websocket.DialOptions{}
		opts.Deflate.Disabled = i%2 == 1
		cl := dial(t, ts.URL("ws", "/echo"), opts)
		wg.Go(func() {
			for r := range rounds {
				data := randomBytes(100+r*37, uint64(i*rounds+r))
				if err := cl.roundTrip(websocket.OpBinary, data); err != nil {
					errs <- fmt.Errorf("client %d round %d: %w", i, r, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got, want := ts.Metrics().MessagesIn.Load(), int64(clients*rounds); got != want {
		t.Errorf("server counted %d messages in, want %d", got, want)
	}
}

// TestKeepaliveDropsDeadPeer checks the keepalive: a peer that never
// answers pings is dropped and counted, one that answers stays.
func TestKeepaliveDropsDeadPeer(t *testing.T) {
	ts := servertest.Start(t, server.Config{PingInterval: 100 * time.Millisecond, PingTimeout: 200 * time.Millisecond})
	m := ts.Metrics()
	alive := dial(t, ts.URL("ws", "/echo"), nil) // our client answers pings
	_ = stalledClient(t, ts.Addr)                // sends nothing, reads nothing
	testutil.WaitFor(t, waitTimeout, "the silent peer to be dropped", func() bool {
		return m.DeadPeers.Load() == 1 && m.Open.Load() == 1
	})
	if err := alive.roundTrip(websocket.OpText, []byte("alive")); err != nil {
		t.Fatalf("the client that answers pings: %v", err)
	}
	if n := m.DeadPeers.Load(); n != 1 {
		t.Errorf("%d dead peers, want 1", n)
	}
}

// TestUpgradeRefusals checks the status of each way an upgrade request can
// be wrong, sent raw.
func TestUpgradeRefusals(t *testing.T) {
	ts := servertest.Start(t, server.Config{})
	valid := upgradeRequest(ts.Addr, "/echo")
	tests := []struct {
		name    string
		request string
		status  int
		header  string // a header line the reply must have
	}{
		{"post", strings.Replace(valid, "GET ", "POST ", 1), 405, "Allow: GET"},
		{"http10", strings.Replace(valid, "HTTP/1.1", "HTTP/1.0", 1), 400, ""},
		{"no-connection-upgrade", strings.Replace(valid, "Connection: Upgrade", "Connection: keep-alive", 1), 400, ""},
		{"version-8", strings.Replace(valid, "Version: 13", "Version: 8", 1), 426, "Sec-Websocket-Version: 13"},
		{"no-key", strings.Replace(valid, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "", 1), 400, ""},
		{"short-key", strings.Replace(valid, "dGhlIHNhbXBsZSBub25jZQ==", "c2hvcnQ=", 1), 400, ""},
		{"two-keys", upgradeRequest(ts.Addr, "/echo", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="), 400, ""},
		{"foreign-origin", upgradeRequest(ts.Addr, "/echo", "Origin: http://evil.test"), 403, ""},
		{"malformed-extensions", upgradeRequest(ts.Addr, "/echo", "Sec-WebSocket-Extensions: permessage-deflate; =15"), 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := rawExchange(t, ts.Addr, tt.request)
			if resp.StatusCode != tt.status {
				t.Fatalf("%s: %s %q, want %d", tt.name, resp.Status, body, tt.status)
			}
			if tt.header != "" {
				k, v, _ := strings.Cut(tt.header, ": ")
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s: %s: %q, want %q", tt.name, k, got, v)
				}
			}
		})
	}
	if n := ts.Metrics().Opened.Load(); n != 0 {
		t.Errorf("%d WebSockets opened by refused requests, want none", n)
	}
	// An offer with an invalid parameter value is declined, not refused
	// (RFC 7692 §5).
	resp, body := rawExchange(t, ts.Addr, upgradeRequest(ts.Addr, "/echo", "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=99"))
	if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Extensions") != "" {
		t.Errorf("offer with client_max_window_bits=99: %s %q, Sec-WebSocket-Extensions %q; want 101 without the extension",
			resp.Status, body, resp.Header.Get("Sec-WebSocket-Extensions"))
	}
	// A query string is not part of the path.
	cl := dial(t, ts.URL("ws", "/echo?token=abc"), nil)
	if err := cl.roundTrip(websocket.OpText, []byte("with a query")); err != nil {
		t.Fatal(err)
	}
}

// TestUpgradeAbsoluteFormTarget sends the upgrade with its target in
// absolute form, which RFC 9112 §3.2.2 says a server MUST accept; net/http
// does, for the plain-HTTP side of the same port.
func TestUpgradeAbsoluteFormTarget(t *testing.T) {
	ts := servertest.Start(t, server.Config{})
	resp, body := rawExchange(t, ts.Addr, "GET http://"+ts.Addr+"/healthz HTTP/1.1\r\nHost: "+ts.Addr+"\r\n\r\n")
	if resp.StatusCode != 200 {
		t.Fatalf("plain GET in absolute form: %s %q", resp.Status, body)
	}
	req := strings.Replace(upgradeRequest(ts.Addr, "/echo"), "GET /echo ", "GET http://"+ts.Addr+"/echo ", 1)
	resp, body = rawExchange(t, ts.Addr, req)
	if resp.StatusCode != 101 {
		t.Fatalf("upgrade with target http://%s/echo: %s %q, want 101 as for /echo", ts.Addr, resp.Status, body)
	}
}
