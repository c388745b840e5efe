package websocket

import (
	"bytes"
	"crypto/rand"
	"errors"
	"net"
	"sync"
	"sync/atomic"
)

// ErrClosed is returned by Send after the connection began closing.
var ErrClosed = errors.New("websocket: connection closed")

// ErrQueueFull is returned by Send when the slow-consumer rule closed the
// connection.
var ErrQueueFull = errors.New("websocket: outbound queue full (slow consumer)")

// minCompressSize is the payload size below which messages go out
// uncompressed even when permessage-deflate is on: deflate cannot win much
// there and costs a compressor's time.
const minCompressSize = 64

// PreparedMessage is a server-to-client message encoded once, so that the
// same bytes can be queued on any number of connections. The compressed
// form is made on first use by a connection that negotiated
// permessage-deflate without context takeover, then shared as well.
type PreparedMessage struct {
	op   Opcode
	data []byte
	// fragment is the frame payload size the frames were cut with.
	fragment int
	plain    []byte

	deflateOnce sync.Once
	deflated    []byte
}

// NewPreparedMessage encodes data as an unmasked message of type op. The
// data is copied into the frame; the caller may reuse it.
func NewPreparedMessage(op Opcode, data []byte) *PreparedMessage {
	return newPrepared(op, data, 1<<20)
}

func newPrepared(op Opcode, data []byte, fragment int) *PreparedMessage {
	m := &PreparedMessage{
		op:       op,
		fragment: fragment,
		plain:    appendMessage(nil, op, false, nil, data, fragment),
	}
	// Keep the payload for compression and re-framing without holding on
	// to the caller's slice: a single frame's payload is the tail of its
	// encoding; a fragmented message keeps a copy.
	if len(data) <= fragment {
		m.data = m.plain[len(m.plain)-len(data):]
	} else {
		m.data = bytes.Clone(data)
	}
	return m
}

// Len returns the message's payload size.
func (m *PreparedMessage) Len() int { return len(m.data) }

// Payload returns the message's payload, shared: the caller must not
// modify it. Fake transports in tests read messages through it.
func (m *PreparedMessage) Payload() []byte { return m.data }

// frameFor returns the encoded frames to queue on a server-side connection.
func (m *PreparedMessage) frameFor(c *Conn) []byte {
	if c.comp == nil || len(m.data) < minCompressSize || m.fragment != c.cfg.FragmentSize {
		if m.fragment != c.cfg.FragmentSize {
			return appendMessage(nil, m.op, false, nil, m.data, c.cfg.FragmentSize)
		}
		return m.plain
	}
	if !c.comp.shareable() {
		return c.compressedMessage(m.op, m.data, nil)
	}
	m.deflateOnce.Do(func() {
		m.deflated = c.compressedMessage(m.op, m.data, nil)
	})
	return m.deflated
}

// compressedMessage encodes data compressed, or plain when compression
// does not make it smaller (incompressible data grows a little) and the
// compressor keeps no context the peer would then miss.
func (c *Conn) compressedMessage(op Opcode, data []byte, mask *[4]byte) []byte {
	z := c.comp.compress(nil, data)
	if len(z) >= len(data) && !c.comp.takeover {
		return appendMessage(nil, op, false, mask, data, c.cfg.FragmentSize)
	}
	return appendMessage(nil, op, true, mask, z, c.cfg.FragmentSize)
}

// appendMessage encodes a whole message as frames of at most fragment
// payload bytes. rsv1 marks the payload as compressed (set on the first
// frame only, RFC 7692 §6.1). A client passes a non-nil mask holder and
// each frame gets a fresh random key.
func appendMessage(dst []byte, op Opcode, rsv1 bool, maskSrc *[4]byte, payload []byte, fragment int) []byte {
	first := true
	for {
		n := len(payload)
		if n > fragment {
			n = fragment
		}
		fin := n == len(payload)
		fop := op
		if !first {
			fop = OpContinuation
		}
		var mask *[4]byte
		if maskSrc != nil {
			var k [4]byte
			_, _ = rand.Read(k[:])
			mask = &k
		}
		dst = appendFrame(dst, fop, fin, rsv1 && first, mask, payload[:n])
		payload = payload[n:]
		first = false
		if fin {
			return dst
		}
	}
}

// outQueue is the bounded queue of encoded frames between Send and the
// writer. Control frames go ahead of data; each data item is a whole
// message, so control frames never land inside a fragmented one.
type outQueue struct {
	mu    sync.Mutex
	ctrl  [][]byte
	data  []outItem
	bytes int
	// droppable counts the items in data that SendDroppable queued.
	droppable int
	closing   bool // a close frame is queued: no more data
}

// outItem is one queued message. A droppable one may be evicted, oldest
// first, to make room when the queue is over its limits.
type outItem struct {
	frame     []byte
	pooled    *[]byte // frame's pooled slice (SendMessage), or nil
	droppable bool
}

// maxWriteBytes bounds the data messages the writer takes from the queue
// at once (a single larger message is taken alone) and each blocking write
// call. Publications not yet taken stay droppable, and a write that makes
// progress moves its deadline, so a subscriber on a slow link loses
// publications rather than its connection.
const maxWriteBytes = 256 << 10

// take moves what is queued into *bufs (emptied first): every control
// frame, then data items, oldest first, up to maxWriteBytes of them (at
// least one); the pooled frames among them go into *pooled. It returns the
// number of data items taken and whether the close frame is in this batch
// or an earlier one (a close was queued and nothing is left after it).
// When nothing is queued it clears busy (the write side) before it unlocks
// and reports false; the slices are stored before that, for the next
// owner.
func (q *outQueue) take(bufs *net.Buffers, pooled *[]*[]byte, busy *atomic.Bool) (int, bool, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	*bufs = (*bufs)[:0]
	if len(q.ctrl) == 0 && len(q.data) == 0 {
		busy.Store(false)
		return 0, q.closing, false
	}
	*bufs = append(*bufs, q.ctrl...)
	clear(q.ctrl)
	q.ctrl = q.ctrl[:0]
	n, size, droppable := 0, 0, 0
	for _, it := range q.data {
		if n > 0 && size+len(it.frame) > maxWriteBytes {
			break
		}
		*bufs = append(*bufs, it.frame)
		if it.pooled != nil {
			*pooled = append(*pooled, it.pooled)
		}
		if it.droppable {
			droppable++
		}
		size += len(it.frame)
		n++
	}
	left := copy(q.data, q.data[n:])
	clear(q.data[left:])
	q.data = q.data[:left]
	q.bytes -= size
	q.droppable -= droppable
	return n, q.closing && left == 0, true
}

// recycle returns pooled frames that will not be written (any more) to the
// pool and empties the list.
func recycle(pooled []*[]byte) []*[]byte {
	for _, p := range pooled {
		putPooled(p, *p)
	}
	clear(pooled)
	return pooled[:0]
}

// Send queues a prepared message. It never blocks: when the queue is over
// its limits, droppable messages queued earlier are evicted first (see
// SendDroppable); when that is not enough the slow-consumer rule closes the
// connection with 1013 and Send returns ErrQueueFull.
func (c *Conn) Send(m *PreparedMessage) error {
	return c.enqueue(outItem{frame: c.frameOf(m)})
}

// SendDroppable queues a message that may be dropped for a slow reader:
// a channel publication the client can recover by offset. When the queue
// is over its limits, the oldest droppable messages still queued are
// evicted, and counted in Metrics.Dropped, to make room for any new
// message; the connection is closed with 1013 only when the messages that
// are not droppable alone pass the limits.
func (c *Conn) SendDroppable(m *PreparedMessage) error {
	return c.enqueue(outItem{frame: c.frameOf(m), droppable: true})
}

func (c *Conn) frameOf(m *PreparedMessage) []byte {
	if c.isServer {
		return m.frameFor(c)
	}
	return c.clientFrame(m.op, m.data)
}

// SendMessage encodes and queues one message for this connection only;
// see Send. data is copied: the caller may reuse it. An uncompressed frame
// is encoded into a pooled buffer that is reused once written.
func (c *Conn) SendMessage(op Opcode, data []byte) error {
	if (c.comp == nil || len(data) < minCompressSize) && len(data) <= c.cfg.FragmentSize {
		if p := getPooled(len(data) + maxHeaderSize); p != nil {
			var mask *[4]byte
			if !c.isServer {
				mask = new([4]byte)
				_, _ = rand.Read(mask[:])
			}
			*p = appendFrame(*p, op, true, false, mask, data)
			return c.enqueue(outItem{frame: *p, pooled: p})
		}
	}
	if c.isServer {
		return c.Send(newPrepared(op, data, c.cfg.FragmentSize))
	}
	return c.enqueue(outItem{frame: c.clientFrame(op, data)})
}

// clientFrame encodes a masked client message, compressed when negotiated.
func (c *Conn) clientFrame(op Opcode, data []byte) []byte {
	if c.comp != nil && len(data) >= minCompressSize {
		return c.compressedMessage(op, data, new([4]byte))
	}
	return appendMessage(nil, op, false, new([4]byte), data, c.cfg.FragmentSize)
}

func (c *Conn) enqueue(it outItem) error {
	frame, droppable := it.frame, it.droppable
	q := &c.out
	q.mu.Lock()
	if q.closing {
		q.mu.Unlock()
		putPooled(it.pooled, frame)
		return ErrClosed
	}
	if q.full(c.cfg.QueueMessages, c.cfg.QueueBytes, len(frame)) && q.droppable > 0 {
		if dropped := q.evict(c.cfg.QueueMessages, c.cfg.QueueBytes, len(frame)); dropped > 0 {
			c.cfg.Metrics.Dropped.Add(int64(dropped))
		}
	}
	if q.full(c.cfg.QueueMessages, c.cfg.QueueBytes, len(frame)) {
		queued := len(q.data)
		q.mu.Unlock()
		putPooled(it.pooled, frame)
		c.cfg.Metrics.SlowConsumers.Add(1)
		c.cfg.Logger.Warn("websocket: slow consumer", "remote", c.RemoteAddr(), "queued", queued)
		c.fail(StatusTryAgainLater, "slow consumer: outbound queue full")
		return ErrQueueFull
	}
	if !droppable && len(q.data) == 0 && len(q.ctrl) == 0 && c.wbusy.CompareAndSwap(false, true) {
		// Nothing queued and nobody writing: write it now, without a
		// trip through the queue (a reply, an echo).
		q.mu.Unlock()
		c.writeOne(it)
		return nil
	}
	q.data = append(q.data, it)
	q.bytes += len(frame)
	if droppable {
		q.droppable++
	}
	q.mu.Unlock()
	switch {
	case !droppable:
		c.kick(kickNow)
	case c.cfg.BatchDelay > 0:
		c.kick(kickBatch)
	default:
		c.kick(kickShared)
	}
	return nil
}

// full reports whether a message of size bytes does not fit the queue. The
// limits bound the backlog, not the size of one message: a message always
// fits an empty queue, and is refused only when the queue already holds
// maxMessages, or holds something and the message would take it past
// maxBytes. q.mu is held.
func (q *outQueue) full(maxMessages, maxBytes, size int) bool {
	return overLimits(len(q.data), q.bytes, size, maxMessages, maxBytes)
}

// overLimits is the rule of full for a queue of n messages and size bytes.
func overLimits(n, size, incoming, maxMessages, maxBytes int) bool {
	return n >= maxMessages || (n > 0 && size+incoming > maxBytes)
}

// evict removes droppable items, oldest first, until an incoming frame of
// size incoming fits the queue (see full) or none is left, and returns how
// many it removed. q.mu is held.
func (q *outQueue) evict(maxMessages, maxBytes, incoming int) int {
	n, size, dropped := len(q.data), q.bytes, 0
	kept := q.data[:0]
	for _, it := range q.data {
		if it.droppable && overLimits(n, size, incoming, maxMessages, maxBytes) {
			n--
			size -= len(it.frame)
			dropped++
			putPooled(it.pooled, it.frame)
			continue
		}
		kept = append(kept, it)
	}
	clear(q.data[len(kept):])
	q.data, q.bytes = kept, size
	q.droppable -= dropped
	return dropped
}

// queueControl queues a control frame ahead of data. With dropData the
// data still queued is discarded (the connection is failing).
func (c *Conn) queueControl(op Opcode, payload []byte, dropData bool) bool {
	var mask *[4]byte
	if !c.isServer {
		var k [4]byte
		_, _ = rand.Read(k[:])
		mask = &k
	}
	frame := appendFrame(nil, op, true, false, mask, payload)
	q := &c.out
	q.mu.Lock()
	if q.closing {
		q.mu.Unlock()
		return false
	}
	if op == OpClose {
		q.closing = true
		if dropData {
			for _, it := range q.data {
				putPooled(it.pooled, it.frame)
			}
			clear(q.data)
			q.data, q.bytes, q.droppable = q.data[:0], 0, 0
		} else {
			// A graceful close goes after the data already queued.
			q.data = append(q.data, outItem{frame: frame})
			q.mu.Unlock()
			c.kick(kickNow)
			return true
		}
	}
	if len(q.ctrl) >= maxPendingControl {
		// A peer that pings faster than it reads gets pongs for its
		// latest pings only (RFC 6455 §5.5.3 allows answering just the
		// most recent): the newest pending frame of this kind is
		// replaced, so control frames never grow the queue unbounded.
		for i := len(q.ctrl) - 1; i >= 0; i-- {
			if Opcode(q.ctrl[i][0]&0x0f) == op {
				q.ctrl[i] = frame
				break
			}
		}
		q.mu.Unlock()
		return true
	}
	q.ctrl = append(q.ctrl, frame)
	q.mu.Unlock()
	c.kick(kickNow)
	return true
}

// maxPendingControl bounds the pings and pongs waiting for the writer.
const maxPendingControl = 16
