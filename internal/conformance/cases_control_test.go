package conformance

import (
	"fmt"
	"testing"
)

// Groups 2 (pings and pongs, RFC 6455 §5.5.2-5.5.3) and 5 (fragmentation,
// §5.4).

func TestPingPong(t *testing.T)      { runCases(t, pingCases()) }
func TestFragmentation(t *testing.T) { runCases(t, fragmentationCases()) }

const (
	rulePing         = "RFC 6455 §5.5.2/§5.5.3: a Pong sent in response to a Ping MUST have the Ping's payload, and be sent as soon as practical (Autobahn 2.x)"
	ruleControlLen   = "RFC 6455 §5.5: control frames MUST have a payload of 125 bytes or less; §7.1.7: fail with 1002 (Autobahn 2.5)"
	rulePongIgnored  = "RFC 6455 §5.5.3: an unsolicited Pong MAY be sent and expects no response (Autobahn 2.7/2.8)"
	ruleFragments    = "RFC 6455 §5.4: a fragmented message is delivered as the concatenation of its fragments (Autobahn 5.x)"
	ruleInterleave   = "RFC 6455 §5.4: control frames MAY be injected in the middle of a fragmented message and are handled at once"
	ruleFragOrder    = "RFC 6455 §5.4: a message is one frame with FIN, or a text/binary frame without FIN, continuations and a final continuation with FIN; anything else MUST fail the connection with 1002"
	ruleFragControl  = "RFC 6455 §5.4/§5.5: control frames MUST NOT be fragmented (1002, Autobahn 5.1/5.2)"
	ruleCloseInFrags = "RFC 6455 §5.4/§5.5.1: a Close may come between fragments; the server answers it and closes, dropping the partial message"
)

func pingCases() []tcase {
	all125 := string(binOf(125))
	cases := []tcase{
		{name: "5.5.2/ping/empty", rfc: rulePing,
			steps: []step{send(pingFrame("")), expectPong("")}},
		{name: "5.5.2/ping/text-payload", rfc: rulePing,
			steps: []step{send(pingFrame("Hello, world!")), expectPong("Hello, world!")}},
		{name: "5.5.2/ping/binary-payload", rfc: rulePing,
			steps: []step{send(pingFrame("\x00\xff\xfe\xfd\xfc\xfb\x00\xff")), expectPong("\x00\xff\xfe\xfd\xfc\xfb\x00\xff")}},
		{name: "5.5.2/ping/125-bytes", rfc: rulePing,
			steps: []step{send(pingFrame(all125)), expectPong(all125)}},
		{name: "5.5.2/ping/125-bytes-in-1-byte-writes", rfc: rulePing,
			steps: []step{sendSplit(pingFrame(all125), 1), expectPong(all125)}},
		{name: "5.5.2/ping/126-bytes", rfc: ruleControlLen,
			steps: []step{send(frameSpec{op: opPing, payload: binOf(126)}.encode()), expectFail(1002)}},
		{name: "5.5.2/ping/126-bytes-after-echo", rfc: ruleControlLen,
			steps: []step{send(textFrame("Hello")), expectText("Hello"), send(frameSpec{op: opPing, payload: binOf(126)}.encode()), expectFail(1002)}},
		{name: "5.5.3/pong/126-bytes", rfc: ruleControlLen,
			steps: []step{send(frameSpec{op: opPong, payload: binOf(126)}.encode()), expectFail(1002)}},
		{name: "5.5.3/pong/unsolicited-empty", rfc: rulePongIgnored,
			steps: []step{send(pongFrame("")), send(textFrame("after pong")), expectText("after pong")}},
		{name: "5.5.3/pong/unsolicited-with-payload", rfc: rulePongIgnored,
			steps: []step{send(pongFrame("unsolicited")), send(textFrame("after pong")), expectText("after pong")}},
		{name: "5.5.3/pong/unsolicited-then-ping", rfc: rulePongIgnored,
			steps: []step{sendJoined(pongFrame("unsolicited"), pingFrame("solicited")), expectPong("solicited")}},
		{name: "5.5.3/pong/unsolicited-125-bytes", rfc: rulePongIgnored,
			steps: []step{send(pongFrame(all125)), send(binaryFrame([]byte{1})), expectBinary([]byte{1})}},
		{name: "5.5.2/ping/between-fragments", rfc: ruleInterleave,
			steps: []step{send(fragFrame(opText, false, []byte("frag1 ")), pingFrame("in between"), fragFrame(opCont, true, []byte("frag2"))),
				expectPong("in between"), expectText("frag1 frag2")}},
		{name: "5.5.2/ping/then-close", rfc: rulePing + "; then §5.5.1: the Close is echoed and TCP closed",
			steps: []step{sendJoined(pingFrame("before close"), closeFrame(1000, "")), expectPong("before close"), expectClosed(1000)}},
	}
	// Autobahn 2.10/2.11: ten pings in a row get ten pongs in order.
	pings, pongs := numbered(10, "payload-%d", pingFrame, expectPong)
	cases = append(cases,
		tcase{name: "5.5.2/ping/ten-in-a-row", rfc: rulePing,
			steps: append([]step{sendEach(pings)}, pongs...)},
		tcase{name: "5.5.2/ping/ten-in-one-write", rfc: rulePing,
			steps: append([]step{sendJoined(pings...)}, pongs...)},
		tcase{name: "5.5.2/ping/ten-in-1-byte-writes", rfc: rulePing,
			steps: append([]step{sendSplit(join(pings...), 1)}, pongs...)},
		tcase{name: "5.5.2/ping/ten-interleaved-with-echoes", rfc: rulePing,
			steps: func() []step {
				var frames [][]byte
				var want []step
				for i := range 10 {
					frames = append(frames, pingFrame(fmt.Sprint(i)), textFrame(fmt.Sprint("msg", i)))
				}
				// Pongs may overtake echoes queued before them, so wait
				// for each pair before sending the next.
				for i := range 10 {
					want = append(want, send(frames[2*i], frames[2*i+1]), expectPong(fmt.Sprint(i)), expectText(fmt.Sprint("msg", i)))
				}
				return want
			}()},
	)
	return cases
}

func fragmentationCases() []tcase {
	hello := []byte("Hello, fragmented world!")
	cases := []tcase{
		{name: "5.4/fragments/text-in-2", rfc: ruleFragments,
			steps: []step{send(fragFrame(opText, false, []byte("fragment1")), fragFrame(opCont, true, []byte("fragment2"))), expectText("fragment1fragment2")}},
		{name: "5.4/fragments/binary-in-2", rfc: ruleFragments,
			steps: []step{send(fragFrame(opBinary, false, binOf(10)), fragFrame(opCont, true, binOf(20))), expectBinary(append(binOf(10), binOf(20)...))}},
		{name: "5.4/fragments/text-in-3-one-write", rfc: ruleFragments,
			steps: []step{sendJoined(fragments(opText, hello, 9)...), expectText(string(hello))}},
		{name: "5.4/fragments/empty-fragments", rfc: ruleFragments,
			steps: []step{send(fragFrame(opText, false, nil), fragFrame(opCont, false, []byte("middle")), fragFrame(opCont, false, nil), fragFrame(opCont, true, nil)),
				expectText("middle")}},
		{name: "5.4/fragments/empty-message-in-3-empty-frames", rfc: ruleFragments,
			steps: []step{send(fragFrame(opBinary, false, nil), fragFrame(opCont, false, nil), fragFrame(opCont, true, nil)), expectBinary([]byte{})}},
		{name: "5.4/fragments/text-1-byte-fragments", rfc: ruleFragments,
			steps: []step{sendEach(fragments(opText, hello, 1)), expectText(string(hello))}},
		{name: "5.4/fragments/binary-1000-1-byte-fragments-one-write", rfc: ruleFragments,
			steps: []step{sendJoined(fragments(opBinary, binOf(1000), 1)...), expectBinary(binOf(1000))}},
		{name: "5.4/fragments/binary-65536-in-4096-byte-fragments", rfc: ruleFragments,
			steps: []step{sendJoined(fragments(opBinary, binOf(65536), 4096)...), expectBinary(binOf(65536))}},
		{name: "5.4/fragments/octet-wise-writes", rfc: ruleFragments,
			steps: []step{sendSplit(join(fragments(opText, hello, 5)...), 1), expectText(string(hello))}},
		{name: "5.4/fragments/two-messages-back-to-back", rfc: ruleFragments,
			steps: []step{sendJoined(append(fragments(opText, []byte("first message"), 4), fragments(opBinary, binOf(30), 7)...)...),
				expectText("first message"), expectBinary(binOf(30))}},
		{name: "5.4/fragments/16-bit-length-fragments", rfc: ruleFragments,
			steps: []step{send(fragFrame(opText, false, []byte(textOf(300))), fragFrame(opCont, true, []byte(textOf(200)))), expectText(textOf(300) + textOf(200))}},

		// Control frames between fragments (Autobahn 5.6-5.8, 5.19, 5.20).
		{name: "5.4/interleaved/ping", rfc: ruleInterleave,
			steps: []step{send(fragFrame(opText, false, []byte("fragment1")), pingFrame("ping payload"), fragFrame(opCont, true, []byte("fragment2"))),
				expectPong("ping payload"), expectText("fragment1fragment2")}},
		{name: "5.4/interleaved/ping-octet-wise-writes", rfc: ruleInterleave,
			steps: []step{sendSplit(join(fragFrame(opText, false, []byte("fragment1")), pingFrame("ping payload"), fragFrame(opCont, true, []byte("fragment2"))), 1),
				expectPong("ping payload"), expectText("fragment1fragment2")}},
		{name: "5.4/interleaved/ping-answered-before-message-ends", rfc: ruleInterleave,
			steps: []step{send(fragFrame(opText, false, []byte("fragment1")), pingFrame("now")), expectPong("now"),
				send(fragFrame(opCont, false, []byte("fragment2")), pingFrame("again")), expectPong("again"),
				send(fragFrame(opCont, true, []byte("fragment3"))), expectText("fragment1fragment2fragment3")}},
		{name: "5.4/interleaved/pong", rfc: ruleInterleave,
			steps: []step{send(fragFrame(opBinary, false, binOf(5)), pongFrame("unsolicited"), fragFrame(opCont, true, binOf(5))),
				expectBinary(append(binOf(5), binOf(5)...))}},
		{name: "5.4/interleaved/pings-between-every-fragment", rfc: ruleInterleave,
			steps: func() []step {
				// A ping after every fragment but the last: each pong is
				// due before the message is complete.
				var frames [][]byte
				var want []step
				parts := fragments(opText, hello, 4)
				for i, f := range parts[:len(parts)-1] {
					frames = append(frames, f, pingFrame(fmt.Sprint("p", i)))
					want = append(want, expectPong(fmt.Sprint("p", i)))
				}
				frames = append(frames, parts[len(parts)-1])
				return append(append([]step{sendJoined(frames...)}, want...), expectText(string(hello)))
			}()},
		{name: "5.4/interleaved/close", rfc: ruleCloseInFrags,
			steps: []step{send(fragFrame(opText, false, []byte("fragment1")), closeFrame(1000, "")), expectClosed(1000)}},

		// Out-of-order frames (Autobahn 5.9-5.18).
		{name: "5.4/order/continuation-fin-without-start", rfc: ruleFragOrder,
			steps: []step{send(fragFrame(opCont, true, []byte("fragment1")), textFrame("Hello")), expectFail(1002)}},
		{name: "5.4/order/continuation-without-start", rfc: ruleFragOrder,
			steps: []step{send(fragFrame(opCont, false, []byte("fragment1"))), expectFail(1002)}},
		{name: "5.4/order/continuation-without-start-octet-wise", rfc: ruleFragOrder,
			steps: []step{sendSplit(join(fragFrame(opCont, true, []byte("fragment1")), textFrame("Hello")), 1), expectFail(1002)}},
		{name: "5.4/order/continuation-after-complete-message", rfc: ruleFragOrder,
			steps: []step{send(fragFrame(opText, false, []byte("a")), fragFrame(opCont, true, []byte("b"))), expectText("ab"),
				send(fragFrame(opCont, true, []byte("c"))), expectFail(1002)}},
		{name: "5.4/order/continuation-after-unfragmented-message", rfc: ruleFragOrder,
			steps: []step{send(textFrame("whole")), expectText("whole"), send(fragFrame(opCont, false, []byte("stray")), textFrame("x")), expectFail(1002)}},
		{name: "5.4/order/new-text-before-fin", rfc: ruleFragOrder,
			steps: []step{send(fragFrame(opText, false, []byte("fragment1")), fragFrame(opText, true, []byte("fragment2"))), expectFail(1002)}},
		{name: "5.4/order/new-binary-before-fin", rfc: ruleFragOrder,
			steps: []step{send(fragFrame(opText, false, []byte("fragment1")), fragFrame(opBinary, true, []byte("fragment2"))), expectFail(1002)}},
		{name: "5.4/order/unfragmented-text-inside-fragmented", rfc: ruleFragOrder,
			steps: []step{send(fragFrame(opBinary, false, binOf(3)), textFrame("whole"), fragFrame(opCont, true, binOf(3))), expectFail(1002)}},
		{name: "5.4/order/repeated-start-continue-end", rfc: ruleFragOrder,
			steps: []step{sendJoined(fragFrame(opCont, false, []byte("c1")), fragFrame(opText, false, []byte("t")), fragFrame(opCont, true, []byte("c2"))), expectFail(1002)}},

		// Fragmented control frames (Autobahn 5.1/5.2).
		{name: "5.4/control/fragmented-ping", rfc: ruleFragControl,
			steps: []step{send(frameSpec{op: opPing, notFin: true, payload: []byte("ping")}.encode(), fragFrame(opCont, true, []byte("payload"))), expectFail(1002)}},
		{name: "5.4/control/fragmented-pong", rfc: ruleFragControl,
			steps: []step{send(frameSpec{op: opPong, notFin: true, payload: []byte("pong")}.encode(), fragFrame(opCont, true, []byte("payload"))), expectFail(1002)}},
		{name: "5.4/control/fragmented-close", rfc: ruleFragControl,
			steps: []step{send(frameSpec{op: opClose, notFin: true, payload: []byte{0x03, 0xe8}}.encode(), fragFrame(opCont, true, nil)), expectFail(1002)}},
		{name: "5.4/control/fragmented-ping-inside-fragmented-text", rfc: ruleFragControl,
			steps: []step{send(fragFrame(opText, false, []byte("a")), frameSpec{op: opPing, notFin: true}.encode()), expectFail(1002)}},
	}
	return cases
}
