package frontdoor

import (
	"net"
	"sync"
)

// memListener is the in-memory net.Listener the internal net/http server
// accepts from: the front door delivers connections whose head it has
// already read.
type memListener struct {
	ch        chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
}

func newMemListener() *memListener {
	return &memListener{ch: make(chan net.Conn), done: make(chan struct{})}
}

// deliver hands c to the goroutine in Accept. It reports false, without
// closing c, when the listener is closed.
func (l *memListener) deliver(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		return false
	}
}

func (l *memListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *memListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return nil
}

func (l *memListener) Addr() net.Addr { return memAddr{} }

type memAddr struct{}

func (memAddr) Network() string { return "frontdoor" }
func (memAddr) String() string  { return "frontdoor" }

// replayConn is a connection handed to net/http: its first reads return the
// bytes the front door already read (the head and whatever followed it),
// later reads come from the socket. Closing it releases the connection in
// the server's accounting.
type replayConn struct {
	net.Conn
	s *Server

	mu      sync.Mutex
	pending []byte

	closeOnce sync.Once
	closeErr  error
}

func (c *replayConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		c.mu.Unlock()
		return n, nil
	}
	c.mu.Unlock()
	return c.Conn.Read(p)
}

// CloseWrite lets net/http half-close the socket before closing it (its
// guard against RST destroying a response).
func (c *replayConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (c *replayConn) Close() error {
	c.closeOnce.Do(func() { c.closeErr = c.s.release(c.Conn, true) })
	return c.closeErr
}
