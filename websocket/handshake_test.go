package websocket

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/httphead"
)

const sampleKey = "dGhlIHNhbXBsZSBub25jZQ=="

func parseReq(t testing.TB, raw string) *Request {
	t.Helper()
	req, _, err := httphead.ParseRequest([]byte(raw), 16<<10)
	if err != nil {
		t.Fatalf("parse %q: %v", raw, err)
	}
	return headRequest(req)
}

// headRequest is what a front door built on httphead passes to Accept.
func headRequest(req *httphead.Request) *Request {
	return &Request{Method: req.Method, ProtoMajor: req.Major, ProtoMinor: req.Minor, Header: req.Header}
}

func upgradeRequest(extra ...string) string {
	lines := []string{
		"GET /echo HTTP/1.1",
		"Host: example.com:8888",
		"Upgrade: websocket",
		"Connection: keep-alive, Upgrade",
		"Sec-WebSocket-Key: " + sampleKey,
		"Sec-WebSocket-Version: 13",
	}
	return strings.Join(append(lines, extra...), "\r\n") + "\r\n\r\n"
}

func TestAcceptKey(t *testing.T) {
	// RFC 6455 §1.3.
	if got := acceptKey(sampleKey); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("acceptKey = %q", got)
	}
}

func TestServerHandshake(t *testing.T) {
	tests := []struct {
		name   string
		req    string
		opts   AcceptOptions
		status int    // 0 means accepted
		header string // a line the reply must hold
	}{
		{name: "plain", req: upgradeRequest(), header: "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="},
		{name: "tokens any case", req: strings.Replace(upgradeRequest(), "Upgrade: websocket", "Upgrade: WebSocket", 1)},
		{name: "protoo echoed as sent", req: upgradeRequest("Sec-WebSocket-Protocol: foo, PROTOO"), opts: AcceptOptions{Subprotocols: []string{"protoo"}}, header: "Sec-WebSocket-Protocol: PROTOO"},
		{name: "no common subprotocol", req: upgradeRequest("Sec-WebSocket-Protocol: foo"), opts: AcceptOptions{Subprotocols: []string{"protoo"}}},
		{name: "deflate negotiated", req: upgradeRequest("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"), header: "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover"},
		{name: "deflate disabled", req: upgradeRequest("Sec-WebSocket-Extensions: permessage-deflate"), opts: AcceptOptions{Deflate: DeflateConfig{Disabled: true}}},
		{name: "same origin", req: upgradeRequest("Origin: http://example.com:8888")},
		{name: "allowed origin pattern", req: upgradeRequest("Origin: https://app.example.org"), opts: AcceptOptions{AllowedOrigins: []string{"*.example.org"}}},
		{name: "allowed full origin", req: upgradeRequest("Origin: https://app.example.org"), opts: AcceptOptions{AllowedOrigins: []string{"https://app.example.org"}}},
		{name: "allow all", req: upgradeRequest("Origin: null"), opts: AcceptOptions{AllowedOrigins: []string{"*"}}},
		{name: "other origin", req: upgradeRequest("Origin: http://evil.test"), status: 403},
		{name: "null origin", req: upgradeRequest("Origin: null"), status: 403},
		{name: "POST", req: strings.Replace(upgradeRequest(), "GET", "POST", 1), status: 405},
		{name: "HTTP/1.0", req: strings.Replace(upgradeRequest(), "HTTP/1.1", "HTTP/1.0", 1), status: 400},
		{name: "no Connection upgrade", req: strings.Replace(upgradeRequest(), "keep-alive, Upgrade", "keep-alive", 1), status: 400},
		{name: "version 8", req: strings.Replace(upgradeRequest(), "Version: 13", "Version: 8", 1), status: 426, header: "Sec-WebSocket-Version: 13"},
		{name: "no version", req: strings.Replace(upgradeRequest(), "Sec-WebSocket-Version: 13", "X: y", 1), status: 426},
		{name: "short key", req: strings.Replace(upgradeRequest(), sampleKey, "c2hvcnQ=", 1), status: 400},
		{name: "key not base64", req: strings.Replace(upgradeRequest(), sampleKey, "!!!!!!!!!!!!!!!!!!!!!!!!", 1), status: 400},
		{name: "two keys", req: upgradeRequest("Sec-WebSocket-Key: " + sampleKey), status: 400},
		{name: "bad extension syntax", req: upgradeRequest("Sec-WebSocket-Extensions: permessage-deflate; x=\"unterminated"), status: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs, err := serverHandshake(parseReq(t, tt.req), &tt.opts)
			if tt.status != 0 {
				var he *HandshakeError
				if !errors.As(err, &he) || he.Status != tt.status {
					t.Fatalf("err = %v, want status %d", err, tt.status)
				}
				resp := string(he.response())
				if !strings.HasPrefix(resp, "HTTP/1.1 "+strconv.Itoa(tt.status)+" ") || !strings.Contains(resp, "Content-Length: ") {
					t.Fatalf("reply lacks Content-Length: %q", resp)
				}
				if tt.header != "" && !strings.Contains(resp, tt.header+"\r\n") {
					t.Fatalf("reply lacks %q: %q", tt.header, resp)
				}
				if _, _, err := httphead.ParseResponse(he.response(), 1<<14); err != nil {
					t.Fatalf("refusal is not a valid response: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			resp := string(hs.response)
			if !strings.HasPrefix(resp, "HTTP/1.1 101 Switching Protocols\r\n") || !strings.HasSuffix(resp, "\r\n\r\n") {
				t.Fatalf("reply %q", resp)
			}
			if tt.header != "" && !strings.Contains(resp, tt.header+"\r\n") {
				t.Fatalf("reply lacks %q: %q", tt.header, resp)
			}
			if strings.Contains(tt.name, "no common") && strings.Contains(resp, "Sec-WebSocket-Protocol") {
				t.Fatalf("a subprotocol was chosen that was not offered: %q", resp)
			}
			if strings.Contains(tt.name, "disabled") && strings.Contains(resp, "Extensions") {
				t.Fatalf("compression negotiated while disabled: %q", resp)
			}
		})
	}
}

func TestClientChecksResponse(t *testing.T) {
	good := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
	tests := []struct {
		name      string
		resp      string
		protocols []string
		ok        bool
	}{
		{"good", good + "\r\n", nil, true},
		{"good with protocol", good + "Sec-WebSocket-Protocol: protoo\r\n\r\n", []string{"protoo"}, true},
		{"protocol not offered", good + "Sec-WebSocket-Protocol: other\r\n\r\n", []string{"protoo"}, false},
		{"wrong accept", strings.Replace(good, "s3pP", "AAAA", 1) + "\r\n", nil, false},
		{"not 101", "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", nil, false},
		{"no upgrade", strings.Replace(good, "Upgrade: websocket\r\n", "", 1) + "\r\n", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, _, err := httphead.ParseResponse([]byte(tt.resp), 1<<14)
			if err != nil {
				t.Fatal(err)
			}
			_, err = checkServerResponse(resp, sampleKey, tt.protocols)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrBadHandshake) {
				t.Fatalf("error does not wrap ErrBadHandshake: %v", err)
			}
		})
	}
}

func TestClientRequestIsAcceptable(t *testing.T) {
	u, _ := url.Parse("ws://127.0.0.1:8888/ws?roomId=r&peerId=p")
	raw := clientRequest(u, newKey(), []string{"protoo"}, deflateOffer(DeflateConfig{}), "http://127.0.0.1:8888", http.Header{"X-Test": {"1"}})
	req, _, err := httphead.ParseRequest(raw, 16<<10)
	if err != nil {
		t.Fatal(err)
	}
	if req.Target != "/ws?roomId=r&peerId=p" {
		t.Fatalf("target %q", req.Target)
	}
	hs, err := serverHandshake(headRequest(req), &AcceptOptions{Subprotocols: []string{"protoo"}})
	if err != nil {
		t.Fatal(err)
	}
	if hs.subprotocol != "protoo" || !hs.compressed {
		t.Fatalf("subprotocol %q compressed %v", hs.subprotocol, hs.compressed)
	}
}

// FuzzServerHandshake feeds arbitrary request heads through the head
// parser and the handshake: no panic, and an accepted handshake always
// carries a well-formed 101 reply.
func FuzzServerHandshake(f *testing.F) {
	f.Add([]byte(upgradeRequest()))
	f.Add([]byte(upgradeRequest("Sec-WebSocket-Protocol: protoo", "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits; server_max_window_bits=10")))
	f.Add([]byte(upgradeRequest("Origin: http://evil.test")))
	f.Add([]byte("GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		req, _, err := httphead.ParseRequest(raw, 16<<10)
		if err != nil {
			return
		}
		hs, err := serverHandshake(headRequest(req), &AcceptOptions{Subprotocols: []string{"protoo"}, AllowedOrigins: []string{"*.example.org"}})
		if err != nil {
			var he *HandshakeError
			if !errors.As(err, &he) || he.Status < 400 || he.Status > 499 {
				t.Fatalf("refusal without a 4xx status: %v", err)
			}
			if _, _, err := httphead.ParseResponse(he.response(), 1<<14); err != nil {
				t.Fatalf("refusal reply does not parse: %v", err)
			}
			return
		}
		resp, n, err := httphead.ParseResponse(hs.response, 1<<14)
		if err != nil || n != len(hs.response) || resp.Status != 101 {
			t.Fatalf("accepted reply does not parse: %v %q", err, hs.response)
		}
	})
}
