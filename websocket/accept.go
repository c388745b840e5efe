package websocket

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// AcceptOptions configures the server side of a connection.
type AcceptOptions struct {
	// Subprotocols the server speaks, compared case-insensitively with the
	// client's offer; the first offered one that is listed is echoed.
	Subprotocols []string
	// AllowedOrigins lists the browser origins allowed besides the
	// server's own: "*", a full origin, or a host pattern such as
	// "*.example.com" (path.Match syntax). Requests without Origin (not
	// from a browser) are always allowed. Default: same origin only.
	AllowedOrigins []string
	// Deflate configures permessage-deflate (RFC 7692). Default: on when
	// the client offers it, without context takeover.
	Deflate DeflateConfig
	Config
}

// Accept completes the opening handshake of a request whose head the
// caller has read from nc itself, and returns the connection; buffered
// holds the bytes read after the head (the start of the first frames). A
// refused handshake is answered on nc with its HTTP status and returned as
// a *HandshakeError; the caller then closes nc.
//
// Accept is for servers that parse request heads themselves, as
// Switchboard's front door does; with net/http, use Upgrade.
func Accept(nc net.Conn, req *Request, buffered []byte, opts *AcceptOptions) (*Conn, error) {
	if opts == nil {
		opts = &AcceptOptions{}
	}
	hs, err := serverHandshake(req, opts)
	cfg := opts.Config.withDefaults()
	_ = nc.SetWriteDeadline(time.Now().Add(cfg.WriteTimeout))
	if err != nil {
		var he *HandshakeError
		if errors.As(err, &he) {
			_, _ = nc.Write(he.response())
		}
		return nil, err
	}
	return accept(nc, hs, buffered, opts, cfg)
}

// Upgrade completes the opening handshake of a net/http request, takes the
// connection over from the http.Server (http.Hijacker) and returns it. A
// refused handshake is answered through w with its HTTP status and
// returned as a *HandshakeError. The request must be HTTP/1.1: HTTP/2
// connections cannot be taken over, and Upgrade answers 500 for them.
//
// The returned Conn is independent of the handler: the handler may return
// (net/http no longer touches the connection) or call Conn.Run itself.
func Upgrade(w http.ResponseWriter, r *http.Request, opts *AcceptOptions) (*Conn, error) {
	if opts == nil {
		opts = &AcceptOptions{}
	}
	req := Request{Method: r.Method, ProtoMajor: r.ProtoMajor, ProtoMinor: r.ProtoMinor, Host: r.Host, Header: r.Header}
	hs, err := serverHandshake(&req, opts)
	if err != nil {
		var he *HandshakeError
		if errors.As(err, &he) {
			for _, h := range he.Header {
				if k, v, ok := strings.Cut(h, ":"); ok {
					w.Header().Add(k, strings.TrimSpace(v))
				}
			}
			http.Error(w, he.Reason, he.Status)
		}
		return nil, err
	}
	nc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "websocket: the connection cannot be taken over", http.StatusInternalServerError)
		return nil, fmt.Errorf("websocket: taking the connection over: %w", err)
	}
	// What the client sent after the head is in net/http's read buffer.
	var buffered []byte
	if n := brw.Reader.Buffered(); n > 0 {
		buffered = make([]byte, n)
		_, _ = brw.Reader.Read(buffered)
	}
	_ = nc.SetReadDeadline(time.Time{})
	cfg := opts.Config.withDefaults()
	_ = nc.SetWriteDeadline(time.Now().Add(cfg.WriteTimeout))
	c, err := accept(nc, hs, buffered, opts, cfg)
	if err != nil {
		nc.Close()
	}
	return c, err
}

// accept writes the 101 reply of an accepted handshake and makes the
// connection; nc's write deadline bounds the write.
func accept(nc net.Conn, hs *handshake, buffered []byte, opts *AcceptOptions, cfg Config) (*Conn, error) {
	if _, err := nc.Write(hs.response); err != nil {
		return nil, fmt.Errorf("websocket: writing handshake: %w", err)
	}
	_ = nc.SetWriteDeadline(time.Time{})
	c := newConn(nc, buffered, true, cfg)
	c.subprotocol = hs.subprotocol
	if hs.compressed {
		c.comp = newCompressor(hs.deflate, true, opts.Deflate.Level)
		c.decomp = newDecompressor(hs.deflate, true)
	}
	return c, nil
}
