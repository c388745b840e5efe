package cli

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/client"
	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/internal/testutil/servertest"
	"github.com/switchboard/switchboard/protoo"
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
		{"not-logged-in", []string{"client", ts.Addr, "--call", "echo", `1`}, 1, "", "Error: echo: 401 not logged in: the first request must be login (pass --login NAME)\n"},
		{"http-url-no-data", []string{"client", "http://" + ts.Addr, "--login", "bob", "--call", "online"}, 0, "{\"names\":[\"bob\"]}\n", ""},
		{"bad-json", []string{"client", ts.Addr, "--call", "echo", `{"x":`}, 1, "", "Error: bad JSON"},
		{"unknown-method", []string{"client", ts.Addr, "--login", "carol", "--call", "frobnicate"}, 1, "", "Error: frobnicate: 501 unknown method \"frobnicate\"\n"},
		{"not-found", []string{"client", ts.Addr, "--login", "dave", "--call", "send", `{"to":"nobody","data":"hi"}`}, 1, "", "Error: send: 404 no client named \"nobody\" is online\n"},
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
	if want := "Error: client needs a URL\nsee 'switchboard client --help'\n"; code != 2 || stderr != want {
		t.Fatalf("client without URL: exit %d, stderr %q; want 2 and %q", code, stderr, want)
	}
	code, stdout, stderr := runCmd(t, "client", "--help")
	if code != 0 || stderr != "" || !strings.Contains(stdout, "send NAME TEXT") || !strings.Contains(stdout, "\n  --login name\n") {
		t.Fatalf("client --help: exit %d, stdout %q, stderr %q; want the usage on stdout", code, stdout, stderr)
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
	say("send nobody hi", `error: 404 no client named "nobody" is online`)
	say("pub stream x", "error: 403 only the server publishes on this channel")
	say("send bob", "error: usage: send NAME TEXT")
	say("call online {}", `online: {"names":["bob"]}`)
	say("unsub group", "unsubscribed from group")

	// Rooms: carol joins by URL; bob sees her, signals her, and leaves.
	say("join lobby", "joined lobby; nobody else is here\n")
	carol, err := websocket.Dial(ctx, "ws://"+ts.Addr+"/?roomId=lobby&peerId=carol", &websocket.DialOptions{Subprotocols: []string{"protoo"}})
	if err != nil {
		t.Fatal(err)
	}
	carolDone := make(chan struct{})
	go func() {
		defer close(carolDone)
		_ = carol.Run(ctx, websocket.HandlerFunc(func(*websocket.Conn, websocket.Opcode, []byte) {}))
	}()
	waitOut("[lobby] carol joined\n")
	say(`signal lobby carol {"sdp": "v=0"}`, "signaled carol in lobby")
	say("signal lobby nobody hi", "error: 404 ")
	carol.Close(websocket.StatusNormalClosure, "bye")
	waitOut("[lobby] carol left")
	<-carolDone
	say("leave lobby", "left lobby")
	say("help", "sub CHANNEL")

	say("quit", "")
	select {
	case err := <-done:
		// Six commands above failed on purpose: the exit status says so.
		if want := "6 of 18 commands failed"; err == nil || err.Error() != want {
			t.Fatalf("interactive session ended with %v, want %q", err, want)
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

// TestClientPipedExitStatus pipes commands into the interactive client, as
// a script does: a failed command makes the exit status 1.
func TestClientPipedExitStatus(t *testing.T) {
	ts := servertest.Start(t, server.Config{})
	tests := []struct {
		name, stdin string
		args        []string
		code        int
		stdoutHas   string
		stderr      string
	}{
		{"not logged in", "echo hi\n", []string{ts.Addr}, 1,
			"error: 401 not logged in: the first request must be login (type login NAME, or start with --login NAME)\n",
			"Error: 1 of 1 commands failed\n"},
		{"all succeed", "echo hi\nonline\n", []string{ts.Addr, "--login", "pipe"}, 0, `echo: "hi"`, ""},
		{"one of three fails", "login pipe2\nsend nobody hi\necho hi\n", []string{ts.Addr}, 1,
			`error: 404 no client named "nobody" is online`, "Error: 1 of 3 commands failed\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), clientWait)
			defer cancel()
			var stdout, stderr bytes.Buffer
			code := exitCode(runClientWith(ctx, strings.NewReader(tt.stdin), tt.args, &stdout, &stderr), &stderr)
			if code != tt.code || !strings.Contains(stdout.String(), tt.stdoutHas) || stderr.String() != tt.stderr {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, stderr %q",
					code, stdout.String(), stderr.String(), tt.code, tt.stdoutHas, tt.stderr)
			}
		})
	}
}

func TestDescribeEvent(t *testing.T) {
	tests := []struct {
		e    client.Event
		want string
	}{
		{client.Event{Kind: client.EventLost, Channel: "group"}, "group: the publications sent while disconnected could not be recovered (the server no longer has them, for example after a restart); new ones follow"},
		{client.Event{Kind: client.EventRecovered, Channel: "group", Missed: 3}, "group: recovered 3 missed publications"},
		{client.Event{Kind: client.EventReconnected}, "reconnected; logged in again and subscriptions renewed"},
		{client.Event{Kind: client.EventLoginFailed, Err: &protoo.Error{Code: protoo.CodeConflict, Reason: `name "bob" is taken`}}, `reconnected, but logging in again failed: 409 name "bob" is taken`},
		{client.Event{Kind: client.EventClosed}, ""},
	}
	for _, tt := range tests {
		if got := describeEvent(tt.e); got != tt.want {
			t.Errorf("describeEvent(%v) = %q, want %q", tt.e, got, tt.want)
		}
	}
}
