package websocket

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/switchboard/switchboard/internal/httphead"
)

// acceptGUID is the fixed GUID of RFC 6455 §1.3.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// acceptKey returns the Sec-WebSocket-Accept value for a Sec-WebSocket-Key.
func acceptKey(key string) string {
	h := sha1.New()
	h.Write([]byte(key))
	h.Write([]byte(acceptGUID))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// newKey returns a fresh Sec-WebSocket-Key: 16 random bytes, base64.
func newKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+).
	return base64.StdEncoding.EncodeToString(b[:])
}

// HandshakeError is a refused opening handshake. Status is the HTTP status
// the server answers with.
type HandshakeError struct {
	Status int
	Reason string
	// Header lines to add to the reply, such as "Sec-WebSocket-Version: 13".
	Header []string
}

func (e *HandshakeError) Error() string {
	return fmt.Sprintf("websocket: handshake refused: %d %s", e.Status, e.Reason)
}

// response returns the whole HTTP reply for a refused handshake: a short
// text body with Content-Length and Connection: close.
func (e *HandshakeError) response() []byte {
	body := e.Reason + "\n"
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", e.Status, http.StatusText(e.Status))
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\n")
	fmt.Fprintf(&b, "Content-Length: %d\r\nConnection: close\r\n", len(body))
	for _, h := range e.Header {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n" + body)
	return []byte(b.String())
}

func refuse(status int, reason string, header ...string) *HandshakeError {
	return &HandshakeError{Status: status, Reason: reason, Header: header}
}

// Request is the head of an opening handshake request: the fields of it
// that Accept reads. A server that parses request heads itself fills it in
// from its own parser's result; Upgrade fills it in from an *http.Request.
type Request struct {
	// Method is the request method as sent ("GET").
	Method string
	// ProtoMajor and ProtoMinor are the HTTP version (1 and 1 for
	// HTTP/1.1); the handshake needs HTTP/1.1 or later.
	ProtoMajor, ProtoMinor int
	// Host is the request's host, compared with a browser's Origin for the
	// same-origin rule; when it is empty the Host field of Header is used.
	Host string
	// Header holds the header fields, keys in canonical form
	// (textproto.CanonicalMIMEHeaderKey), as http.Header does.
	Header http.Header
}

// host returns the request's Host.
func (r *Request) host() string {
	if r.Host != "" {
		return r.Host
	}
	return r.Header.Get("Host")
}

// IsUpgrade reports whether a request's header fields ask for a WebSocket
// upgrade (an Upgrade header naming websocket). A server routes such
// requests to Accept, which checks the rest of the handshake.
func IsUpgrade(h http.Header) bool {
	return headerHasToken(h, "Upgrade", "websocket")
}

// handshake is the outcome of a successful server-side opening handshake.
type handshake struct {
	response    []byte // the 101 reply to write
	subprotocol string // the selected subprotocol, or ""
	deflate     deflateParams
	compressed  bool
}

// serverHandshake checks an upgrade request against RFC 6455 §4.2.1 and the
// options, and returns the 101 reply to send. A refusal is a
// *HandshakeError carrying the status to answer with. It is a pure
// function: no I/O.
func serverHandshake(req *Request, opts *AcceptOptions) (*handshake, error) {
	if opts == nil {
		opts = &AcceptOptions{}
	}
	if req.Method != "GET" {
		return nil, refuse(http.StatusMethodNotAllowed, "WebSocket upgrade needs GET", "Allow: GET")
	}
	if req.ProtoMajor < 1 || (req.ProtoMajor == 1 && req.ProtoMinor < 1) {
		return nil, refuse(http.StatusBadRequest, "WebSocket upgrade needs HTTP/1.1")
	}
	if !headerHasToken(req.Header, "Upgrade", "websocket") {
		return nil, refuse(http.StatusBadRequest, `Upgrade header must name "websocket"`)
	}
	if !headerHasToken(req.Header, "Connection", "upgrade") {
		return nil, refuse(http.StatusBadRequest, `Connection header must contain "Upgrade"`)
	}
	if v := req.Header.Values("Sec-Websocket-Version"); len(v) != 1 || strings.TrimSpace(v[0]) != "13" {
		return nil, refuse(http.StatusUpgradeRequired, "unsupported Sec-WebSocket-Version; this server speaks 13", "Sec-WebSocket-Version: 13")
	}
	keys := req.Header.Values("Sec-Websocket-Key")
	if len(keys) != 1 {
		return nil, refuse(http.StatusBadRequest, "exactly one Sec-WebSocket-Key header is required")
	}
	key := strings.TrimSpace(keys[0])
	if raw, err := base64.StdEncoding.DecodeString(key); err != nil || len(raw) != 16 {
		return nil, refuse(http.StatusBadRequest, "Sec-WebSocket-Key must be 16 bytes in base64")
	}
	origin := req.Header.Get("Origin")
	if !originAllowed(origin, req.host(), opts.AllowedOrigins) {
		return nil, refuse(http.StatusForbidden, "origin not allowed: "+sanitize(origin))
	}

	hs := &handshake{}
	var b strings.Builder
	b.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n")
	b.WriteString("Sec-WebSocket-Accept: " + acceptKey(key) + "\r\n")
	if p, ok := selectSubprotocol(req.Header.Values("Sec-Websocket-Protocol"), opts.Subprotocols); ok {
		hs.subprotocol = p
		b.WriteString("Sec-WebSocket-Protocol: " + p + "\r\n")
	}
	if exts := req.Header.Values("Sec-Websocket-Extensions"); len(exts) > 0 && !opts.Deflate.Disabled {
		params, answer, ok, err := negotiateDeflate(exts, opts.Deflate)
		if err != nil {
			return nil, refuse(http.StatusBadRequest, "malformed Sec-WebSocket-Extensions: "+sanitize(err.Error()))
		}
		if ok {
			hs.deflate, hs.compressed = params, true
			b.WriteString("Sec-WebSocket-Extensions: " + answer + "\r\n")
		}
	}
	b.WriteString("\r\n")
	hs.response = []byte(b.String())
	return hs, nil
}

// selectSubprotocol returns the first subprotocol the client offered that
// the server supports (compared case-insensitively), spelled as the client
// sent it.
func selectSubprotocol(offered, supported []string) (string, bool) {
	for _, v := range offered {
		for _, p := range strings.Split(v, ",") {
			p = strings.TrimSpace(p)
			for _, s := range supported {
				if p != "" && strings.EqualFold(p, s) {
					return p, true
				}
			}
		}
	}
	return "", false
}

// OffersSubprotocol reports whether a request's header fields offer the
// subprotocol p (Sec-WebSocket-Protocol, compared case-insensitively).
func OffersSubprotocol(h http.Header, p string) bool {
	_, ok := selectSubprotocol(h.Values("Sec-Websocket-Protocol"), []string{p})
	return ok
}

// originAllowed applies the origin policy: no Origin header (a non-browser
// client) is allowed; a browser origin must be the server's own (its host
// equals Host) or match one of the patterns. A pattern is "*", a full
// origin ("https://app.example.com"), or a host pattern for path.Match
// ("*.example.com", "localhost:*").
func originAllowed(origin, host string, patterns []string) bool {
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		// "null" and other opaque origins only pass an explicit "*".
		return contains(patterns, "*")
	}
	if strings.EqualFold(u.Host, host) {
		return true
	}
	for _, p := range patterns {
		if p == "*" || strings.EqualFold(p, origin) {
			return true
		}
		if ok, err := path.Match(strings.ToLower(p), strings.ToLower(u.Host)); err == nil && ok {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// headerHasToken reports whether any comma-separated element of the named
// header equals token, case-insensitively.
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// sanitize keeps a value fit for a one-line reason.
func sanitize(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > 200 {
		s = truncateUTF8(s, 200)
	}
	return s
}

// clientRequest builds the opening handshake a client sends (RFC 6455 §4.1).
func clientRequest(u *url.URL, key string, protocols []string, extensions string, origin string, extra http.Header) []byte {
	var b strings.Builder
	target := u.RequestURI()
	b.WriteString("GET " + target + " HTTP/1.1\r\n")
	b.WriteString("Host: " + u.Host + "\r\n")
	b.WriteString("Upgrade: websocket\r\nConnection: Upgrade\r\n")
	b.WriteString("Sec-WebSocket-Key: " + key + "\r\n")
	b.WriteString("Sec-WebSocket-Version: 13\r\n")
	if origin != "" {
		b.WriteString("Origin: " + origin + "\r\n")
	}
	if len(protocols) > 0 {
		b.WriteString("Sec-WebSocket-Protocol: " + strings.Join(protocols, ", ") + "\r\n")
	}
	if extensions != "" {
		b.WriteString("Sec-WebSocket-Extensions: " + extensions + "\r\n")
	}
	for name, vs := range extra {
		for _, v := range vs {
			b.WriteString(name + ": " + v + "\r\n")
		}
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

// ErrBadHandshake is wrapped by every client-side handshake failure.
var ErrBadHandshake = errors.New("websocket: bad handshake")

// checkServerResponse checks a server's reply on the client side: status
// 101, the Upgrade and Connection tokens, the accept value and that the
// subprotocol is one the client offered.
func checkServerResponse(resp *httphead.Response, key string, protocols []string) (subprotocol string, err error) {
	if resp.Status != http.StatusSwitchingProtocols {
		return "", fmt.Errorf("%w: status %s", ErrBadHandshake, strconv.Itoa(resp.Status)+" "+resp.Reason)
	}
	if !headerHasToken(resp.Header, "Upgrade", "websocket") {
		return "", fmt.Errorf("%w: Upgrade header is not websocket", ErrBadHandshake)
	}
	if !headerHasToken(resp.Header, "Connection", "upgrade") {
		return "", fmt.Errorf("%w: Connection header lacks Upgrade", ErrBadHandshake)
	}
	if got := resp.Header.Get("Sec-Websocket-Accept"); got != acceptKey(key) {
		return "", fmt.Errorf("%w: Sec-WebSocket-Accept %q does not match the key", ErrBadHandshake, got)
	}
	if vs := resp.Header.Values("Sec-Websocket-Protocol"); len(vs) > 0 {
		p := strings.TrimSpace(vs[0])
		if len(vs) > 1 || !containsFold(protocols, p) {
			return "", fmt.Errorf("%w: server chose subprotocol %q, which was not offered", ErrBadHandshake, p)
		}
		subprotocol = p
	}
	return subprotocol, nil
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
