package conformance

import (
	"fmt"
	"strings"
	"testing"
)

// Groups 7 (close handling, RFC 6455 §5.5.1, §7) and 8 (limits, §10.4).

func TestClose(t *testing.T)  { runCases(t, closeCases()) }
func TestLimits(t *testing.T) { runCases(t, limitCases()) }

const (
	ruleCloseEcho   = "RFC 6455 §5.5.1: an endpoint that receives a Close MUST answer with a Close, typically echoing the status code; the server then MUST close TCP immediately (§7.1.1) (Autobahn 7.1, 7.7)"
	ruleCloseEmpty  = "RFC 6455 §5.5.1: a Close MAY have no body; it is answered with a Close (here without a code, as the server documents) (Autobahn 7.3.1)"
	ruleCloseShort  = "RFC 6455 §5.5.1: a Close body starts with a 2-byte code, so a 1-byte body is malformed: 1002 (Autobahn 7.3.2)"
	ruleCloseCode   = "RFC 6455 §7.4.1/§7.4.2: codes below 1000, 1004-1006, 1015, 1016-2999 and above 4999 may not be sent; receiving one fails the connection with 1002 (Autobahn 7.9)"
	ruleCloseValid  = "RFC 6455 §7.4: 1000-1003, 1007-1011 (and IANA's 1012-1014), 3000-4999 are valid; the Close is echoed (Autobahn 7.7)"
	ruleCloseReason = "RFC 6455 §5.5.1: the close reason is UTF-8; an invalid one fails the connection (Autobahn 7.5.1 accepts 1002 or 1007)"
	ruleCloseLen    = "RFC 6455 §5.5: a Close body is at most 125 bytes: a code and a 123-byte reason fit, 124 do not (Autobahn 7.3.5/7.3.6)"
	ruleAfterClose  = "RFC 6455 §5.5.1: after sending a Close an endpoint sends no more data; the server ignores what follows the client's Close (Autobahn 7.1.2-7.1.6)"
	ruleLimit       = "RFC 6455 §10.4: an endpoint may limit message size and MUST protect itself; §7.4.1: 1009 for a message too big to process"
	ruleLimitHeader = ruleLimit + "; the announced length alone decides, so the server answers before any payload and never allocates it"
)

func closeCases() []tcase {
	cases := []tcase{
		{name: "5.5.1/close/1000-echoed", rfc: ruleCloseEcho,
			steps: []step{send(closeFrame(1000, "")), expectClosed(1000)}},
		{name: "5.5.1/close/1000-with-reason", rfc: ruleCloseEcho,
			steps: []step{send(closeFrame(1000, "goodbye")), expectClosed(1000)}},
		{name: "5.5.1/close/1000-multibyte-reason", rfc: ruleCloseEcho,
			steps: []step{send(closeFrame(1000, kosme)), expectClosed(1000)}},
		{name: "5.5.1/close/1000-in-1-byte-writes", rfc: ruleCloseEcho,
			steps: []step{sendSplit(closeFrame(1000, "bye"), 1), expectClosed(1000)}},
		{name: "5.5.1/close/after-echo", rfc: ruleCloseEcho,
			steps: []step{send(textFrame("Hello")), expectText("Hello"), send(closeFrame(1000, "")), expectClosed(1000)}},
		{name: "5.5.1/close/after-message-in-same-write", rfc: ruleCloseEcho + "; messages received before the Close are still answered",
			steps: []step{sendJoined(textFrame("Hello"), closeFrame(1000, "")), expectText("Hello"), expectClosed(1000)}},
		{name: "5.5.1/close/empty-payload", rfc: ruleCloseEmpty,
			steps: []step{send(closeRawFrame(nil)), expectClosed(-1)}},
		{name: "5.5.1/close/1-byte-payload", rfc: ruleCloseShort,
			steps: []step{send(closeRawFrame([]byte{0x03})), expectClosed(1002)}},
		{name: "5.5.1/close/reason-invalid-utf8", rfc: ruleCloseReason,
			steps: []step{send(closeFrame(1000, kosme+"\xed\xa0\x80edited")), expectClosed(1002, 1007)}},
		{name: "5.5.1/close/reason-truncated-utf8", rfc: ruleCloseReason,
			steps: []step{send(closeFrame(1000, "bye \xce")), expectClosed(1002, 1007)}},
		{name: "5.5/close/123-byte-reason", rfc: ruleCloseLen,
			steps: []step{send(closeFrame(1000, strings.Repeat("*", 123))), expectClosed(1000)}},
		{name: "5.5/close/124-byte-reason", rfc: ruleCloseLen,
			steps: []step{send(closeFrame(1000, strings.Repeat("*", 124))), expectFail(1002)}},

		// Whatever follows the client's Close is ignored (Autobahn 7.1.x).
		{name: "5.5.1/after-close/text-in-same-write", rfc: ruleAfterClose,
			steps: []step{sendJoined(closeFrame(1000, ""), textFrame("after close")), expectClosed(1000)}},
		{name: "5.5.1/after-close/ping-in-same-write", rfc: ruleAfterClose,
			steps: []step{sendJoined(closeFrame(1000, ""), pingFrame("after close")), expectClosed(1000)}},
		{name: "5.5.1/after-close/second-close-in-same-write", rfc: ruleAfterClose,
			steps: []step{sendJoined(closeFrame(1000, ""), closeFrame(1001, "")), expectClosed(1000)}},
		{name: "5.5.1/after-close/fragment-then-close-then-continuation", rfc: ruleAfterClose,
			steps: []step{sendJoined(fragFrame(opText, false, []byte("frag1")), closeFrame(1000, ""), fragFrame(opCont, true, []byte("frag2"))), expectClosed(1000)}},
		{name: "5.5.1/after-close/garbage-in-same-write", rfc: ruleAfterClose,
			steps: []step{sendJoined(closeFrame(1000, ""), []byte{0xff, 0xff, 0xff, 0xff}), expectClosed(1000)}},

		// A client that vanishes must not disturb the server (the check
		// that a fresh connection still echoes runs after every case).
		{name: "7.1.5/abrupt/tcp-close-mid-frame", rfc: "RFC 6455 §7.1.5: the TCP connection may close without a Close frame (1006); the server must go on serving",
			steps: []step{send(textFrame("Hello")[:4]), hangUp()}},
		{name: "7.1.5/abrupt/tcp-close-mid-fragmented-message", rfc: "RFC 6455 §7.1.5: the TCP connection may close without a Close frame (1006); the server must go on serving",
			steps: []step{send(fragFrame(opText, false, []byte("frag1"))), hangUp()}},
	}
	for _, code := range []int{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999} {
		cases = append(cases, tcase{name: fmt.Sprintf("7.4.1/code/valid-%d-echoed", code), rfc: ruleCloseValid,
			steps: []step{send(closeFrame(uint16(code), "reason")), expectClosed(code)}})
	}
	for _, code := range []int{0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535} {
		cases = append(cases, tcase{name: fmt.Sprintf("7.4.1/code/invalid-%d", code), rfc: ruleCloseCode,
			steps: []step{send(closeFrame(uint16(code), "")), expectClosed(1002)}})
	}
	return cases
}

func limitCases() []tcase {
	const n = smallLimit
	cases := []tcase{
		{name: "10.4/limit/text-at-limit", rfc: ruleLimit, server: srvSmall,
			steps: []step{send(textFrame(textOf(n))), expectText(textOf(n))}},
		{name: "10.4/limit/binary-at-limit-in-fragments", rfc: ruleLimit, server: srvSmall,
			steps: []step{sendJoined(fragments(opBinary, binOf(n), 1000)...), expectBinary(binOf(n))}},
		{name: "10.4/limit/limit-is-per-message", rfc: ruleLimit, server: srvSmall,
			steps: []step{sendJoined(binaryFrame(binOf(n)), binaryFrame(binOf(n)), binaryFrame(binOf(n))),
				expectBinary(binOf(n)), expectBinary(binOf(n)), expectBinary(binOf(n))}},
		{name: "10.4/limit/control-frames-do-not-count", rfc: ruleLimit, server: srvSmall,
			steps: []step{send(fragFrame(opText, false, []byte(textOf(n-10))), pingFrame(textOf(125)), fragFrame(opCont, true, []byte(textOf(10)))),
				expectPong(textOf(125)), expectText(textOf(n-10) + textOf(10))}},
		{name: "10.4/limit/text-limit-plus-1", rfc: ruleLimit, server: srvSmall,
			steps: []step{send(textFrame(textOf(n + 1))), expectFail(1009)}},
		{name: "10.4/limit/binary-limit-plus-1", rfc: ruleLimit, server: srvSmall,
			steps: []step{send(binaryFrame(binOf(n + 1))), expectFail(1009)}},
		{name: "10.4/limit/binary-twice-the-limit-after-echo", rfc: ruleLimit, server: srvSmall,
			steps: []step{send(binaryFrame(binOf(10))), expectBinary(binOf(10)), send(binaryFrame(binOf(2 * n))), expectFail(1009)}},
		{name: "10.4/limit/exceeded-across-fragments", rfc: ruleLimit, server: srvSmall,
			steps: []step{sendJoined(fragments(opText, []byte(textOf(6000)), 2000)...), expectFail(1009)}},
		{name: "10.4/limit/exceeded-by-last-1-byte-fragment", rfc: ruleLimit, server: srvSmall,
			steps: []step{send(fragFrame(opBinary, false, binOf(n/2)), fragFrame(opCont, false, binOf(n/2)), fragFrame(opCont, true, binOf(1))), expectFail(1009)}},
		{name: "10.4/limit/exceeded-by-many-1-byte-fragments", rfc: ruleLimit, server: srvSmall,
			steps: []step{sendJoined(fragments(opBinary, binOf(n+1), 1)...), expectFail(1009)}},
		{name: "10.4/limit/announced-16-bit-over-limit-before-payload", rfc: ruleLimitHeader, server: srvSmall,
			steps: func() []step {
				f := binaryFrame(binOf(60000))
				return []step{send(f[:8]), expectCloseFrame(1009), send(f[8:]), replyClose(1009), expectEOF()}
			}()},
		{name: "10.4/limit/announced-2^40-bytes", rfc: ruleLimitHeader, server: srvSmall,
			steps: []step{send(frameSpec{op: opBinary, announce: u64(1 << 40), payload: binOf(16)}.encode()), expectFail(1009)}},
		{name: "10.4/limit/announced-2^40-bytes-default-limit", rfc: ruleLimitHeader,
			steps: []step{send(frameSpec{op: opText, announce: u64(1 << 40)}.encode()), expectFail(1009)}},
		{name: "10.4/limit/announced-2^62-bytes-in-fragment", rfc: ruleLimitHeader,
			steps: []step{send(fragFrame(opBinary, false, binOf(10)), frameSpec{op: opCont, announce: u64(1 << 62)}.encode()), expectFail(1009)}},

		// The default limit, 1 MiB.
		{name: "10.4/limit/default-1-MiB-echoed", rfc: ruleLimit,
			steps: []step{send(binaryFrame(binOf(1 << 20))), expectBinary(binOf(1 << 20))}},
		{name: "10.4/limit/default-1-MiB-plus-1", rfc: ruleLimit,
			steps: []step{send(binaryFrame(binOf(1<<20 + 1))), expectFail(1009)}},
		{name: "10.4/limit/default-1-MiB-plus-1-across-fragments", rfc: ruleLimit,
			steps: []step{sendJoined(fragments(opText, []byte(textOf(1<<20+1)), 1<<19)...), expectFail(1009)}},
	}
	return cases
}
