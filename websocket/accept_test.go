package websocket

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/httphead"
)

// netHTTPServer serves WebSocket echo through net/http and Upgrade. Its
// handlers run Conn.Run themselves, so closing the server waits for them.
func netHTTPServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Upgrade(w, r, &AcceptOptions{Subprotocols: []string{"protoo"}})
		if err != nil {
			return // answered through w
		}
		_ = c.Run(context.Background(), echoHandler)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestUpgradeNetHTTP(t *testing.T) {
	for _, compress := range []bool{false, true} {
		srv := netHTTPServer(t)
		url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/echo"
		c, in, _ := dialRun(t, url, &DialOptions{Subprotocols: []string{"protoo"}, Deflate: DeflateConfig{Disabled: !compress}})
		if c.Subprotocol() != "protoo" || c.Compressed() != compress {
			t.Fatalf("subprotocol %q compressed %v, want protoo %v", c.Subprotocol(), c.Compressed(), compress)
		}
		for _, size := range []int{0, 5, 70000} {
			data := bytes.Repeat([]byte("x"), size)
			if err := c.SendMessage(OpText, data); err != nil {
				t.Fatal(err)
			}
			if got := in.next(t); got.op != OpText || !bytes.Equal(got.data, data) {
				t.Fatalf("echo of %d bytes: got %s of %d bytes", size, got.op, len(got.data))
			}
		}
	}
}

// A frame the client sends right behind its head reaches net/http's read
// buffer with the head: Upgrade must hand it to the connection.
func TestUpgradeKeepsBytesAfterHead(t *testing.T) {
	srv := netHTTPServer(t)
	nc, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	head := "GET /echo HTTP/1.1\r\nHost: " + srv.Listener.Addr().String() + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + sampleKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n"
	mask := [4]byte{1, 2, 3, 4}
	if _, err := nc.Write(appendFrame([]byte(head), OpText, true, false, &mask, []byte("hello"))); err != nil {
		t.Fatal(err)
	}
	var buf []byte
	tmp := make([]byte, 4096)
	for {
		n, err := nc.Read(tmp)
		buf = append(buf, tmp[:n]...)
		if resp, used, perr := httphead.ParseResponse(buf, 1<<14); perr == nil {
			if resp.Status != http.StatusSwitchingProtocols {
				t.Fatalf("status %d", resp.Status)
			}
			if h, hn, herr := parseHeader(buf[used:]); herr == nil && len(buf) >= used+hn+int(h.Length) {
				if got := string(buf[used+hn : used+hn+int(h.Length)]); h.Op != OpText || got != "hello" {
					t.Fatalf("echo %s %q, want text \"hello\"", h.Op, got)
				}
				return
			}
		} else if !errors.Is(perr, httphead.ErrIncomplete) {
			t.Fatalf("reply head: %v", perr)
		}
		if err != nil {
			t.Fatalf("no echo of the frame sent with the head: %v (read %q)", err, buf)
		}
	}
}

func TestUpgradeRefusals(t *testing.T) {
	srv := netHTTPServer(t)
	tests := []struct {
		name    string
		header  http.Header
		status  int
		version string // the Sec-WebSocket-Version header of the reply
	}{
		{"plain GET", http.Header{}, http.StatusBadRequest, ""},
		{"old version", http.Header{"Upgrade": {"websocket"}, "Connection": {"Upgrade"}, "Sec-Websocket-Key": {sampleKey}, "Sec-Websocket-Version": {"8"}}, http.StatusUpgradeRequired, "13"},
		{"foreign origin", http.Header{"Upgrade": {"websocket"}, "Connection": {"Upgrade"}, "Sec-Websocket-Key": {sampleKey}, "Sec-Websocket-Version": {"13"}, "Origin": {"http://evil.test"}}, http.StatusForbidden, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest("GET", srv.URL+"/echo", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header = tt.header
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || resp.Header.Get("Sec-Websocket-Version") != tt.version || len(body) == 0 {
				t.Fatalf("got %d (Sec-WebSocket-Version %q) %q, want %d (%q) with a reason", resp.StatusCode, resp.Header.Get("Sec-Websocket-Version"), body, tt.status, tt.version)
			}
		})
	}
}

// The same-origin rule reads net/http's Host, which is not in its Header.
func TestUpgradeSameOrigin(t *testing.T) {
	srv := netHTTPServer(t)
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/echo"
	c, in, _ := dialRun(t, url, &DialOptions{Origin: srv.URL})
	if err := c.SendMessage(OpText, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if got := in.next(t); string(got.data) != "hi" {
		t.Fatalf("echo %q", got.data)
	}
}
