package server

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/peerconn"
	"github.com/switchboard/switchboard/internal/testutil"
)

// startPeerConnServer runs a Server with cfg on a loopback listener and
// shuts it down at cleanup.
func startPeerConnServer(t *testing.T, cfg Config) (*Server, string) {
	t.Helper()
	s := New(cfg)
	return s, testutil.Serve(t, s).Addr
}

// exchangeRaw sends raw on a new connection, half-closes it and returns
// all the server sent.
func exchangeRaw(t *testing.T, addr, raw string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	_ = c.(*net.TCPConn).CloseWrite()
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("%q: %v", raw, err)
	}
	return string(b)
}

// TestPeerConnRoutes checks that the peerconnection routes share the port
// with the web app: the protocol's paths and OPTIONS go to peerconn, the
// rest to net/http.
func TestPeerConnRoutes(t *testing.T) {
	_, addr := startPeerConnServer(t, Config{})
	const corsTail = "Access-Control-Expose-Headers: Content-Length\r\n\r\n"
	for _, tc := range []struct{ raw, prefix, contains string }{
		{"GET /sign_in?alice HTTP/1.0\r\n\r\n", "HTTP/1.1 200 Added\r\n", corsTail + "alice,1,1\n"},
		{"GET /sign_in?John Doe@pc\r\n\r\n", "HTTP/1.1 200 Added\r\n", corsTail + "John,2,1\nalice,1,1\n"},
		{"GET /wait?peer_id=1 HTTP/1.0\r\n\r\n", "HTTP/1.1 200 OK\r\n", "\r\nPragma: 1\r\n"},
		{"POST /message?peer_id=2&to=2 HTTP/1.0\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nhi", "HTTP/1.1 200 OK\r\n", corsTail + "hi"},
		{"OPTIONS /anything HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 200 OK\r\n", "\r\nContent-Length: 0\r\n"},
		{"GET /quit HTTP/1.0\r\n\r\n", "HTTP/1.1 500 Sorry\r\n", "Sorry, not yet implemented"},
		{"HEAD /wait HTTP/1.1\r\n\r\n", "HTTP/1.1 405 Method Not Allowed\r\n", "\r\nAccess-Control-Allow-Origin: *\r\n"},
		{"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 200 OK\r\n", "ok\n"},
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 200 OK\r\n", "<title>Switchboard</title>"},
		{"GET /sign_in?x HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", "HTTP/1.1 404 ", "no WebSocket endpoint"},
	} {
		got := exchangeRaw(t, addr, tc.raw)
		if !strings.HasPrefix(got, tc.prefix) || !strings.Contains(got, tc.contains) {
			t.Errorf("%q:\n got %q\nwant prefix %q containing %q", tc.raw, got, tc.prefix, tc.contains)
		}
	}
}

// TestPeerConnQuit checks that an allowed /quit from loopback closes Quit.
func TestPeerConnQuit(t *testing.T) {
	s, addr := startPeerConnServer(t, Config{PeerConn: peerconn.Config{AllowQuit: true}})
	got := exchangeRaw(t, addr, "GET /quit HTTP/1.0\r\n\r\n")
	if !strings.HasSuffix(got, "<html><body>Quitting...</body></html>") {
		t.Fatalf("/quit: %q", got)
	}
	select {
	case <-s.Quit():
	case <-time.After(5 * time.Second):
		t.Fatal("Quit not closed after /quit")
	}
}
