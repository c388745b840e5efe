package websocket

import "unicode/utf8"

// utf8Validator checks UTF-8 incrementally across the frames of a text
// message, failing as soon as a byte can no longer be part of valid UTF-8
// (RFC 6455 §8.1: "fail fast"), even in the middle of a rune.
type utf8Validator struct {
	need   int  // continuation bytes still expected
	lo, hi byte // allowed range of the next continuation byte
}

// write feeds b and reports whether all bytes so far can begin a valid text.
func (v *utf8Validator) write(b []byte) bool {
	i := 0
	for i < len(b) {
		if v.need == 0 {
			// Bulk check everything up to a rune that may be cut at the end.
			cut := incompleteTail(b[i:]) + i
			if cut > i {
				if !utf8.Valid(b[i:cut]) {
					return false
				}
				i = cut
				if i == len(b) {
					break
				}
			}
			if !v.start(b[i]) {
				return false
			}
			i++
			continue
		}
		c := b[i]
		if c < v.lo || c > v.hi {
			return false
		}
		v.need--
		v.lo, v.hi = 0x80, 0xbf
		i++
	}
	return true
}

// done reports whether the text ended on a rune boundary.
func (v *utf8Validator) done() bool { return v.need == 0 }

// start takes the lead byte c of a multi-byte rune (Unicode table 3-7).
func (v *utf8Validator) start(c byte) bool {
	v.lo, v.hi = 0x80, 0xbf
	switch {
	case c < 0x80:
		return true
	case c >= 0xc2 && c <= 0xdf:
		v.need = 1
	case c == 0xe0:
		v.need, v.lo = 2, 0xa0
	case c == 0xed:
		v.need, v.hi = 2, 0x9f
	case c >= 0xe1 && c <= 0xef:
		v.need = 2
	case c == 0xf0:
		v.need, v.lo = 3, 0x90
	case c == 0xf4:
		v.need, v.hi = 3, 0x8f
	case c >= 0xf1 && c <= 0xf3:
		v.need = 3
	default:
		return false
	}
	return true
}

// incompleteTail returns the index in b where a rune that b cuts short
// begins, or len(b) when b ends on a rune boundary (or in bytes that are
// invalid anyway, which utf8.Valid then reports).
func incompleteTail(b []byte) int {
	for back := 1; back <= 3 && back <= len(b); back++ {
		c := b[len(b)-back]
		if c < 0x80 {
			return len(b)
		}
		if c >= 0xc0 {
			size := 0
			switch {
			case c >= 0xf0:
				size = 4
			case c >= 0xe0:
				size = 3
			default:
				size = 2
			}
			if size > back {
				return len(b) - back
			}
			return len(b)
		}
	}
	return len(b)
}
