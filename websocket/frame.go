package websocket

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Opcode is a WebSocket frame opcode (RFC 6455 §5.2).
type Opcode byte

// The opcodes of RFC 6455 §11.8. The others are reserved.
const (
	OpContinuation Opcode = 0x0
	OpText         Opcode = 0x1
	OpBinary       Opcode = 0x2
	OpClose        Opcode = 0x8
	OpPing         Opcode = 0x9
	OpPong         Opcode = 0xA
)

// String returns the opcode's name as RFC 6455 spells it.
func (o Opcode) String() string {
	switch o {
	case OpContinuation:
		return "continuation"
	case OpText:
		return "text"
	case OpBinary:
		return "binary"
	case OpClose:
		return "close"
	case OpPing:
		return "ping"
	case OpPong:
		return "pong"
	}
	return fmt.Sprintf("reserved(0x%x)", byte(o))
}

// isControl reports whether o is a control opcode (close, ping, pong or a
// reserved control opcode 0xB-0xF).
func (o Opcode) isControl() bool { return o&0x8 != 0 }

// isReserved reports whether o is one of the opcodes RFC 6455 reserves.
func (o Opcode) isReserved() bool {
	return (o > OpBinary && o < OpClose) || o > OpPong
}

// maxControlPayload is the largest payload a control frame may carry
// (RFC 6455 §5.5).
const maxControlPayload = 125

// maxHeaderSize is the largest frame header: 2 bytes, an 8-byte length and a
// 4-byte masking key.
const maxHeaderSize = 14

// frameHeader is a decoded frame header (RFC 6455 §5.2).
type frameHeader struct {
	Fin    bool
	Rsv1   bool
	Rsv2   bool
	Rsv3   bool
	Op     Opcode
	Masked bool
	Mask   [4]byte
	Length int64
}

// Sentinel errors of the frame parser. Every parse error wraps
// errProtocol, which a connection answers with close code 1002.
var (
	// errShortHeader means the buffer does not yet hold a whole header.
	errShortHeader = errors.New("websocket: short frame header")
	// errProtocol is the root of every framing violation.
	errProtocol = errors.New("websocket: protocol error")
)

func protocolErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errProtocol}, args...)...)
}

// parseHeader decodes the frame header at the start of b and returns it with
// its size in bytes. It returns errShortHeader when b is too short, and an
// error wrapping errProtocol for a header no endpoint may send: a 64-bit
// length with its top bit set, or a control frame that is fragmented or
// longer than 125 bytes. A length in a longer form than needed is accepted:
// the minimal form binds senders only. Checks that depend on the connection
// (masking, RSV bits, reserved opcodes, continuation order) are the
// reader's.
func parseHeader(b []byte) (frameHeader, int, error) {
	var h frameHeader
	if len(b) < 2 {
		return h, 0, errShortHeader
	}
	b0, b1 := b[0], b[1]
	h.Fin = b0&0x80 != 0
	h.Rsv1 = b0&0x40 != 0
	h.Rsv2 = b0&0x20 != 0
	h.Rsv3 = b0&0x10 != 0
	h.Op = Opcode(b0 & 0x0f)
	h.Masked = b1&0x80 != 0
	n := 2
	switch l := b1 & 0x7f; l {
	case 126:
		if len(b) < 4 {
			return h, 0, errShortHeader
		}
		h.Length = int64(binary.BigEndian.Uint16(b[2:4]))
		n = 4
	case 127:
		if len(b) < 10 {
			return h, 0, errShortHeader
		}
		v := binary.BigEndian.Uint64(b[2:10])
		if v>>63 != 0 {
			return h, 0, protocolErrorf("64-bit payload length with the most significant bit set")
		}
		h.Length = int64(v)
		n = 10
	default:
		h.Length = int64(l)
	}
	if h.Masked {
		if len(b) < n+4 {
			return h, 0, errShortHeader
		}
		copy(h.Mask[:], b[n:n+4])
		n += 4
	}
	if h.Op.isControl() {
		if !h.Fin {
			return h, 0, protocolErrorf("fragmented %s frame", h.Op)
		}
		if h.Length > maxControlPayload {
			return h, 0, protocolErrorf("%s frame payload of %d bytes exceeds 125", h.Op, h.Length)
		}
	}
	return h, n, nil
}

// appendHeader appends the encoding of h to dst, using the shortest length
// form as RFC 6455 §5.2 requires.
func appendHeader(dst []byte, h frameHeader) []byte {
	b0 := byte(h.Op) & 0x0f
	if h.Fin {
		b0 |= 0x80
	}
	if h.Rsv1 {
		b0 |= 0x40
	}
	if h.Rsv2 {
		b0 |= 0x20
	}
	if h.Rsv3 {
		b0 |= 0x10
	}
	var b1 byte
	if h.Masked {
		b1 = 0x80
	}
	switch {
	case h.Length <= 125:
		dst = append(dst, b0, b1|byte(h.Length))
	case h.Length <= 0xffff:
		dst = append(dst, b0, b1|126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(h.Length))
	default:
		dst = append(dst, b0, b1|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(h.Length))
	}
	if h.Masked {
		dst = append(dst, h.Mask[:]...)
	}
	return dst
}

// appendFrame appends one whole frame to dst. With mask non-nil the payload
// is masked with it (client to server); the caller's payload is not changed.
func appendFrame(dst []byte, op Opcode, fin, rsv1 bool, mask *[4]byte, payload []byte) []byte {
	h := frameHeader{Fin: fin, Rsv1: rsv1, Op: op, Length: int64(len(payload))}
	if mask != nil {
		h.Masked = true
		h.Mask = *mask
	}
	dst = appendHeader(dst, h)
	start := len(dst)
	dst = append(dst, payload...)
	if mask != nil {
		maskBytes(*mask, 0, dst[start:])
	}
	return dst
}

// maskBytes XORs b in place with the masking key, starting at key position
// pos, and returns the position after b (RFC 6455 §5.3). Masking twice
// unmasks.
func maskBytes(key [4]byte, pos int, b []byte) int {
	pos &= 3
	// Align to the key, then work a word at a time.
	for len(b) > 0 && pos != 0 {
		b[0] ^= key[pos]
		b = b[1:]
		pos = (pos + 1) & 3
	}
	if len(b) >= 8 {
		k32 := binary.LittleEndian.Uint32(key[:])
		k64 := uint64(k32) | uint64(k32)<<32
		for len(b) >= 8 {
			v := binary.LittleEndian.Uint64(b)
			binary.LittleEndian.PutUint64(b, v^k64)
			b = b[8:]
		}
	}
	for i := range b {
		b[i] ^= key[i&3]
	}
	return (pos + len(b)) & 3
}
