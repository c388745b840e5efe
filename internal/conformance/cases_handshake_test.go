package conformance

import (
	"fmt"
	"net/http"
	"testing"
)

// Group 9: the opening handshake, RFC 6455 §4.

func TestHandshake(t *testing.T) { runCases(t, handshakeCases()) }

const (
	ruleAccept     = "RFC 6455 §4.2.2: a valid version-13 request is answered 101 with Upgrade, Connection and Sec-WebSocket-Accept = base64(SHA-1(key + GUID))"
	ruleVersion    = "RFC 6455 §4.2.2/§4.4: a version the server does not speak is refused (426 Upgrade Required) with Sec-WebSocket-Version: 13"
	ruleKey        = "RFC 6455 §4.1/§4.2.1: Sec-WebSocket-Key must be a base64 16-byte nonce; otherwise 400 Bad Request"
	ruleMethod     = "RFC 6455 §4.2.1: the request MUST be an HTTP/1.1 GET; another method is refused (405 Method Not Allowed)"
	ruleHTTP11     = "RFC 6455 §4.2.1: the request must be HTTP/1.1 or higher; otherwise 400"
	ruleConnection = "RFC 6455 §4.2.1: Connection must include the token Upgrade (case-insensitive, in a list); otherwise 400"
	ruleOrigin     = "RFC 6455 §4.2.2 item 4 and §10.2: a server that does not accept the Origin answers 403 Forbidden"
	ruleProtocol   = "RFC 6455 §4.2.2: the server echoes one subprotocol it supports from the client's list, and none that was not offered"
	ruleProtoo     = ruleProtocol + "; Switchboard speaks protoo, and a browser fails a connection that asked for protoo when the reply names none (WHATWG WebSocket, 'establish a WebSocket connection')"
	rulePipelined  = "RFC 6455 §4.1: once the client has the 101 it may send frames; bytes that follow the head in the same TCP segment are frames and must be read"
	ruleRefusal    = "RFC 6455 §4.2.2/§4.4: a refused handshake gets an HTTP error and the server closes the connection"
	ruleResource   = "RFC 6455 §4.2.2: a resource the server does not serve gets 404 Not Found"
)

// wantHeader checks a reply header's value.
func wantHeader(name, want string) func(*http.Response) error {
	return func(r *http.Response) error {
		if got := r.Header.Values(name); len(got) != 1 || got[0] != want {
			return fmt.Errorf("%s: %q, want %q", name, got, want)
		}
		return nil
	}
}

// noHeader checks that a reply header is absent.
func noHeader(name string) func(*http.Response) error {
	return func(r *http.Response) error {
		if got := r.Header.Values(name); len(got) != 0 {
			return fmt.Errorf("%s: %q, want no such header", name, got)
		}
		return nil
	}
}

// echoOnce is the steps proving an upgraded connection works.
func echoOnce() []step {
	return []step{send(textFrame("handshake ok")), expectText("handshake ok"), send(closeFrame(1000, "")), expectClosed(1000)}
}

// refused is a handshake case expecting status and then TCP close.
func refused(name, rule string, req request, status int) tcase {
	return tcase{name: name, rfc: rule, req: req, status: status, steps: []step{expectEOF()}}
}

func handshakeCases() []tcase {
	cases := []tcase{
		{name: "4.2.2/accept/version-13", rfc: ruleAccept, steps: echoOnce()},
		{name: "4.2.2/accept/rfc-example-key", rfc: ruleAccept + " (RFC 6455 §1.3 example)",
			req:       request{key: "dGhlIHNhbXBsZSBub25jZQ=="},
			checkResp: wantHeader("Sec-Websocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), steps: echoOnce()},
		{name: "4.2.2/accept/no-extension-when-none-offered", rfc: "RFC 6455 §9.1: the server answers only extensions the client offered",
			checkResp: noHeader("Sec-Websocket-Extensions"), steps: echoOnce()},
		{name: "4.2.1/head/in-1-byte-writes", rfc: ruleAccept, req: request{headInBytes: true}, steps: echoOnce()},
		{name: "4.2.1/connection/token-in-list", rfc: ruleConnection, req: request{connection: "keep-alive, Upgrade"}, steps: echoOnce()},
		{name: "4.2.1/connection/lower-case-token", rfc: ruleConnection, req: request{connection: "upgrade"}, steps: echoOnce()},
		refused("4.2.1/connection/missing", ruleConnection, request{connection: "-"}, http.StatusBadRequest),
		refused("4.2.1/connection/keep-alive-only", ruleConnection, request{connection: "keep-alive"}, http.StatusBadRequest),
		refused("4.2.1/method/post", ruleMethod, request{method: "POST"}, http.StatusMethodNotAllowed),
		refused("4.2.1/method/put", ruleMethod, request{method: "PUT"}, http.StatusMethodNotAllowed),
		refused("4.2.1/http-version/1.0", ruleHTTP11, request{proto: "HTTP/1.0"}, http.StatusBadRequest),
		refused("4.2.1/key/missing", ruleKey, request{key: "-"}, http.StatusBadRequest),
		refused("4.2.1/key/not-base64", ruleKey, request{key: "not base64 at all!"}, http.StatusBadRequest),
		refused("4.2.1/key/15-bytes", ruleKey, request{key: "AAAAAAAAAAAAAAAAAAAA"}, http.StatusBadRequest),
		refused("4.2.1/key/17-bytes", ruleKey, request{key: "AAAAAAAAAAAAAAAAAAAAAAA="}, http.StatusBadRequest),
		refused("4.2.2/resource/unknown-path", ruleResource, request{path: "/no-such-endpoint"}, http.StatusNotFound),
		refused("4.2.2/origin/foreign-origin-refused", ruleOrigin, request{origin: "http://evil.example"}, http.StatusForbidden),
		refused("4.2.2/origin/null-origin-refused", ruleOrigin, request{origin: "null"}, http.StatusForbidden),
		{name: "4.2.2/origin/same-origin-accepted", rfc: ruleOrigin, req: request{origin: "self"}, steps: echoOnce()},
		{name: "4.2.2/origin/allowed-origin-accepted", rfc: ruleOrigin, server: srvOrigins, req: request{origin: allowedOrigin}, steps: echoOnce()},
		{name: "4.2.2/origin/allowed-pattern-accepted", rfc: ruleOrigin, server: srvOrigins, req: request{origin: "https://a.trusted.example"}, steps: echoOnce()},
		{name: "4.2.2/origin/no-origin-non-browser-accepted", rfc: ruleOrigin, server: srvOrigins, steps: echoOnce()},

		{name: "4.2.2/subprotocol/protoo-echoed", rfc: ruleProtoo, req: request{protocol: "protoo"},
			checkResp: wantHeader("Sec-Websocket-Protocol", "protoo"), steps: echoOnce()},
		{name: "4.2.2/subprotocol/protoo-picked-from-list", rfc: ruleProtoo, req: request{protocol: "chat, protoo"},
			checkResp: wantHeader("Sec-Websocket-Protocol", "protoo"), steps: echoOnce()},
		{name: "4.2.2/subprotocol/unknown-not-echoed", rfc: ruleProtocol, req: request{protocol: "no-such-protocol"},
			checkResp: noHeader("Sec-Websocket-Protocol"), steps: echoOnce()},

		{name: "4.1/pipelined/frame-after-head", rfc: rulePipelined, req: request{pipelined: textFrame("pipelined")},
			steps: []step{expectText("pipelined")}},
		{name: "4.1/pipelined/frames-and-close-after-head", rfc: rulePipelined,
			req:   request{pipelined: join(textFrame("one"), binaryFrame(binOf(300)), closeFrame(1000, ""))},
			steps: []step{expectText("one"), expectBinary(binOf(300)), expectClosed(1000)}},
		{name: "4.1/pipelined/partial-frame-after-head", rfc: rulePipelined, req: request{pipelined: textFrame("split across")[:5]},
			steps: []step{send(textFrame("split across")[5:]), expectText("split across")}},
		{name: "4.1/pipelined/in-1-byte-writes", rfc: rulePipelined, req: request{headInBytes: true, pipelined: textFrame("pipelined")},
			steps: []step{expectText("pipelined")}},
	}
	for _, v := range []string{"8", "12", "14", "0", "abc", "13, 8"} {
		c := refused("4.4/version/"+v+"-refused", ruleVersion, request{version: v}, http.StatusUpgradeRequired)
		c.checkResp = wantHeader("Sec-Websocket-Version", "13")
		cases = append(cases, c)
	}
	missing := refused("4.4/version/missing-refused", ruleVersion+" (400 fits too: §4.2.1 requires the header)", request{version: "-"}, http.StatusUpgradeRequired)
	missing.altStatus = http.StatusBadRequest
	cases = append(cases, missing)
	notListed := refused("4.2.2/origin/not-in-allowed-list", ruleOrigin, request{origin: "https://evil.example"}, http.StatusForbidden)
	notListed.server = srvOrigins
	return append(cases, notListed)
}
