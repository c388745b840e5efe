package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/protoo"
	"github.com/switchboard/switchboard/websocket"
)

// Sentinel errors, wrapped with %w.
var (
	// ErrClosed is returned by calls on a client that has ended: after
	// Close, a close with code 4000, or when reconnecting gave up.
	ErrClosed = errors.New("client: closed")
	// ErrDisconnected is returned by a request whose connection dropped
	// before the reply came; the server may or may not have acted on it.
	ErrDisconnected = errors.New("client: disconnected before the reply")
)

// Client is a connection to a Switchboard server that reconnects by
// itself. Its methods are safe for concurrent use.
type Client struct {
	url    string
	opts   options
	q      *queue
	nextID atomic.Uint64
	// failures counts reconnect attempts since the last connection that
	// was restored, so that a server that drops every new connection
	// still gets a growing backoff.
	failures atomic.Int64

	ctx    context.Context // the client's life; cancelled by Close
	cancel context.CancelFunc
	done   chan struct{} // closed when the connection loop has ended

	mu       sync.Mutex
	conn     *websocket.Conn // the current connection, nil while away
	ready    *websocket.Conn // conn once logged in again and recovered
	readyCh  chan struct{}   // closed when ready is set
	pending  map[uint64]*call
	handlers map[string]func(json.RawMessage)
	subs     map[string]*Subscription
	name     string // logged-in name, "" before Login
	resume   string // the server's resume token
	err      error  // why the client ended, once done is closed
}

// call is a request waiting for its response.
type call struct {
	conn    *websocket.Conn
	ch      chan message
	onReply func(message) // runs on the reader when the response arrives
}

// Dial connects to a Switchboard messaging endpoint, such as
// ws://localhost:8888/ws, and returns the client. ctx bounds the first
// connection only. Dial fails when the first connection fails; after that
// the client reconnects by itself (see WithReconnect).
func Dial(ctx context.Context, rawURL string, opts ...Option) (*Client, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	c := &Client{
		url:      rawURL,
		opts:     o,
		done:     make(chan struct{}),
		readyCh:  make(chan struct{}),
		pending:  map[uint64]*call{},
		handlers: map[string]func(json.RawMessage){},
		subs:     map[string]*Subscription{},
	}
	conn, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.q = newQueue()
	c.conn = conn
	c.setReady(conn)
	go c.loop(conn)
	return c, nil
}

func (c *Client) dial(ctx context.Context) (*websocket.Conn, error) {
	d := c.opts.dial
	d.Subprotocols = append([]string{"protoo"}, d.Subprotocols...)
	if d.Logger == nil {
		d.Logger = c.opts.logger
	}
	conn, err := websocket.Dial(ctx, c.dialURL(), &d)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	return conn, nil
}

// dialURL is the URL to dial: a URL that logs in by itself (?peerId=NAME)
// carries the resume token once the client has one, so that a reconnect
// takes the session back.
func (c *Client) dialURL() string {
	u, err := url.Parse(c.url)
	if err != nil || !u.Query().Has("peerId") {
		return c.url
	}
	c.mu.Lock()
	resume := c.resume
	c.mu.Unlock()
	if resume == "" {
		return c.url
	}
	q := u.Query()
	q.Set("resume", resume)
	u.RawQuery = q.Encode()
	return u.String()
}

// urlLogin reports whether the URL logs in by itself.
func (c *Client) urlLogin() bool {
	u, err := url.Parse(c.url)
	return err == nil && u.Query().Has("peerId")
}

// onLogin records the reply of a login made by the URL, which the server
// sends as notification "login".
func (c *Client) onLogin(data json.RawMessage) {
	var r LoginReply
	if json.Unmarshal(data, &r) != nil {
		return
	}
	c.mu.Lock()
	c.name = r.Name
	if r.Resume != "" {
		c.resume = r.Resume
	}
	c.mu.Unlock()
}

// loop serves connections until the client ends.
func (c *Client) loop(conn *websocket.Conn) {
	defer close(c.done)
	for {
		err := conn.Run(c.ctx, websocket.HandlerFunc(func(wc *websocket.Conn, op websocket.Opcode, data []byte) {
			c.onMessage(wc, op, data)
		}))
		c.dropConn(conn)
		if c.ctx.Err() != nil {
			c.finish(nil)
			return
		}
		if websocket.CloseStatus(err) == websocket.StatusDoNotReconnect || c.opts.backoff == nil {
			c.finish(err)
			return
		}
		c.opts.logger.Info("client: disconnected", "url", c.url, "err", err)
		c.emit(Event{Kind: EventDisconnected, Err: err})
		conn, err = c.reconnect()
		if conn == nil {
			c.finish(err)
			return
		}
		c.mu.Lock()
		c.conn = conn
		c.mu.Unlock()
		go c.restore(conn)
	}
}

// reconnect dials with backoff until it connects, the backoff gives up or
// the client is closed.
func (c *Client) reconnect() (*websocket.Conn, error) {
	var last error
	for {
		attempt := int(c.failures.Add(1))
		d := c.opts.backoff(attempt)
		if d < 0 {
			return nil, fmt.Errorf("client: gave up reconnecting after %d attempts: %w", attempt-1, last)
		}
		t := time.NewTimer(d)
		select {
		case <-c.ctx.Done():
			t.Stop()
			return nil, nil
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(c.ctx, c.opts.requestTimeout)
		conn, err := c.dial(ctx)
		cancel()
		if err == nil {
			return conn, nil
		}
		if c.ctx.Err() != nil {
			return nil, nil
		}
		last = err
		c.opts.logger.Debug("client: reconnect failed", "attempt", attempt, "err", err)
	}
}

// restore logs in again with the resume token and recovers every
// subscription on a new connection, then lets requests through.
func (c *Client) restore(conn *websocket.Conn) {
	ctx, cancel := context.WithTimeout(c.ctx, c.opts.requestTimeout)
	defer cancel()
	c.mu.Lock()
	name, resume := c.name, c.resume
	subs := make([]*Subscription, 0, len(c.subs))
	for _, s := range c.subs {
		subs = append(subs, s)
	}
	c.mu.Unlock()
	if name != "" && !c.urlLogin() {
		data, err := c.requestOn(ctx, conn, "login", loginRequest{Name: name, Resume: resume}, nil)
		if err == nil {
			var r LoginReply
			if json.Unmarshal(data, &r) == nil && r.Resume != "" {
				c.mu.Lock()
				c.resume = r.Resume
				c.mu.Unlock()
			}
		} else if errors.Is(err, ErrDisconnected) || ctx.Err() != nil {
			c.abandon(conn, err)
			return
		} else {
			c.emit(Event{Kind: EventLoginFailed, Err: err})
		}
	}
	for _, s := range subs {
		// An error reply (the server refused the channel) is the
		// subscription's loss, reported by subscribeOn; no reply at all
		// (a drop, a timeout) makes the whole restore start over.
		var err error
		if since := c.sync(s.position); since.Epoch == "" {
			_, err = c.subscribeOn(ctx, conn, s, nil)
		} else {
			err = c.replay(conn, s, since)
		}
		var pe *protoo.Error
		if err != nil && !errors.As(err, &pe) {
			c.abandon(conn, err)
			return
		}
	}
	if c.setReady(conn) {
		c.emit(Event{Kind: EventReconnected})
	}
}

// abandon closes a connection whose restore did not finish (it dropped,
// or the server did not answer in time), so that the loop dials again. The
// code is not a clean close: the server keeps the session for a resume.
func (c *Client) abandon(conn *websocket.Conn, err error) {
	if c.ctx.Err() != nil {
		return
	}
	c.opts.logger.Debug("client: restoring the session failed", "err", err)
	conn.Close(statusRestoreFailed, "restore failed")
}

// statusRestoreFailed is the close code of an abandoned reconnect
// (docs/protoo.md, "Close codes"): not a clean close, so the server keeps
// the session for the next attempt.
const statusRestoreFailed websocket.StatusCode = 4002

// setReady lets requests through on conn if it is still the current one.
func (c *Client) setReady(conn *websocket.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != conn {
		return false
	}
	c.ready = conn
	close(c.readyCh)
	c.failures.Store(0)
	return true
}

// dropConn forgets a connection that ended: its pending requests fail
// with ErrDisconnected and subscriptions wait for their recovery.
func (c *Client) dropConn(conn *websocket.Conn) {
	c.mu.Lock()
	c.conn = nil
	if c.ready == conn {
		c.ready = nil
		c.readyCh = make(chan struct{})
	}
	for id, p := range c.pending {
		if p.conn == conn {
			delete(c.pending, id)
			close(p.ch)
		}
	}
	subs := make([]*Subscription, 0, len(c.subs))
	for _, s := range c.subs {
		subs = append(subs, s)
	}
	c.mu.Unlock()
	c.q.push(func() {
		for _, s := range subs {
			s.startRecovery()
		}
	})
}

// finish ends the client.
func (c *Client) finish(err error) {
	c.mu.Lock()
	c.err = err
	c.mu.Unlock()
	c.cancel()
	c.emit(Event{Kind: EventClosed, Err: err})
	c.q.stop()
}

// emit queues an event for the event handler.
func (c *Client) emit(e Event) {
	if f := c.opts.onEvent; f != nil {
		c.q.push(func() { f(e) })
	}
}

// emitNow calls the event handler; it runs on the handler goroutine.
func (c *Client) emitNow(e Event) {
	if f := c.opts.onEvent; f != nil {
		f(e)
	}
}

// sync runs f on the handler goroutine and returns its result.
func (c *Client) sync(f func() position) position {
	ch := make(chan position, 1)
	c.q.push(func() { ch <- f() })
	select {
	case p := <-ch:
		return p
	case <-c.q.done:
		return position{}
	}
}

// barrier waits until the handler goroutine has run what is queued now.
func (c *Client) barrier() {
	if c.q.inHandler.Load() {
		return // called from a handler: waiting would deadlock
	}
	ch := make(chan struct{})
	c.q.push(func() { close(ch) })
	select {
	case <-ch:
	case <-c.q.done:
	}
}

// onMessage runs on the reader of conn.
func (c *Client) onMessage(conn *websocket.Conn, op websocket.Opcode, data []byte) {
	if op != websocket.OpText {
		return
	}
	m, err := decode(data)
	if err != nil {
		c.opts.logger.Warn("client: dropped a message", "err", err)
		return
	}
	switch m.kind {
	case protoo.KindResponse:
		c.mu.Lock()
		p, ok := c.pending[m.id]
		if ok && m.idOK && p.conn == conn {
			delete(c.pending, m.id)
		} else {
			ok = false
		}
		c.mu.Unlock()
		if !ok {
			c.opts.logger.Warn("client: response to no pending request", "id", m.id)
			return
		}
		if p.onReply != nil {
			p.onReply(m)
		}
		p.ch <- m
	case protoo.KindNotification:
		switch m.method {
		case "publication":
			c.onPublication(m.data)
			return
		case "login":
			c.onLogin(m.data)
		}
		c.mu.Lock()
		f := c.handlers[m.method]
		c.mu.Unlock()
		if f != nil {
			c.q.push(func() { f(m.data) })
		}
	case protoo.KindRequest:
		// Like protoo-client without a request listener: no answer.
		c.opts.logger.Debug("client: ignored a server request", "method", m.method)
	}
}

// OnNotification sets the handler of the server's notifications with this
// method, replacing any earlier one; nil removes it. Publications go to
// their Subscription instead.
func (c *Client) OnNotification(method string, f func(data json.RawMessage)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f == nil {
		delete(c.handlers, method)
		return
	}
	c.handlers[method] = f
}

// Request sends a request and waits for its response. data is marshalled
// to JSON (nil sends {}; a json.RawMessage is sent as it is and must be
// valid). It returns the response's data, or a *protoo.Error (code and
// reason) for an error response. While the client is reconnecting, Request waits for the new
// connection; a request whose connection drops fails with ErrDisconnected.
// Without a deadline in ctx the request times out after WithRequestTimeout.
func (c *Client) Request(ctx context.Context, method string, data any) (json.RawMessage, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.opts.requestTimeout)
		defer cancel()
	}
	conn, err := c.waitReady(ctx)
	if err != nil {
		return nil, err
	}
	return c.requestOn(ctx, conn, method, data, nil)
}

// waitReady returns the connection once it may carry requests.
func (c *Client) waitReady(ctx context.Context) (*websocket.Conn, error) {
	for {
		c.mu.Lock()
		conn, ch := c.ready, c.readyCh
		c.mu.Unlock()
		if conn != nil {
			return conn, nil
		}
		select {
		case <-ch:
		case <-c.done:
			return nil, c.closedErr()
		case <-ctx.Done():
			return nil, fmt.Errorf("client: waiting for a connection: %w", ctx.Err())
		}
	}
}

func (c *Client) closedErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return fmt.Errorf("%w: %w", ErrClosed, c.err)
	}
	return ErrClosed
}

// requestOn sends a request on conn and waits for its response.
func (c *Client) requestOn(ctx context.Context, conn *websocket.Conn, method string, data any, onReply func(message)) (json.RawMessage, error) {
	if data == nil {
		data = struct{}{}
	}
	id := c.nextID.Add(1)
	b, err := encodeRequest(id, method, data)
	if err != nil {
		return nil, fmt.Errorf("client: %s: encoding data: %w", method, err)
	}
	p := &call{conn: conn, ch: make(chan message, 1), onReply: onReply}
	c.mu.Lock()
	if c.conn != conn {
		c.mu.Unlock()
		return nil, fmt.Errorf("client: %s: %w", method, ErrDisconnected)
	}
	c.pending[id] = p
	c.mu.Unlock()
	if err := conn.SendMessage(websocket.OpText, b); err != nil {
		c.forget(id)
		return nil, fmt.Errorf("client: %s: %w (%v)", method, ErrDisconnected, err)
	}
	select {
	case m, ok := <-p.ch:
		if !ok {
			return nil, fmt.Errorf("client: %s: %w", method, ErrDisconnected)
		}
		if m.err != nil {
			return nil, m.err
		}
		return m.data, nil
	case <-ctx.Done():
		c.forget(id)
		return nil, fmt.Errorf("client: %s: %w", method, ctx.Err())
	}
}

func (c *Client) forget(id uint64) {
	c.mu.Lock()
	delete(c.pending, id)
	c.mu.Unlock()
}

// Done is closed when the client has ended; Err then says why.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns why the client ended: nil after Close, the *websocket.CloseError
// of a close with code 4000, or the last dial error when reconnecting gave
// up. It is nil while the client runs.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Connected reports whether the client has a usable connection now.
func (c *Client) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ready != nil
}

// Close closes the connection with 1000 and stops reconnecting. It waits
// for the connection to end (at most its close timeout) and for the
// handlers to finish, unless called from a handler.
func (c *Client) Close() error {
	c.mu.Lock()
	conn := c.conn
	c.mu.Unlock()
	if conn != nil {
		conn.Close(websocket.StatusNormalClosure, "")
	}
	c.cancel()
	<-c.done
	if !c.q.inHandler.Load() {
		<-c.q.done
	}
	return nil
}
