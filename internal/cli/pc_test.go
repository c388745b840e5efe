package cli

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/internal/testutil/servertest"
)

func TestPCCommand(t *testing.T) {
	srv := servertest.Start(t, server.Config{})
	url := srv.URL("http", "")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var aliceOut, aliceErr testutil.SyncBuffer
	aliceDone := make(chan int, 1)
	go func() {
		aliceDone <- Run(ctx, []string{"pc", "--server", url, "--name", "alice"}, &aliceOut, &aliceErr)
	}()
	waitOutput := func(w *testutil.SyncBuffer, want string) {
		t.Helper()
		if !testutil.Poll(10*time.Second, func() bool { return strings.Contains(w.String(), want) }) {
			t.Fatalf("output %q does not contain %q", w.String(), want)
		}
	}
	waitOutput(&aliceOut, "signed in as alice with id 1\n")

	var bobOut, bobErr testutil.SyncBuffer
	if code := Run(context.Background(), []string{"pc", "--server", srv.Addr, "--name", "bob", "--send", "1", "hello", "world"}, &bobOut, &bobErr); code != 0 {
		t.Fatalf("bob exited %d: %s", code, bobErr.String())
	}
	if want := "signed in as bob with id 2\npeer 1 alice\nsent 11 bytes to 1\n"; bobOut.String() != want {
		t.Errorf("bob printed %q, want %q", bobOut.String(), want)
	}
	waitOutput(&aliceOut, "online 2 bob\nmessage from 2 (bob): hello world\noffline 2 bob\n")

	var errOut testutil.SyncBuffer
	if code := Run(context.Background(), []string{"pc", "--server", url, "--send", "7", "x"}, &testutil.SyncBuffer{}, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), "send to 7: peerconnection: server answered 500") {
		t.Errorf("send to a missing member: exit %d, %q", code, errOut.String())
	}
	if code := Run(context.Background(), []string{"pc", "--send", "1"}, &testutil.SyncBuffer{}, &errOut); code != 1 {
		t.Errorf("--send without a message: exit %d", code)
	}

	cancel()
	select {
	case code := <-aliceDone:
		if code != 0 {
			t.Errorf("alice exited %d: %s", code, aliceErr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("alice did not stop")
	}
	if n := srv.PeerConn().Channel().Stats().Members; n != 0 {
		t.Errorf("%d members after alice stopped, want 0 (signed out)", n)
	}
}

// TestServeAllowQuit runs `serve --allow-quit`: a /quit from loopback gets
// the Quitting page and serve exits 0; without the flag /quit is 500 Sorry.
func TestServeAllowQuit(t *testing.T) {
	for _, allow := range []bool{false, true} {
		args := []string{"serve", "--addr", "127.0.0.1:0", "--log-level", "error"}
		if allow {
			args = append(args, "--allow-quit")
		}
		ctx, cancel := context.WithCancel(context.Background())
		var out, errOut testutil.SyncBuffer
		done := make(chan int, 1)
		go func() { done <- Run(ctx, args, &out, &errOut) }()
		if !testutil.Poll(10*time.Second, func() bool { return strings.Contains(out.String(), "listening on ") }) {
			t.Fatalf("serve did not start: %q %q", out.String(), errOut.String())
		}
		addr := strings.Fields(strings.SplitN(out.String(), "listening on ", 2)[1])[0]
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write([]byte("GET /quit HTTP/1.0\r\n\r\n"))
		c.(*net.TCPConn).CloseWrite()
		var resp strings.Builder
		buf := make([]byte, 1024)
		for {
			n, err := c.Read(buf)
			resp.Write(buf[:n])
			if err != nil {
				break
			}
		}
		c.Close()
		want := "500 Sorry"
		if allow {
			want = "<html><body>Quitting...</body></html>"
		}
		if !strings.Contains(resp.String(), want) {
			t.Errorf("allow-quit=%v: /quit got %q, want %q", allow, resp.String(), want)
		}
		if !allow {
			cancel()
		}
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("allow-quit=%v: serve exited %d: %s", allow, code, errOut.String())
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("allow-quit=%v: serve did not exit", allow)
		}
		cancel()
	}
}
