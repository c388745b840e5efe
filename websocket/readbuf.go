package websocket

import (
	"bufio"
	"io"
	"net"
	"sync"
	"syscall"
)

// readBuffer is the connection's read buffer: a bufio.Reader replacement
// for the read loop that holds no memory while the connection is idle.
//
// Most WebSocket connections are idle most of the time. With a plain
// bufio.Reader each of them pins a ReadBufferSize array (4 KiB by default)
// for its whole life, which dominates the memory of a server holding many
// quiet connections. readBuffer instead borrows a fixed-size buffer from a
// per-size sync.Pool only while it holds unread bytes, and gives it back
// the moment they are all consumed. A refill on a socket is one
// non-blocking read(2) through the raw conn (rawRead); when there is nothing
// to read the buffer goes back before the goroutine parks, so a reader
// goroutine parked on an idle connection costs its stack and nothing else.
//
// Peek, Discard and Read behave like bufio.Reader's: one underlying Read
// per fill, errors reported once after the data before them, Peek beyond
// the buffer size gives bufio.ErrBufferFull, and a Read of at least the
// buffer size into an empty buffer reads straight into the caller's slice.
// As with bufio, a slice returned by Peek is valid only until the next
// call; since a drained buffer goes back to the pool, it must not be kept.
//
// A readBuffer is used by one goroutine. release must be called by that
// goroutine once reading is over (not while another call is blocked).
type readBuffer struct {
	nc     net.Conn
	rc     syscall.RawConn // nc's raw conn, made once; nil if none
	readFn func(fd uintptr) bool
	rn     int   // rawRead's result
	rerr   error // rawRead's error

	pool   bufPool
	size   int
	held   *[]byte // the pooled buffer; nil when no bytes are buffered
	buf    []byte  // *held, or nil
	r, w   int     // buf[r:w] is unread
	prefix []byte  // bytes read past the HTTP head that did not fit in buf
	err    error   // sticky error from the source, reported once
	closed bool    // release was called
}

// bufPool is where buffers come from: a *sync.Pool, or a counting one in
// tests.
type bufPool interface {
	Get() any
	Put(any)
}

// maxEmptyReads bounds reads that return neither data nor error, as
// bufio's fill does.
const maxEmptyReads = 100

// readBufPools maps a buffer size to the *sync.Pool of *[]byte of that size.
// Sizes come from configuration, so there are few of them. Pointers are
// pooled so that Put does not allocate.
var readBufPools sync.Map

// defaultReadBufPool is the pool for the default size, found without a map
// lookup.
var defaultReadBufPool = &sync.Pool{New: func() any {
	b := make([]byte, 4096)
	return &b
}}

// readBufPool returns the pool for buffers of size bytes.
func readBufPool(size int) *sync.Pool {
	if size == 4096 {
		return defaultReadBufPool
	}
	if p, ok := readBufPools.Load(size); ok {
		return p.(*sync.Pool)
	}
	p, _ := readBufPools.LoadOrStore(size, &sync.Pool{New: func() any {
		b := make([]byte, size)
		return &b
	}})
	return p.(*sync.Pool)
}

// newReadBuffer returns a reader of nc with buffers of size bytes (4096
// if size <= 0, and at least 16 as with bufio, so that a 14-byte frame
// header can always be peeked). buffered, the bytes already read past the
// HTTP head, is read first; it is copied, so the caller may reuse it.
func newReadBuffer(nc net.Conn, buffered []byte, size int) *readBuffer {
	if size <= 0 {
		size = 4096
	}
	size = max(size, 16)
	b := &readBuffer{nc: nc, pool: readBufPool(size), size: size}
	if sc, ok := nc.(syscall.Conn); ok && canReadRaw {
		if rc, err := sc.SyscallConn(); err == nil {
			b.rc = rc
			b.readFn = b.rawRead // made once: no closure per read
		}
	}
	if len(buffered) > 0 {
		b.take()
		b.w = copy(b.buf, buffered)
		if rest := buffered[b.w:]; len(rest) > 0 {
			b.prefix = append([]byte(nil), rest...)
		}
	}
	return b
}

// take borrows a buffer from the pool; the buffer must be empty.
func (b *readBuffer) take() {
	b.held = b.pool.Get().(*[]byte)
	b.buf = *b.held
	b.r, b.w = 0, 0
}

// drop gives the buffer back to the pool if all its bytes are consumed.
func (b *readBuffer) drop() {
	if b.r == b.w && b.held != nil {
		b.pool.Put(b.held)
		b.held, b.buf = nil, nil
		b.r, b.w = 0, 0
	}
}

// release gives the buffer back to the pool, dropping any unread bytes.
// Later calls fail with net.ErrClosed.
func (b *readBuffer) release() {
	if b.held != nil {
		b.pool.Put(b.held)
	}
	b.held, b.buf, b.prefix = nil, nil, nil
	b.r, b.w = 0, 0
	b.closed = true
	b.err = net.ErrClosed
}

// Buffered returns the number of bytes that can be read without a read
// from the connection.
func (b *readBuffer) Buffered() int { return b.w - b.r }

// readErr returns the pending error and clears it; after release it stays.
func (b *readBuffer) readErr() error {
	err := b.err
	if !b.closed {
		b.err = nil
	}
	return err
}

// src reads from the leftover prefix, then from the connection.
func (b *readBuffer) src(p []byte) (int, error) {
	if len(b.prefix) > 0 {
		n := copy(p, b.prefix)
		if b.prefix = b.prefix[n:]; len(b.prefix) == 0 {
			b.prefix = nil
		}
		return n, nil
	}
	return b.nc.Read(p)
}

// fill reads once into the buffer, after making room at its end; it
// borrows a buffer if none is held and gives it back if the read brought
// nothing.
func (b *readBuffer) fill() {
	if b.closed {
		return
	}
	if b.held != nil && b.r > 0 {
		copy(b.buf, b.buf[b.r:b.w])
		b.w -= b.r
		b.r = 0
	}
	defer b.drop()
	if b.rc != nil && len(b.prefix) == 0 {
		if err := b.rc.Read(b.readFn); err != nil {
			b.err = err // a passed deadline, a closed connection
			return
		}
		b.w += b.rn
		b.err = b.rerr
		return
	}
	if b.held == nil {
		b.take()
	}
	for i := maxEmptyReads; i > 0; i-- {
		n, err := b.src(b.buf[b.w:])
		if n < 0 {
			panic(bufio.ErrNegativeCount)
		}
		b.w += n
		if err != nil {
			b.err = err
			return
		}
		if n > 0 {
			return
		}
	}
	b.err = io.ErrNoProgress
}

// Peek returns the next n bytes without consuming them, like
// bufio.Reader.Peek: with fewer available it returns them and the read
// error (bufio.ErrBufferFull if none, or if n exceeds the buffer size).
func (b *readBuffer) Peek(n int) ([]byte, error) {
	if n < 0 {
		return nil, bufio.ErrNegativeCount
	}
	for b.w-b.r < n && b.w-b.r < b.size && b.err == nil {
		b.fill()
	}
	if n > b.size {
		return b.buf[b.r:b.w], bufio.ErrBufferFull
	}
	var err error
	if avail := b.w - b.r; avail < n {
		n = avail
		if err = b.readErr(); err == nil {
			err = bufio.ErrBufferFull
		}
	}
	return b.buf[b.r : b.r+n], err
}

// Discard skips the next n bytes, like bufio.Reader.Discard.
func (b *readBuffer) Discard(n int) (int, error) {
	if n < 0 {
		return 0, bufio.ErrNegativeCount
	}
	if n == 0 {
		return 0, nil
	}
	remain := n
	for {
		skip := b.w - b.r
		if skip == 0 {
			b.fill()
			skip = b.w - b.r
		}
		skip = min(skip, remain)
		b.r += skip
		remain -= skip
		b.drop()
		if remain == 0 {
			return n, nil
		}
		if b.err != nil {
			return n - remain, b.readErr()
		}
	}
}

// Read reads up to len(p) bytes, like bufio.Reader.Read: at most one read
// from the connection, straight into p when the buffer is empty and p is
// at least the buffer size.
func (b *readBuffer) Read(p []byte) (int, error) {
	if len(p) == 0 {
		if b.w > b.r {
			return 0, nil
		}
		return 0, b.readErr()
	}
	if b.r == b.w {
		if b.err != nil {
			return 0, b.readErr()
		}
		if len(p) >= b.size {
			n, err := b.src(p)
			if n < 0 {
				panic(bufio.ErrNegativeCount)
			}
			b.err = err
			return n, b.readErr()
		}
		if b.rc != nil && len(b.prefix) == 0 {
			b.fill()
		} else {
			// One read, as bufio's Read does.
			b.take()
			n, err := b.src(b.buf)
			if n < 0 {
				panic(bufio.ErrNegativeCount)
			}
			b.w, b.err = n, err
			b.drop()
		}
		if b.r == b.w {
			return 0, b.readErr()
		}
	}
	n := copy(p, b.buf[b.r:b.w])
	b.r += n
	b.drop()
	return n, nil
}
