package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/cli"
	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/websocket"
)

// waitTimeout bounds every wait in these tests; it only catches hangs.
const waitTimeout = 20 * time.Second

// run calls cli.Run with args and returns its exit code, stdout and stderr.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := cli.Run(ctx, args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestInvalidPort(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--port", "70000"}, "Error: 70000 is not a valid port.\n"},
		{[]string{"serve", "--port", "0"}, "Error: 0 is not a valid port.\n"},
		{[]string{"serve", "--port", "abc"}, "Error: abc is not a valid port.\n"},
		{[]string{"serve", "--port", "-1"}, "Error: -1 is not a valid port.\n"},
		{[]string{"serve", "--port", "65536"}, "Error: 65536 is not a valid port.\n"},
		{[]string{"serve", "--addr", "127.0.0.1:99999"}, "Error: 99999 is not a valid port.\n"},
		{[]string{"serve", "--addr", "127.0.0.1:http2"}, "Error: http2 is not a valid port.\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args[1:], " "), func(t *testing.T) {
			code, stdout, stderr := run(t, tt.args...)
			if code != 1 || stderr != tt.want || stdout != "" {
				t.Fatalf("%q: exit %d, stdout %q, stderr %q; want exit 1 and stderr %q", tt.args, code, stdout, stderr, tt.want)
			}
		})
	}
}

func TestServeFlagErrors(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string // in stderr
	}{
		{[]string{"serve", "--addr"}, 2, "Error: flag needs an argument: --addr\nsee 'switchboard serve --help'\n"},
		{[]string{"serve", "--addr", "127.0.0.1:0", "--ping-interval", "soon"}, 2, "Error: invalid value \"soon\" for flag --ping-interval: parse error\nsee 'switchboard serve --help'\n"},
		{[]string{"serve", "extra"}, 1, `Error: serve takes no arguments, got "extra"`},
		{[]string{"serve", "--addr", "nohostport"}, 1, "Error: invalid --addr"},
		{[]string{"serve", "--log-level", "loud"}, 1, `Error: invalid --log-level "loud"`},
		{[]string{"serve", "--max-message-bytes", "0"}, 1, "Error: --max-message-bytes must be at least 1"},
		{[]string{"serve", "--max-connections", "-1"}, 1, "Error: --max-connections must not be negative"},
		{[]string{"serve", "--max-connections-per-ip", "-1"}, 1, "Error: --max-connections-per-ip must not be negative"},
		{[]string{"serve", "--queue-messages", "0"}, 1, "Error: --queue-messages and --queue-bytes must be at least 1"},
		{[]string{"serve", "--ping-timeout", "0s"}, 1, "Error: --ping-interval must not be negative"},
		{[]string{"serve", "--room-max-members", "0"}, 1, "Error: --room-max-members and --room-max-per-session must be at least 1"},
		{[]string{"serve", "--history-bytes", "-1"}, 1, "Error: --history-bytes, --history-max-age and --channels-per-session must not be negative"},
		{[]string{"serve", "--max-detached", "-1"}, 1, "Error: --max-detached and --max-detached-per-ip must not be negative"},
		{[]string{"serve", "--ice-server", "stun.example.com"}, 1, `Error: --ice-server "stun.example.com": want a stun:, stuns:, turn: or turns: URL`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args[1:], " "), func(t *testing.T) {
			code, _, stderr := run(t, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.want) {
				t.Fatalf("%q: exit %d, stderr %q; want exit %d and %q", tt.args, code, stderr, tt.code, tt.want)
			}
		})
	}
}

// serveFlags are flags of `switchboard serve` that --help must document;
// TestServeHelpDocumentsEveryFlag (help_internal_test.go) checks every
// registered flag.
var serveFlags = []string{
	"addr", "port", "allow-origin", "max-message-bytes", "max-connections", "max-connections-per-ip",
	"ping-interval", "ping-timeout", "write-timeout", "head-timeout",
	"shutdown-timeout", "queue-messages", "queue-bytes", "compression",
	"compression-context-takeover", "log-level", "peerconnection-random-ids",
}

// TestWrongFlag checks that a wrong flag prints one line of error and one
// line of hint, not the whole usage, for every command.
func TestWrongFlag(t *testing.T) {
	for _, cmd := range [][]string{{"serve"}, {"client"}, {"pc"}, {"version"}, {"bench", "echo"}, {"bench", "fanout"}, {"bench", "idle"}, {"bench", "longpoll"}, {"bench", "suite"}} {
		name := strings.Join(cmd, " ")
		t.Run(name, func(t *testing.T) {
			code, stdout, stderr := run(t, append(cmd, "--no-such-flag")...)
			want := "Error: flag provided but not defined: --no-such-flag\nsee 'switchboard " + name + " --help'\n"
			if code != 2 || stdout != "" || stderr != want {
				t.Fatalf("%s --no-such-flag: exit %d, stdout %q, stderr %q; want exit 2 and stderr %q", name, code, stdout, stderr, want)
			}
		})
	}
}

func TestServePortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	code, stdout, stderr := run(t, "serve", "--addr", addr)
	want := "Error: another process listens on " + addr + "; pick another with --port\n"
	if code != 1 || stdout != "" || stderr != want {
		t.Fatalf("serve on a busy port: exit %d, stdout %q, stderr %q; want exit 1 and %q", code, stdout, stderr, want)
	}
}

func TestServeHelp(t *testing.T) {
	for _, arg := range []string{"--help", "-h"} {
		t.Run(arg, func(t *testing.T) {
			code, help, stderr := run(t, "serve", arg)
			if code != 0 {
				t.Fatalf("serve %s: exit %d, want 0", arg, code)
			}
			// Help that was asked for goes to stdout, for | less and | grep.
			if stderr != "" {
				t.Errorf("serve %s wrote %q to stderr, want nothing", arg, stderr)
			}
			if !strings.HasPrefix(help, "Usage: switchboard serve [flags]") {
				t.Fatalf("serve %s printed %q, want the usage", arg, truncate(help, 200))
			}
			for _, f := range serveFlags {
				if !regexp.MustCompile(`(?m)^  --` + regexp.QuoteMeta(f) + `\b`).MatchString(help) {
					t.Errorf("serve %s does not document --%s", arg, f)
				}
			}
			// Placeholders name what a flag takes.
			for _, s := range []string{"SIGTERM", "1001", "\n  --batch-delay duration\n", "\n  --addr address\n", "\n  --compression\n"} {
				if !strings.Contains(help, s) {
					t.Errorf("serve %s does not mention %s", arg, s)
				}
			}
			for i, line := range strings.Split(help, "\n") {
				if len(line) > 80 {
					t.Errorf("line %d has %d bytes, want at most 80: %q", i+1, len(line), line)
				}
			}
		})
	}
}

func TestCommands(t *testing.T) {
	t.Run("unknown", func(t *testing.T) {
		code, _, stderr := run(t, "frobnicate")
		if want := "Error: unknown command \"frobnicate\"\nsee 'switchboard --help'\n"; code != 2 || stderr != want {
			t.Fatalf("unknown command: exit %d, stderr %q; want 2 and %q", code, stderr, want)
		}
	})
	t.Run("none", func(t *testing.T) {
		code, stdout, stderr := run(t)
		if code != 2 || stdout != "" || !strings.Contains(stderr, "Usage:") {
			t.Fatalf("no arguments: exit %d, stdout %q, stderr %q; want 2 and usage on stderr", code, stdout, stderr)
		}
	})
	for _, arg := range []string{"help", "--help", "-h"} {
		t.Run(arg, func(t *testing.T) {
			code, stdout, stderr := run(t, arg)
			if code != 0 || stderr != "" || !strings.Contains(stdout, "serve") || !strings.Contains(stdout, "version") {
				t.Fatalf("%s: exit %d, stdout %q, stderr %q; want 0 and the commands on stdout", arg, code, stdout, stderr)
			}
		})
	}
	for _, arg := range []string{"version", "--version", "-version"} {
		t.Run(arg, func(t *testing.T) {
			code, stdout, stderr := run(t, arg)
			if code != 0 || stderr != "" || !regexp.MustCompile(`^switchboard \S+\n  revision  .+\n(.*\n)*  go        go1\.\S+ \S+/\S+\n$`).MatchString(stdout) {
				t.Fatalf("%s: exit %d, stdout %q, stderr %q; want the version, revision and Go version", arg, code, stdout, stderr)
			}
		})
	}
}

// listeningRE matches serve's one start-up line; the group is the address.
var listeningRE = regexp.MustCompile(`(?m)^switchboard listening on (\S+) \(web app http://(\S+)/, WebSocket ws://(\S+)/ws, peerconnection http://(\S+)\)$`)

// echoClient connects to /echo at addr, checks one echo and runs the
// connection until it ends; the channel gets Run's result.
func echoClient(t *testing.T, addr string) <-chan error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	c, err := websocket.Dial(ctx, "ws://"+addr+"/echo", nil)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	msgs := make(chan []byte, 1)
	ended := make(chan error, 1)
	go func() {
		ended <- c.Run(context.Background(), websocket.HandlerFunc(func(_ *websocket.Conn, _ websocket.Opcode, data []byte) {
			select {
			case msgs <- data:
			default:
			}
		}))
	}()
	t.Cleanup(func() {
		c.Close(websocket.StatusNormalClosure, "")
		<-c.Done()
	})
	if err := c.SendMessage(websocket.OpText, []byte("hello, switchboard")); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-msgs:
		if string(got) != "hello, switchboard" {
			t.Fatalf("echo = %q", got)
		}
	case err := <-ended:
		t.Fatalf("connection ended before the echo: %v", err)
	case <-time.After(waitTimeout):
		t.Fatal("no echo")
	}
	return ended
}

// checkGoingAway waits for a client's Run result and checks it is 1001.
func checkGoingAway(t *testing.T, ended <-chan error) {
	t.Helper()
	select {
	case err := <-ended:
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.StatusGoingAway {
			t.Fatalf("client Run = %v, want a *websocket.CloseError with code 1001", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("the client was not closed")
	}
}

func healthz(t *testing.T, addr string) {
	t.Helper()
	resp, err := (&http.Client{Timeout: waitTimeout}).Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "ok\n" {
		t.Fatalf("GET /healthz = %d %q", resp.StatusCode, body)
	}
}

// TestServe runs `serve` in-process on a free port and shuts it down by
// cancelling its context, as SIGTERM does.
func TestServe(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr testutil.SyncBuffer
	exit := make(chan int, 1)
	go func() {
		exit <- cli.Run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--log-level", "debug"}, &stdout, &stderr)
	}()

	var addr string
	deadline := time.Now().Add(waitTimeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for addr == "" {
		if m := listeningRE.FindStringSubmatch(stdout.String()); m != nil {
			addr = m[1]
			break
		}
		select {
		case code := <-exit:
			t.Fatalf("serve exited with %d before listening; stderr:\n%s", code, stderr.String())
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no listening line on stdout within %v; stdout %q", waitTimeout, stdout.String())
		}
	}
	if host, _, _ := net.SplitHostPort(addr); host != "127.0.0.1" {
		t.Fatalf("listening on %s, want 127.0.0.1", addr)
	}

	healthz(t, addr)
	ended := echoClient(t, addr)

	cancel()
	checkGoingAway(t, ended)
	select {
	case code := <-exit:
		if code != 0 {
			t.Fatalf("serve exited with %d, want 0; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(waitTimeout):
		t.Fatal("serve did not return after its context was cancelled")
	}
	for _, s := range []string{"shutting down", "shut down cleanly"} {
		if !strings.Contains(stderr.String(), s) {
			t.Errorf("stderr does not log %q:\n%s", s, stderr.String())
		}
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Errorf("still accepting on %s after serve returned", addr)
	}
}

// TestBinarySIGTERM builds the real binary and stops it with SIGTERM while
// a WebSocket client is connected.
func TestBinarySIGTERM(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go is not in PATH: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "switchboard")
	build := exec.Command(gobin, "build", "-o", bin, "github.com/switchboard/switchboard/cmd/switchboard")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	// The go command stamps the module version and, in a git checkout,
	// the revision into the binary; --version prints them.
	out, err := exec.Command(bin, "--version").Output()
	if err != nil || !strings.HasPrefix(string(out), "switchboard ") || !strings.Contains(string(out), "\n  revision  ") {
		t.Fatalf("switchboard --version: %v, %q", err, out)
	}
	t.Logf("switchboard --version:\n%s", out)

	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--log-level", "debug")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr testutil.SyncBuffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	stopped := false
	defer func() {
		if !stopped {
			_ = cmd.Process.Kill()
			<-exited
		}
	}()

	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
				lines <- m[1]
			}
		}
		exited <- cmd.Wait() // after stdout is drained, as StdoutPipe wants
	}()
	var addr string
	select {
	case addr = <-lines:
	case err := <-exited:
		stopped = true
		t.Fatalf("switchboard exited before listening: %v\nstderr:\n%s", err, stderr.String())
	case <-time.After(waitTimeout):
		t.Fatalf("no listening line within %v; stderr:\n%s", waitTimeout, stderr.String())
	}

	healthz(t, addr)
	ended := echoClient(t, addr)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	checkGoingAway(t, ended)
	select {
	case err := <-exited:
		stopped = true
		if err != nil {
			t.Fatalf("switchboard exited with %v after SIGTERM, want status 0\nstderr:\n%s", err, stderr.String())
		}
	case <-time.After(waitTimeout):
		t.Fatalf("switchboard did not exit within %v of SIGTERM\nstderr:\n%s", waitTimeout, stderr.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	if !strings.Contains(stderr.String(), "shut down cleanly") {
		t.Errorf("stderr does not log a clean shutdown:\n%s", stderr.String())
	}
	_ = os.Remove(bin)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
