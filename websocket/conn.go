package websocket

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Handler receives the messages of a connection. OnMessage runs on the
// connection's reader goroutine: it must not block for long (queueing with
// Send never blocks). data belongs to the handler.
type Handler interface {
	OnMessage(c *Conn, op Opcode, data []byte)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(c *Conn, op Opcode, data []byte)

// OnMessage calls f.
func (f HandlerFunc) OnMessage(c *Conn, op Opcode, data []byte) { f(c, op, data) }

// Conn is one WebSocket connection on the goroutine-per-connection engine:
// Run reads on the calling goroutine; sent messages go to a bounded queue
// of encoded frames that is written in batches, without a writer goroutine
// per connection (see flush.go).
type Conn struct {
	nc          net.Conn
	br          *readBuffer
	isServer    bool
	cfg         Config
	subprotocol string
	comp        *compressor
	decomp      *decompressor

	out  outQueue
	done chan struct{} // closed when the TCP connection is closed

	// The write side (flush.go). The fields below wbusy belong to
	// whoever holds it.
	wbusy       atomic.Bool
	shard       *flushShard     // the flusher this connection uses
	cell        uint32          // the cell of Metrics counters it adds to
	raw         syscall.RawConn // nil: no non-blocking writes
	writevFn    func(fd uintptr) bool
	wv          writevState
	pendBase    net.Buffers // the taken batch's slice, for reuse
	piece       net.Buffers // the blocking writer's bounded writev, for reuse
	pending     net.Buffers // what of it is still to be written
	pendPool    []*[]byte   // the batch's pooled frames, recycled once written
	pendMsgs    int         // messages in the batch
	pendClose   bool        // the batch includes our close frame
	deadlineSet time.Time   // when the write deadline was last moved

	wmu       sync.Mutex
	ended     bool           // Run is over: no blocking writer starts
	writers   sync.WaitGroup // the blocking writer, while one runs
	pingTimer *time.Timer

	abortOnce     sync.Once
	failing       atomic.Bool  // we failed the connection: ignore further data
	deadlineMu    sync.Mutex   // makes each read-deadline decision with the SetReadDeadline it leads to
	closeDeadline atomic.Int64 // unix nanos by which the close handshake must end; 0 = none; set under deadlineMu
	closeRecv     atomic.Bool  // the peer's close frame arrived
	closeSent     atomic.Bool  // our close frame was written

	statusMu sync.Mutex
	status   *CloseError // how the connection ended
}

func newConn(nc net.Conn, buffered []byte, isServer bool, cfg Config) *Conn {
	cfg = cfg.withDefaults()
	c := &Conn{
		nc:       nc,
		br:       newReadBuffer(nc, buffered, cfg.ReadBufferSize),
		isServer: isServer,
		cfg:      cfg,
		done:     make(chan struct{}),
	}
	c.shard, c.cell = cfg.Flusher.pick()
	c.setRawWriter(nc)
	cfg.Metrics.Open.Add(1)
	cfg.Metrics.Opened.Add(1)
	return c
}

// Subprotocol returns the negotiated subprotocol, or "".
func (c *Conn) Subprotocol() string { return c.subprotocol }

// Compressed reports whether permessage-deflate was negotiated.
func (c *Conn) Compressed() bool { return c.comp != nil }

// RemoteAddr returns the peer's address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// Done is closed when the connection has ended.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Run serves the connection: it reads and dispatches messages to h on the
// calling goroutine; queued messages are written as flush.go describes, and
// pings go out on a timer. When ctx is
// cancelled the connection is closed with 1001. Run returns when the
// connection has ended and every goroutine it started is gone; the error
// is a *CloseError saying how it ended (the peer's close frame, or ours,
// or 1006 when there was none).
func (c *Conn) Run(ctx context.Context, h Handler) error {
	c.startTimers()
	// Cancellation closes with 1001 without a goroutine per connection
	// waiting for it.
	stop := context.AfterFunc(ctx, func() {
		reason := "client going away"
		if c.isServer {
			reason = "server shutting down"
		}
		c.Close(StatusGoingAway, reason)
	})
	err := c.readLoop(h)
	c.br.release()
	c.abort(err)
	stop()
	c.endWrites()
	c.cfg.Metrics.Open.Add(-1)
	return c.CloseStatus()
}

// CloseStatus returns how the connection ended, once it has: the peer's
// close frame, else the one we sent, else 1006 with the cause.
func (c *Conn) CloseStatus() *CloseError {
	c.statusMu.Lock()
	defer c.statusMu.Unlock()
	if c.status == nil {
		return &CloseError{Code: StatusAbnormalClosure}
	}
	return c.status
}

// setStatus records how the connection ends; the first close frame, sent or
// received, wins.
func (c *Conn) setStatus(code StatusCode, reason string) {
	c.statusMu.Lock()
	defer c.statusMu.Unlock()
	if c.status == nil {
		c.status = &CloseError{Code: code, Reason: reason}
	}
}

// Close starts the closing handshake (RFC 6455 §7.1.2) after the messages
// already queued. The connection ends when the peer answers or after
// CloseTimeout.
func (c *Conn) Close(code StatusCode, reason string) {
	if c.queueControl(OpClose, appendClosePayload(nil, code, reason), false) {
		c.setStatus(code, reason)
	}
}

// fail closes the connection at once for a violation: queued data is
// dropped, the close frame goes out next, and further data is ignored.
func (c *Conn) fail(code StatusCode, reason string) {
	c.failing.Store(true)
	// The peer has CloseTimeout to answer, whether or not our close frame
	// can be written: a peer that does not read must not keep us reading.
	c.startCloseTimer()
	if c.queueControl(OpClose, appendClosePayload(nil, code, reason), true) {
		c.setStatus(code, reason)
		c.cfg.Logger.Debug("websocket: failing connection", "remote", c.RemoteAddr(), "code", uint16(code), "reason", reason)
	}
}

// closeWritten runs on the writer after the close frame went out. A server
// that has seen the peer's close closes TCP now (RFC 6455 §7.1.1); else the
// handshake has CloseTimeout to finish.
func (c *Conn) closeWritten() {
	c.closeSent.Store(true)
	if c.isServer && c.closeRecv.Load() {
		c.abort(nil)
		return
	}
	if c.failing.Load() {
		// A failed connection reads nothing more: the FIN after our
		// close frame tells the peer to close too.
		if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
	}
	c.startCloseTimer()
}

// startCloseTimer bounds the rest of the connection's life by CloseTimeout
// through the read deadline; the first call wins. It decides and sets the
// deadline under deadlineMu, so that the reader's extendDeadline cannot
// replace the close deadline with a later one.
func (c *Conn) startCloseTimer() {
	c.deadlineMu.Lock()
	defer c.deadlineMu.Unlock()
	if c.closeDeadline.Load() != 0 {
		return
	}
	d := time.Now().Add(c.cfg.CloseTimeout)
	c.closeDeadline.Store(d.UnixNano())
	_ = c.nc.SetReadDeadline(d)
}

// abort closes the TCP connection; it is safe to call more than once.
func (c *Conn) abort(cause error) {
	c.abortOnce.Do(func() {
		if cause != nil && !errors.Is(cause, io.EOF) {
			c.cfg.Logger.Debug("websocket: connection ended", "remote", c.RemoteAddr(), "cause", cause)
		}
		_ = c.nc.Close()
		c.out.mu.Lock()
		c.out.closing = true
		c.out.mu.Unlock()
		close(c.done)
	})
}
