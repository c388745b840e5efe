package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lxzan/gws"

	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/internal/testutil/servertest"
	"github.com/switchboard/switchboard/websocket"
)

// The tests in this file are differential: another implementation,
// github.com/lxzan/gws, on the other end of each connection, with and
// without permessage-deflate.

func toGWS(op websocket.Opcode) gws.Opcode {
	if op == websocket.OpText {
		return gws.OpcodeText
	}
	return gws.OpcodeBinary
}

func fromGWS(op gws.Opcode) websocket.Opcode {
	switch op {
	case gws.OpcodeText:
		return websocket.OpText
	case gws.OpcodeBinary:
		return websocket.OpBinary
	}
	return websocket.Opcode(op)
}

// bigSize is a message larger than the default FragmentSize (1 MiB): it
// goes out in several frames, compressed or not, both ways.
const bigSize = 3<<20 + 7

// gwsPayloads are the payloads of the gws tests: those of every round-trip
// test plus a text and a binary message of bigSize.
func gwsPayloads() []message {
	return append(payloads(),
		message{websocket.OpText, utf8Text(bigSize)},
		message{websocket.OpBinary, randomBytes(bigSize, 99)})
}

// gwsRecorder is a gws client handler that hands each message to a channel.
type gwsRecorder struct {
	gws.BuiltinEventHandler
	msgs   chan message
	closed chan error // OnClose's error
}

func newGWSRecorder() *gwsRecorder {
	return &gwsRecorder{msgs: make(chan message, 4), closed: make(chan error, 1)}
}

func (h *gwsRecorder) OnMessage(_ *gws.Conn, m *gws.Message) {
	h.msgs <- message{fromGWS(m.Opcode), bytes.Clone(m.Bytes())}
	_ = m.Close()
}

func (h *gwsRecorder) OnClose(_ *gws.Conn, err error) { h.closed <- err }

func (h *gwsRecorder) next() (message, error) {
	select {
	case m := <-h.msgs:
		return m, nil
	case err := <-h.closed:
		h.closed <- err
		return message{}, fmt.Errorf("gws connection closed: %v", err)
	case <-time.After(replyTimeout):
		return message{}, fmt.Errorf("no message within %v", replyTimeout)
	}
}

func (h *gwsRecorder) waitClosed(t *testing.T) error {
	t.Helper()
	select {
	case err := <-h.closed:
		return err
	case <-time.After(waitTimeout):
		t.Fatalf("gws OnClose not called within %v", waitTimeout)
		return nil
	}
}

// TestGWSClientEcho drives Switchboard's /echo with a gws client: every
// message comes back identical (those over 1 MiB in several frames), compression is negotiated exactly when
// offered (and really used), the server counts no protocol error, and its
// shutdown reaches the gws client as close code 1001.
func TestGWSClientEcho(t *testing.T) {
	tests := []struct {
		name    string
		deflate gws.PermessageDeflate
	}{
		{name: "plain"},
		// gws compresses every message of Threshold bytes or more.
		{name: "deflate", deflate: gws.PermessageDeflate{Enabled: true, Threshold: 1}},
		// gws's recommended client setting: it offers context takeover for
		// both directions; our server declines it for itself.
		{name: "deflate-offer-context-takeover", deflate: gws.PermessageDeflate{Enabled: true, Threshold: 1, ServerContextTakeover: true, ClientContextTakeover: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logger, _ := captureLogs(t)
			ts := servertest.Start(t, server.Config{MaxMessageBytes: 4 << 20, Logger: logger})
			h := newGWSRecorder()
			conn, resp, err := gws.NewClient(h, &gws.ClientOption{
				Addr:               ts.URL("ws", "/echo"),
				PermessageDeflate:  tt.deflate,
				ReadMaxPayloadSize: 4 << 20,
				CheckUtf8Enabled:   true,
			})
			if err != nil {
				t.Fatalf("gws.NewClient: %v", err)
			}
			go conn.ReadLoop()
			t.Cleanup(func() { _ = conn.NetConn().Close() })

			ext := resp.Header.Get("Sec-WebSocket-Extensions")
			if got := strings.Contains(ext, "permessage-deflate"); got != tt.deflate.Enabled {
				t.Fatalf("Sec-WebSocket-Extensions = %q with compression offered: %v", ext, tt.deflate.Enabled)
			}
			t.Logf("Sec-WebSocket-Extensions: %q", ext)

			total := 0
			for _, p := range gwsPayloads() {
				total += len(p.data)
				if err := conn.WriteMessage(toGWS(p.op), p.data); err != nil {
					t.Fatalf("gws write %v of %d bytes: %v", p.op, len(p.data), err)
				}
				got, err := h.next()
				if err != nil {
					t.Fatalf("%v message of %d bytes: %v", p.op, len(p.data), err)
				}
				if err := checkEcho(p.op, p.data, got); err != nil {
					t.Fatal(err)
				}
			}

			m := ts.Metrics()
			if n := m.ProtocolErrors.Load(); n != 0 {
				t.Errorf("server counted %d protocol errors", n)
			}
			// BytesIn counts payload bytes before decompression: the text
			// messages compress to almost nothing.
			in := m.BytesIn.Load()
			if tt.deflate.Enabled && in > int64(total)*3/4 {
				t.Errorf("server read %d payload bytes for %d bytes of messages: not compressed", in, total)
			}
			if !tt.deflate.Enabled && in < int64(total) {
				t.Errorf("server read %d payload bytes for %d bytes of messages uncompressed", in, total)
			}
			t.Logf("%d message bytes, %d payload bytes in, %d bytes out", total, in, m.BytesOut.Load())

			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			if err := ts.Shutdown(ctx); err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			var ce *gws.CloseError
			if err := h.waitClosed(t); !errors.As(err, &ce) || ce.Code != uint16(websocket.StatusGoingAway) {
				t.Fatalf("gws OnClose(%v), want a *gws.CloseError with code 1001", err)
			}
		})
	}
}

// TestGWSClientCloses checks that a gws client's close frame ends the
// connection on the server cleanly.
func TestGWSClientCloses(t *testing.T) {
	ts := servertest.Start(t, server.Config{})
	h := newGWSRecorder()
	conn, _, err := gws.NewClient(h, &gws.ClientOption{Addr: ts.URL("ws", "/echo")})
	if err != nil {
		t.Fatalf("gws.NewClient: %v", err)
	}
	go conn.ReadLoop()
	if err := conn.WriteString("hi"); err != nil {
		t.Fatal(err)
	}
	if m, err := h.next(); err != nil || string(m.data) != "hi" {
		t.Fatalf("echo = %q, %v", m.data, err)
	}
	if err := conn.WriteClose(uint16(websocket.StatusNormalClosure), []byte("bye")); err != nil {
		t.Fatal(err)
	}
	h.waitClosed(t)
	m := ts.Metrics()
	testutil.WaitFor(t, waitTimeout, "the server to close the connection", func() bool { return m.Open.Load() == 0 })
	if n := m.ProtocolErrors.Load(); n != 0 {
		t.Errorf("server counted %d protocol errors", n)
	}
}

// gwsEchoServer is a gws server that echoes every message, except a text
// message "close CODE REASON", which it answers by closing with CODE and
// REASON.
type gwsEchoServer struct {
	gws.BuiltinEventHandler
}

func (gwsEchoServer) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	if m.Opcode == gws.OpcodeText && bytes.HasPrefix(m.Bytes(), []byte("close ")) {
		fields := strings.SplitN(string(m.Bytes()), " ", 3)
		code, _ := strconv.Atoi(fields[1])
		_ = c.WriteClose(uint16(code), []byte(fields[2]))
		return
	}
	_ = c.WriteMessage(m.Opcode, m.Bytes())
}

// startGWSServer serves a gws echo server on an httptest server bound to
// 127.0.0.1 and returns its ws:// URL.
func startGWSServer(t *testing.T, deflate gws.PermessageDeflate) string {
	t.Helper()
	up := gws.NewUpgrader(gwsEchoServer{}, &gws.ServerOption{
		PermessageDeflate:  deflate,
		ReadMaxPayloadSize: 4 << 20,
		CheckUtf8Enabled:   true,
	})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r)
		if err != nil {
			return
		}
		go c.ReadLoop()
	}))
	t.Cleanup(hs.Close)
	if !strings.HasPrefix(hs.URL, "http://127.0.0.1:") {
		t.Fatalf("gws server on %s, want 127.0.0.1", hs.URL)
	}
	return "ws" + strings.TrimPrefix(hs.URL, "http")
}

// TestClientAgainstGWSServer drives a gws echo server with our client.
func TestClientAgainstGWSServer(t *testing.T) {
	tests := []struct {
		name       string
		server     gws.PermessageDeflate
		client     websocket.DeflateConfig
		compressed bool
	}{
		{name: "plain", client: websocket.DeflateConfig{Disabled: true}},
		{name: "server-declines", client: websocket.DeflateConfig{}},
		{name: "client-declines", server: gws.PermessageDeflate{Enabled: true, Threshold: 1}, client: websocket.DeflateConfig{Disabled: true}},
		{name: "deflate", server: gws.PermessageDeflate{Enabled: true, Threshold: 1}, compressed: true},
		{
			name:       "deflate-context-takeover",
			server:     gws.PermessageDeflate{Enabled: true, Threshold: 1, ServerContextTakeover: true, ClientContextTakeover: true},
			client:     websocket.DeflateConfig{ContextTakeover: true},
			compressed: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := startGWSServer(t, tt.server)
			opts := &websocket.DialOptions{Deflate: tt.client}
			opts.MaxMessageBytes = 4 << 20
			cl := dial(t, url, opts)
			if cl.Compressed() != tt.compressed {
				t.Fatalf("Compressed() = %v, want %v", cl.Compressed(), tt.compressed)
			}
			for _, p := range gwsPayloads() {
				if err := cl.roundTrip(p.op, p.data); err != nil {
					t.Fatal(err)
				}
			}
			cl.Close(websocket.StatusNormalClosure, "done")
			err := cl.wait(t, waitTimeout)
			if code := websocket.CloseStatus(err); code != websocket.StatusNormalClosure {
				t.Fatalf("Run = %v, want close code 1000", err)
			}
		})
	}
}

// TestClientSeesGWSCloseCode checks that the close code and reason a gws
// server sends come out of our client's Run as a *websocket.CloseError.
func TestClientSeesGWSCloseCode(t *testing.T) {
	url := startGWSServer(t, gws.PermessageDeflate{Enabled: true})
	for _, code := range []websocket.StatusCode{1000, 1001, 1003, 1008, 1011, 1013, 3000, 4000, 4999} {
		t.Run(strconv.Itoa(int(code)), func(t *testing.T) {
			cl := dial(t, url, nil)
			reason := "closing with " + code.String()
			if err := cl.SendMessage(websocket.OpText, []byte(fmt.Sprintf("close %d %s", code, reason))); err != nil {
				t.Fatal(err)
			}
			err := cl.wait(t, waitTimeout)
			var ce *websocket.CloseError
			if !errors.As(err, &ce) {
				t.Fatalf("Run = %v (%T), want a *websocket.CloseError", err, err)
			}
			if ce.Code != code || ce.Reason != reason {
				t.Fatalf("Run = %v, want code %d reason %q", err, code, reason)
			}
		})
	}
}
