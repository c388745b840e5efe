package peerconnection

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// The wire format of WebRTC's native peerconnection_client
// (docs/peerconnection.md, "Requests"): HTTP/1.0 requests without Host or any
// other header, and responses matched literally, as the native client matches
// them.

// ErrIncomplete means a response is not complete yet: read more bytes.
var ErrIncomplete = errors.New("peerconnection: incomplete response")

// ErrNoContentLength is a response head without "\r\nContent-Length: ",
// which the native client waits on forever.
var ErrNoContentLength = errors.New("peerconnection: no content length field specified by the server")

// SignInRequest returns the native client's sign-in request for name,
// inserted raw: a name with a space yields a request line the server reads
// up to that space.
func SignInRequest(name string) []byte {
	return []byte("GET /sign_in?" + name + " HTTP/1.0\r\n\r\n")
}

// WaitRequest returns the native client's hanging GET for member id.
func WaitRequest(id int) []byte {
	return []byte("GET /wait?peer_id=" + strconv.Itoa(id) + " HTTP/1.0\r\n\r\n")
}

// SignOutRequest returns the native client's sign-out request.
func SignOutRequest(id int) []byte {
	return []byte("GET /sign_out?peer_id=" + strconv.Itoa(id) + " HTTP/1.0\r\n\r\n")
}

// MessageRequest returns the native client's request that sends body from
// member from to member to, with Content-Type: text/plain.
func MessageRequest(from, to int, body []byte) []byte {
	b := make([]byte, 0, 128+len(body))
	b = append(b, "POST /message?peer_id="...)
	b = strconv.AppendInt(b, int64(from), 10)
	b = append(b, "&to="...)
	b = strconv.AppendInt(b, int64(to), 10)
	b = append(b, " HTTP/1.0\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\nContent-Type: text/plain\r\n\r\n"...)
	return append(b, body...)
}

// Response is a response as the native client reads it.
type Response struct {
	Status      int    // the integer after the first space
	Pragma      int    // the id after "\r\nPragma: ", or -1 when missing
	ContentType string // after "\r\nContent-Type: ", or ""
	Close       bool   // "\r\nConnection: close" was present
	Body        []byte // exactly Content-Length bytes
}

// ParseResponse parses one complete response at the start of b with the native
// client's literal matching (docs/peerconnection.md, "The native client's
// expectations"). It returns n, the bytes used; ErrIncomplete when more are
// needed.
func ParseResponse(b []byte) (r Response, n int, err error) {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		return r, 0, ErrIncomplete
	}
	head := b[:end+2] // keep the last header's CRLF for matching
	length, ok := headerInt(head, "\r\nContent-Length: ")
	if !ok || length < 0 {
		return r, 0, ErrNoContentLength
	}
	if len(b)-(end+4) < length {
		return r, 0, ErrIncomplete
	}
	sp := bytes.IndexByte(head, ' ')
	if sp < 0 {
		return r, 0, fmt.Errorf("peerconnection: malformed status line %q", firstLine(head))
	}
	r.Status = atoi(head[sp+1:])
	r.Pragma = -1
	if p, ok := headerInt(head, "\r\nPragma: "); ok {
		r.Pragma = p
	}
	if i := bytes.Index(head, []byte("\r\nContent-Type: ")); i >= 0 {
		v := head[i+len("\r\nContent-Type: "):]
		r.ContentType = string(v[:bytes.Index(v, []byte("\r\n"))])
	}
	if i := bytes.Index(head, []byte("\r\nConnection: ")); i >= 0 {
		r.Close = bytes.HasPrefix(head[i+len("\r\nConnection: "):], []byte("close\r\n"))
	}
	n = end + 4 + length
	r.Body = b[end+4 : n : n]
	return r, n, nil
}

func headerInt(head []byte, name string) (int, bool) {
	i := bytes.Index(head, []byte(name))
	if i < 0 {
		return 0, false
	}
	return atoi(head[i+len(name):]), true
}

// atoi is C's atoi on decimal digits: it stops at the first non-digit.
func atoi(b []byte) int {
	n, i := 0, 0
	for i < len(b) && b[i] == ' ' {
		i++
	}
	neg := i < len(b) && b[i] == '-'
	if neg || (i < len(b) && b[i] == '+') {
		i++
	}
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9' && n < 1<<40; i++ {
		n = n*10 + int(b[i]-'0')
	}
	if neg {
		return -n
	}
	return n
}

func firstLine(b []byte) []byte {
	if i := bytes.IndexByte(b, '\r'); i >= 0 {
		return b[:i]
	}
	return b
}

// Peer is one member of the channel: an entry "name,id,connected".
type Peer struct {
	ID        int
	Name      string
	Connected bool
}

// ParseEntry parses one entry line (without its LF) as the native client
// does: name up to the first comma, id after it, connected after the
// second comma. ok is false for an empty name.
func ParseEntry(line []byte) (p Peer, ok bool) {
	name, rest, found := bytes.Cut(line, []byte(","))
	if !found || len(name) == 0 {
		return p, false
	}
	id, conn, _ := bytes.Cut(rest, []byte(","))
	return Peer{ID: atoi(id), Name: string(name), Connected: atoi(conn) != 0}, true
}

// ParsePeers splits a sign-in body into entries; an unterminated last line
// is ignored, as the native client ignores it.
func ParsePeers(body []byte) []Peer {
	var peers []Peer
	for {
		i := bytes.IndexByte(body, '\n')
		if i < 0 {
			return peers
		}
		if p, ok := ParseEntry(body[:i]); ok {
			peers = append(peers, p)
		}
		body = body[i+1:]
	}
}
