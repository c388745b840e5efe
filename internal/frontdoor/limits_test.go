package frontdoor

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/httphead"
	"github.com/switchboard/switchboard/internal/testutil"
)

// A request body that never arrives no longer holds its connection: heads
// of POST /healthz with Content-Length: 100000 and then silence held
// connections for good (net/http drains an unread body after the reply,
// with no deadline), and with the connection cap full everyone got 503
// (issue 16, item 11).
func TestHTTPBodyTimeout(t *testing.T) {
	testutil.CheckGoroutines(t, waitFor)
	readErr := make(chan error, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("POST /upload", func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		readErr <- err
	})
	s := &Server{Config: Config{BodyReadTimeout: 100 * time.Millisecond}, HTTP: mux}
	addr := testutil.Serve(t, s).Addr

	// The handler never reads the body (405): the reply, then the close.
	c := dial(t, addr)
	write(t, c, "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n0123456789")
	if got := readToEOF(t, c); !strings.HasPrefix(got, "HTTP/1.1 405 ") {
		t.Errorf("unread body: got %.80q, want a 405 and the close", got)
	}

	// The handler reads the body: its read fails at the deadline.
	c = dial(t, addr)
	write(t, c, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n0123456789")
	var ne net.Error
	if err := recv(t, readErr, "the handler's read to fail"); !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("reading the stalled body: %v, want a timeout", err)
	}
	readToEOF(t, c)
	testutil.WaitFor(t, waitFor, "connections released", func() bool { return s.Stats().Active == 0 })
}

// holdServer serves /hold with a handler that keeps the connection until
// the test ends, reporting each entry on entered.
func holdServer(t *testing.T, cfg Config) (addr string, s *Server, entered chan struct{}) {
	entered = make(chan struct{}, 8)
	h := ConnHandlerFunc(func(ctx context.Context, nc net.Conn, _ *httphead.Request, _ []byte) {
		entered <- struct{}{}
		<-ctx.Done()
	})
	s = &Server{Config: cfg, Route: routeTo("/hold", h)}
	return testutil.Serve(t, s).Addr, s, entered
}

// dialFrom connects to addr from the loopback address local (127.0.0.2
// and the like are all loopback on Linux).
func dialFrom(t *testing.T, local, addr string) *net.TCPConn {
	t.Helper()
	d := net.Dialer{Timeout: waitFor, LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", local, err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// One address cannot take more than MaxConnectionsPerIP connections;
// another address still gets in, and a closed connection frees its place.
func TestMaxConnectionsPerIP(t *testing.T) {
	testutil.CheckGoroutines(t, waitFor)
	addr, s, entered := holdServer(t, Config{MaxConnectionsPerIP: 2, CapLoopback: true})
	for range 2 {
		c := dialFrom(t, "127.0.0.1", addr)
		write(t, c, "GET /hold HTTP/1.0\r\n\r\n")
		recv(t, entered, "a handler")
	}
	over := dialFrom(t, "127.0.0.1", addr)
	resp, body := readReply(t, over)
	if resp.StatusCode != 503 || body != "too many connections from your address\n" || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("over the cap: %d %q %v", resp.StatusCode, body, resp.Header)
	}

	other := dialFrom(t, "127.0.0.2", addr)
	write(t, other, "GET /hold HTTP/1.0\r\n\r\n")
	recv(t, entered, "the other address's handler")
	if st := s.Stats(); st.Rejected.OverIPCap != 1 || st.Rejected.OverCapacity != 0 || st.Active != 3 {
		t.Errorf("stats = %+v", st)
	}
}

// A connection that ends frees its place under MaxConnectionsPerIP.
func TestMaxConnectionsPerIPRelease(t *testing.T) {
	testutil.CheckGoroutines(t, waitFor)
	s := &Server{
		Config: Config{MaxConnectionsPerIP: 1, CapLoopback: true},
		HTTP:   http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }),
	}
	addr := testutil.Serve(t, s).Addr
	for i := range 3 {
		c := dialFrom(t, "127.0.0.3", addr)
		write(t, c, "GET /healthz HTTP/1.0\r\n\r\n")
		if got := readToEOF(t, c); !strings.HasPrefix(got, "HTTP/1.0 200 ") {
			t.Fatalf("request %d: %.80q", i, got)
		}
		c.Close()
		testutil.WaitFor(t, waitFor, "the connection released", func() bool { return s.Stats().Active == 0 })
	}
	if st := s.Stats(); st.Rejected.OverIPCap != 0 {
		t.Errorf("stats = %+v", st)
	}
}

// Loopback clients are not capped unless CapLoopback is set, so a local
// reverse proxy and `switchboard bench` are not limited.
func TestMaxConnectionsPerIPExemptsLoopback(t *testing.T) {
	testutil.CheckGoroutines(t, waitFor)
	addr, s, entered := holdServer(t, Config{MaxConnectionsPerIP: 1})
	for range 3 {
		c := dialFrom(t, "127.0.0.1", addr)
		write(t, c, "GET /hold HTTP/1.0\r\n\r\n")
		recv(t, entered, "a handler")
	}
	if st := s.Stats(); st.Rejected.OverIPCap != 0 || st.Active != 3 {
		t.Errorf("stats = %+v", st)
	}
}

// fakeConn is a net.Conn with a given remote address.
type fakeConn struct {
	net.Conn
	remote net.Addr
}

func (c fakeConn) RemoteAddr() net.Addr { return c.remote }

func TestIPKey(t *testing.T) {
	s := &Server{}
	s.cfg = Config{MaxConnectionsPerIP: 1}.withDefaults()
	for _, tc := range []struct {
		remote string
		want   string // "" means not capped
	}{
		{"192.0.2.7:1", "192.0.2.7"},
		{"[::ffff:192.0.2.7]:1", "192.0.2.7"},
		{"[2001:db8:1:2:3:4:5:6]:1", "2001:db8:1:2::"},
		{"[2001:db8:1:2:ffff::1]:1", "2001:db8:1:2::"},
		{"127.0.0.2:1", ""},
		{"[::1]:1", ""},
	} {
		ap := netip.MustParseAddrPort(tc.remote)
		got, capped := s.ipKey(fakeConn{remote: net.TCPAddrFromAddrPort(ap)})
		if (tc.want == "") == capped || (capped && got.String() != tc.want) {
			t.Errorf("%s: key %v, capped %v; want %q", tc.remote, got, capped, tc.want)
		}
	}
	s.cfg.CapLoopback = true
	if got, capped := s.ipKey(fakeConn{remote: &net.TCPAddr{IP: net.IPv6loopback}}); !capped || got.String() != "::" {
		t.Errorf("::1 with CapLoopback: %v %v", got, capped)
	}
	s.cfg.MaxConnectionsPerIP = 0
	if _, capped := s.ipKey(fakeConn{remote: &net.TCPAddr{IP: net.IPv4(192, 0, 2, 7)}}); capped {
		t.Error("capped without MaxConnectionsPerIP")
	}
}

// The body deadline ends once the body is read: a handler that runs long
// afterwards (a long poll, a stream) keeps its request context, even after
// a stalled body elsewhere was cut by the same timeout.
func TestHTTPBodyTimeoutSparesLongHandlers(t *testing.T) {
	testutil.CheckGoroutines(t, waitFor)
	entered := make(chan string, 2)
	release := make(chan struct{})
	result := make(chan error, 2)
	mux := http.NewServeMux()
	long := func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			result <- err
			return
		}
		entered <- string(body)
		select {
		case <-release:
			result <- nil
			io.WriteString(w, "done")
		case <-r.Context().Done():
			result <- context.Cause(r.Context())
		}
	}
	mux.HandleFunc("GET /long", long)
	mux.HandleFunc("POST /long", long)
	s := &Server{Config: Config{BodyReadTimeout: 100 * time.Millisecond}, HTTP: mux}
	addr := testutil.Serve(t, s).Addr

	get := dial(t, addr)
	write(t, get, "GET /long HTTP/1.1\r\nHost: x\r\n\r\n")
	recv(t, entered, "the GET handler")
	post := dial(t, addr)
	write(t, post, "POST /long HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
	recv(t, entered, "the POST handler")

	// A stalled body, cut by the timeout, proves that it has passed.
	stalled := dial(t, addr)
	write(t, stalled, "POST /long HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n0123")
	var ne net.Error
	if err := recv(t, result, "the stalled body to be cut"); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("stalled body: %v, want a timeout", err)
	}
	readToEOF(t, stalled)

	close(release)
	for range 2 {
		if err := recv(t, result, "a long handler"); err != nil {
			t.Errorf("a long handler's context ended: %v", err)
		}
	}
	for _, c := range []net.Conn{get, post} {
		if got := readToEOF(t, c); !strings.HasSuffix(got, "done") {
			t.Errorf("long handler replied %.80q", got)
		}
	}
}
