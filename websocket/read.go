package websocket

import (
	"errors"
	"fmt"
	"io"
	"net"
	"time"
	"unicode/utf8"
)

// errFailed ends the read loop after the connection was failed and the
// peer's input drained.
var errFailed = errors.New("websocket: connection failed")

// message is the reader's state for the data message being assembled.
type message struct {
	pooled     *[]byte // buf's pooled slice (Config.ReuseMessageBuffer)
	op         Opcode
	active     bool
	compressed bool
	buf        []byte
	utf8       utf8Validator
}

// readLoop reads frames until the connection ends, answering pings and the
// close handshake and handing whole messages to h.
func (c *Conn) readLoop(h Handler) error {
	var m message
	var lastExtend time.Time
	// Moving the deadline on every frame costs a timer update; once in a
	// small fraction of the keepalive window is enough.
	extendEvery := min(time.Second, (c.cfg.PingInterval+c.cfg.PingTimeout)/8)
	for {
		if now := time.Now(); now.Sub(lastExtend) > extendEvery {
			c.extendDeadline(now)
			lastExtend = now
		}
		hdr, err := c.readHeader()
		if err != nil {
			if errors.Is(err, errProtocol) {
				return c.violation(StatusProtocolError, reasonOf(err))
			}
			return c.readError(err)
		}
		if c.failing.Load() && hdr.Op != OpClose {
			// Failed from elsewhere (the slow-consumer rule): the
			// stream is intact, so look only for the peer's close.
			if err := c.skip(hdr.Length); err != nil {
				return c.readError(err)
			}
			continue
		}
		if code, reason := c.check(hdr, &m); code != 0 {
			return c.violation(code, reason)
		}
		if hdr.Op.isControl() {
			payload, err := c.readPayload(nil, hdr, nil)
			if err != nil {
				return c.readError(err)
			}
			if done, err := c.control(hdr.Op, payload); done {
				return err
			}
			continue
		}
		if hdr.Op != OpContinuation {
			m = message{op: hdr.Op, active: true, compressed: hdr.Rsv1}
			if c.cfg.ReuseMessageBuffer {
				if m.pooled = getPooled(int(hdr.Length)); m.pooled != nil {
					m.buf = *m.pooled
				}
			}
		}
		var v *utf8Validator
		if m.op == OpText && !m.compressed {
			v = &m.utf8
		}
		m.buf, err = c.readPayload(m.buf, hdr, v)
		if errors.Is(err, errInvalidUTF8) {
			// Fail fast, without waiting for the rest of the frame.
			return c.violation(StatusInvalidPayload, "invalid UTF-8 in text message")
		}
		if err != nil {
			return c.readError(err)
		}
		if !hdr.Fin {
			continue
		}
		if code, reason := c.finish(&m); code != 0 {
			return c.violation(code, reason)
		}
		c.cfg.Metrics.MessagesIn.add(c.cell, 1)
		op, data, pooled := m.op, m.buf, m.pooled
		m = message{}
		h.OnMessage(c, op, data)
		if c.cfg.ReuseMessageBuffer {
			if pooled == nil && cap(data) <= maxPooledBuf {
				pooled = new([]byte)
			}
			putPooled(pooled, data)
		}
	}
}

// check applies the per-connection frame rules of RFC 6455 §5 and RFC 7692
// §6 and returns a close code for a violation.
func (c *Conn) check(h frameHeader, m *message) (StatusCode, string) {
	switch {
	case h.Op.isReserved():
		return StatusProtocolError, fmt.Sprintf("reserved opcode 0x%x", byte(h.Op))
	case h.Rsv2 || h.Rsv3:
		return StatusProtocolError, "RSV2/RSV3 set without a negotiated extension"
	case h.Rsv1 && (c.decomp == nil || h.Op.isControl() || h.Op == OpContinuation):
		return StatusProtocolError, "RSV1 set without a compressed message start"
	case c.isServer && !h.Masked:
		return StatusProtocolError, "client frames must be masked"
	case !c.isServer && h.Masked:
		return StatusProtocolError, "server frames must not be masked"
	case h.Op == OpContinuation && !m.active:
		return StatusProtocolError, "continuation frame without a message to continue"
	case (h.Op == OpText || h.Op == OpBinary) && m.active:
		return StatusProtocolError, "new data frame before the fragmented message ended"
	case !h.Op.isControl() && int64(len(m.buf))+h.Length > c.wireLimit(m, h):
		return StatusMessageTooBig, fmt.Sprintf("message exceeds %d bytes", c.cfg.MaxMessageBytes)
	}
	return 0, ""
}

// wireLimit is the most payload bytes a message may take on the wire. A
// compressed message may exceed MaxMessageBytes a little (deflate adds 5
// bytes per stored block to incompressible data); decompression enforces
// the exact limit.
func (c *Conn) wireLimit(m *message, h frameHeader) int64 {
	if h.Rsv1 || (m.active && m.compressed && h.Op == OpContinuation) {
		return c.maxWireBytes()
	}
	return c.cfg.MaxMessageBytes
}

// maxWireBytes is the most payload bytes any message may take on the wire:
// the limit of a compressed one.
func (c *Conn) maxWireBytes() int64 {
	return c.cfg.MaxMessageBytes + c.cfg.MaxMessageBytes/64 + 1024
}

// finish completes a message: decompression and the UTF-8 check.
func (c *Conn) finish(m *message) (StatusCode, string) {
	if m.compressed {
		out, err := c.decomp.decompress(nil, m.buf, c.cfg.MaxMessageBytes)
		switch {
		case errors.Is(err, errDeflateTooBig):
			return StatusMessageTooBig, fmt.Sprintf("message exceeds %d bytes", c.cfg.MaxMessageBytes)
		case err != nil:
			return StatusProtocolError, "invalid compressed data"
		}
		m.buf = out
		if m.op == OpText && !utf8.Valid(out) {
			return StatusInvalidPayload, "invalid UTF-8 in text message"
		}
		return 0, ""
	}
	if m.op == OpText && !m.utf8.done() {
		return StatusInvalidPayload, "invalid UTF-8 in text message"
	}
	return 0, ""
}

// violation fails the connection for bad input and counts it (RFC 6455
// §7.1.7). Nothing more of the peer's input is parsed: the close frame goes
// out, the socket is half-closed after it, and the input is drained until
// the peer closes or the close timer ends, so that our close frame is not
// lost to a TCP reset.
func (c *Conn) violation(code StatusCode, reason string) error {
	c.cfg.Metrics.ProtocolErrors.Add(1)
	c.fail(code, reason)
	return c.drainRaw()
}

// control handles a control frame; done reports that reading is over.
func (c *Conn) control(op Opcode, payload []byte) (done bool, err error) {
	switch op {
	case OpPing:
		if !c.failing.Load() {
			c.queueControl(OpPong, payload, false)
		}
	case OpClose:
		code, reason, perr := parseClosePayload(payload)
		if perr != nil {
			// The peer has closed, however badly: once our 1002 is
			// written the handshake is over.
			c.closeRecv.Store(true)
			return true, c.violation(StatusProtocolError, reasonOf(perr))
		}
		c.closeRecv.Store(true)
		c.setStatus(code, reason)
		// Echo the code (RFC 6455 §5.5.1); a close without a code is
		// answered without one. If our close went out already this
		// queues nothing.
		var reply []byte
		if code != StatusNoStatusRcvd {
			reply = appendClosePayload(nil, code, "")
		}
		if !c.queueControl(OpClose, reply, false) && c.isServer && c.closeSentDone() {
			return true, nil
		}
		return true, c.drainRaw()
	}
	return false, nil
}

// closeSentDone reports whether our close frame has been written.
func (c *Conn) closeSentDone() bool { return c.closeSent.Load() }

// readHeader reads one frame header.
func (c *Conn) readHeader() (frameHeader, error) {
	b, err := c.br.Peek(2)
	if err != nil {
		return frameHeader{}, err
	}
	n := 2
	switch b[1] & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b[1]&0x80 != 0 {
		n += 4
	}
	if b, err = c.br.Peek(n); err != nil {
		return frameHeader{}, noEOF(err)
	}
	h, _, err := parseHeader(b)
	if err != nil {
		return h, err
	}
	_, _ = c.br.Discard(n)
	c.cfg.Metrics.BytesIn.add(c.cell, h.Length)
	return h, nil
}

var errInvalidUTF8 = errors.New("websocket: invalid UTF-8")

// payloadChunk bounds how much room the reader makes for a frame's payload
// before its bytes arrive: a header may announce up to the message limit
// and then send nothing, and the announcement alone must not cost memory
// (10,000 connections announcing 1 MiB each hold 160 MB, not 10 GB). A
// message up to this size still costs one allocation of its exact size.
const payloadChunk = 16 << 10

// readPayload appends the frame's unmasked payload to dst. With v set the
// bytes are checked as they arrive and errInvalidUTF8 returned at the first
// bad byte, before the rest of the frame is read.
//
// The buffer grows as bytes arrive, never by more than payloadChunk ahead
// of them, and geometrically, so that a message of many small fragments
// costs linear copying, not quadratic.
func (c *Conn) readPayload(dst []byte, h frameHeader, v *utf8Validator) ([]byte, error) {
	pos := 0
	for remaining := h.Length; remaining > 0; {
		if len(dst) == cap(dst) {
			dst = growPayload(dst, remaining, h.Fin, c.maxWireBytes())
		}
		off := len(dst)
		room := int(min(int64(cap(dst)-off), remaining))
		n, err := c.br.Read(dst[off : off+room])
		if n > 0 {
			dst = dst[:off+n]
			if h.Masked {
				pos = maskBytes(h.Mask, pos, dst[off:])
			}
			if v != nil && !v.write(dst[off:]) {
				return dst, errInvalidUTF8
			}
			remaining -= int64(n)
		}
		if err != nil && remaining > 0 {
			return dst, noEOF(err)
		}
	}
	return dst, nil
}

// growPayload returns dst with room for more of a frame that has remaining
// bytes still to come: twice its capacity, and at least the rest of the
// frame or payloadChunk, whichever is less. The last frame of a message
// needs no room past its end, and no message past limit bytes (check has
// made sure that the frame fits).
func growPayload(dst []byte, remaining int64, last bool, limit int64) []byte {
	need := int64(len(dst)) + min(remaining, payloadChunk)
	size := max(2*int64(cap(dst)), need)
	if last {
		size = min(size, int64(len(dst))+remaining)
	}
	size = max(min(size, limit), need)
	grown := make([]byte, len(dst), int(size))
	copy(grown, dst)
	return grown
}

// skip discards n payload bytes.
func (c *Conn) skip(n int64) error {
	_, err := io.CopyN(io.Discard, c.br, n)
	return noEOF(err)
}

// drainRaw reads and discards until the peer closes or the close deadline
// passes, so that our close frame is not lost to a TCP reset.
func (c *Conn) drainRaw() error {
	_, err := io.Copy(io.Discard, c.br)
	if err == nil {
		return nil
	}
	return c.readError(err)
}

// readError classifies the error that ended reading.
func (c *Conn) readError(err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() && c.closeDeadline.Load() == 0 {
		c.cfg.Metrics.DeadPeers.Add(1)
		c.cfg.Logger.Info("websocket: peer not responding, dropping", "remote", c.RemoteAddr())
	}
	return err
}

// extendDeadline moves the read deadline: the peer must send something
// (data or a pong to our ping) within PingInterval+PingTimeout, and the
// close handshake, once begun, must end by its deadline. The choice and the
// SetReadDeadline are made under deadlineMu, as startCloseTimer's are.
func (c *Conn) extendDeadline(now time.Time) {
	c.deadlineMu.Lock()
	defer c.deadlineMu.Unlock()
	if d := c.closeDeadline.Load(); d != 0 {
		_ = c.nc.SetReadDeadline(time.Unix(0, d))
		return
	}
	if c.cfg.PingInterval > 0 {
		_ = c.nc.SetReadDeadline(now.Add(c.cfg.PingInterval + c.cfg.PingTimeout))
	}
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// reasonOf turns a protocol error into a close reason.
func reasonOf(err error) string {
	s := err.Error()
	const prefix = "websocket: protocol error: "
	if len(s) > len(prefix) && s[:len(prefix)] == prefix {
		s = s[len(prefix):]
	}
	return s
}
