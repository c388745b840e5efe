package conformance

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// Large messages (Autobahn 9.1 and 9.2): text and binary messages of 8 and
// 16 MiB, plain and compressed, echoed by a server whose message limit is
// 16 MiB and whose outbound queue limit is left at its default, 8 MiB.

func TestLargeMessages(t *testing.T) { runCases(t, largeCases()) }

// largeLimit is srvLarge's MaxMessageBytes.
const largeLimit = 16 << 20

// largeTimeout bounds the echo of one large message: the server reads,
// inflates, compresses and writes up to 16 MiB, under the race detector
// on a busy machine. The cases run one at a time, so that the suite holds
// one large message at once.
const largeTimeout = 60 * time.Second

const ruleLarge = "RFC 6455 §10.4: a message within the configured limit (16 MiB here) is accepted and echoed whole; " +
	"the outbound queue limit (8 MiB by default) bounds the backlog, not the size of one message, which always fits an empty queue " +
	"(Autobahn 9.1.5, 9.1.6, 9.2.5, 9.2.6)"

func largeCases() []tcase {
	var cases []tcase
	for _, n := range []int{8 << 20, largeLimit} {
		for _, op := range []byte{opText, opBinary} {
			for _, compressed := range []bool{false, true} {
				name := fmt.Sprintf("10.4/large/%s-%d-MiB", opName(op), n>>20)
				var req request
				if compressed {
					name += "-deflate"
					req = offer(chromiumOffer)
				}
				cases = append(cases, tcase{name: name, rfc: ruleLarge, server: srvLarge, req: req,
					steps: echoLarge(op, n, compressed), serial: true})
			}
		}
	}
	return cases
}

func opName(op byte) string {
	if op == opText {
		return "text"
	}
	return "binary"
}

// largePayload is the n-byte payload of a large case, made when the case
// runs rather than when the table is built. The compressed cases carry
// data that compresses poorly (random letters) or not at all (noise), so
// that the echo too is larger than the queue limit, compressed or sent
// plain.
func largePayload(op byte, n int, compressed bool) []byte {
	switch {
	case op == opText && compressed:
		const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
		b := noisy(n)
		for i, v := range b {
			b[i] = alphabet[int(v)%len(alphabet)]
		}
		return b
	case op == opText:
		return []byte(textOf(n))
	case compressed:
		return noisy(n)
	}
	return binOf(n)
}

// echoLarge sends an n-byte message in one frame, or compressed in frames
// of 1 MiB, and expects it back whole, compressed or not. The compressed
// cases need the default answer, client_no_context_takeover.
func echoLarge(op byte, n int, compressed bool) []step {
	return []step{
		{fmt.Sprintf("send %s message of %d bytes", opName(op), n), func(c *rawConn) error {
			if compressed {
				if c.pmd == nil {
					return errors.New("permessage-deflate was not negotiated")
				}
				// Without client context takeover (the server's answer)
				// every message is compressed on its own; BestSpeed
				// spares the suite's time.
				fast := &deflater{fast: true}
				return sendEach(deflatedFrames(fast, op, largePayload(op, n, compressed), 1<<20)).run(c)
			}
			return c.writeWithin(frameSpec{op: op, payload: largePayload(op, n, compressed)}.encode(), largeTimeout)
		}},
		{fmt.Sprintf("expect the %d bytes echoed", n), func(c *rawConn) error {
			want := largePayload(op, n, compressed)
			return expectMsgWithin(op, want, false, largeTimeout).run(c)
		}},
	}
}
