package websocket

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
)

// fragmentedMessage encodes payload as a masked client message of
// one-byte fragments.
func fragmentedMessage(op Opcode, payload []byte) []byte {
	mask := [4]byte{1, 2, 3, 4}
	var b []byte
	for i := range payload {
		fop := op
		if i > 0 {
			fop = OpContinuation
		}
		b = appendFrame(b, fop, i == len(payload)-1, false, &mask, payload[i:i+1])
	}
	return b
}

// TestFragmentReassemblyIsLinear reads a message of n one-byte fragments
// and counts what assembling it cost: the buffer must grow geometrically,
// so that the bytes copied stay linear in n and the growths logarithmic (a
// buffer grown to fit each fragment copies n²/2 bytes in n growths).
func TestFragmentReassemblyIsLinear(t *testing.T) {
	const n = 20000
	payload := bytes.Repeat([]byte("x"), n)
	cfg := Config{PingInterval: -1}
	c := newConn(&scriptConn{r: bytes.NewReader(fragmentedMessage(OpBinary, payload))}, nil, true, cfg)
	var buf []byte
	growths, copied := 0, 0
	for i := 0; i < n; i++ {
		h, err := c.readHeader()
		if err != nil {
			t.Fatalf("fragment %d: header: %v", i, err)
		}
		oldCap, oldLen := cap(buf), len(buf)
		if buf, err = c.readPayload(buf, h, nil); err != nil {
			t.Fatalf("fragment %d: payload: %v", i, err)
		}
		if cap(buf) != oldCap {
			growths++
			copied += oldLen // a growth copies what was assembled so far
		}
	}
	if !bytes.Equal(buf, payload) {
		t.Fatalf("reassembled %d bytes, not the %d sent", len(buf), n)
	}
	if growths > 20 {
		t.Errorf("the buffer grew %d times for %d one-byte fragments; want O(log n) (at most 20)", growths, n)
	}
	if copied > 2*n {
		t.Errorf("reassembly copied %d bytes for a %d-byte message; want O(n) (at most %d)", copied, n, 2*n)
	}
}

// TestFragmentedMessageAllocations runs a whole connection over a message of
// n one-byte fragments: the allocations must not grow with n.
func TestFragmentedMessageAllocations(t *testing.T) {
	const n = 20000
	payload := bytes.Repeat([]byte("y"), n)
	in := fragmentedMessage(OpText, payload)
	var got int
	allocs := testing.AllocsPerRun(1, func() {
		c := newConn(&scriptConn{r: bytes.NewReader(in)}, nil, true, Config{PingInterval: -1})
		_ = c.Run(context.Background(), HandlerFunc(func(_ *Conn, _ Opcode, data []byte) { got = len(data) }))
	})
	if got != n {
		t.Fatalf("delivered %d bytes, want %d", got, n)
	}
	if allocs > n/20 {
		t.Errorf("a message of %d one-byte fragments cost %.0f allocations; want far fewer than one per fragment (at most %d)", n, allocs, n/20)
	}
}

// TestAnnouncedFrameHoldsSmallBuffer sends the header of a 1 MiB frame and
// 16 bytes of it: the reader must not have allocated the announced size
// before the bytes arrive.
func TestAnnouncedFrameHoldsSmallBuffer(t *testing.T) {
	const announced = 1 << 20
	mask := [4]byte{9, 8, 7, 6}
	frame := appendFrame(nil, OpBinary, true, false, &mask, make([]byte, announced))
	hdrLen := len(frame) - announced
	in := frame[:hdrLen+16]
	c := newConn(&scriptConn{r: bytes.NewReader(in)}, nil, true, Config{MaxMessageBytes: 16 << 20, PingInterval: -1})
	h, err := c.readHeader()
	if err != nil {
		t.Fatal(err)
	}
	if h.Length != announced {
		t.Fatalf("announced length %d, want %d", h.Length, announced)
	}
	buf, err := c.readPayload(nil, h, nil)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("reading a cut frame: err %v, want io.ErrUnexpectedEOF", err)
	}
	if len(buf) != 16 {
		t.Errorf("read %d bytes, want the 16 sent", len(buf))
	}
	if cap(buf) > payloadChunk {
		t.Errorf("16 bytes of an announced %d-byte frame hold a %d-byte buffer; want at most %d", announced, cap(buf), payloadChunk)
	}
}

// TestLargeFramePayloadIntact reads frames past payloadChunk, masked, in
// one and in several fragments, through the growing buffer.
func TestLargeFramePayloadIntact(t *testing.T) {
	payload := make([]byte, 3*payloadChunk+123)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	mask := [4]byte{5, 6, 7, 8}
	single := appendFrame(nil, OpBinary, true, false, &mask, payload)
	cut := len(payload) / 3
	frag := appendFrame(nil, OpBinary, false, false, &mask, payload[:cut])
	frag = appendFrame(frag, OpContinuation, true, false, &mask, payload[cut:])
	for name, in := range map[string][]byte{"single": single, "two-fragments": frag} {
		t.Run(name, func(t *testing.T) {
			var got []byte
			c := newConn(&scriptConn{r: bytes.NewReader(in)}, nil, true, Config{PingInterval: -1})
			_ = c.Run(context.Background(), HandlerFunc(func(_ *Conn, _ Opcode, data []byte) { got = data }))
			if !bytes.Equal(got, payload) {
				t.Fatalf("delivered %d bytes, not the %d sent", len(got), len(payload))
			}
			if cap(got) != len(got) {
				t.Errorf("the message's buffer has capacity %d for %d bytes: the last frame needs no room past its end", cap(got), len(got))
			}
		})
	}
}

// TestPayloadBufferStaysWithinLimit: doubling the buffer of a fragmented
// message must not reserve more than any message may hold.
func TestPayloadBufferStaysWithinLimit(t *testing.T) {
	const limit = 100 << 10
	mask := [4]byte{3, 1, 4, 1}
	// 64 KiB fill a buffer grown by doubling; one more byte would double
	// it to 128 KiB.
	in := appendFrame(nil, OpBinary, false, false, &mask, make([]byte, 64<<10))
	in = appendFrame(in, OpContinuation, false, false, &mask, make([]byte, 1<<10))
	c := newConn(&scriptConn{r: bytes.NewReader(in)}, nil, true, Config{MaxMessageBytes: limit, PingInterval: -1})
	var buf []byte
	for range 2 {
		h, err := c.readHeader()
		if err != nil {
			t.Fatal(err)
		}
		if buf, err = c.readPayload(buf, h, nil); err != nil {
			t.Fatal(err)
		}
	}
	if len(buf) != 65<<10 {
		t.Fatalf("read %d bytes, want %d", len(buf), 65<<10)
	}
	if int64(cap(buf)) > c.maxWireBytes() {
		t.Errorf("a message limited to %d bytes holds a %d-byte buffer; want at most %d", limit, cap(buf), c.maxWireBytes())
	}
}
