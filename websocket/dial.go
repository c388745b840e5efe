package websocket

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/switchboard/switchboard/internal/httphead"
)

// DialOptions configures the client side of a connection.
type DialOptions struct {
	// Subprotocols to offer, in order of preference.
	Subprotocols []string
	// Origin, when set, is sent as the Origin header.
	Origin string
	// Header holds extra request headers.
	Header http.Header
	// Deflate configures the permessage-deflate offer. Default: offered,
	// without context takeover. Set Disabled to offer nothing.
	Deflate DeflateConfig
	// TLSConfig is used for wss URLs; nil means the defaults.
	TLSConfig *tls.Config
	// NetDialContext dials the TCP connection; nil uses net.Dialer.
	NetDialContext func(ctx context.Context, network, addr string) (net.Conn, error)
	Config
}

// maxResponseHead bounds the server's handshake reply.
const maxResponseHead = 16 << 10

// Dial opens a WebSocket connection to a ws:// or wss:// URL. ctx bounds
// the dial and the handshake only. The returned connection is not read
// until Run is called.
func Dial(ctx context.Context, rawURL string, opts *DialOptions) (*Conn, error) {
	if opts == nil {
		opts = &DialOptions{}
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("websocket: bad URL: %w", err)
	}
	secure := false
	switch u.Scheme {
	case "ws", "http":
	case "wss", "https":
		secure = true
	default:
		return nil, fmt.Errorf("websocket: unsupported URL scheme %q (want ws or wss)", u.Scheme)
	}
	addr := u.Host
	if u.Port() == "" {
		if secure {
			addr = net.JoinHostPort(u.Hostname(), "443")
		} else {
			addr = net.JoinHostPort(u.Hostname(), "80")
		}
	}
	dial := opts.NetDialContext
	if dial == nil {
		dial = (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext
	}
	nc, err := dial(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("websocket: dial %s: %w", addr, err)
	}
	if secure {
		cfg := opts.TLSConfig.Clone()
		if cfg == nil {
			cfg = &tls.Config{}
		}
		if cfg.ServerName == "" {
			cfg.ServerName = u.Hostname()
		}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, fmt.Errorf("websocket: TLS handshake: %w", err)
		}
		nc = tc
	}
	c, err := clientHandshake(ctx, nc, u, opts)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

func clientHandshake(ctx context.Context, nc net.Conn, u *url.URL, opts *DialOptions) (*Conn, error) {
	// The context bounds the handshake through the socket deadline.
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if d, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(d)
	}
	key := newKey()
	var offer string
	if !opts.Deflate.Disabled {
		offer = deflateOffer(opts.Deflate)
	}
	if _, err := nc.Write(clientRequest(u, key, opts.Subprotocols, offer, opts.Origin, opts.Header)); err != nil {
		return nil, ctxErr(ctx, fmt.Errorf("websocket: writing handshake: %w", err))
	}
	buf := make([]byte, 0, 1024)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := nc.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		resp, used, perr := httphead.ParseResponse(buf, maxResponseHead)
		if perr == nil {
			sub, err := checkServerResponse(resp, key, opts.Subprotocols)
			if err != nil {
				return nil, err
			}
			var params deflateParams
			compressed := false
			if exts := resp.Header.Values("Sec-Websocket-Extensions"); len(exts) > 0 {
				if params, err = parseDeflateResponse(exts, opts.Deflate); err != nil {
					return nil, fmt.Errorf("%w: %v", ErrBadHandshake, err)
				}
				compressed = true
			}
			_ = nc.SetDeadline(time.Time{})
			c := newConn(nc, buf[used:], false, opts.Config)
			c.subprotocol = sub
			if compressed {
				c.comp = newCompressor(params, false, opts.Deflate.Level)
				c.decomp = newDecompressor(params, false)
			}
			return c, nil
		}
		if !errors.Is(perr, httphead.ErrIncomplete) {
			return nil, fmt.Errorf("%w: %v", ErrBadHandshake, perr)
		}
		if err != nil {
			return nil, ctxErr(ctx, fmt.Errorf("websocket: reading handshake: %w", err))
		}
	}
}

// ctxErr prefers the context's error when it caused err.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w: %w", ctx.Err(), err)
	}
	return err
}
