package peerconn

import (
	"strconv"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/testutil"
)

// The tests in this file walk a conformance checklist of the protocol
// that docs/peerconnection.md describes, item by item, over real TCP
// connections through the front door, comparing responses byte for byte.

// The first sign-in returns the exact bytes of the reference layout
// (docs/peerconnection.md, "Responses").
func TestConformance01FirstSignIn(t *testing.T) {
	testutil.CheckGoroutines(t, waitFor)
	s := startServer(t, Config{}, frontdoorConfig())
	const exact = "HTTP/1.1 200 Added\r\n" +
		"Server: PeerConnectionTestServer/0.1\r\n" +
		"Cache-Control: no-cache\r\n" +
		"Connection: close\r\n" +
		"Content-Type: text/plain\r\n" +
		"Content-Length: 10\r\n" +
		"Pragma: 1\r\n" +
		"Access-Control-Allow-Origin: *\r\n" +
		"Access-Control-Allow-Credentials: true\r\n" +
		"Access-Control-Allow-Methods: POST, GET, OPTIONS\r\n" +
		"Access-Control-Allow-Headers: Content-Type, Content-Length, Connection, Cache-Control\r\n" +
		"Access-Control-Expose-Headers: Content-Length\r\n" +
		"\r\n" +
		"alice,1,1\n"
	s.expect(t, "GET /sign_in?alice HTTP/1.0\r\n\r\n", exact)
}

// The second sign-in notifies the parked wait and lists own entry first.
func TestConformance02SecondSignIn(t *testing.T) {
	testutil.CheckGoroutines(t, waitFor)
	s := startServer(t, Config{}, frontdoorConfig())
	s.expect(t, signIn("alice"), want("200 Added", "text/plain", "1", "alice,1,1\n"))
	w := s.parkedWait(t, 1, 1)
	s.expect(t, signIn("bob"), want("200 Added", "text/plain", "2", "bob,2,1\nalice,1,1\n"))
	if got, exp := finish(t, w), want("200 OK", "text/plain", "1", "bob,2,1\n"); got != exp {
		t.Errorf("alice's wait:\n got %q\nwant %q", got, exp)
	}
}

// Without a parked wait items queue; one per /wait; FIFO across
// notices and messages.
func TestConformance03Queue(t *testing.T) {
	testutil.CheckGoroutines(t, waitFor)
	s := startServer(t, Config{}, frontdoorConfig())
	s.do(t, signIn("alice"))
	s.do(t, signIn("bob"))
	s.expect(t, post(2, 1, "text/plain", "m1"), wantEmptyOK)
	s.do(t, signIn("carol"))
	s.expect(t, post(2, 1, "text/plain", "m2"), wantEmptyOK)
	s.expect(t, signOut(3), wantEmptyOK)
	for _, exp := range []string{
		want("200 OK", "text/plain", "1", "bob,2,1\n"),
		want("200 OK", "text/plain", "2", "m1"),
		want("200 OK", "text/plain", "1", "carol,3,1\n"),
		want("200 OK", "text/plain", "2", "m2"),
		want("200 OK", "text/plain", "1", "carol,3,0\n"),
	} {
		if got := finish(t, s.wait(t, 1)); got != exp {
			t.Errorf("wait:\n got %q\nwant %q", got, exp)
		}
	}
	if st := s.svc.Channel().Stats(); st.Queued != 2 {
		t.Errorf("queued = %d, want bob's 2 notices about carol", st.Queued)
	}
}

// Relay keeps the Content-Type and body, Pragma is the sender.
func TestConformance04Relay(t *testing.T) {
	testutil.CheckGoroutines(t, waitFor)
	s := startServer(t, Config{}, frontdoorConfig())
	s.do(t, signIn("alice"))
	s.do(t, signIn("bob"))
	finish(t, s.wait(t, 1)) // bob,2,1
	w := s.parkedWait(t, 1, 1)
	const body = "{\n\t\"type\" : \"offer\"\n}"
	s.expect(t, post(2, 1, "application/json; charset=utf-8", body), wantEmptyOK)
	if got, exp := finish(t, w), want("200 OK", "application/json; charset=utf-8", "2", body); got != exp {
		t.Errorf("relayed:\n got %q\nwant %q", got, exp)
	}
}

// A POST to self echoes.
func TestConformance05Self(t *testing.T) {
	s := startServer(t, Config{}, frontdoorConfig())
	s.do(t, signIn("alice"))
	s.expect(t, post(1, 1, "text/x-test", "echo me"), want("200 OK", "text/x-test", "1", "echo me"))
}

// Unknown to, unknown from, no to=.
func TestConformance06PeerGone(t *testing.T) {
	s := startServer(t, Config{}, frontdoorConfig())
	s.do(t, signIn("alice"))
	s.expect(t, post(1, 9, "text/plain", "x"), wantPeerGone)
	s.expect(t, post(9, 1, "text/plain", "x"), wantPeerGone)
	s.expect(t, "POST /message?peer_id=1 HTTP/1.0\r\nContent-Length: 1\r\nContent-Type: text/plain\r\n\r\nx", wantPeerGone)
	if !strings.Contains(wantPeerGone, "Content-Length: 22\r\n") {
		t.Fatal("Peer most likely gone. is not 22 bytes")
	}
}

// Browser requests get 500 Sorry.
func TestConformance07Sorry(t *testing.T) {
	s := startServer(t, Config{}, frontdoorConfig())
	for _, target := range []string{"/wait?peer_id=99", "/sign_out?peer_id=99", "/wait", "/", "/favicon.ico", "/quit?x", "http://h/sign_in"} {
		s.expect(t, "GET "+target+" HTTP/1.1\r\nHost: x\r\n\r\n", wantSorry)
	}
	if !strings.Contains(wantSorry, "Content-Length: 52\r\n") {
		t.Fatal("sorry page is not 52 bytes")
	}
}

// OPTIONS.
func TestConformance08Options(t *testing.T) {
	s := startServer(t, Config{}, frontdoorConfig())
	s.expect(t, "OPTIONS /anything HTTP/1.1\r\nOrigin: http://a\r\nAccess-Control-Request-Method: POST\r\n\r\n", wantOptions)
	s.expect(t, "OPTIONS /message?peer_id=1&to=2 HTTP/1.0\r\n\r\n", wantOptions)
}

// Sign-out.
func TestConformance09SignOut(t *testing.T) {
	testutil.CheckGoroutines(t, waitFor)
	s := startServer(t, Config{}, frontdoorConfig())
	s.do(t, signIn("alice"))
	s.do(t, signIn("bob"))
	finish(t, s.wait(t, 1))
	w := s.parkedWait(t, 1, 1)
	s.expect(t, signOut(2), wantEmptyOK)
	if got, exp := finish(t, w), want("200 OK", "text/plain", "1", "bob,2,0\n"); got != exp {
		t.Errorf("notice:\n got %q\nwant %q", got, exp)
	}
	s.expect(t, "GET /wait?peer_id=2 HTTP/1.0\r\n\r\n", wantSorry)
	s.expect(t, signIn("carol"), want("200 Added", "text/plain", "3", "carol,3,1\nalice,1,1\n"))
}

// Ids are never reused.
func TestConformance10IDs(t *testing.T) {
	s := startServer(t, Config{}, frontdoorConfig())
	s.expect(t, signIn("alice"), want("200 Added", "text/plain", "1", "alice,1,1\n"))
	s.expect(t, signOut(1), wantEmptyOK)
	s.expect(t, signIn("alice"), want("200 Added", "text/plain", "2", "alice,2,1\n"))
	s.expect(t, signOut(2), wantEmptyOK)
	s.expect(t, signIn("alice"), want("200 Added", "text/plain", "3", "alice,3,1\n"))
}

// Names.
func TestConformance11Names(t *testing.T) {
	s := startServer(t, Config{}, frontdoorConfig())
	long := strings.Repeat("n", 600)
	for i, tc := range []struct{ line, name string }{
		{"GET /sign_in HTTP/1.0", "peer_1"},
		{"GET /sign_in? HTTP/1.0", "peer_2"},
		{"GET /sign_in?a,b HTTP/1.0", "a_b"},
		{"GET /sign_in?" + long + " HTTP/1.0", long[:512]},
		{"GET /sign_in?john%20doe HTTP/1.0", "john%20doe"},
		{"GET /sign_in?John Doe@pc HTTP/1.0", "John"},
		{"GET /sign_in?alice HTTP/1.0", "alice"},
		{"GET /sign_in?alice HTTP/1.0", "alice"},
		{"GET /sign_in?a&b=c,d HTTP/1.0", "a&b=c_d"},
	} {
		got := s.do(t, tc.line+"\r\n\r\n")
		_, body, _ := strings.Cut(got, "\r\n\r\n")
		first, _, _ := strings.Cut(body, "\n")
		if exp := tc.name + "," + itoa(i+1) + ",1"; first != exp {
			t.Errorf("%q: own entry %q, want %q", tc.line, first, exp)
		}
	}
}

// Accepted request lines.
func TestConformance12RequestLines(t *testing.T) {
	s := startServer(t, Config{}, frontdoorConfig())
	s.expect(t, "GET /sign_in?a\r\n\r\n", want("200 Added", "text/plain", "1", "a,1,1\n"))
	s.expect(t, "GET /sign_in?b HTTP/1.1\r\n\r\n", want("200 Added", "text/plain", "2", "b,2,1\na,1,1\n"))
	s.expect(t, "GET\t/sign_in?c HTTP/1.0\r\n\r\n", want("200 Added", "text/plain", "3", "c,3,1\na,1,1\nb,2,1\n"))
	s.expect(t, "GET /wait?peer_id=1\r\n\r\n", want("200 OK", "text/plain", "1", "b,2,1\n"))
}

// Parameters.
func TestConformance13Parameters(t *testing.T) {
	s := startServer(t, Config{}, frontdoorConfig())
	s.do(t, signIn("alice"))
	s.do(t, signIn("bob"))
	s.expect(t, "POST /message?to=1&peer_id=2 HTTP/1.0\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nhi", wantEmptyOK)
	s.expect(t, "POST /message?peer_id=2&xto=1 HTTP/1.0\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nhi", wantPeerGone)
	s.expect(t, "GET /wait?foo&peer_id=1 HTTP/1.0\r\n\r\n", want("200 OK", "text/plain", "1", "bob,2,1\n"))
	s.expect(t, "GET /wait?foo&peer_id=1 HTTP/1.0\r\n\r\n", want("200 OK", "text/plain", "2", "hi"))
}

// Every response has the reference layout (docs/peerconnection.md,
// "Responses"): HTTP/1.1 also for HTTP/1.0 requests, no Date, nothing after the
// body. (Every expect above compares whole responses up to the server's close;
// this checks the invariants on a mix of responses.)
func TestConformance14Layout(t *testing.T) {
	s := startServer(t, Config{}, frontdoorConfig())
	for _, raw := range []string{signIn("a"), signIn("b"), "OPTIONS * HTTP/1.0\r\n\r\n", "GET / HTTP/1.0\r\n\r\n",
		post(1, 2, "text/plain", "x"), post(1, 7, "text/plain", "x"), "HEAD / HTTP/1.1\r\n\r\n",
		"POST /message?peer_id=1&to=2 HTTP/1.0\r\nContent-Type: text/plain\r\n\r\n"} {
		got := s.do(t, raw)
		head, body, ok := strings.Cut(got, "\r\n\r\n")
		if !ok || !strings.HasPrefix(head, "HTTP/1.1 ") || strings.Contains(head, "Date:") ||
			!strings.Contains(head, "\r\nConnection: close\r\n") || !strings.HasSuffix(head, strings.TrimSuffix(tCORS, "\r\n")) {
			t.Errorf("%q: bad head %q", raw, head)
		}
		if !strings.Contains(head, "\r\nContent-Length: "+itoa(len(body))+"\r\n") {
			t.Errorf("%q: body of %d bytes does not match the head %q", raw, len(body), head)
		}
	}
}

// The two-client transcript, byte for byte.
func TestConformance19Transcript(t *testing.T) {
	testutil.CheckGoroutines(t, waitFor)
	s := startServer(t, Config{}, frontdoorConfig())
	if a, b := transcript(t, s); a != 1 || b != 2 {
		t.Errorf("ids %d and %d, want 1 and 2", a, b)
	}
}

// transcript runs the two native clients' transcript against s, with the
// ids the server gives, and returns alice's and bob's.
func transcript(t *testing.T, s *testServer) (alice, bob int) {
	t.Helper()
	signIn := func(name, others string) int {
		t.Helper()
		got := s.do(t, "GET /sign_in?"+name+" HTTP/1.0\r\n\r\n")
		_, rest, _ := strings.Cut(got, "\r\nPragma: ")
		id, _ := strconv.Atoi(rest[:max(strings.Index(rest, "\r\n"), 0)])
		if id < 1 || id > MaxID {
			t.Fatalf("sign-in of %s: id %d out of 1..2^31-1 in %q", name, id, got)
		}
		if exp := want("200 Added", "text/plain", itoa(id), name+","+itoa(id)+",1\n"+others); got != exp {
			t.Fatalf("sign-in of %s:\n got %q\nwant %q", name, got, exp)
		}
		return id
	}
	a := signIn("alice@h1", "")
	wa := s.parkedWait(t, a, 1)
	b := signIn("bob@h2", "alice@h1,"+itoa(a)+",1\n")
	if got, exp := finish(t, wa), want("200 OK", "text/plain", itoa(a), "bob@h2,"+itoa(b)+",1\n"); got != exp {
		t.Errorf("alice's notice:\n got %q\nwant %q", got, exp)
	}
	wa = s.parkedWait(t, a, 1)
	wb := s.parkedWait(t, b, 2)
	offer := "{\n\t\"sdp\" : \"v=0\\r\\n\",\n\t\"type\" : \"offer\"\n}"
	s.expect(t, post(b, a, "text/plain", offer), wantEmptyOK)
	if got, exp := finish(t, wa), want("200 OK", "text/plain", itoa(b), offer); got != exp {
		t.Errorf("offer:\n got %q\nwant %q", got, exp)
	}
	answer := "{\n\t\"sdp\" : \"v=0\\r\\n\",\n\t\"type\" : \"answer\"\n}"
	s.expect(t, post(a, b, "text/plain", answer), wantEmptyOK)
	if got, exp := finish(t, wb), want("200 OK", "text/plain", itoa(a), answer); got != exp {
		t.Errorf("answer:\n got %q\nwant %q", got, exp)
	}
	wa = s.parkedWait(t, a, 1)
	s.expect(t, post(b, a, "text/plain", "BYE"), wantEmptyOK)
	if got, exp := finish(t, wa), want("200 OK", "text/plain", itoa(b), "BYE"); got != exp {
		t.Errorf("bye:\n got %q\nwant %q", got, exp)
	}
	wa = s.parkedWait(t, a, 1)
	s.expect(t, signOut(b), wantEmptyOK)
	if got, exp := finish(t, wa), want("200 OK", "text/plain", itoa(a), "bob@h2,"+itoa(b)+",0\n"); got != exp {
		t.Errorf("sign-out notice:\n got %q\nwant %q", got, exp)
	}
	return a, b
}
