package cli

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/internal/testutil/servertest"
	"github.com/switchboard/switchboard/websocket"
)

const clientWait = 20 * time.Second

// runCmd runs the command line with args and returns the exit code,
// stdout and stderr.
func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), clientWait)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := Run(ctx, args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestClientOneShot(t *testing.T) {
	ts := servertest.Start(t, server.Config{})
	tests := []struct {
		name      string
		args      []string
		code      int
		stdout    string
		stderrHas string
	}{
		{"echo", []string{"client", ts.Addr, "--login", "alice", "--call", "echo", `{"x": 1}`}, 0, "{\"x\":1}\n", ""},
		{"ws-url", []string{"client", "--call", "echo", "ws://" + ts.Addr + "/ws", "--login", "erin", `[1,2]`}, 0, "[1,2]\n", ""},
		{"not-logged-in", []string{"client", ts.Addr, "--call", "echo", `1`}, 1, "", "Error: echo: 401 not logged in"},
		{"http-url-no-data", []string{"client", "http://" + ts.Addr, "--login", "bob", "--call", "online"}, 0, "{\"names\":[\"bob\"]}\n", ""},
		{"bad-json", []string{"client", ts.Addr, "--call", "echo", `{"x":`}, 1, "", "Error: bad JSON"},
		{"unknown-method", []string{"client", ts.Addr, "--login", "carol", "--call", "frobnicate"}, 1, "", "Error: frobnicate: 501 unknown method"},
		{"not-found", []string{"client", ts.Addr, "--login", "dave", "--call", "send", `{"to":"nobody","data":"hi"}`}, 1, "", "Error: send: 404 not found"},
		{"bad-url", []string{"client", "ftp://" + ts.Addr, "--call", "echo"}, 1, "", "Error: bad URL"},
		{"refused", []string{"client", "127.0.0.1:1", "--call", "echo"}, 1, "", "Error: connect to ws://127.0.0.1:1/ws"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A one-shot client exits as soon as it has its reply; the
			// server notices the close a moment later. Wait for the
			// earlier ones to be gone, so "online" sees only its own.
			waitOnline(t, ts)
			code, stdout, stderr := runCmd(t, tt.args...)
			if code != tt.code || stdout != tt.stdout || !strings.Contains(stderr, tt.stderrHas) {
				t.Fatalf("%q: exit %d, stdout %q, stderr %q; want exit %d, stdout %q, stderr with %q",
					tt.args, code, stdout, stderr, tt.code, tt.stdout, tt.stderrHas)
			}
			if tt.code != 0 && strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr %q: want one line", stderr)
			}
		})
	}
}

// waitOnline waits until exactly names (sorted) are logged in on ts.
func waitOnline(t *testing.T, ts *servertest.Server, names ...string) {
	t.Helper()
	want := strings.Join(names, ",")
	testutil.WaitFor(t, clientWait, "online = ["+want+"]", func() bool {
		return strings.Join(ts.Hub().Online(), ",") == want
	})
}

func TestClientUsage(t *testing.T) {
	code, _, stderr := runCmd(t, "client")
	if code != 2 || !strings.Contains(stderr, "needs a URL") {
		t.Fatalf("client without URL: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = runCmd(t, "client", "--help")
	if code != 0 || !strings.Contains(stderr, "send NAME TEXT") || !strings.Contains(stderr, "-login") {
		t.Fatalf("client --help: exit %d, stderr %q", code, stderr)
	}
}

// TestClientInteractive runs bob's interactive session against the server
// and checks each command's output and that notifications are printed as
// they arrive.
func TestClientInteractive(t *testing.T) {
	ts := servertest.Start(t, server.Config{})
	in, stdin := io.Pipe()
	var stdout, stderr testutil.SyncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), clientWait)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- runClientWith(ctx, in, []string{ts.Addr, "--login", "bob"}, &stdout, &stderr) }()
	t.Cleanup(func() { stdin.Close() })

	waitOut := func(want string) {
		t.Helper()
		testutil.WaitFor(t, clientWait, "output "+want, func() bool { return strings.Contains(stdout.String(), want) })
	}
	say := func(line, want string) {
		t.Helper()
		if _, err := io.WriteString(stdin, line+"\n"); err != nil {
			t.Fatal(err)
		}
		waitOut(want)
	}
	waitOut("Welcome bob")
	say("echo hi", `echo: "hi"`)
	say(`echo {"x": [1, 2]}`, `echo: {"x":[1,2]}`)
	say("online", "online: bob")
	say("sub group", "subscribed to group at offset")
	say("pub group hi all", `[group #1] bob: "hi all"`)

	// A message from alice, sent by a one-shot client, shows up at once.
	if code, out, errOut := runCmd(t, "client", ts.Addr, "--login", "alice", "--call", "send", `{"to":"bob","data":"hello"}`); code != 0 {
		t.Fatalf("alice's send: exit %d, %q %q", code, out, errOut)
	}
	waitOut(`message from alice: "hello"`)
	waitOnline(t, ts, "bob") // alice's one-shot session closes a moment after her send

	// Errors are one line and the session goes on.
	say("echo {bad", `error: bad JSON "{bad"`)
	say("bogus", `error: unknown command "bogus" (type help)`)
	say("send nobody hi", "error: 404 not found")
	say("pub stream x", "error: 403 forbidden")
	say("send bob", "error: usage: send NAME TEXT")
	say("call online {}", `online: {"names":["bob"]}`)
	say("unsub group", "unsubscribed from group")

	// Rooms: carol joins by URL; bob sees her, signals her, and leaves.
	say("join lobby", "joined lobby with 0 others: ")
	carol, err := websocket.Dial(ctx, "ws://"+ts.Addr+"/?roomId=lobby&peerId=carol", &websocket.DialOptions{Subprotocols: []string{"protoo"}})
	if err != nil {
		t.Fatal(err)
	}
	carolDone := make(chan struct{})
	go func() {
		defer close(carolDone)
		_ = carol.Run(ctx, websocket.HandlerFunc(func(*websocket.Conn, websocket.Opcode, []byte) {}))
	}()
	waitOut("[lobby] carol joined {}")
	say(`signal lobby carol {"sdp": "v=0"}`, "signaled carol in lobby")
	say("signal lobby nobody hi", "error: 404 not found")
	carol.Close(websocket.StatusNormalClosure, "bye")
	waitOut("[lobby] carol left")
	<-carolDone
	say("leave lobby", "left lobby")
	say("help", "sub CHANNEL")

	say("quit", "")
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("interactive session ended with %v", err)
		}
	case <-ctx.Done():
		t.Fatal("quit did not end the session")
	}
	if s := stderr.String(); s != "" {
		t.Errorf("stderr %q", s)
	}
	for _, line := range strings.Split(stdout.String(), "\n") {
		if strings.Contains(line, "goroutine") || strings.Contains(line, "panic") {
			t.Fatalf("output has a stack trace: %q", stdout.String())
		}
	}
}
