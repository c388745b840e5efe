package server_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/internal/testutil/nodetest"
	"github.com/switchboard/switchboard/internal/testutil/servertest"
	"github.com/switchboard/switchboard/websocket"
)

// The tests in this file drive Switchboard with the npm `ws` client through
// the scripts in test/node.

// echoResult is what ws-echo.mjs prints.
type echoResult struct {
	OK         bool   `json:"ok"`
	Error      string `json:"error"`
	Messages   int    `json:"messages"`
	Extensions string `json:"extensions"`
	Results    []struct {
		Type string  `json:"type"`
		Size int     `json:"size"`
		OK   bool    `json:"ok"`
		MS   float64 `json:"ms"`
	} `json:"results"`
}

// runNodeEcho runs ws-echo.mjs against url, offering permessage-deflate
// when deflate is set, and checks that every message of every size came
// back and that the extension was negotiated exactly when wantExt.
func runNodeEcho(t *testing.T, url string, deflate, wantExt bool, extra ...string) echoResult {
	t.Helper()
	args := append([]string{"--url", url}, extra...)
	if deflate {
		args = append(args, "--deflate")
	}
	var res echoResult
	nodetest.RunJSON(t, &res, "ws-echo.mjs", args...)
	if !res.OK {
		t.Fatalf("ws-echo.mjs: %s", res.Error)
	}
	if want := 2 * len(sizes); res.Messages != want || len(res.Results) != want {
		t.Fatalf("ws-echo.mjs round-tripped %d messages (%d results), want %d", res.Messages, len(res.Results), want)
	}
	seen := map[string]bool{}
	for _, r := range res.Results {
		if !r.OK {
			t.Errorf("%s message of %d bytes failed", r.Type, r.Size)
		}
		seen[r.Type+"/"+strconv.Itoa(r.Size)] = true
	}
	for _, n := range sizes {
		for _, typ := range []string{"text", "binary"} {
			if !seen[typ+"/"+strconv.Itoa(n)] {
				t.Errorf("no result for a %s message of %d bytes", typ, n)
			}
		}
	}
	if got := strings.Contains(res.Extensions, "permessage-deflate"); got != wantExt {
		t.Errorf("Sec-WebSocket-Extensions = %q with --deflate %v", res.Extensions, deflate)
	}
	return res
}

func TestNodeEcho(t *testing.T) {
	ts := servertest.Start(t, server.Config{})
	t.Run("plain", func(t *testing.T) { runNodeEcho(t, ts.URL("ws", "/echo"), false, false) })
	t.Run("deflate", func(t *testing.T) {
		res := runNodeEcho(t, ts.URL("ws", "/echo"), true, true)
		t.Logf("Sec-WebSocket-Extensions: %q", res.Extensions)
	})
	if n := ts.Metrics().ProtocolErrors.Load(); n != 0 {
		t.Errorf("server counted %d protocol errors", n)
	}
}

// TestNodeEchoCompressionDisabled checks that a server with compression
// off answers a client offering it without the extension.
func TestNodeEchoCompressionDisabled(t *testing.T) {
	ts := servertest.Start(t, server.Config{Deflate: websocket.DeflateConfig{Disabled: true}})
	runNodeEcho(t, ts.URL("ws", "/echo"), true, false)
}

// closeResult is what ws-close.mjs prints.
type closeResult struct {
	OK     bool   `json:"ok"`
	Case   string `json:"case"`
	Code   int    `json:"code"`
	Reason string `json:"reason"`
	Error  string `json:"error"`
}

// TestNodeProtocolViolations commits one protocol abuse per connection with
// the npm ws client and checks the close code the server answers with.
// Afterwards a well-behaved client still gets its echoes.
func TestNodeProtocolViolations(t *testing.T) {
	logger, _ := captureLogs(t)
	ts := servertest.Start(t, server.Config{Logger: logger})
	url := ts.URL("ws", "/echo")
	limit := strconv.Itoa(1 << 20) // the default MaxMessageBytes
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"invalid-utf8", []string{"--case", "invalid-utf8"}, 1007},
		{"invalid-utf8-deflate", []string{"--case", "invalid-utf8", "--deflate"}, 1007},
		{"invalid-utf8-fragmented", []string{"--case", "invalid-utf8-fragmented"}, 1007},
		{"unmasked", []string{"--case", "unmasked"}, 1002},
		{"too-big", []string{"--case", "too-big", "--limit", limit}, 1009},
		// 1 MiB + 1 of one byte deflates to a few KB: the limit holds
		// after decompression.
		{"too-big-deflate", []string{"--case", "too-big", "--limit", limit, "--deflate"}, 1009},
		{"too-big-fragmented", []string{"--case", "too-big-fragmented", "--limit", limit}, 1009},
		{"close-invalid-utf8", []string{"--case", "close-invalid-utf8"}, 1002},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var res closeResult
			nodetest.RunJSON(t, &res, "ws-close.mjs", append([]string{"--url", url}, tt.args...)...)
			if !res.OK || res.Code != tt.want {
				t.Fatalf("ws-close.mjs %v = %+v, want close code %d", tt.args, res, tt.want)
			}
			t.Logf("close %d %q", res.Code, res.Reason)
		})
	}
	if got, want := ts.Metrics().ProtocolErrors.Load(), int64(len(tests)); got != want {
		t.Errorf("server counted %d protocol errors, want %d", got, want)
	}
	t.Run("still-serving", func(t *testing.T) { runNodeEcho(t, url, true, true) })
	testutil.WaitFor(t, waitTimeout, "every connection to end", func() bool { return ts.Metrics().Open.Load() == 0 })
}

// handshakeResult is what ws-handshake.mjs prints.
type handshakeResult struct {
	OK         bool              `json:"ok"`
	Error      string            `json:"error"`
	Opened     bool              `json:"opened"`
	Status     int               `json:"status"`
	Headers    map[string]string `json:"headers"`
	Body       string            `json:"body"`
	Extensions string            `json:"extensions"`
	CloseCode  int               `json:"closeCode"`
}

func runHandshake(t *testing.T, args ...string) handshakeResult {
	t.Helper()
	var res handshakeResult
	nodetest.RunJSON(t, &res, "ws-handshake.mjs", args...)
	if !res.OK {
		t.Fatalf("ws-handshake.mjs %v: %s", args, res.Error)
	}
	return res
}

// TestNodeHandshakeRefused checks the statuses of refused opening
// handshakes, and that an allowed foreign origin connects.
func TestNodeHandshakeRefused(t *testing.T) {
	const allowed = "http://app.example.test:3000"
	ts := servertest.Start(t, server.Config{AllowedOrigins: []string{allowed, "*.trusted.test"}})
	url := ts.URL("ws", "/echo")

	t.Run("bad-version", func(t *testing.T) {
		res := runHandshake(t, "--url", url, "--protocol-version", "8")
		if res.Opened || res.Status != 426 {
			t.Fatalf("Sec-WebSocket-Version 8: %+v, want status 426", res)
		}
		if v := res.Headers["sec-websocket-version"]; v != "13" {
			t.Errorf("426 reply has Sec-WebSocket-Version %q, want 13", v)
		}
	})
	for _, origin := range []string{"http://evil.example.test", "https://app.example.test:3000", "http://app.example.test", "null", "http://trusted.test"} {
		t.Run("disallowed-origin "+origin, func(t *testing.T) {
			res := runHandshake(t, "--url", url, "--origin", origin)
			if res.Opened || res.Status != 403 {
				t.Fatalf("Origin %s: %+v, want status 403", origin, res)
			}
		})
	}
	for _, origin := range []string{allowed, "https://api.trusted.test", "http://" + ts.Addr} {
		t.Run("allowed-origin "+origin, func(t *testing.T) {
			res := runHandshake(t, "--url", url, "--origin", origin)
			if !res.Opened || res.CloseCode != 1000 {
				t.Fatalf("Origin %s: %+v, want a connection", origin, res)
			}
		})
	}
	t.Run("echo-from-allowed-origin", func(t *testing.T) {
		runNodeEcho(t, url, true, true, "--origin", allowed)
	})
}
