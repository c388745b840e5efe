package conformance

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"
)

// Timeouts of the raw client. Every wait has one.
const (
	// ioTimeout bounds each expected frame or reply and each write.
	ioTimeout = 5 * time.Second
	// closeWait is how long the server may take to close TCP once the
	// close handshake is complete. RFC 6455 §5.5.1 wants it "immediately";
	// the server's own CloseTimeout (5 s) is longer, so a server that only
	// gives up on its timer is caught.
	closeWait = 2 * time.Second
)

// request is the opening handshake a case sends. The zero value is a
// well-formed RFC 6455 §4.1 request for /echo.
type request struct {
	method     string   // default GET
	path       string   // default /echo
	proto      string   // default HTTP/1.1
	version    string   // Sec-WebSocket-Version; default "13", "-" omits it
	key        string   // Sec-WebSocket-Key; default a fresh key, "-" omits it
	connection string   // Connection; default "Upgrade", "-" omits it
	origin     string   // Origin, if set; "self" is the server's own origin
	protocol   string   // Sec-WebSocket-Protocol, if set
	extensions []string // one Sec-WebSocket-Extensions line each
	// clientTakeover makes the client keep its deflate window across
	// messages unless the server answers client_no_context_takeover.
	clientTakeover bool
	pipelined      []byte // sent in the same TCP write, right after the head
	headInBytes    bool   // send the head one byte per write
}

// head returns the request head for host and the Sec-WebSocket-Key in it.
func (r request) head(host string) (string, string) {
	or := func(v, def string) string {
		if v == "" {
			return def
		}
		return v
	}
	key := r.key
	if key == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		key = base64.StdEncoding.EncodeToString(b[:])
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s\r\nHost: %s\r\nUpgrade: websocket\r\n", or(r.method, "GET"), or(r.path, "/echo"), or(r.proto, "HTTP/1.1"), host)
	line := func(name, v, def string) {
		if v = or(v, def); v != "-" && v != "" {
			b.WriteString(name + ": " + v + "\r\n")
		}
	}
	line("Connection", r.connection, "Upgrade")
	line("Sec-WebSocket-Key", key, "")
	line("Sec-WebSocket-Version", r.version, "13")
	if r.origin == "self" {
		r.origin = "http://" + host
	}
	line("Origin", r.origin, "")
	line("Sec-WebSocket-Protocol", r.protocol, "")
	for _, e := range r.extensions {
		line("Sec-WebSocket-Extensions", e, "")
	}
	b.WriteString("\r\n")
	return b.String(), key
}

// transcript records what a case sent and received, for failure reports.
type transcript struct{ lines []string }

func (tr *transcript) add(format string, args ...any) {
	tr.lines = append(tr.lines, fmt.Sprintf(format, args...))
}

func (tr *transcript) String() string { return "\t" + strings.Join(tr.lines, "\n\t") }

// hexShort shows the first bytes of b in hex.
func hexShort(b []byte) string {
	const max = 48
	if len(b) <= max {
		return fmt.Sprintf("% x", b)
	}
	return fmt.Sprintf("% x ... (%d bytes)", b[:max], len(b))
}

// quoteShort shows the start of a payload.
func quoteShort(b []byte) string {
	const max = 60
	if len(b) <= max {
		return fmt.Sprintf("%q", b)
	}
	return fmt.Sprintf("%q... (%d bytes)", b[:max], len(b))
}

// rawConn is the suite's client: a net.Conn, a reader and the state of a
// server message being reassembled.
type rawConn struct {
	nc  net.Conn
	br  *bufio.Reader
	tr  *transcript
	pmd *pmdState // negotiated permessage-deflate, or nil

	msg *event // data message being reassembled
}

// dial connects, sends the request head (with any pipelined bytes in the
// same write) and reads the reply. For a 101 it checks Upgrade, Connection
// and Sec-WebSocket-Accept (computed by the suite, §4.2.2) and sets up
// permessage-deflate from the answer; for any other status it reads the
// body. The connection is returned whenever TCP connected.
func dial(addr string, req request, tr *transcript) (*rawConn, *http.Response, error) {
	nc, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		return nil, nil, err
	}
	c := &rawConn{nc: nc, br: bufio.NewReader(nc), tr: tr}
	head, key := req.head(addr)
	tr.add("→ request head %q + %d pipelined bytes", head, len(req.pipelined))
	out := append([]byte(head), req.pipelined...)
	if req.headInBytes {
		for i := range out {
			if err := c.writeQuiet(out[i : i+1]); err != nil {
				return c, nil, err
			}
		}
	} else if err := c.writeQuiet(out); err != nil {
		return c, nil, err
	}
	_ = nc.SetReadDeadline(time.Now().Add(ioTimeout))
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return c, nil, fmt.Errorf("reading the handshake reply: %w", err)
	}
	tr.add("← %s %v", resp.Status, resp.Header)
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, err := io.ReadAll(resp.Body)
		tr.add("← body %q (%v)", body, err)
		return c, resp, nil
	}
	if !hasToken(resp.Header, "Upgrade", "websocket") || !hasToken(resp.Header, "Connection", "upgrade") {
		return c, resp, fmt.Errorf("101 without Upgrade: websocket and Connection: Upgrade (RFC 6455 §4.2.2)")
	}
	if req.key != "-" {
		if got, want := resp.Header.Get("Sec-Websocket-Accept"), acceptFor(key); got != want {
			return c, resp, fmt.Errorf("Sec-WebSocket-Accept %q, want %q (RFC 6455 §4.2.2)", got, want)
		}
	}
	if exts := resp.Header.Values("Sec-Websocket-Extensions"); len(exts) > 0 {
		if len(req.extensions) == 0 {
			return c, resp, fmt.Errorf("server answered extensions %q that were not offered (RFC 6455 §9.1)", exts)
		}
		p, err := parsePMDAnswer(exts)
		if err != nil {
			return c, resp, err
		}
		c.pmd = newPMDState(p, req.clientTakeover)
	}
	return c, resp, nil
}

func hasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

func (c *rawConn) writeQuiet(b []byte) error {
	return c.writeQuietWithin(b, ioTimeout)
}

func (c *rawConn) writeQuietWithin(b []byte, timeout time.Duration) error {
	_ = c.nc.SetWriteDeadline(time.Now().Add(timeout))
	_, err := c.nc.Write(b)
	return err
}

// write sends b in one Write call.
func (c *rawConn) write(b []byte) error {
	return c.writeWithin(b, ioTimeout)
}

// writeWithin sends b in one Write call that may take up to timeout.
func (c *rawConn) writeWithin(b []byte, timeout time.Duration) error {
	c.tr.add("→ %d bytes: %s", len(b), hexShort(b))
	if err := c.writeQuietWithin(b, timeout); err != nil {
		c.tr.add("   write failed: %v", err)
		return err
	}
	return nil
}

func (c *rawConn) close() { _ = c.nc.Close() }

// eventKind is what the server did next.
type eventKind int

const (
	evMessage eventKind = iota + 1 // a whole data message
	evPing
	evPong
	evClose
	evEOF // the server closed TCP (FIN or RST)
)

// event is one thing the server did.
type event struct {
	kind       eventKind
	op         byte   // evMessage: opText or opBinary
	payload    []byte // message (inflated), ping or pong payload
	compressed bool   // evMessage: RSV1 was set
	frames     int    // evMessage: frames it came in
	wire       int    // evMessage: payload bytes on the wire
	code       int    // evClose: the code, -1 when the payload was empty
	reason     string // evClose
	reset      bool   // evEOF: it was a TCP reset
}

func (e event) String() string {
	switch e.kind {
	case evMessage:
		name := "text"
		if e.op == opBinary {
			name = "binary"
		}
		z := ""
		if e.compressed {
			z = fmt.Sprintf(" compressed to %d", e.wire)
		}
		return fmt.Sprintf("%s message of %d bytes%s in %d frame(s): %s", name, len(e.payload), z, e.frames, quoteShort(e.payload))
	case evPing:
		return "ping " + quoteShort(e.payload)
	case evPong:
		return "pong " + quoteShort(e.payload)
	case evClose:
		if e.code < 0 {
			return "close frame without a code"
		}
		return fmt.Sprintf("close %d %q", e.code, e.reason)
	case evEOF:
		if e.reset {
			return "TCP reset"
		}
		return "TCP closed (EOF)"
	}
	return "nothing"
}

// errTimeout reports a wait that ran out.
var errTimeout = errors.New("timed out")

// next returns the server's next event, waiting at most timeout. Frames a
// server may not send are errors wrapping errServerFrame.
func (c *rawConn) next(timeout time.Duration) (event, error) {
	_ = c.nc.SetReadDeadline(time.Now().Add(timeout))
	ev, err := c.nextFrame()
	switch {
	case err == nil:
		c.tr.add("← %v", ev)
	case errors.Is(err, os.ErrDeadlineExceeded):
		c.tr.add("← nothing within %v", timeout)
		return ev, fmt.Errorf("%w after %v", errTimeout, timeout)
	default:
		c.tr.add("← error: %v", err)
	}
	return ev, err
}

func (c *rawConn) nextFrame() (event, error) {
	for {
		f, err := readFrame(c.br)
		if err != nil {
			if c.msg == nil && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
				return event{kind: evEOF, reset: errors.Is(err, syscall.ECONNRESET)}, nil
			}
			return event{}, err
		}
		switch f.op {
		case opClose, opPing, opPong:
			if f.rsv != 0 {
				return event{}, fmt.Errorf("%w: control frame with RSV bits %03b (§5.2)", errServerFrame, f.rsv)
			}
			switch f.op {
			case opPing:
				return event{kind: evPing, payload: f.payload}, nil
			case opPong:
				return event{kind: evPong, payload: f.payload}, nil
			}
			code, reason, err := parseClose(f.payload)
			if err != nil {
				return event{}, err
			}
			return event{kind: evClose, code: code, reason: reason}, nil
		case opCont:
			if c.msg == nil {
				return event{}, fmt.Errorf("%w: continuation frame without a message (§5.4)", errServerFrame)
			}
			if f.rsv != 0 {
				return event{}, fmt.Errorf("%w: RSV bits %03b on a continuation frame (§5.2, RFC 7692 §6.1)", errServerFrame, f.rsv)
			}
		default:
			if c.msg != nil {
				return event{}, fmt.Errorf("%w: new data frame inside a fragmented message (§5.4)", errServerFrame)
			}
			if f.rsv&^rsv1 != 0 || (f.rsv&rsv1 != 0 && c.pmd == nil) {
				return event{}, fmt.Errorf("%w: RSV bits %03b without a negotiated extension (§5.2)", errServerFrame, f.rsv)
			}
			c.msg = &event{kind: evMessage, op: f.op, compressed: f.rsv&rsv1 != 0}
		}
		m := c.msg
		m.payload = append(m.payload, f.payload...)
		m.frames++
		if !f.fin {
			continue
		}
		c.msg = nil
		m.wire = len(m.payload)
		if m.compressed {
			if m.payload, err = c.pmd.in.inflate(m.payload); err != nil {
				return event{}, fmt.Errorf("%w: compressed message does not inflate: %v (RFC 7692 §7.2.2)", errServerFrame, err)
			}
		}
		if m.op == opText && !utf8.Valid(m.payload) {
			return event{}, fmt.Errorf("%w: text message is not UTF-8 (§8.1)", errServerFrame)
		}
		return *m, nil
	}
}
