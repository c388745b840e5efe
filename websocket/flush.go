package websocket

import (
	"errors"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// The write side has no goroutine of its own. Whoever queues a frame on a
// connection nobody is writing takes the write side (Conn.wbusy) and sees
// that the queue gets written:
//
//   - a reply, a pong, a close frame or a ping is written at once on the
//     calling goroutine (the reader's, for an echo), with a non-blocking
//     writev: no goroutine wake-up, no context switch;
//   - a channel publication (SendDroppable) is handed to a shared flusher,
//     because one publisher queues it on thousands of connections and must
//     not write each in turn. A connection already waiting for the flusher
//     is not queued again: under load each connection's publications pile
//     up while the flusher works through the others and leave in one
//     writev, so the number of writes falls as the load grows;
//   - with Config.BatchDelay, a publication waits up to that long for the
//     flusher's next timed round, one timer per flusher, not per connection.
//
// The owner writes without blocking until the queue is empty, then gives
// the write side back. A socket that would block (a slow reader, a full
// send buffer) gets a goroutine that writes with a deadline, so nobody else
// ever waits for it; it ends when the queue is empty. It takes and writes
// at most maxWriteBytes at a time, and its deadline bounds a stall, not a
// batch (see blockingWriter).

// kickMode says how an owner that took the write side gets the queue written.
type kickMode int

const (
	kickNow    kickMode = iota // write on the calling goroutine
	kickShared                 // leave it to the connection's flusher
	kickBatch                  // write after Config.BatchDelay
)

// kick makes sure what was just queued gets written: when nobody owns the
// write side the caller takes it and starts writing as mode says.
func (c *Conn) kick(mode kickMode) {
	if !c.wbusy.CompareAndSwap(false, true) {
		return // the owner finds it when it takes the queue again
	}
	switch mode {
	case kickShared:
		c.shard.schedule(c)
	case kickBatch:
		c.shard.scheduleAfter(c, c.cfg.BatchDelay)
	default:
		c.flush()
	}
}

// flush writes the queue without blocking until it is empty, then gives
// the write side back; it runs on the owner. When the socket would block,
// ownership passes to a blocking writer goroutine.
func (c *Conn) flush() {
	for {
		if len(c.pending) == 0 && !c.takePending() {
			return
		}
		done, err := c.writeNow()
		if err != nil {
			c.writeFailed(err)
			return
		}
		if !done {
			c.startBlockingWriter()
			return
		}
	}
}

// writeOne writes one message that its sender found no queue and no
// owner for, as the owner it has become.
func (c *Conn) writeOne(it outItem) {
	c.pendBase = append(c.pendBase[:0], it.frame)
	if it.pooled != nil {
		c.pendPool = append(c.pendPool, it.pooled)
	}
	c.pending, c.pendMsgs, c.pendClose = c.pendBase, 1, false
	c.flush()
}

// takePending moves everything queued to c.pending. When the queue is
// empty it gives the write side back and reports false; the release
// happens under the queue's lock, so a frame queued after it finds the
// write side free and takes it.
func (c *Conn) takePending() bool {
	n, closing, ok := c.out.take(&c.pendBase, &c.pendPool, &c.wbusy)
	if !ok {
		return false
	}
	c.pending, c.pendMsgs, c.pendClose = c.pendBase, n, closing
	return true
}

// writeNow writes c.pending with non-blocking writev calls and reports
// whether all of it went out. A connection without a raw socket (a pipe,
// TLS) always reports false: its writes need the blocking writer.
func (c *Conn) writeNow() (bool, error) {
	if c.writevFn == nil {
		return false, nil
	}
	if len(c.pending) > 1 {
		c.wv.iov = iovPool.Get().(*iovecs)
		defer func() {
			iovPool.Put(c.wv.iov)
			c.wv.iov = nil
		}()
	}
	for len(c.pending) > 0 {
		c.wv.n, c.wv.again, c.wv.err = 0, false, nil
		if err := c.raw.Write(c.writevFn); err != nil {
			return false, err // closed (the blocking writer clears its deadlines)
		}
		if c.wv.err != nil {
			return false, c.wv.err
		}
		if c.wv.n > 0 {
			c.cfg.Metrics.Writes.add(c.cell, 1)
			c.cfg.Metrics.BytesOut.add(c.cell, c.wv.n)
			c.pending = consume(c.pending, c.wv.n)
		}
		if c.wv.again {
			return false, nil
		}
	}
	c.batchWritten()
	return true, nil
}

// batchWritten accounts for a batch that has gone out completely.
func (c *Conn) batchWritten() {
	c.cfg.Metrics.MessagesOut.add(c.cell, int64(c.pendMsgs))
	c.pendPool = recycle(c.pendPool)
	clear(c.pendBase)
	c.pendBase, c.pending, c.pendMsgs = c.pendBase[:0], nil, 0
	if c.pendClose {
		c.pendClose = false
		c.closeWritten()
	}
}

// writeFailed ends the connection after a failed write. The write side
// stays taken: nothing more is written.
func (c *Conn) writeFailed(err error) {
	if isTimeout(err) {
		c.cfg.Metrics.WriteTimeouts.Add(1)
		c.cfg.Logger.Warn("websocket: write timeout, dropping peer", "remote", c.RemoteAddr())
	}
	clear(c.pendBase)
	c.pendBase, c.pending = nil, nil
	c.pendPool = recycle(c.pendPool)
	c.abort(err)
}

// consume drops the first n bytes of b.
func consume(b net.Buffers, n int64) net.Buffers {
	for len(b) > 0 {
		if l := int64(len(b[0])); n < l {
			b[0] = b[0][n:]
			return b
		} else {
			n -= l
		}
		b[0] = nil
		b = b[1:]
	}
	return b
}

// startBlockingWriter passes the write side to a goroutine that may block.
// Once Run has ended nothing more is written.
func (c *Conn) startBlockingWriter() {
	c.wmu.Lock()
	if c.ended {
		c.wmu.Unlock()
		return
	}
	c.writers.Add(1)
	c.wmu.Unlock()
	if c.raw != nil {
		c.cfg.Metrics.BlockedWrites.Add(1)
	}
	go c.blockingWriter()
}

// blockingWriter writes the queue with a deadline until it is empty. It
// takes at most maxWriteBytes of messages at a time, so that what it has
// not taken stays droppable, and gives each write call at most
// maxWriteBytes. WriteTimeout bounds a stall, not a batch: every write
// that makes progress moves the deadline, and a peer is dropped only when
// it takes no bytes for about WriteTimeout.
func (c *Conn) blockingWriter() {
	defer c.writers.Done()
	for {
		if len(c.pending) == 0 && !c.takePending() {
			return
		}
		for len(c.pending) > 0 {
			// Moving the deadline costs a timer update; moving it when an
			// eighth of WriteTimeout has passed gives every write at
			// least seven eighths of WriteTimeout, at most all of it.
			if now := time.Now(); now.Sub(c.deadlineSet) > c.cfg.WriteTimeout/8 {
				_ = c.nc.SetWriteDeadline(now.Add(c.cfg.WriteTimeout))
				c.deadlineSet = now
			}
			written, err := c.writePiece()
			c.cfg.Metrics.Writes.add(c.cell, 1)
			c.cfg.Metrics.BytesOut.add(c.cell, written)
			if err != nil && written > 0 && c.raw != nil && isTimeout(err) {
				// The peer took bytes before the deadline passed: that
				// is progress, and the socket is still usable (a
				// socket's deadline, unlike TLS's, spoils nothing).
				c.deadlineSet = time.Time{}
				continue
			}
			if err != nil {
				c.writeFailed(err)
				return
			}
		}
		if c.raw != nil {
			// No deadline may outlive the write: a passed one would
			// fail the next non-blocking write. (A connection without
			// one writes here only and keeps moving its deadline.)
			_ = c.nc.SetWriteDeadline(time.Time{})
			c.deadlineSet = time.Time{}
		}
		c.batchWritten()
	}
}

// writePiece makes one blocking write of at most maxWriteBytes from the
// front of c.pending and consumes what it wrote.
func (c *Conn) writePiece() (int64, error) {
	if len(c.pending) == 1 || len(c.pending[0]) >= maxWriteBytes {
		// One frame, or a large one first: write(2) is cheaper than a
		// writev.
		b := c.pending[0]
		n, err := c.nc.Write(b[:min(len(b), maxWriteBytes)])
		c.pending = consume(c.pending, int64(n))
		return int64(n), err
	}
	piece, size := c.piece[:0], 0
	for _, b := range c.pending {
		if size == maxWriteBytes {
			break
		}
		b = b[:min(len(b), maxWriteBytes-size)]
		piece = append(piece, b)
		size += len(b)
	}
	c.piece = piece
	n, err := piece.WriteTo(c.nc) // consumes piece, not c.pending
	clear(c.piece)                // the frames must not stay reachable from it
	c.pending = consume(c.pending, n)
	return n, err
}

// isTimeout reports whether err is a passed deadline.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// keepalive queues a ping and arms the next one.
func (c *Conn) keepalive() {
	c.queueControl(OpPing, nil, false)
	c.wmu.Lock()
	if !c.ended {
		c.pingTimer.Reset(c.cfg.PingInterval)
	}
	c.wmu.Unlock()
}

// startTimers arms the keepalive pings; Run calls it.
func (c *Conn) startTimers() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.cfg.PingInterval > 0 && !c.ended {
		c.pingTimer = time.AfterFunc(c.cfg.PingInterval, c.keepalive)
	}
}

// endWrites stops the timers and waits for a blocking writer, after the
// connection has been aborted: Run calls it last.
func (c *Conn) endWrites() {
	c.wmu.Lock()
	c.ended = true
	if c.pingTimer != nil {
		c.pingTimer.Stop()
	}
	c.wmu.Unlock()
	c.writers.Wait()
}

// flushShard is one shared flusher: a list of connections waiting to be
// written and a goroutine, running while the list is not empty, that
// writes them in turn; and a list of connections waiting for a timed
// round (Config.BatchDelay).
type flushShard struct {
	mu      sync.Mutex
	conns   []*Conn
	spare   []*Conn // flusher only
	running bool
	delayed []*Conn
	due     time.Time // when the armed timer fires; zero: none armed
}

// Flusher writes the channel publications (Conn.SendDroppable) of the
// connections that use it, and runs their Config.BatchDelay rounds: one
// flusher per CPU, each a list of connections waiting to be written and a
// goroutine that writes them in turn, so that a publisher reaching
// thousands of connections wakes no goroutine per recipient.
//
// A Flusher needs no stopping: a flusher's goroutine runs only while
// connections wait for it and ends when its list is empty, and a timed
// round runs on its timer's goroutine. A server owns one and passes it to
// its connections in Config.Flusher, so that they share its goroutines and
// no other server's; connections without one share a Flusher of the
// process (defaultFlusher), which is never replaced.
type Flusher struct {
	shards []flushShard
	next   atomic.Uint32
}

// NewFlusher returns a Flusher with one flusher per CPU (GOMAXPROCS).
func NewFlusher() *Flusher {
	return &Flusher{shards: make([]flushShard, max(1, runtime.GOMAXPROCS(0)))}
}

// defaultFlusher is the Flusher of connections whose Config has none.
var defaultFlusher = sync.OnceValue(NewFlusher)

// pick spreads connections over the flushers, and over the cells of the
// Metrics counters.
func (f *Flusher) pick() (shard *flushShard, cell uint32) {
	n := f.next.Add(1)
	return &f.shards[n%uint32(len(f.shards))], n % counterCells
}

// schedule adds an owned connection to the list, starting the flusher when
// it is not running.
func (s *flushShard) schedule(c *Conn) {
	s.mu.Lock()
	s.conns = append(s.conns, c)
	start := !s.running
	s.running = true
	s.mu.Unlock()
	if start {
		go s.run()
	}
}

// scheduleAfter adds an owned connection to the next timed round, at most
// d away, arming a timer when none fires by then.
func (s *flushShard) scheduleAfter(c *Conn, d time.Duration) {
	due := time.Now().Add(d)
	s.mu.Lock()
	s.delayed = append(s.delayed, c)
	arm := s.due.IsZero() || due.Before(s.due)
	if arm {
		s.due = due
	}
	s.mu.Unlock()
	if arm {
		time.AfterFunc(d, s.fire)
	}
}

// fire starts a timed round: the connections waiting for it join the
// list, and the timer's goroutine flushes it unless a flusher is running.
func (s *flushShard) fire() {
	s.mu.Lock()
	s.conns = append(s.conns, s.delayed...)
	clear(s.delayed)
	s.delayed, s.due = s.delayed[:0], time.Time{}
	start := !s.running && len(s.conns) > 0
	if start {
		s.running = true
	}
	s.mu.Unlock()
	if start {
		s.run()
	}
}

func (s *flushShard) run() {
	for {
		s.mu.Lock()
		batch := s.conns
		if len(batch) == 0 {
			s.running = false
			s.mu.Unlock()
			return
		}
		s.conns = s.spare[:0]
		s.mu.Unlock()
		for i, c := range batch {
			c.flush()
			batch[i] = nil
		}
		s.spare = batch[:0]
	}
}

// maxIovecs is how many buffers one writev takes.
const maxIovecs = 64

var iovPool = sync.Pool{New: func() any { return new(iovecs) }}

// writevState passes arguments and results between writeNow and the
// writev callback without allocating a closure per write.
type writevState struct {
	iov   *iovecs
	n     int64
	again bool
	err   error
}
