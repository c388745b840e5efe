package conformance

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"testing"
	"unicode/utf8"
)

// This file is the suite's own frame codec (RFC 6455 §5.2). It is written
// independently of the websocket package on purpose, and checked against the
// examples of RFC 6455 §5.7 and §1.3 in TestSuiteCodec.

// Opcodes (RFC 6455 §5.2, §11.8).
const (
	opCont   byte = 0x0
	opText   byte = 0x1
	opBinary byte = 0x2
	opClose  byte = 0x8
	opPing   byte = 0x9
	opPong   byte = 0xA
)

// RSV bits as frameSpec.rsv holds them.
const (
	rsv1 byte = 4
	rsv2 byte = 2
	rsv3 byte = 1
)

// rfcMaskKey is the masking key of the RFC 6455 §5.7 examples; frames use it
// unless they say otherwise, so that failure reports can be replayed.
var rfcMaskKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// frameSpec describes one client frame to encode. The zero value of every
// field gives a well-formed frame: FIN set, no RSV bits, masked with
// rfcMaskKey, the length in its shortest form.
type frameSpec struct {
	op       byte
	notFin   bool     // clear FIN
	rsv      byte     // RSV1..RSV3 as 4, 2, 1
	payload  []byte   //
	unmasked bool     // send without a mask (forbidden for clients, §5.1)
	key      *[4]byte // masking key; nil means rfcMaskKey
	lenForm  int      // 0: shortest; 16 or 64: force that extended form
	announce *uint64  // announced length when it is not len(payload)
}

// encode returns the frame's bytes.
func (f frameSpec) encode() []byte {
	b0 := f.op&0x0f | (f.rsv&7)<<4
	if !f.notFin {
		b0 |= 0x80
	}
	n := uint64(len(f.payload))
	if f.announce != nil {
		n = *f.announce
	}
	var maskBit byte = 0x80
	if f.unmasked {
		maskBit = 0
	}
	out := make([]byte, 0, 14+len(f.payload))
	out = append(out, b0)
	switch {
	case f.lenForm == 64 || (f.lenForm == 0 && n > 0xffff):
		out = append(out, maskBit|127)
		out = binary.BigEndian.AppendUint64(out, n)
	case f.lenForm == 16 || (f.lenForm == 0 && n > 125):
		out = append(out, maskBit|126)
		out = binary.BigEndian.AppendUint16(out, uint16(n))
	default:
		out = append(out, maskBit|byte(n))
	}
	if f.unmasked {
		return append(out, f.payload...)
	}
	key := rfcMaskKey
	if f.key != nil {
		key = *f.key
	}
	out = append(out, key[:]...)
	start := len(out)
	out = append(out, f.payload...)
	for i := range out[start:] {
		out[start+i] ^= key[i%4]
	}
	return out
}

// Shorthands for well-formed client frames.

func textFrame(s string) []byte     { return frameSpec{op: opText, payload: []byte(s)}.encode() }
func binaryFrame(b []byte) []byte   { return frameSpec{op: opBinary, payload: b}.encode() }
func pingFrame(p string) []byte     { return frameSpec{op: opPing, payload: []byte(p)}.encode() }
func pongFrame(p string) []byte     { return frameSpec{op: opPong, payload: []byte(p)}.encode() }
func closeRawFrame(p []byte) []byte { return frameSpec{op: opClose, payload: p}.encode() }

// closeFrame is a close frame with a code and a reason.
func closeFrame(code uint16, reason string) []byte {
	return closeRawFrame(append(binary.BigEndian.AppendUint16(nil, code), reason...))
}

// fragFrame is one fragment: op is opText/opBinary for the first and
// opCont for the others.
func fragFrame(op byte, fin bool, payload []byte) []byte {
	return frameSpec{op: op, notFin: !fin, payload: payload}.encode()
}

// fragments cuts a message into frames of at most size payload bytes each
// (at least one frame, so an empty message is one empty frame).
func fragments(op byte, payload []byte, size int) [][]byte {
	specs := fragmentsSpec(op, payload, size)
	out := make([][]byte, len(specs))
	for i, f := range specs {
		out[i] = f.encode()
	}
	return out
}

// join concatenates frames into one write.
func join(frames ...[]byte) []byte { return bytes.Join(frames, nil) }

// rxFrame is a frame read from the server.
type rxFrame struct {
	fin     bool
	rsv     byte
	op      byte
	payload []byte
}

// errServerFrame marks a frame no server may send; the suite reports it
// with the RFC rule it breaks.
var errServerFrame = errors.New("server sent a malformed frame")

// maxServerPayload bounds what the suite accepts in one server frame.
const maxServerPayload = 64 << 20

// readFrame reads one server frame, checking the rules RFC 6455 §5 puts on
// the sender: no mask (§5.1), the shortest length form (§5.2), the top bit
// of a 64-bit length clear, known opcodes, control frames unfragmented and at
// most 125 bytes (§5.5). RSV bits are checked by the caller, which knows
// the extensions.
func readFrame(r *bufio.Reader) (rxFrame, error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return rxFrame{}, err
	}
	f := rxFrame{fin: h[0]&0x80 != 0, rsv: h[0] >> 4 & 7, op: h[0] & 0x0f}
	if h[1]&0x80 != 0 {
		return f, fmt.Errorf("%w: masked (§5.1: a server MUST NOT mask)", errServerFrame)
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return f, noEOF(err)
		}
		if n = uint64(binary.BigEndian.Uint16(b[:])); n < 126 {
			return f, fmt.Errorf("%w: length %d in the 16-bit form (§5.2: minimal form)", errServerFrame, n)
		}
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return f, noEOF(err)
		}
		n = binary.BigEndian.Uint64(b[:])
		if n>>63 != 0 || n <= 0xffff {
			return f, fmt.Errorf("%w: length %d in the 64-bit form (§5.2)", errServerFrame, n)
		}
	}
	switch f.op {
	case opCont, opText, opBinary:
	case opClose, opPing, opPong:
		if !f.fin || n > 125 {
			return f, fmt.Errorf("%w: control frame 0x%x fin=%v length %d (§5.5)", errServerFrame, f.op, f.fin, n)
		}
	default:
		return f, fmt.Errorf("%w: reserved opcode 0x%x (§5.2)", errServerFrame, f.op)
	}
	if n > maxServerPayload {
		return f, fmt.Errorf("%w: %d-byte payload is beyond what this suite reads", errServerFrame, n)
	}
	f.payload = make([]byte, n)
	if _, err := io.ReadFull(r, f.payload); err != nil {
		return f, noEOF(err)
	}
	return f, nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// parseClose decodes a server's close payload (RFC 6455 §5.5.1, §7.4):
// empty (code -1), or a code that may be sent followed by a UTF-8 reason.
func parseClose(p []byte) (code int, reason string, err error) {
	switch {
	case len(p) == 0:
		return -1, "", nil
	case len(p) == 1:
		return 0, "", fmt.Errorf("%w: 1-byte close payload (§5.5.1)", errServerFrame)
	}
	code = int(binary.BigEndian.Uint16(p))
	if !codeValidOnWire(code) {
		return code, "", fmt.Errorf("%w: close code %d may not be sent (§7.4.1)", errServerFrame, code)
	}
	if !utf8.Valid(p[2:]) {
		return code, "", fmt.Errorf("%w: close reason is not UTF-8 (§5.5.1)", errServerFrame)
	}
	return code, string(p[2:]), nil
}

// codeValidOnWire: RFC 6455 §7.4.1 and §7.4.2 (1004 reserved; 1005, 1006
// and 1015 never sent; 1016-2999 reserved for future RFCs; 3000-4999
// registered and private use). 1012-1014 were registered with IANA later.
func codeValidOnWire(c int) bool {
	return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999)
}

// acceptGUID is the GUID of RFC 6455 §1.3.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// acceptFor computes Sec-WebSocket-Accept for a key (RFC 6455 §4.2.2).
func acceptFor(key string) string {
	sum := sha1.Sum([]byte(key + acceptGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// TestSuiteCodec checks the suite's own codec against the examples of
// RFC 6455 §5.7 and §1.3, so that a failure elsewhere is the server's.
func TestSuiteCodec(t *testing.T) {
	if got, want := acceptFor("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="; got != want {
		t.Errorf("acceptFor(RFC 6455 §1.3 key) = %q, want %q", got, want)
	}
	hello := []byte("Hello")
	encodes := []struct {
		name string
		got  []byte
		want []byte
	}{
		{"masked Hello", frameSpec{op: opText, payload: hello}.encode(),
			[]byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}},
		{"unmasked Hello", frameSpec{op: opText, payload: hello, unmasked: true}.encode(),
			[]byte{0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}},
		{"unmasked Hel", frameSpec{op: opText, notFin: true, payload: hello[:3], unmasked: true}.encode(),
			[]byte{0x01, 0x03, 0x48, 0x65, 0x6c}},
		{"unmasked lo", frameSpec{op: opCont, payload: hello[3:], unmasked: true}.encode(),
			[]byte{0x80, 0x02, 0x6c, 0x6f}},
		{"unmasked ping", frameSpec{op: opPing, payload: hello, unmasked: true}.encode(),
			[]byte{0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}},
		{"256-byte binary header", frameSpec{op: opBinary, payload: make([]byte, 256), unmasked: true}.encode()[:4],
			[]byte{0x82, 0x7e, 0x01, 0x00}},
		{"64 KiB binary header", frameSpec{op: opBinary, payload: make([]byte, 65536), unmasked: true}.encode()[:10],
			[]byte{0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0}},
		{"rsv and forced 64-bit form", frameSpec{op: opText, rsv: rsv1 | rsv3, lenForm: 64, unmasked: true}.encode(),
			[]byte{0xd1, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0}},
	}
	for _, c := range encodes {
		if !bytes.Equal(c.got, c.want) {
			t.Errorf("%s: encoded % x, want % x", c.name, c.got, c.want)
		}
	}

	decodes := []struct {
		name    string
		in      []byte
		want    rxFrame
		wantErr bool
	}{
		{"unmasked Hello", []byte{0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}, rxFrame{fin: true, op: opText, payload: hello}, false},
		{"fragment", []byte{0x01, 0x03, 0x48, 0x65, 0x6c}, rxFrame{op: opText, payload: hello[:3]}, false},
		{"pong", []byte{0x8a, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}, rxFrame{fin: true, op: opPong, payload: hello}, false},
		{"masked", []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}, rxFrame{}, true},
		{"non-minimal 16-bit", []byte{0x81, 0x7e, 0x00, 0x05, 'H', 'e', 'l', 'l', 'o'}, rxFrame{}, true},
		{"non-minimal 64-bit", []byte{0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, rxFrame{}, true},
		{"fragmented ping", []byte{0x09, 0x00}, rxFrame{}, true},
		{"reserved opcode", []byte{0x83, 0x00}, rxFrame{}, true},
	}
	for _, c := range decodes {
		got, err := readFrame(bufio.NewReader(bytes.NewReader(c.in)))
		if c.wantErr {
			if !errors.Is(err, errServerFrame) {
				t.Errorf("%s: err = %v, want errServerFrame", c.name, err)
			}
			continue
		}
		if err != nil || got.fin != c.want.fin || got.op != c.want.op || got.rsv != c.want.rsv || !bytes.Equal(got.payload, c.want.payload) {
			t.Errorf("%s: got %+v, %v; want %+v", c.name, got, err, c.want)
		}
	}

	// The suite's permessage-deflate: the RFC 7692 §7.2.3 examples inflate
	// to "Hello", a compressor with context takeover refers back to its
	// earlier messages, and round trips hold.
	for _, z := range [][]byte{
		{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00},
		{0x00, 0x05, 0x00, 0xfa, 0xff, 'H', 'e', 'l', 'l', 'o', 0x00},
		{0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00},
		{0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00},
	} {
		if got, err := (&inflater{}).inflate(z); err != nil || string(got) != "Hello" {
			t.Errorf("inflate(% x) = %q, %v; want Hello", z, got, err)
		}
	}
	shared := &inflater{takeover: true}
	for _, z := range [][]byte{{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}, {0xf2, 0x00, 0x11, 0x00, 0x00}} {
		if got, err := shared.inflate(z); err != nil || string(got) != "Hello" {
			t.Errorf("inflate with a shared window (% x) = %q, %v; want Hello", z, got, err)
		}
	}
	if z := compressRaw(nil); !bytes.Equal(z, []byte{0x00}) {
		t.Errorf("compressing an empty message gives % x, want 00 (RFC 7692 §7.2.3.6)", z)
	}
	msg := noisy(2000) // incompressible alone, so only the window can shrink it
	keep, fresh, in := &deflater{takeover: true}, &deflater{}, &inflater{takeover: true}
	for i := range 3 {
		zk, zf := keep.compress(msg), fresh.compress(msg)
		if i > 0 && len(zk)*4 > len(zf) {
			t.Errorf("message %d: with takeover %d bytes, without %d: the window is not kept", i, len(zk), len(zf))
		}
		if got, err := in.inflate(zk); err != nil || !bytes.Equal(got, msg) {
			t.Errorf("message %d does not round-trip with takeover: %v", i, err)
		}
	}

	for _, c := range []struct {
		in   []byte
		code int
		bad  bool
	}{{nil, -1, false}, {[]byte{3, 0xe8}, 1000, false}, {[]byte{3}, 0, true}, {[]byte{3, 0xed}, 0, true}, {[]byte{3, 0xe8, 0xff}, 0, true}} {
		code, _, err := parseClose(c.in)
		if (err != nil) != c.bad || (!c.bad && code != c.code) {
			t.Errorf("parseClose(% x) = %d, %v", c.in, code, err)
		}
	}
}
