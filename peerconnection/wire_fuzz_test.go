package peerconnection_test

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/peerconn"
	"github.com/switchboard/switchboard/peerconnection"
)

// The header blocks of the reference layout (docs/peerconnection.md,
// "Responses").
const (
	fzHDR  = "Server: PeerConnectionTestServer/0.1\r\nCache-Control: no-cache\r\nConnection: close\r\n"
	fzCORS = "Access-Control-Allow-Origin: *\r\n" +
		"Access-Control-Allow-Credentials: true\r\n" +
		"Access-Control-Allow-Methods: POST, GET, OPTIONS\r\n" +
		"Access-Control-Allow-Headers: Content-Type, Content-Length, Connection, Cache-Control\r\n" +
		"Access-Control-Expose-Headers: Content-Length\r\n"
)

// parseSeeds are the responses of the wire format (docs/peerconnection.md,
// "Responses" and "The native client's expectations"), some cut short or
// broken the ways a server or the network can break them.
var parseSeeds = []string{
	// The sign-in reply on an empty channel, byte for byte.
	"HTTP/1.1 200 Added\r\n" + fzHDR + "Content-Type: text/plain\r\nContent-Length: 10\r\nPragma: 1\r\n" + fzCORS + "\r\nalice,1,1\n",
	"HTTP/1.1 200 Added\r\n" + fzHDR + "Content-Type: text/plain\r\nContent-Length: 24\r\nPragma: 2\r\n" + fzCORS + "\r\nbob@h2,2,1\nalice@h1,1,1\n",
	// A presence notice and a peer message on a /wait.
	"HTTP/1.1 200 OK\r\n" + fzHDR + "Content-Type: text/plain\r\nContent-Length: 11\r\nPragma: 1\r\n" + fzCORS + "\r\nbob@h2,2,0\n",
	"HTTP/1.1 200 OK\r\n" + fzHDR + "Content-Type: application/json; charset=utf-8\r\nContent-Length: 33\r\nPragma: 2\r\n" + fzCORS + "\r\n{\n\t\"sdp\" : \"v=0\",\n\t\"type\" : \"offer\"}",
	"HTTP/1.1 200 OK\r\n" + fzHDR + "Content-Type: text/plain\r\nContent-Length: 3\r\nPragma: 2\r\n" + fzCORS + "\r\nBYE",
	// The POST and sign-out acknowledgement, OPTIONS, the errors.
	"HTTP/1.1 200 OK\r\n" + fzHDR + "Content-Type: text/plain\r\nContent-Length: 0\r\n" + fzCORS + "\r\n",
	"HTTP/1.1 200 OK\r\n" + fzHDR + "Content-Length: 0\r\n" + fzCORS + "\r\n",
	"HTTP/1.1 500 Error\r\n" + fzHDR + "Content-Type: text/plain\r\nContent-Length: 22\r\n" + fzCORS + "\r\nPeer most likely gone.",
	"HTTP/1.1 500 Sorry\r\n" + fzHDR + "Content-Type: text/html\r\nContent-Length: 52\r\n" + fzCORS + "\r\n<html><body>Sorry, not yet implemented</body></html>",
	"HTTP/1.1 200 OK\r\n" + fzHDR + "Content-Type: text/html\r\nContent-Length: 37\r\n" + fzCORS + "\r\n<html><body>Quitting...</body></html>",
	"HTTP/1.1 200 OK\r\n" + fzHDR + "Content-Type: text/plain\r\nContent-Length: 20\r\n" + fzCORS + "\r\nServer shutting down",
	"HTTP/1.1 503 Service Unavailable\r\n" + fzHDR + "Content-Type: text/plain\r\nContent-Length: 30\r\n" + fzCORS + "\r\nthe recipient's queue is full\n",
	// Minimal, with bytes after the response, and a 100 Continue first.
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nPragma: 7\r\n\r\nhiEXTRA",
	"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	// Incomplete: no end of head, a short body.
	"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc",
	// What the native client cannot read: no Content-Length, another case,
	// no space, a negative or huge length.
	"HTTP/1.1 200 OK\r\n\r\n",
	"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length:0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length:  +3\r\nPragma: -4\r\nPragma: 5\r\n\r\nabc",
	// Odd heads: no space in the status line, bare LF, a Content-Type
	// with a lone CR, Connection other than close, a header that is only
	// a prefix of a known one.
	"HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 200 OK\nContent-Length: 0\n\n",
	"HTTP/1.1 200 OK\r\nContent-Type: a\rb\r\nContent-Length: 1\r\nConnection: keep-alive\r\n\r\nx",
	"HTTP/1.1 200 OK\r\nContent-Type: \r\nContent-Length: 0\r\nConnection: closed\r\nPragma: \r\n\r\n",
	"\r\n\r\n",
	"",
}

// FuzzParseResponse feeds ParseResponse arbitrary bytes, as a server or the
// network may send them. It must never panic; an error is one of its own and
// leaves n at 0; a response is a prefix of the input whose every shorter
// prefix is incomplete, whose body is the last Content-Length bytes of it
// and cannot be grown into the caller's buffer, and whose fields survive
// being written again in the server's layout and parsed back.
func FuzzParseResponse(f *testing.F) {
	for _, s := range parseSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		in := bytes.Clone(b)
		r, n, err := peerconnection.ParseResponse(b)
		if !bytes.Equal(b, in) {
			t.Fatal("ParseResponse changed its input")
		}
		if err != nil {
			checkParseError(t, b, r, n, err)
			return
		}
		if n <= 0 || n > len(b) {
			t.Fatalf("n = %d for %d bytes", n, len(b))
		}
		end := bytes.Index(b, []byte("\r\n\r\n"))
		if end < 0 || n != end+4+len(r.Body) || !bytes.Equal(r.Body, b[end+4:n]) {
			t.Fatalf("n = %d, body %q: not the %d bytes after the head", n, r.Body, len(r.Body))
		}
		if cap(r.Body) != len(r.Body) {
			t.Fatalf("body cap %d > len %d: appending to it would overwrite the input", cap(r.Body), len(r.Body))
		}
		if strings.Contains(r.ContentType, "\r\n") {
			t.Fatalf("Content-Type %q spans lines", r.ContentType)
		}
		// The response does not depend on what follows it, and it is not
		// complete before its last byte.
		if r2, n2, err2 := peerconnection.ParseResponse(b[:n]); err2 != nil || n2 != n || !sameResponse(r, r2) {
			t.Fatalf("alone: %+v, %d, %v; want %+v, %d", r2, n2, err2, r, n)
		}
		for _, cut := range []int{n - 1, end + 3, end + 2, end} {
			if _, _, err := peerconnection.ParseResponse(b[:cut]); !errors.Is(err, peerconnection.ErrIncomplete) {
				t.Fatalf("cut to %d of %d bytes: %v, want ErrIncomplete", cut, n, err)
			}
		}
		// Round trip through the server's encoder. A Pragma of 0 is
		// written as none, which reads as -1; the encoder always says
		// Connection: close.
		pragma := r.Pragma
		enc := peerconn.AppendResponse(nil, strconv.Itoa(r.Status)+" Fuzz", r.ContentType, pragma, r.Body)
		r3, n3, err3 := peerconnection.ParseResponse(enc)
		want := r
		want.Close = true
		if pragma == 0 {
			want.Pragma = -1
		}
		if err3 != nil || n3 != len(enc) || !sameResponse(r3, want) {
			t.Fatalf("re-encoded %q: %+v, %d, %v; want %+v", enc, r3, n3, err3, want)
		}
	})
}

// checkParseError checks a failed parse: no bytes used, no fields set, and
// an error the caller can act on.
func checkParseError(t *testing.T, b []byte, r peerconnection.Response, n int, err error) {
	t.Helper()
	if n != 0 || !sameResponse(r, peerconnection.Response{}) {
		t.Fatalf("error %v with n = %d and %+v", err, n, r)
	}
	end := bytes.Index(b, []byte("\r\n\r\n"))
	switch {
	case errors.Is(err, peerconnection.ErrIncomplete):
		// More bytes could complete it: the head or the body is short.
	case errors.Is(err, peerconnection.ErrNoContentLength):
		if end < 0 {
			t.Fatalf("%v without a complete head", err)
		}
	case strings.HasPrefix(err.Error(), "peerconnection: malformed status line"):
		if end < 0 || bytes.IndexByte(b[:end], ' ') >= 0 {
			t.Fatalf("%v, but the head %q has a space", err, b[:end])
		}
	default:
		t.Fatalf("unexpected error %v", err)
	}
}

func sameResponse(a, b peerconnection.Response) bool {
	return a.Status == b.Status && a.Pragma == b.Pragma && a.ContentType == b.ContentType &&
		a.Close == b.Close && bytes.Equal(a.Body, b.Body) && (a.Body == nil) == (b.Body == nil)
}
