package peerconn

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/frontdoor"
	"github.com/switchboard/switchboard/internal/httphead"
	"github.com/switchboard/switchboard/internal/testutil"
)

const waitFor = 5 * time.Second

// The fixed header blocks of the reference layout (docs/peerconnection.md,
// "Responses"), written out independently of the
// package's encoder.
const (
	tHDR  = "Server: PeerConnectionTestServer/0.1\r\nCache-Control: no-cache\r\nConnection: close\r\n"
	tCORS = "Access-Control-Allow-Origin: *\r\n" +
		"Access-Control-Allow-Credentials: true\r\n" +
		"Access-Control-Allow-Methods: POST, GET, OPTIONS\r\n" +
		"Access-Control-Allow-Headers: Content-Type, Content-Length, Connection, Cache-Control\r\n" +
		"Access-Control-Expose-Headers: Content-Length\r\n"
)

// want builds an expected response: pragma "" means no Pragma line,
// ctype "" no Content-Type line.
func want(status, ctype, pragma, body string) string {
	var b strings.Builder
	b.WriteString("HTTP/1.1 " + status + "\r\n" + tHDR)
	if ctype != "" {
		b.WriteString("Content-Type: " + ctype + "\r\n")
	}
	b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n")
	if pragma != "" {
		b.WriteString("Pragma: " + pragma + "\r\n")
	}
	b.WriteString(tCORS + "\r\n" + body)
	return b.String()
}

var (
	wantSorry    = want("500 Sorry", "text/html", "", "<html><body>Sorry, not yet implemented</body></html>")
	wantPeerGone = want("500 Error", "text/plain", "", "Peer most likely gone.")
	wantEmptyOK  = want("200 OK", "text/plain", "", "")
	wantOptions  = want("200 OK", "", "", "")
)

// testServer is a Service behind a front door on a loopback listener, like
// the reference server: every request goes to the Service.
type testServer struct {
	svc  *Service
	fd   *frontdoor.Server
	addr string
}

func startServer(t testing.TB, cfg Config, fdc frontdoor.Config) *testServer {
	return startServerOn(t, "127.0.0.1:0", cfg, fdc)
}

func startServerOn(t testing.TB, laddr string, cfg Config, fdc frontdoor.Config) *testServer {
	t.Helper()
	if cfg.Linger == 0 {
		cfg.Linger = waitFor
	}
	svc := New(cfg)
	fd := &frontdoor.Server{Config: fdc}
	fd.Route = func(*httphead.Request) frontdoor.ConnHandler { return svc }
	return serveOn(t, laddr, svc, fd)
}

// serveOn serves fd, whose routes lead to svc, on a listener at laddr
// until the test ends.
func serveOn(t testing.TB, laddr string, svc *Service, fd *frontdoor.Server) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", laddr)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- fd.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		if err := fd.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		svc.Close()
		if err := <-served; !errors.Is(err, frontdoor.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return &testServer{svc: svc, fd: fd, addr: ln.Addr().String()}
}

func (s *testServer) dial(t testing.TB) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.addr, waitFor)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// do sends raw on a new connection, half-closes it and returns everything
// the server sent until it closed.
func (s *testServer) do(t testing.TB, raw string) string {
	t.Helper()
	c := s.dial(t)
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	return readAll(t, c)
}

// expect is do plus a byte comparison.
func (s *testServer) expect(t testing.TB, raw, wantResp string) {
	t.Helper()
	if got := s.do(t, raw); got != wantResp {
		t.Errorf("%q:\n got %q\nwant %q", raw, got, wantResp)
	}
}

// wait sends a /wait on a new connection and returns the connection once
// the request is parked (or answered: then the response is readable).
func (s *testServer) wait(t testing.TB, id int) *net.TCPConn {
	t.Helper()
	c := s.dial(t)
	if _, err := io.WriteString(c, "GET /wait?peer_id="+strconv.Itoa(id)+" HTTP/1.0\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	return c
}

// parkedWait is wait, and then polls until parked more waits are parked.
func (s *testServer) parkedWait(t testing.TB, id, parked int) *net.TCPConn {
	t.Helper()
	c := s.wait(t, id)
	s.waitParked(t, parked)
	return c
}

func (s *testServer) waitParked(t testing.TB, n int) {
	t.Helper()
	testutil.WaitFor(t, waitFor, "parked waits", func() bool { return s.svc.Channel().Stats().Parked == n })
}

func readAll(t testing.TB, c net.Conn) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(waitFor))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read: %v (after %q)", err, b)
	}
	return string(b)
}

// readResponse reads exactly one response (head plus Content-Length body)
// from c without waiting for the connection to close.
func readResponse(t testing.TB, c net.Conn) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(waitFor))
	var b []byte
	buf := make([]byte, 4096)
	for {
		if i := bytes.Index(b, []byte("\r\n\r\n")); i >= 0 {
			head := string(b[:i+4])
			_, rest, ok := strings.Cut(head, "\r\nContent-Length: ")
			if !ok {
				t.Fatalf("response without Content-Length: %q", head)
			}
			n, err := strconv.Atoi(rest[:strings.Index(rest, "\r\n")])
			if err != nil {
				t.Fatalf("bad Content-Length in %q", head)
			}
			if len(b) >= i+4+n {
				return string(b[:i+4+n])
			}
		}
		m, err := c.Read(buf)
		b = append(b, buf[:m]...)
		if err != nil {
			t.Fatalf("read: %v (after %q)", err, b)
		}
	}
}

// finish reads the one response on c, then closes the write side and
// checks that nothing follows the response.
func finish(t testing.TB, c *net.TCPConn) string {
	t.Helper()
	r := readResponse(t, c)
	_ = c.CloseWrite()
	if rest := readAll(t, c); rest != "" {
		t.Errorf("bytes after the response: %q", rest)
	}
	return r
}

// silent checks that nothing arrives on c for a moment.
func silent(t testing.TB, c net.Conn, d time.Duration) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	var buf [1]byte
	n, err := c.Read(buf[:])
	var ne net.Error
	if n != 0 || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("parked wait not silent: n=%d err=%v", n, err)
	}
	_ = c.SetReadDeadline(time.Time{})
}

func signIn(name string) string { return "GET /sign_in?" + name + " HTTP/1.0\r\n\r\n" }

func post(from, to int, ctype, body string) string {
	return "POST /message?peer_id=" + strconv.Itoa(from) + "&to=" + strconv.Itoa(to) +
		" HTTP/1.0\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\nContent-Type: " + ctype + "\r\n\r\n" + body
}

func signOut(id int) string { return "GET /sign_out?peer_id=" + strconv.Itoa(id) + " HTTP/1.0\r\n\r\n" }

func itoa(n int) string { return strconv.Itoa(n) }

// frontdoorConfig is the front door's default configuration.
func frontdoorConfig() frontdoor.Config { return frontdoor.Config{} }
