package peerconnection_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/peerconn"
	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testutil/servertest"
	"github.com/switchboard/switchboard/peerconnection"
)

// The request bytes of docs/peerconnection.md, "Requests", exactly.
func TestRequestBytes(t *testing.T) {
	for _, tc := range []struct {
		got  []byte
		want string
	}{
		{peerconnection.SignInRequest("alice@h1"), "GET /sign_in?alice@h1 HTTP/1.0\r\n\r\n"},
		{peerconnection.SignInRequest("John Doe@pc"), "GET /sign_in?John Doe@pc HTTP/1.0\r\n\r\n"},
		{peerconnection.WaitRequest(1), "GET /wait?peer_id=1 HTTP/1.0\r\n\r\n"},
		{peerconnection.MessageRequest(2, 1, []byte("BYE")), "POST /message?peer_id=2&to=1 HTTP/1.0\r\nContent-Length: 3\r\nContent-Type: text/plain\r\n\r\nBYE"},
		{peerconnection.SignOutRequest(2), "GET /sign_out?peer_id=2 HTTP/1.0\r\n\r\n"},
	} {
		if string(tc.got) != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// The client's literal response matching (docs/peerconnection.md, "The native
// client's expectations").
func TestParseResponse(t *testing.T) {
	ok := "HTTP/1.1 200 Added\r\nServer: x\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 10\r\nPragma: 1\r\n\r\nalice,1,1\n"
	r, n, err := peerconnection.ParseResponse([]byte(ok + "extra"))
	if err != nil || n != len(ok) || r.Status != 200 || r.Pragma != 1 || !r.Close || r.ContentType != "text/plain" || string(r.Body) != "alice,1,1\n" {
		t.Errorf("got %+v n=%d err=%v", r, n, err)
	}
	for _, tc := range []struct {
		in   string
		want error
	}{
		{ok[:len(ok)-1], peerconnection.ErrIncomplete},
		{"HTTP/1.1 200 OK\r\nContent-Length: 0", peerconnection.ErrIncomplete},
		{"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n", peerconnection.ErrNoContentLength},
		{"HTTP/1.1 200 OK\r\nContent-Length:0\r\n\r\n", peerconnection.ErrNoContentLength},
	} {
		if _, _, err := peerconnection.ParseResponse([]byte(tc.in)); !errors.Is(err, tc.want) {
			t.Errorf("%q: err %v, want %v", tc.in, err, tc.want)
		}
	}
	r, _, err = peerconnection.ParseResponse([]byte("HTTP/1.1 500 Error\r\nContent-Length: 0\r\n\r\n"))
	if err != nil || r.Status != 500 || r.Pragma != -1 || r.Close {
		t.Errorf("got %+v, %v", r, err)
	}
	peers := peerconnection.ParsePeers([]byte("bob,2,1\nalice,1,1\n,3,1\ncarol,4,1"))
	if len(peers) != 2 || peers[0] != (peerconnection.Peer{ID: 2, Name: "bob", Connected: true}) || peers[1].Name != "alice" {
		t.Errorf("peers %+v", peers)
	}
}

// The client writes each request in one write right after connecting, on a
// new connection, and closes after the response.
func TestClientSendsNativeBytes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 4)
	go func() {
		for _, resp := range []string{
			"HTTP/1.1 200 Added\r\nConnection: close\r\nContent-Length: 18\r\nPragma: 2\r\n\r\nbob,2,1\nalice,1,1\n",
			"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
			"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
		} {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.SetDeadline(time.Now().Add(waitFor))
			buf := make([]byte, 4096)
			n, _ := c.Read(buf) // one read: the request came in one write
			got <- string(buf[:n])
			io.WriteString(c, resp)
			rest, _ := io.ReadAll(c) // the client closes after the response
			if len(rest) > 0 {
				got <- "unexpected " + string(rest)
			}
			c.Close()
		}
	}()
	ctx := context.Background()
	c, peers, err := peerconnection.SignIn(ctx, ln.Addr().String(), "bob")
	if err != nil {
		t.Fatal(err)
	}
	if c.ID() != 2 || len(peers) != 1 || peers[0].Name != "alice" {
		t.Fatalf("id %d peers %+v", c.ID(), peers)
	}
	if err := c.Send(ctx, 1, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if err := c.SignOut(ctx); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"GET /sign_in?bob HTTP/1.0\r\n\r\n",
		"POST /message?peer_id=2&to=1 HTTP/1.0\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
		"GET /sign_out?peer_id=2 HTTP/1.0\r\n\r\n",
	} {
		if g := <-got; g != want {
			t.Errorf("server read %q, want %q", g, want)
		}
	}
	if err := c.Send(ctx, 1, []byte("x")); !errors.Is(err, peerconnection.ErrSignedOut) {
		t.Errorf("Send after SignOut: %v", err)
	}
}

// Two clients through Switchboard's server: peers, presence, messages,
// with the reference server's ids and with random ones.
func TestClientsThroughServer(t *testing.T) {
	t.Run("sequential ids", func(t *testing.T) { clientsThroughServer(t, peerconn.Config{}) })
	t.Run("random ids", func(t *testing.T) { clientsThroughServer(t, peerconn.Config{RandomIDs: true}) })
}

func clientsThroughServer(t *testing.T, cfg peerconn.Config) {
	url := servertest.Start(t, server.Config{PeerConn: cfg}).URL("http", "")
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	alice, peers, err := peerconnection.SignIn(ctx, url, "alice")
	if err != nil || alice.ID() < 1 || len(peers) != 0 {
		t.Fatalf("alice: %v id %d peers %v", err, alice.ID(), peers)
	}
	a := alice.ID()
	bob, peers, err := peerconnection.SignIn(ctx, url, "bob")
	if err != nil || bob.ID() < 1 || bob.ID() == a || len(peers) != 1 || peers[0] != (peerconnection.Peer{ID: a, Name: "alice", Connected: true}) {
		t.Fatalf("bob: %v id %d peers %v", err, bob.ID(), peers)
	}
	b := bob.ID()
	if !cfg.RandomIDs && (a != 1 || b != 2) {
		t.Errorf("ids %d and %d, want 1 and 2", a, b)
	}
	ev, err := alice.Wait(ctx)
	if err != nil || ev.Presence == nil || *ev.Presence != (peerconnection.Peer{ID: b, Name: "bob", Connected: true}) {
		t.Fatalf("alice's first event: %+v, %v", ev, err)
	}
	if err := bob.Send(ctx, a, []byte(`{"type":"offer","sdp":"v=0"}`)); err != nil {
		t.Fatal(err)
	}
	ev, err = alice.Wait(ctx)
	if err != nil || ev.Presence != nil || ev.From != b || ev.ContentType != "text/plain" || !bytes.Equal(ev.Body, []byte(`{"type":"offer","sdp":"v=0"}`)) {
		t.Fatalf("alice's message: %+v, %v", ev, err)
	}
	var se *peerconnection.StatusError
	missing := 9
	for missing == a || missing == b {
		missing++
	}
	if err := bob.Send(ctx, missing, []byte("x")); !errors.As(err, &se) || se.Status != 500 || se.Body != "Peer most likely gone." {
		t.Errorf("send to a missing peer: %v", err)
	}
	if err := bob.SignOut(ctx); err != nil {
		t.Fatal(err)
	}
	ev, err = alice.Wait(ctx)
	if err != nil || ev.Presence == nil || *ev.Presence != (peerconnection.Peer{ID: b, Name: "bob"}) {
		t.Fatalf("alice's last event: %+v, %v", ev, err)
	}
	// A Wait whose context ends returns at once.
	wctx, wcancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { _, err := alice.Wait(wctx); done <- err }()
	wcancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Wait: %v", err)
	}
}
