package server_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/websocket"
)

// sizes are the message sizes every round-trip test sends: empty, the
// 7-bit, 16-bit and 64-bit length encodings on both sides of their limits,
// and the default MaxMessageBytes (1 MiB) exactly.
var sizes = []int{0, 1, 125, 126, 65535, 65536, 1 << 20}

// Timeouts of the helpers. They are generous: they only catch hangs on a
// shared 2-core machine running the race detector.
const (
	waitTimeout  = 15 * time.Second // a condition polled with testutil.WaitFor
	replyTimeout = 30 * time.Second // one echo of up to 1 MiB
)

// captureLogs returns a debug-level logger writing into a buffer, and the
// buffer; the logs are printed when the test fails.
func captureLogs(t testing.TB) (*slog.Logger, *testutil.SyncBuffer) {
	buf := new(testutil.SyncBuffer)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server logs:\n%s", buf.String())
		}
	})
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// message is one received WebSocket message.
type message struct {
	op   websocket.Opcode
	data []byte
}

// client is a connection of our own WebSocket client, running.
type client struct {
	*websocket.Conn
	msgs chan message
	stop chan struct{} // closed by the cleanup: the handler stops delivering
	done chan struct{} // closed when Run returned
	err  error         // Run's result, once done is closed
}

// dial connects our client to url and runs it until the test ends; the
// cleanup closes it with 1000 and waits for Run to return.
func dial(t testing.TB, url string, opts *websocket.DialOptions) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	c, err := websocket.Dial(ctx, url, opts)
	if err != nil {
		t.Fatalf("Dial %s: %v", url, err)
	}
	return runClient(t, c)
}

func runClient(t testing.TB, c *websocket.Conn) *client {
	cl := &client{Conn: c, msgs: make(chan message, 16), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(cl.done)
		cl.err = c.Run(context.Background(), websocket.HandlerFunc(func(_ *websocket.Conn, op websocket.Opcode, data []byte) {
			select {
			case cl.msgs <- message{op, data}:
			case <-cl.stop:
			}
		}))
	}()
	t.Cleanup(func() {
		close(cl.stop)
		c.Close(websocket.StatusNormalClosure, "test over")
		select {
		case <-cl.done:
		case <-time.After(waitTimeout):
			t.Errorf("client Run did not return within %v of Close", waitTimeout)
		}
	})
	return cl
}

// wait returns Run's result, failing t if Run has not returned in time.
func (cl *client) wait(t testing.TB, timeout time.Duration) error {
	t.Helper()
	select {
	case <-cl.done:
		return cl.err
	case <-time.After(timeout):
		t.Fatalf("client Run did not return within %v", timeout)
		return nil
	}
}

// next returns the next message, or an error when none came in time or
// the connection ended.
func (cl *client) next(timeout time.Duration) (message, error) {
	select {
	case m := <-cl.msgs:
		return m, nil
	case <-cl.done:
		return message{}, fmt.Errorf("connection ended: %v", cl.err)
	case <-time.After(timeout):
		return message{}, fmt.Errorf("no message within %v", timeout)
	}
}

// roundTrip sends one message and checks that the echo is identical.
func (cl *client) roundTrip(op websocket.Opcode, data []byte) error {
	if err := cl.SendMessage(op, data); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	m, err := cl.next(replyTimeout)
	if err != nil {
		return err
	}
	return checkEcho(op, data, m)
}

func checkEcho(op websocket.Opcode, data []byte, got message) error {
	if got.op != op {
		return fmt.Errorf("%v message of %d bytes came back as %v", op, len(data), got.op)
	}
	if !bytes.Equal(got.data, data) {
		return fmt.Errorf("%v message of %d bytes came back different (%d bytes)", op, len(data), len(got.data))
	}
	return nil
}

// utf8Text returns exactly n bytes of valid UTF-8 mixing 1- to 4-byte
// characters, so that characters straddle frame and buffer boundaries.
func utf8Text(n int) []byte {
	chars := []string{"a", "é", "€", "😀", "Z", "ß", "中", "𝄞"}
	b := make([]byte, 0, n)
	for i := 0; len(b) < n; i++ {
		c := chars[i%len(chars)]
		if len(b)+len(c) > n {
			c = strings.Repeat("a", n-len(b))
		}
		b = append(b, c...)
	}
	return b
}

// randomBytes returns n pseudo-random bytes, the same for the same seed.
func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 's', 'b'})
	_, _ = r.Read(b)
	return b
}

// payloads returns the messages of a round-trip run: a text and a binary
// message of every size in sizes.
func payloads() []message {
	var ms []message
	for i, n := range sizes {
		ms = append(ms, message{websocket.OpText, utf8Text(n)}, message{websocket.OpBinary, randomBytes(n, uint64(i))})
	}
	return ms
}

// rawExchange sends raw request bytes on a new TCP connection and returns
// the parsed response and its body.
func rawExchange(t testing.TB, addr, request string) (*http.Response, []byte) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, waitTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(waitTimeout))
	if _, err := io.WriteString(nc, request); err != nil {
		t.Fatalf("write request: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		t.Fatalf("read response to %q: %v", truncate(request, 80), err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp, body
}

// upgradeRequest is a valid WebSocket upgrade request head for path on host.
func upgradeRequest(host, path string, extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n", path, host)
	b.WriteString("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n")
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
