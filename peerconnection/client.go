package peerconnection

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultPort is the protocol's default server port.
const DefaultPort = 8888

// DefaultTimeout bounds each request other than a /wait.
const DefaultTimeout = 10 * time.Second

// maxResponse bounds a response the client reads (the server limits
// message bodies to 1 MiB).
const maxResponse = 2 << 20

// ErrSignedOut is returned by a Client after SignOut.
var ErrSignedOut = errors.New("peerconnection: signed out")

// StatusError is a response whose status is not 200: the native client
// signs out on any of them.
type StatusError struct {
	Status int
	Body   string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("peerconnection: server answered %d: %q", e.Status, e.Body)
}

// An Option configures [SignIn].
type Option func(*options)

type options struct {
	timeout time.Duration
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
}

// WithTimeout bounds each request other than a /wait (default 10 s).
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithDialer sets the function that opens the connections (default a
// net.Dialer).
func WithDialer(dial func(ctx context.Context, network, addr string) (net.Conn, error)) Option {
	return func(o *options) { o.dial = dial }
}

// Client is one signed-in member. It speaks the protocol byte for byte as
// WebRTC's native peerconnection_client does: each request on a new TCP
// connection, HTTP/1.0, no headers but those of a POST. Its methods are
// safe for concurrent use; Wait is meant for one goroutine at a time.
type Client struct {
	addr string
	name string
	id   int
	opts options

	mu        sync.Mutex
	signedOut bool
}

// SignIn signs in to server as name and returns the client and the other
// members. server is "host", "host:port" or "http://host:port" (port 8888
// by default); name is sent raw.
func SignIn(ctx context.Context, server, name string, opts ...Option) (*Client, []Peer, error) {
	addr, err := serverAddr(server)
	if err != nil {
		return nil, nil, err
	}
	c := &Client{addr: addr, name: name, opts: options{timeout: DefaultTimeout}}
	for _, o := range opts {
		o(&c.opts)
	}
	if c.opts.dial == nil {
		var d net.Dialer
		c.opts.dial = d.DialContext
	}
	r, err := c.roundTrip(ctx, SignInRequest(name), true)
	if err != nil {
		return nil, nil, err
	}
	if r.Pragma <= 0 {
		return nil, nil, fmt.Errorf("peerconnection: sign-in response without an id (Pragma)")
	}
	c.id = r.Pragma
	var peers []Peer
	for _, p := range ParsePeers(r.Body) {
		if p.ID != c.id {
			peers = append(peers, p)
		} else {
			c.name = p.Name
		}
	}
	return c, peers, nil
}

// serverAddr turns a server URL or host into host:port.
func serverAddr(server string) (string, error) {
	if strings.Contains(server, "://") {
		u, err := url.Parse(server)
		if err != nil {
			return "", fmt.Errorf("peerconnection: server %q: %w", server, err)
		}
		if u.Scheme != "http" {
			return "", fmt.Errorf("peerconnection: server %q: only http:// is supported", server)
		}
		server = u.Host
	}
	if server == "" {
		return "", errors.New("peerconnection: empty server address")
	}
	if _, _, err := net.SplitHostPort(server); err != nil {
		server = net.JoinHostPort(strings.Trim(server, "[]"), strconv.Itoa(DefaultPort))
	}
	return server, nil
}

// ID returns the member id the server gave the client.
func (c *Client) ID() int { return c.id }

// Name returns the name as the server stored it.
func (c *Client) Name() string { return c.name }

// Event is what one /wait brought.
type Event struct {
	// Presence is set for a server notification (Pragma equal to the own
	// id): another member signed in or out.
	Presence *Peer
	// From is the sender of a message, or -1 for a response without
	// Pragma (the server's "Server shutting down").
	From        int
	ContentType string
	Body        []byte
}

// Wait sends one hanging GET /wait and returns what it brings, however
// long that takes; cancel ctx to stop waiting.
func (c *Client) Wait(ctx context.Context) (Event, error) {
	if err := c.check(); err != nil {
		return Event{}, err
	}
	r, err := c.roundTrip(ctx, WaitRequest(c.id), false)
	if err != nil {
		return Event{}, err
	}
	if r.Pragma == c.id {
		p, ok := ParseEntry(trimLF(r.Body))
		if !ok {
			return Event{}, fmt.Errorf("peerconnection: malformed notification %q", r.Body)
		}
		return Event{Presence: &p, From: c.id, ContentType: r.ContentType, Body: r.Body}, nil
	}
	return Event{From: r.Pragma, ContentType: r.ContentType, Body: r.Body}, nil
}

// Send sends body to member to, as Content-Type: text/plain. A nil error
// means the server accepted it for a current member.
func (c *Client) Send(ctx context.Context, to int, body []byte) error {
	if err := c.check(); err != nil {
		return err
	}
	_, err := c.roundTrip(ctx, MessageRequest(c.id, to, body), true)
	return err
}

// SignOut signs the client out. Later calls return [ErrSignedOut].
func (c *Client) SignOut(ctx context.Context) error {
	c.mu.Lock()
	if c.signedOut {
		c.mu.Unlock()
		return ErrSignedOut
	}
	c.signedOut = true
	c.mu.Unlock()
	_, err := c.roundTrip(ctx, SignOutRequest(c.id), true)
	return err
}

func (c *Client) check() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.signedOut {
		return ErrSignedOut
	}
	return nil
}

// roundTrip sends req on a new connection, written in one write, and reads
// one response. bounded requests get the client's timeout.
func (c *Client) roundTrip(ctx context.Context, req []byte, bounded bool) (Response, error) {
	if bounded && c.opts.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.opts.timeout)
		defer cancel()
	}
	nc, err := c.opts.dial(ctx, "tcp", c.addr)
	if err != nil {
		return Response{}, err
	}
	defer nc.Close()
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := nc.Write(req); err != nil {
		return Response{}, ctxErr(ctx, err)
	}
	var buf []byte
	chunk := make([]byte, 4096)
	for {
		n, rerr := nc.Read(chunk)
		buf = append(buf, chunk[:n]...)
		r, _, perr := ParseResponse(buf)
		switch {
		case perr == nil:
			if r.Status != 200 {
				return r, &StatusError{Status: r.Status, Body: string(r.Body)}
			}
			return r, nil
		case !errors.Is(perr, ErrIncomplete):
			return r, perr
		case len(buf) > maxResponse:
			return r, errors.New("peerconnection: response too large")
		case rerr == io.EOF:
			return r, io.ErrUnexpectedEOF
		case rerr != nil:
			return r, ctxErr(ctx, rerr)
		}
	}
}

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func trimLF(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		return b[:n-1]
	}
	return b
}
