package peerconn

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/frontdoor"
	"github.com/switchboard/switchboard/internal/testutil"
)

// /quit is 500 Sorry by default and the server keeps running.
func TestConformance18QuitDisabled(t *testing.T) {
	s := startServer(t, Config{}, frontdoorConfig())
	s.do(t, signIn("alice"))
	s.expect(t, "GET /quit HTTP/1.0\r\n\r\n", wantSorry)
	s.expect(t, "GET /quit HTTP/1.1\r\nHost: localhost\r\n\r\n", wantSorry)
	s.expect(t, signIn("bob"), want("200 Added", "text/plain", "2", "bob,2,1\nalice,1,1\n"))
}

// With the switch on: the Quitting page, "Server shutting down" to
// parked waits (no Pragma), members dropped, OnQuit called.
func TestConformance18QuitEnabled(t *testing.T) {
	testutil.CheckGoroutines(t, waitFor)
	var quits atomic.Int32
	s := startServer(t, Config{AllowQuit: true, OnQuit: func() { quits.Add(1) }}, frontdoorConfig())
	s.do(t, signIn("alice"))
	s.do(t, signIn("bob"))
	finish(t, s.wait(t, 1))
	wa := s.parkedWait(t, 1, 1)
	wb := s.parkedWait(t, 2, 2)
	quitting := want("200 OK", "text/html", "", "<html><body>Quitting...</body></html>")
	if !strings.Contains(quitting, "Content-Length: 37\r\n") {
		t.Fatal("quitting page is not 37 bytes")
	}
	s.expect(t, "GET /quit HTTP/1.0\r\n\r\n", quitting)
	shutdown := want("200 OK", "text/plain", "", "Server shutting down")
	for _, w := range []*net.TCPConn{wa, wb} {
		if got := finish(t, w); got != shutdown {
			t.Errorf("parked wait:\n got %q\nwant %q", got, shutdown)
		}
	}
	if n := quits.Load(); n != 1 {
		t.Errorf("OnQuit called %d times, want 1", n)
	}
	if st := s.svc.Channel().Stats(); st.Members != 0 {
		t.Errorf("%d members after /quit, want 0", st.Members)
	}
}

// /quit from a client that is not on loopback is refused even when enabled.
func TestQuitNotFromLoopback(t *testing.T) {
	ch := NewChannel(Config{AllowQuit: true})
	out := ch.Dispatch(Request{Method: "GET", Target: "/quit"}, time.Now())
	if string(out.Response) != wantSorry || out.Quit {
		t.Errorf("non-loopback /quit: %q quit=%v", out.Response, out.Quit)
	}
	out = ch.Dispatch(Request{Method: "GET", Target: "/quit", Loopback: true}, time.Now())
	if !out.Quit {
		t.Error("loopback /quit refused")
	}
}

// Bad input is answered with a status, never hung.
func TestConformance20BadInput(t *testing.T) {
	s := startServer(t, Config{}, frontdoorConfig())
	s.do(t, signIn("alice"))
	s.do(t, signIn("bob"))
	bad := func(reason string) string { return want("400 Bad Request", "text/plain", "", reason+"\n") }
	for _, tc := range []struct{ raw, want string }{
		{"HEAD / HTTP/1.1\r\n\r\n", want("405 Method Not Allowed", "text/plain", "", "method not allowed: use GET, POST or OPTIONS\n")},
		{"get /sign_in?x HTTP/1.0\r\n\r\n", want("405 Method Not Allowed", "text/plain", "", "method not allowed: use GET, POST or OPTIONS\n")},
		{"POST /message?peer_id=2&to=1 HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi", bad("missing Content-Type")},
		{"POST /message?peer_id=2&to=1 HTTP/1.0\r\nContent-Length: 0\r\nContent-Type: text/plain\r\n\r\n", bad("empty body: Content-Length must be at least 1")},
		{"POST /message?peer_id=2&to=1 HTTP/1.0\r\nContent-Type: text/plain\r\n\r\nhi", bad("missing Content-Length")},
		{"POST /message?peer_id=2&to=1 HTTP/1.0\r\nContent-Length: -2\r\nContent-Type: text/plain\r\n\r\nhi", bad("invalid Content-Length")},
		{"POST /message?peer_id=2&to=1 HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n2\r\nhi\r\n0\r\n\r\n", bad("Transfer-Encoding is not supported: send Content-Length")},
		{"GET /message?peer_id=2&to=1 HTTP/1.0\r\n\r\n", bad("a message needs a POST body")},
		{"POST /message?peer_id=2&to=1 HTTP/1.0\r\nContent-Length: 1048577\r\nContent-Type: text/plain\r\n\r\n", want("413 Payload Too Large", "text/plain", "", "body larger than 1048576 bytes\n")},
	} {
		s.expect(t, tc.raw, tc.want)
	}
	// Answered by the front door's lenient parser, with Content-Length.
	for _, tc := range []struct{ raw, status string }{
		{"GET /sign_in?x HTTP/1.0\n\n", "HTTP/1.1 400 "},
		{"GET /sign_in?x HTTP/1.0\r\nX: " + strings.Repeat("a", 16<<10) + "\r\n\r\n", "HTTP/1.1 431 "},
	} {
		got := s.do(t, tc.raw)
		if !strings.HasPrefix(got, tc.status) || !strings.Contains(got, "\r\nContent-Length: ") {
			t.Errorf("%.40q: got %q, want %s with Content-Length", tc.raw, got, tc.status)
		}
	}
	// The 1 MiB limit is on the body: exactly 1 MiB passes.
	body := strings.Repeat("b", 1<<20)
	s.expect(t, post(2, 1, "text/plain", body), wantEmptyOK)
	if got := s.do(t, "GET /wait?peer_id=1 HTTP/1.0\r\n\r\n"); got != want("200 OK", "text/plain", "1", "bob,2,1\n") {
		t.Errorf("wait: %.80q", got)
	}
	if got := s.do(t, "GET /wait?peer_id=1 HTTP/1.0\r\n\r\n"); got != want("200 OK", "text/plain", "2", body) {
		t.Errorf("1 MiB message not relayed intact (%d bytes)", len(got))
	}
}

// A POST with Expect: 100-continue gets 100 Continue before its body.
func TestExpectContinue(t *testing.T) {
	s := startServer(t, Config{}, frontdoorConfig())
	s.do(t, signIn("alice"))
	c := s.dial(t)
	io.WriteString(c, "POST /message?peer_id=1&to=1 HTTP/1.1\r\nContent-Length: 5\r\nContent-Type: text/plain\r\nExpect: 100-continue\r\n\r\n")
	cont := make([]byte, len("HTTP/1.1 100 Continue\r\n\r\n"))
	_ = c.SetReadDeadline(time.Now().Add(waitFor))
	if _, err := io.ReadFull(c, cont); err != nil || string(cont) != "HTTP/1.1 100 Continue\r\n\r\n" {
		t.Fatalf("got %q, %v; want 100 Continue", cont, err)
	}
	io.WriteString(c, "hello")
	if got, exp := finish(t, c), want("200 OK", "text/plain", "1", "hello"); got != exp {
		t.Errorf("got %q\nwant %q", got, exp)
	}
}

// A POST whose body does not arrive gets 408 after ReadTimeout.
func TestSlowBody(t *testing.T) {
	s := startServer(t, Config{ReadTimeout: 100 * time.Millisecond}, frontdoorConfig())
	s.do(t, signIn("alice"))
	c := s.dial(t)
	io.WriteString(c, "POST /message?peer_id=1&to=1 HTTP/1.0\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhe")
	if got, exp := finish(t, c), want("408 Request Timeout", "text/plain", "", "request body not received in time\n"); got != exp {
		t.Errorf("got %q\nwant %q", got, exp)
	}
}

// A connection that sends nothing is closed after the read
// deadline; a parked wait is not.
func TestConformance21ReadDeadline(t *testing.T) {
	testutil.CheckGoroutines(t, waitFor)
	s := startServer(t, Config{}, frontdoor.Config{HeadReadTimeout: 200 * time.Millisecond})
	s.do(t, signIn("alice"))
	w := s.parkedWait(t, 1, 1)
	idle := s.dial(t)
	if got := readAll(t, idle); !strings.HasPrefix(got, "HTTP/1.1 408 ") {
		t.Errorf("idle connection got %q, want 408", got)
	}
	silent(t, w, 300*time.Millisecond) // longer than the head timeout
	if st := s.svc.Channel().Stats(); st.Parked != 1 || st.Members != 1 {
		t.Errorf("after the head timeout: %+v, want alice parked", st)
	}
}

// Identical behaviour over ::1.
func TestConformance22IPv6(t *testing.T) {
	testutil.CheckGoroutines(t, waitFor)
	s := startServerOn(t, "[::1]:0", Config{}, frontdoorConfig())
	transcript(t, s)
}

// At the connection cap a new client gets 503 with Content-Length.
func TestConformance23ConnectionCap(t *testing.T) {
	s := startServer(t, Config{}, frontdoor.Config{MaxConnections: 2})
	s.do(t, signIn("alice"))
	testutil.WaitFor(t, waitFor, "sign-in connection released", func() bool { return s.fd.Stats().Active == 0 })
	s.parkedWait(t, 1, 1)
	s.dial(t) // an idle connection, still sending its head
	testutil.WaitFor(t, waitFor, "two active connections", func() bool { return s.fd.Stats().Active == 2 })
	got := s.do(t, signIn("carol"))
	if !strings.HasPrefix(got, "HTTP/1.1 503 ") || !strings.Contains(got, "\r\nContent-Length: ") {
		t.Errorf("at the cap: %q, want 503 with Content-Length", got)
	}
}

// A parked wait whose client goes away is un-parked at once and starts
// the member's expiry clock; a newer /wait replaces an older one, which is
// closed without a response.
func TestDeadAndReplacedWaits(t *testing.T) {
	testutil.CheckGoroutines(t, waitFor)
	s := startServer(t, Config{}, frontdoorConfig())
	s.do(t, signIn("alice"))
	old := s.parkedWait(t, 1, 1)
	s.svc.Channel().mu.Lock()
	first := s.svc.Channel().mail.boxes[1].parked
	s.svc.Channel().mu.Unlock()
	newer := s.wait(t, 1)
	testutil.WaitFor(t, waitFor, "the newer wait parked", func() bool {
		ch := s.svc.Channel()
		ch.mu.Lock()
		defer ch.mu.Unlock()
		return ch.mail.boxes[1].parked != first && ch.mail.boxes[1].parked != nil
	})
	if got := readAll(t, old); got != "" {
		t.Errorf("replaced wait got %q, want a close without response", got)
	}
	newer.Close()
	s.waitParked(t, 0)
	if st := s.svc.Channel().Stats(); st.Members != 1 {
		t.Errorf("members = %d, want alice still there", st.Members)
	}
}

// Graceful shutdown answers parked waits with "Server shutting down".
func TestShutdownAnswersParkedWaits(t *testing.T) {
	testutil.CheckGoroutines(t, waitFor)
	s := startServer(t, Config{}, frontdoorConfig())
	s.do(t, signIn("alice"))
	w := s.parkedWait(t, 1, 1)
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		done <- s.fd.Shutdown(ctx)
	}()
	if got, exp := readAll(t, w), want("200 OK", "text/plain", "", "Server shutting down"); got != exp {
		t.Errorf("got %q\nwant %q", got, exp)
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// Queue, member and id limits are answered 503.
func TestLimits(t *testing.T) {
	s := startServer(t, Config{MaxQueueItems: 2, MaxMembers: 3}, frontdoorConfig())
	s.do(t, signIn("alice"))
	s.do(t, signIn("bob")) // alice's queue: bob,2,1
	s.expect(t, post(2, 1, "text/plain", "1"), wantEmptyOK)
	full := want("503 Service Unavailable", "text/plain", "", "the recipient's queue is full\n")
	s.expect(t, post(2, 1, "text/plain", "2"), full)
	s.do(t, signIn("carol")) // alice's notice is dropped, bob's queued
	s.expect(t, signIn("dave"), want("503 Service Unavailable", "text/plain", "", "too many members\n"))
	st := s.svc.Channel().Stats()
	if st.Refused != 2 || st.Dropped != 1 || st.Members != 3 {
		t.Errorf("stats %+v, want 2 refused, 1 dropped, 3 members", st)
	}

	ch := NewChannel(Config{Roster: NewMemoryRoster(&sequentialIDs{last: MaxID - 1}, 0)})
	if out := ch.Dispatch(Request{Method: "GET", Target: "/sign_in?x"}, time.Now()); !strings.Contains(string(out.Response), "\r\nPragma: 2147483647\r\n") {
		t.Errorf("last id: %q", out.Response)
	}
	if out := ch.Dispatch(Request{Method: "GET", Target: "/sign_in?y"}, time.Now()); string(out.Response) != want("503 Service Unavailable", "text/plain", "", "member ids exhausted\n") {
		t.Errorf("ids exhausted: %q", out.Response)
	}
	// An id that overflows matches no member, as do 0 and negatives.
	if out := ch.Dispatch(Request{Method: "GET", Target: "/wait?peer_id=4294967297"}, time.Now()); string(out.Response) != wantSorry {
		t.Errorf("overflowing id: %q", out.Response)
	}
}

// An item whose write failed goes back to the front of the queue, or to a
// newer parked wait.
func TestRequeue(t *testing.T) {
	ch := NewChannel(Config{})
	now := time.Now()
	ch.Dispatch(Request{Method: "GET", Target: "/sign_in?a"}, now)
	w := NewWait(nil)
	if out := ch.Dispatch(Request{Method: "GET", Target: "/wait?peer_id=1", Park: w}, now); out.Parked != w {
		t.Fatal("not parked")
	}
	ch.Dispatch(Request{Method: "GET", Target: "/sign_in?b"}, now)
	d := <-w.C()
	ch.Dispatch(Request{Method: "POST", Target: "/message?peer_id=2&to=1", ContentType: "text/plain", Body: []byte("m")}, now)
	ch.Requeue(w, d.Response) // the write of b,2,1 failed
	for _, exp := range []string{want("200 OK", "text/plain", "1", "b,2,1\n"), want("200 OK", "text/plain", "2", "m")} {
		out := ch.Dispatch(Request{Method: "GET", Target: "/wait?peer_id=1"}, now)
		if string(out.Response) != exp {
			t.Errorf("got %q\nwant %q", out.Response, exp)
		}
	}
	w2 := NewWait(nil)
	ch.Dispatch(Request{Method: "GET", Target: "/wait?peer_id=1", Park: w2}, now)
	ch.Requeue(w, []byte("again"))
	if d := <-w2.C(); string(d.Response) != "again" {
		t.Errorf("requeued item went to %q, want the parked wait", d.Response)
	}
}

// Debug logs name every request and its status, never a message body.
func TestLogsWithoutBodies(t *testing.T) {
	var logs testutil.SyncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := startServer(t, Config{Logger: logger}, frontdoorConfig())
	s.do(t, signIn("alice"))
	s.do(t, signIn("bob"))
	s.expect(t, post(2, 1, "text/plain", "a=ice-pwd:secret"), wantEmptyOK)
	testutil.WaitFor(t, waitFor, "the message's log line", func() bool { return strings.Count(logs.String(), "peerconn: request") == 3 })
	if l := logs.String(); strings.Contains(l, "secret") || !strings.Contains(l, `status="200 Added"`) {
		t.Errorf("logs:\n%s", l)
	}
}

// A client still sending a refused body reads its 413: the server drains
// the body instead of resetting the connection.
func TestTooLargeWhileSending(t *testing.T) {
	s := startServer(t, Config{}, frontdoorConfig())
	s.do(t, signIn("alice"))
	c := s.dial(t)
	body := strings.Repeat("x", 3<<19) // 1.5 MiB
	sent := make(chan error, 1)
	go func() {
		_, err := io.WriteString(c, post(1, 1, "text/plain", body))
		sent <- err
	}()
	if got, exp := readResponse(t, c), want("413 Payload Too Large", "text/plain", "", "body larger than 1048576 bytes\n"); got != exp {
		t.Errorf("got %q\nwant %q", got, exp)
	}
	if err := <-sent; err != nil {
		t.Errorf("sending the body: %v", err)
	}
}

// A parked wait whose client does not read blocks no one: other members'
// messages flow while its write waits, the write times out after
// WriteTimeout, and the item goes back to the front of the queue.
func TestStalledReaderBlocksNoOne(t *testing.T) {
	testutil.CheckGoroutines(t, waitFor)
	s := startServer(t, Config{WriteTimeout: 3 * time.Second, MaxBodyBytes: 16 << 20}, frontdoorConfig())
	s.do(t, signIn("alice"))
	s.do(t, signIn("bob"))
	s.do(t, signIn("carol"))
	for range 2 {
		finish(t, s.wait(t, 1)) // bob,2,1 and carol,3,1
	}
	finish(t, s.wait(t, 2)) // carol,3,1
	stalled := s.dial(t)
	if err := stalled.SetReadBuffer(4 << 10); err != nil {
		t.Fatal(err)
	}
	io.WriteString(stalled, "GET /wait?peer_id=1 HTTP/1.0\r\n\r\n")
	s.waitParked(t, 1)
	big := strings.Repeat("s", 12<<20) // more than the socket buffers hold
	s.expect(t, post(3, 1, "text/plain", big), wantEmptyOK)

	for i := range 5 { // bob keeps getting messages while alice's write hangs
		w := s.wait(t, 2)
		s.expect(t, post(3, 2, "text/plain", "m"+itoa(i)), wantEmptyOK)
		if got, exp := finish(t, w), want("200 OK", "text/plain", "3", "m"+itoa(i)); got != exp {
			t.Fatalf("bob got %q", got)
		}
	}
	// Had bob waited for alice's write, it would have timed out first.
	if n := s.svc.Channel().Stats().Requeued; n != 0 {
		t.Errorf("alice's stalled write ended (requeued %d) before bob's 5 messages went through", n)
	}
	testutil.WaitFor(t, waitFor, "the stalled write to time out and requeue", func() bool { return s.svc.Channel().Stats().Requeued == 1 })
	stalled.Close()
	if got := s.do(t, "GET /wait?peer_id=1 HTTP/1.0\r\n\r\n"); got != want("200 OK", "text/plain", "3", big) {
		t.Errorf("the requeued message did not come back intact (%d bytes)", len(got))
	}
}
