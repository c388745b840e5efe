package conformance

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"time"
)

// step is one action of a case, or one expectation about what the server
// does next.
type step struct {
	what string
	run  func(c *rawConn) error
}

// send writes each argument with its own Write call.
func send(writes ...[]byte) step {
	return step{fmt.Sprintf("send %d write(s)", len(writes)), func(c *rawConn) error {
		for _, w := range writes {
			if err := c.write(w); err != nil {
				return err
			}
		}
		return nil
	}}
}

// sendEach is send for a slice of frames.
func sendEach(frames [][]byte) step { return send(frames...) }

// numbered returns n frames, each made by frame from the payload
// fmt.Sprintf(format, i), and the n steps expect makes of the same payloads:
// the replies that must come back, in order.
func numbered(n int, format string, frame func(string) []byte, expect func(string) step) ([][]byte, []step) {
	frames := make([][]byte, n)
	want := make([]step, n)
	for i := range n {
		p := fmt.Sprintf(format, i)
		frames[i], want[i] = frame(p), expect(p)
	}
	return frames, want
}

// sendJoined writes all frames in a single Write.
func sendJoined(frames ...[]byte) step {
	s := send(join(frames...))
	s.what = fmt.Sprintf("send %d frame(s) in one write", len(frames))
	return s
}

// sendSplit writes b in pieces of chunk bytes, one Write each.
func sendSplit(b []byte, chunk int) step {
	return step{fmt.Sprintf("send %d bytes in %d-byte writes", len(b), chunk), func(c *rawConn) error {
		c.tr.add("→ %d bytes in %d-byte writes: %s", len(b), chunk, hexShort(b))
		for len(b) > 0 {
			n := min(chunk, len(b))
			if err := c.writeQuiet(b[:n]); err != nil {
				return err
			}
			b = b[n:]
		}
		return nil
	}}
}

// sendDeflated compresses payload with the connection's negotiated
// compressor and sends it in frames of at most size compressed bytes.
func sendDeflated(op byte, payload []byte, size int) step {
	return step{fmt.Sprintf("send compressed %d-byte message", len(payload)), func(c *rawConn) error {
		if c.pmd == nil {
			return errors.New("permessage-deflate was not negotiated")
		}
		return sendEach(deflatedFrames(c.pmd.out, op, payload, size)).run(c)
	}}
}

// expectMessage wants the next event to be a data message with op and
// payload, compressed or not.
func expectMessage(op byte, payload []byte) step {
	return expectMsg(op, payload, false)
}

func expectText(s string) step   { return expectMessage(opText, []byte(s)) }
func expectBinary(b []byte) step { return expectMessage(opBinary, b) }

// expectCompressed also wants the message to come compressed (RSV1).
func expectCompressed(op byte, payload []byte) step { return expectMsg(op, payload, true) }

func expectMsg(op byte, payload []byte, compressed bool) step {
	return expectMsgWithin(op, payload, compressed, ioTimeout)
}

// expectMsgWithin is expectMsg waiting up to timeout for the whole message.
func expectMsgWithin(op byte, payload []byte, compressed bool, timeout time.Duration) step {
	what := fmt.Sprintf("expect message op=0x%x of %d bytes", op, len(payload))
	return step{what, func(c *rawConn) error {
		ev, err := c.next(timeout)
		if err != nil {
			return err
		}
		if ev.kind != evMessage || ev.op != op || !bytes.Equal(ev.payload, payload) {
			return fmt.Errorf("want message op=0x%x %s, got %v", op, quoteShort(payload), ev)
		}
		if compressed && !ev.compressed {
			return fmt.Errorf("want the reply compressed (RSV1), it came plain")
		}
		return nil
	}}
}

// expectPong wants a pong carrying p (RFC 6455 §5.5.3).
func expectPong(p string) step {
	return step{"expect pong " + quoteShort([]byte(p)), func(c *rawConn) error {
		ev, err := c.next(ioTimeout)
		if err != nil {
			return err
		}
		if ev.kind != evPong || string(ev.payload) != p {
			return fmt.Errorf("want pong %s, got %v (RFC 6455 §5.5.3: the pong carries the ping's payload)", quoteShort([]byte(p)), ev)
		}
		return nil
	}}
}

// expectCloseFrame wants a close frame with one of codes (-1: no code).
func expectCloseFrame(codes ...int) step {
	return step{fmt.Sprintf("expect close %v", codes), func(c *rawConn) error {
		_, err := c.expectClose(codes)
		return err
	}}
}

func (c *rawConn) expectClose(codes []int) (int, error) {
	ev, err := c.next(ioTimeout)
	if err != nil {
		return 0, fmt.Errorf("want close %v: %w", codes, err)
	}
	if ev.kind != evClose || !slices.Contains(codes, ev.code) {
		return 0, fmt.Errorf("want close %v, got %v", codes, ev)
	}
	return ev.code, nil
}

// expectFail wants the server to fail the connection: a close frame with
// one of codes; the client answers with a close echoing the code (§5.5.1)
// and the server must then close TCP.
func expectFail(codes ...int) step {
	return step{fmt.Sprintf("expect close %v, answer it, expect TCP close", codes), func(c *rawConn) error {
		code, err := c.expectClose(codes)
		if err != nil {
			return err
		}
		_ = c.write(closeFrame(uint16(code), "")) // the server may have closed TCP already
		return c.awaitEOF()
	}}
}

// expectClosed is for a close the client started: the server answers with
// a close frame carrying one of codes (-1: no code) and closes TCP.
func expectClosed(codes ...int) step {
	return step{fmt.Sprintf("expect close %v, then TCP close", codes), func(c *rawConn) error {
		if _, err := c.expectClose(codes); err != nil {
			return err
		}
		return c.awaitEOF()
	}}
}

// replyClose sends the client's half of a close handshake.
func replyClose(code uint16) step {
	return step{fmt.Sprintf("reply close %d", code), func(c *rawConn) error {
		_ = c.write(closeFrame(code, ""))
		return nil
	}}
}

// expectEOF wants the server to close TCP within closeWait.
func expectEOF() step {
	return step{"expect TCP close", func(c *rawConn) error { return c.awaitEOF() }}
}

func (c *rawConn) awaitEOF() error {
	start := time.Now()
	ev, err := c.next(closeWait)
	if errors.Is(err, errTimeout) {
		return fmt.Errorf("the server did not close TCP within %v of the close handshake (RFC 6455 §5.5.1: after sending and receiving a Close, the server MUST close the TCP connection immediately; §7.1.1)", closeWait)
	}
	if err != nil {
		return err
	}
	if ev.kind != evEOF {
		return fmt.Errorf("want TCP close, got %v", ev)
	}
	c.tr.add("   (TCP closed %v after the close handshake)", time.Since(start).Round(time.Millisecond))
	return nil
}

// hangUp closes the client's side of TCP.
func hangUp() step {
	return step{"close TCP", func(c *rawConn) error {
		c.tr.add("→ close TCP")
		c.close()
		return nil
	}}
}
