package conformance

import (
	"fmt"
	"strings"
	"testing"
)

// Groups 1 (framing), 3 (reserved bits) and 4 (opcodes): RFC 6455 §5.2 and
// §5.3.

func TestFraming(t *testing.T)      { runCases(t, framingCases()) }
func TestReservedBits(t *testing.T) { runCases(t, reservedBitCases()) }
func TestOpcodes(t *testing.T)      { runCases(t, opcodeCases()) }

// textOf is an ASCII text of n bytes.
func textOf(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789 *"
	return strings.Repeat(alphabet, n/len(alphabet)+1)[:n]
}

// binOf is n bytes of every value.
func binOf(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31 + 7)
	}
	return b
}

func u64(v uint64) *uint64 { return &v }

const (
	ruleLength    = "RFC 6455 §5.2: payload length in 7 bits, or 126 + 16 bits, or 127 + 64 bits; echo returns the message verbatim"
	ruleLengthMSB = "RFC 6455 §5.2: the most significant bit of a 64-bit length MUST be 0; §7.1.7: fail with 1002 (Autobahn 1.x)"
	ruleMasking   = "RFC 6455 §5.1/§5.3: a server MUST close the connection upon receiving an unmasked frame (1002)"
	ruleRSV       = "RFC 6455 §5.2: RSV1-3 MUST be 0 unless an extension defines them; otherwise the receiver MUST fail the connection (Autobahn 3.x)"
	ruleOpcode    = "RFC 6455 §5.2: on a reserved opcode the receiving endpoint MUST fail the connection (Autobahn 4.x)"
)

func framingCases() []tcase {
	var cases []tcase
	for _, n := range []int{0, 125, 126, 127, 128, 65535, 65536} {
		cases = append(cases,
			tcase{name: fmt.Sprintf("5.2/length/text-%d", n), rfc: ruleLength,
				steps: []step{send(textFrame(textOf(n))), expectText(textOf(n))}},
			tcase{name: fmt.Sprintf("5.2/length/binary-%d", n), rfc: ruleLength,
				steps: []step{send(binaryFrame(binOf(n))), expectBinary(binOf(n))}},
		)
	}
	lenient := ruleLength + "; the minimal form binds the sender, and the server documents that it accepts longer forms"
	cases = append(cases,
		tcase{name: "5.2/length/non-minimal-16-bit-form", rfc: lenient,
			steps: []step{send(frameSpec{op: opText, payload: []byte("Hello"), lenForm: 16}.encode()), expectText("Hello")}},
		tcase{name: "5.2/length/non-minimal-64-bit-form", rfc: lenient,
			steps: []step{send(frameSpec{op: opBinary, payload: binOf(300), lenForm: 64}.encode()), expectBinary(binOf(300))}},
		tcase{name: "5.2/length/64-bit-msb-set", rfc: ruleLengthMSB,
			steps: []step{send(frameSpec{op: opBinary, payload: []byte("Hello"), announce: u64(1<<63 | 5)}.encode()), expectFail(1002)}},
		tcase{name: "5.2/length/64-bit-all-ones", rfc: ruleLengthMSB,
			steps: []step{send(frameSpec{op: opText, announce: u64(^uint64(0))}.encode()), expectFail(1002)}},
		tcase{name: "5.2/length/64-bit-msb-set-after-echo", rfc: ruleLengthMSB,
			steps: []step{send(textFrame("ok")), expectText("ok"),
				send(frameSpec{op: opText, lenForm: 64, announce: u64(1 << 63)}.encode()), expectFail(1002)}},

		// The same frames cut into many TCP writes (Autobahn 1.1.7/1.2.7).
		tcase{name: "5.2/tcp-split/text-125-in-1-byte-writes", rfc: ruleLength,
			steps: []step{sendSplit(textFrame(textOf(125)), 1), expectText(textOf(125))}},
		tcase{name: "5.2/tcp-split/binary-200-in-1-byte-writes", rfc: ruleLength,
			steps: []step{sendSplit(binaryFrame(binOf(200)), 1), expectBinary(binOf(200))}},
		tcase{name: "5.2/tcp-split/binary-65536-in-997-byte-writes", rfc: ruleLength,
			steps: []step{sendSplit(binaryFrame(binOf(65536)), 997), expectBinary(binOf(65536))}},
		tcase{name: "5.2/tcp-split/text-65535-header-in-3-byte-writes", rfc: ruleLength,
			steps: []step{sendSplit(textFrame(textOf(65535))[:40], 3), sendSplit(textFrame(textOf(65535))[40:], 4096), expectText(textOf(65535))}},
		tcase{name: "5.2/tcp-split/ten-frames-in-one-write", rfc: ruleLength,
			steps: func() []step {
				frames, want := numbered(10, "message %d", textFrame, expectText)
				return append([]step{sendJoined(frames...)}, want...)
			}()},
		tcase{name: "5.2/tcp-split/frames-across-write-boundaries", rfc: ruleLength,
			steps: []step{sendSplit(join(textFrame("one"), binaryFrame(binOf(130)), textFrame("three")), 7),
				expectText("one"), expectBinary(binOf(130)), expectText("three")}},

		// Masking, RFC 6455 §5.3.
		tcase{name: "5.3/masking/unmasked-text", rfc: ruleMasking,
			steps: []step{send(frameSpec{op: opText, payload: []byte("Hello"), unmasked: true}.encode()), expectFail(1002)}},
		tcase{name: "5.3/masking/unmasked-empty-binary", rfc: ruleMasking,
			steps: []step{send(frameSpec{op: opBinary, unmasked: true}.encode()), expectFail(1002)}},
		tcase{name: "5.3/masking/unmasked-ping", rfc: ruleMasking,
			steps: []step{send(frameSpec{op: opPing, payload: []byte("p"), unmasked: true}.encode()), expectFail(1002)}},
		tcase{name: "5.3/masking/unmasked-continuation", rfc: ruleMasking,
			steps: []step{send(fragFrame(opText, false, []byte("Hel")), frameSpec{op: opCont, payload: []byte("lo"), unmasked: true}.encode()), expectFail(1002)}},
		tcase{name: "5.3/masking/unmasked-after-echo", rfc: ruleMasking,
			steps: []step{send(textFrame("masked")), expectText("masked"),
				send(frameSpec{op: opText, payload: []byte("unmasked"), unmasked: true}.encode()), expectFail(1002)}},
		tcase{name: "5.3/masking/zero-key", rfc: "RFC 6455 §5.3: any 32-bit key is a valid mask, including zero",
			steps: []step{send(frameSpec{op: opText, payload: []byte("Hello"), key: &[4]byte{}}.encode()), expectText("Hello")}},
		tcase{name: "5.3/masking/new-key-per-fragment", rfc: "RFC 6455 §5.3: each frame carries its own masking key",
			steps: []step{send(
				frameSpec{op: opText, notFin: true, payload: []byte("Hel"), key: &[4]byte{1, 2, 3, 4}}.encode(),
				frameSpec{op: opCont, payload: []byte("lo"), key: &[4]byte{0xff, 0xfe, 0xfd, 0xfc}}.encode()),
				expectText("Hello")}},
	)
	return cases
}

func reservedBitCases() []tcase {
	names := map[byte]string{rsv1: "rsv1", rsv2: "rsv2", rsv3: "rsv3", rsv1 | rsv2: "rsv1+rsv2",
		rsv1 | rsv3: "rsv1+rsv3", rsv2 | rsv3: "rsv2+rsv3", rsv1 | rsv2 | rsv3: "rsv1+rsv2+rsv3"}
	var cases []tcase
	for rsv := byte(1); rsv <= 7; rsv++ {
		cases = append(cases, tcase{name: "5.2/rsv/text-" + names[rsv], rfc: ruleRSV,
			steps: []step{send(frameSpec{op: opText, rsv: rsv, payload: []byte("Hello")}.encode()), expectFail(1002)}})
	}
	cases = append(cases,
		// Autobahn 3.2-3.4: after a good echo, the bad frame and a ping;
		// the ping must not be answered. The echo is awaited first: a
		// server failing the connection may drop replies still queued.
		tcase{name: "5.2/rsv/rsv2-after-echo-then-ping", rfc: ruleRSV,
			steps: []step{send(textFrame("Hello")), expectText("Hello"),
				sendJoined(frameSpec{op: opText, rsv: rsv2, payload: []byte("Hello")}.encode(), pingFrame("p")), expectFail(1002)}},
		tcase{name: "5.2/rsv/rsv1+rsv2-frame-wise-writes", rfc: ruleRSV,
			steps: []step{send(textFrame("Hello")), expectText("Hello"),
				send(frameSpec{op: opText, rsv: rsv1 | rsv2, payload: []byte("Hello")}.encode(), pingFrame("p")), expectFail(1002)}},
		tcase{name: "5.2/rsv/rsv3-octet-wise-writes", rfc: ruleRSV,
			steps: []step{sendSplit(textFrame("Hello"), 1), expectText("Hello"),
				sendSplit(join(frameSpec{op: opText, rsv: rsv3, payload: []byte("Hello")}.encode(), pingFrame("p")), 1), expectFail(1002)}},
		tcase{name: "5.2/rsv/binary-rsv1+rsv3", rfc: ruleRSV,
			steps: []step{send(frameSpec{op: opBinary, rsv: rsv1 | rsv3, payload: binOf(10)}.encode()), expectFail(1002)}},
		tcase{name: "5.2/rsv/empty-binary-rsv1", rfc: ruleRSV,
			steps: []step{send(frameSpec{op: opBinary, rsv: rsv1}.encode()), expectFail(1002)}},
		tcase{name: "5.2/rsv/ping-rsv1", rfc: ruleRSV,
			steps: []step{send(frameSpec{op: opPing, rsv: rsv1, payload: []byte("p")}.encode()), expectFail(1002)}},
		tcase{name: "5.2/rsv/ping-rsv2+rsv3", rfc: ruleRSV,
			steps: []step{send(frameSpec{op: opPing, rsv: rsv2 | rsv3, payload: []byte("p")}.encode()), expectFail(1002)}},
		tcase{name: "5.2/rsv/pong-rsv3", rfc: ruleRSV,
			steps: []step{send(frameSpec{op: opPong, rsv: rsv3}.encode()), expectFail(1002)}},
		tcase{name: "5.2/rsv/close-all-rsv", rfc: ruleRSV,
			steps: []step{send(frameSpec{op: opClose, rsv: 7, payload: []byte{0x03, 0xe8}}.encode()), expectFail(1002)}},
		tcase{name: "5.2/rsv/first-fragment-rsv2", rfc: ruleRSV,
			steps: []step{send(frameSpec{op: opText, notFin: true, rsv: rsv2, payload: []byte("Hel")}.encode(), fragFrame(opCont, true, []byte("lo"))), expectFail(1002)}},
		tcase{name: "5.2/rsv/continuation-rsv1", rfc: ruleRSV,
			steps: []step{send(fragFrame(opText, false, []byte("Hel")), frameSpec{op: opCont, rsv: rsv1, payload: []byte("lo")}.encode()), expectFail(1002)}},
		tcase{name: "5.2/rsv/continuation-rsv3", rfc: ruleRSV,
			steps: []step{send(fragFrame(opBinary, false, []byte("Hel")), frameSpec{op: opCont, rsv: rsv3, payload: []byte("lo")}.encode()), expectFail(1002)}},
		tcase{name: "5.2/rsv/rsv1-on-server-without-deflate", rfc: ruleRSV, server: srvNoDeflate,
			steps: []step{send(frameSpec{op: opText, rsv: rsv1, payload: compressRaw([]byte("Hello"))}.encode()), expectFail(1002)}},
	)
	return cases
}

func opcodeCases() []tcase {
	var cases []tcase
	for _, op := range []byte{3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf} {
		kind := "data"
		if op >= 8 {
			kind = "control"
		}
		cases = append(cases,
			tcase{name: fmt.Sprintf("5.2/opcode/reserved-%s-0x%x-empty", kind, op), rfc: ruleOpcode,
				steps: []step{send(frameSpec{op: op}.encode()), expectFail(1002)}},
			tcase{name: fmt.Sprintf("5.2/opcode/reserved-%s-0x%x-after-echo-then-ping", kind, op), rfc: ruleOpcode,
				steps: []step{send(textFrame("Hello")), expectText("Hello"),
					sendJoined(frameSpec{op: op, payload: []byte("reserved payload")}.encode(), pingFrame("p")), expectFail(1002)}},
		)
	}
	cases = append(cases,
		tcase{name: "5.2/opcode/reserved-data-0x7-octet-wise-writes", rfc: ruleOpcode,
			steps: []step{sendSplit(textFrame("Hello"), 1), expectText("Hello"),
				sendSplit(join(frameSpec{op: 7, payload: []byte("x")}.encode(), pingFrame("p")), 1), expectFail(1002)}},
		tcase{name: "5.2/opcode/reserved-control-0xf-octet-wise-writes", rfc: ruleOpcode,
			steps: []step{sendSplit(textFrame("Hello"), 1), expectText("Hello"),
				sendSplit(join(frameSpec{op: 0xf, payload: []byte("x")}.encode(), pingFrame("p")), 1), expectFail(1002)}},
		tcase{name: "5.2/opcode/reserved-data-0x3-inside-fragmented-message", rfc: ruleOpcode,
			steps: []step{send(fragFrame(opText, false, []byte("Hel")), frameSpec{op: 3, payload: []byte("x")}.encode()), expectFail(1002)}},
	)
	return cases
}
