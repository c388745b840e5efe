package peerconn

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/frontdoor"
	"github.com/switchboard/switchboard/internal/httphead"
	"github.com/switchboard/switchboard/internal/testutil"
)

// The front door's head and body timeouts cut stalled requests, never a parked
// /wait, which legitimately hangs (docs/peerconnection.md, "Members, queues and
// expiry"): a wait parked before a stalled head and a stalled HTTP body were
// both cut is still parked, and is answered by the next sign-in.
func TestTimeoutsSpareParkedWait(t *testing.T) {
	testutil.CheckGoroutines(t, waitFor)
	const short = 100 * time.Millisecond
	svc := New(Config{Linger: waitFor, ReadTimeout: short})
	fd := &frontdoor.Server{
		Config: frontdoor.Config{HeadReadTimeout: short, BodyReadTimeout: short},
		Route: func(req *httphead.Request) frontdoor.ConnHandler {
			if IsRoute(req.Method, req.Target) {
				return svc
			}
			return nil // to net/http
		},
		HTTP: http.NotFoundHandler(), // never reads a body
	}
	s := serveOn(t, "127.0.0.1:0", svc, fd)

	s.do(t, signIn("alice"))
	w := s.parkedWait(t, 1, 1)

	// Each is answered, then closed by the server (the peerconnection 408
	// lingers for the client to close first).
	for _, stalled := range []struct {
		raw, reply string
		closed     bool
	}{
		{"", "HTTP/1.1 408 ", true}, // no head
		{"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n0123", "HTTP/1.1 404 ", true},                             // no body, net/http
		{"POST /message?peer_id=1&to=1 HTTP/1.0\r\nContent-Length: 100\r\nContent-Type: text/plain\r\n\r\nab", "HTTP/1.1 408 ", false}, // no body, peerconn
	} {
		c := s.dial(t)
		if _, err := c.Write([]byte(stalled.raw)); err != nil {
			t.Fatal(err)
		}
		var got string
		if stalled.closed {
			got = readAll(t, c)
		} else {
			got = readResponse(t, c)
		}
		if !strings.HasPrefix(got, stalled.reply) {
			t.Errorf("stalled %.40q: got %.80q, want %q", stalled.raw, got, stalled.reply)
		}
		c.Close()
	}

	if st := svc.Channel().Stats(); st.Parked != 1 {
		t.Fatalf("after the timeouts: %+v, want alice's wait parked", st)
	}
	s.do(t, signIn("bob"))
	if got, exp := readResponse(t, w), want("200 OK", "text/plain", "1", "bob,2,1\n"); got != exp {
		t.Errorf("the parked wait got %q\nwant %q", got, exp)
	}
}
