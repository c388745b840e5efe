package conformance

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
)

// Groups 12 and 13: permessage-deflate, RFC 7692 (Autobahn 12.x/13.x).

func TestCompression(t *testing.T) { runCases(t, compressionCases()) }

const (
	ruleNegotiate  = "RFC 7692 §5/§7.1: the server accepts the first offer it can, answers one permessage-deflate element with valid parameters, and declines offers with unknown, repeated or invalid parameters"
	ruleNoTakeover = ruleNegotiate + "; without context takeover the server answers server_no_context_takeover and client_no_context_takeover (its documented default)"
	ruleWindowBits = "RFC 7692 §7.1.2.1: a server_max_window_bits=N offer (8-15) may be accepted, and is then echoed"
	ruleDisabled   = "RFC 6455 §9.1: a server that does not support an offered extension leaves it out of the answer"
	ruleRoundTrip  = "RFC 7692 §6/§7.2: a message with RSV1 on its first frame is DEFLATE data less 00 00 ff ff; the echo, compressed or not, inflates to the original (Autobahn 12.x)"
	ruleRFCExample = "RFC 7692 §7.2.3: the worked examples decode to the payload given there"
	ruleRSV1Cont   = "RFC 7692 §6.1: RSV1 is set on the first frame of a compressed message only; RSV1 on a continuation frame fails the connection (1002)"
	ruleRSV1Ctrl   = "RFC 7692 §6.1: an endpoint MUST NOT set RSV1 on control frames; receiving one fails the connection (1002)"
	ruleInflateMax = "RFC 6455 §10.4 and RFC 7692 §8.1: the size limit applies to the inflated message; a small compressed payload that inflates past it is refused with 1009"
	ruleBadDeflate = "RFC 7692 §6.2: data that does not inflate MUST fail the connection (the code is not fixed: 1002 or 1007)"
	ruleTakeover   = "RFC 7692 §7.1.1/§7.2.1: with context takeover both sides keep their LZ77 window across messages; the client's later messages refer back to earlier ones (Autobahn 13.x)"
)

// Offers browsers send.
const (
	chromiumOffer = "permessage-deflate; client_max_window_bits"
	firefoxOffer  = "permessage-deflate"
	defaultAnswer = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
)

// wantExtensions checks the Sec-WebSocket-Extensions answer; "" wants none.
func wantExtensions(want string) func(*http.Response) error {
	return func(r *http.Response) error {
		got := r.Header.Values("Sec-Websocket-Extensions")
		if want == "" {
			if len(got) != 0 {
				return fmt.Errorf("Sec-WebSocket-Extensions %q, want none", got)
			}
			return nil
		}
		if normalizeExtensions(got) != normalizeExtensions([]string{want}) {
			return fmt.Errorf("Sec-WebSocket-Extensions %q, want %q", got, want)
		}
		return nil
	}
}

// offer is a request offering extensions.
func offer(exts ...string) request { return request{extensions: exts} }

// noisy is incompressible data (a fixed seed, so reports replay).
func noisy(n int) []byte {
	r := rand.New(rand.NewPCG(uint64(n), 7692))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// noisyText is n random lower-case letters: it compresses only so far on
// its own, so a repeat shrinks to almost nothing only with the window.
func noisyText(n int) []byte {
	b := noisy(n)
	for i := range b {
		b[i] = 'a' + b[i]%26
	}
	return b
}

// compressedFrame is a frame carrying an already compressed payload.
func compressedFrame(op byte, z []byte) []byte {
	return frameSpec{op: op, rsv: rsv1, payload: z}.encode()
}

func compressionCases() []tcase {
	hello := []byte("Hello")
	negotiation := []struct {
		name, answer string
		offers       []string
	}{
		{"chromium-offer", defaultAnswer, []string{chromiumOffer}},
		{"firefox-offer", defaultAnswer, []string{firefoxOffer}},
		{"offer-asking-both-no-takeover", defaultAnswer, []string{"permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits"}},
		{"client-max-window-bits-15-offered", defaultAnswer, []string{"permessage-deflate; client_max_window_bits=15"}},
		{"server-max-window-bits-10-echoed", defaultAnswer + "; server_max_window_bits=10", []string{"permessage-deflate; server_max_window_bits=10"}},
		{"server-max-window-bits-8-echoed", defaultAnswer + "; server_max_window_bits=8", []string{"permessage-deflate; server_max_window_bits=8; client_max_window_bits"}},
		{"server-max-window-bits-quoted", defaultAnswer + "; server_max_window_bits=10", []string{`permessage-deflate; server_max_window_bits="10"`}},
		{"invalid-offer-skipped-for-next", defaultAnswer, []string{"permessage-deflate; server_max_window_bits=16, permessage-deflate"}},
		{"first-acceptable-of-several", defaultAnswer + "; server_max_window_bits=12", []string{"x-webkit-deflate-frame, permessage-deflate; server_max_window_bits=12, permessage-deflate"}},
		{"unknown-param-offer-skipped", defaultAnswer + "; server_max_window_bits=11", []string{"permessage-deflate; bogus_param, permessage-deflate; server_max_window_bits=11"}},
		{"offers-across-header-lines", defaultAnswer, []string{"permessage-deflate; unknown=1", chromiumOffer}},
		{"only-unknown-extension", "", []string{"x-webkit-deflate-frame"}},
		{"window-bits-7-declined", "", []string{"permessage-deflate; server_max_window_bits=7"}},
		{"window-bits-16-declined", "", []string{"permessage-deflate; client_max_window_bits=16"}},
		{"window-bits-without-value-declined", "", []string{"permessage-deflate; server_max_window_bits"}},
		{"window-bits-leading-zero-declined", "", []string{"permessage-deflate; server_max_window_bits=010"}},
		{"value-on-flag-param-declined", "", []string{"permessage-deflate; server_no_context_takeover=1"}},
		{"repeated-param-declined", "", []string{"permessage-deflate; client_no_context_takeover; client_no_context_takeover"}},
		{"unknown-param-declined", "", []string{"permessage-deflate; x_unknown"}},
	}
	var cases []tcase
	for _, n := range negotiation {
		steps := echoOnce()
		if n.answer != "" {
			steps = []step{sendDeflated(opText, hello, 1<<20), expectText("Hello"), send(closeFrame(1000, "")), expectClosed(1000)}
		}
		cases = append(cases, tcase{name: "7692-5/negotiation/" + n.name, rfc: ruleNoTakeover, req: offer(n.offers...),
			checkResp: wantExtensions(n.answer), steps: steps})
	}
	cases = append(cases,
		tcase{name: "7692-5/negotiation/disabled-server-answers-none", rfc: ruleDisabled, server: srvNoDeflate,
			req: offer(chromiumOffer), checkResp: wantExtensions(""), steps: echoOnce()},
		tcase{name: "7692-5/negotiation/disabled-server-rsv1-fails", rfc: ruleDisabled + "; RSV1 without the extension is 1002 (RFC 6455 §5.2)", server: srvNoDeflate,
			req: offer(chromiumOffer), steps: []step{send(compressedFrame(opText, compressRaw(hello))), expectFail(1002)}},
		tcase{name: "7692-7.1/takeover-server/firefox-offer", rfc: ruleTakeover, server: srvTakeover,
			req: offer(firefoxOffer), checkResp: wantExtensions("permessage-deflate"), steps: echoOnce()},
		tcase{name: "7692-7.1/takeover-server/server-no-context-takeover-honoured", rfc: ruleTakeover, server: srvTakeover,
			req: offer("permessage-deflate; server_no_context_takeover"), checkResp: wantExtensions("permessage-deflate; server_no_context_takeover"), steps: echoOnce()},
		tcase{name: "7692-7.1/takeover-server/client-no-context-takeover-honoured", rfc: ruleTakeover, server: srvTakeover,
			req: offer("permessage-deflate; client_no_context_takeover"), checkResp: wantExtensions("permessage-deflate; client_no_context_takeover"), steps: echoOnce()},
	)

	// Round trips of every size (Autobahn 12.1-12.5).
	for _, n := range []int{0, 1, 16, 63, 64, 125, 126, 1000, 4096, 16384, 32768, 65535, 65536} {
		text := []byte(textOf(n))
		expect := expectText(string(text))
		if n >= 1000 {
			expect = expectCompressed(opText, text) // the server compresses replies of 64 bytes and more that shrink
		}
		cases = append(cases,
			tcase{name: fmt.Sprintf("7692-7.2/roundtrip/text-%d", n), rfc: ruleRoundTrip, req: offer(chromiumOffer),
				steps: []step{sendDeflated(opText, text, 1<<20), expect}},
			tcase{name: fmt.Sprintf("7692-7.2/roundtrip/binary-%d", n), rfc: ruleRoundTrip, req: offer(chromiumOffer),
				steps: []step{sendDeflated(opBinary, binOf(n), 1<<20), expectBinary(binOf(n))}},
		)
	}
	cases = append(cases,
		tcase{name: "7692-7.2/roundtrip/incompressible-binary-4096", rfc: ruleRoundTrip, req: offer(chromiumOffer),
			steps: []step{sendDeflated(opBinary, noisy(4096), 1<<20), expectBinary(noisy(4096))}},
		tcase{name: "7692-7.2/roundtrip/incompressible-binary-65536", rfc: ruleRoundTrip, req: offer(chromiumOffer),
			steps: []step{sendDeflated(opBinary, noisy(65536), 1<<20), expectBinary(noisy(65536))}},
		tcase{name: "7692-7.2/roundtrip/256-KiB-text", rfc: ruleRoundTrip, req: offer(chromiumOffer),
			steps: []step{sendDeflated(opText, []byte(textOf(256<<10)), 1<<20), expectCompressed(opText, []byte(textOf(256<<10)))}},
		tcase{name: "7692-7.2/roundtrip/multibyte-text", rfc: ruleRoundTrip, req: offer(chromiumOffer),
			steps: []step{sendDeflated(opText, []byte(strings.Repeat(kosme, 300)), 1<<20), expectText(strings.Repeat(kosme, 300))}},
		tcase{name: "7692-7.2/roundtrip/window-bits-10-replies-inflate", rfc: ruleWindowBits + "; the server's compressed replies still inflate",
			req: offer("permessage-deflate; server_max_window_bits=10"),
			steps: []step{sendDeflated(opText, []byte(textOf(20000)), 1<<20), expectCompressed(opText, []byte(textOf(20000))),
				sendDeflated(opBinary, binOf(5000), 1<<20), expectBinary(binOf(5000))}},
		tcase{name: "7692-6/roundtrip/uncompressed-message-on-deflate-connection", rfc: "RFC 7692 §6: a message without RSV1 is not compressed and is taken as is",
			req: offer(chromiumOffer), steps: []step{send(textFrame("plain")), expectText("plain"), send(binaryFrame(binOf(5000))), expectBinary(binOf(5000))}},
		tcase{name: "7692-6/roundtrip/compressed-and-plain-alternating", rfc: ruleRoundTrip, req: offer(chromiumOffer),
			steps: []step{sendDeflated(opText, []byte(textOf(3000)), 1<<20), send(textFrame("plain")), sendDeflated(opBinary, binOf(100), 1<<20),
				expectText(textOf(3000)), expectText("plain"), expectBinary(binOf(100))}},

		// Fragmented compressed messages (Autobahn 12.x with fragmentation).
		tcase{name: "7692-6.1/fragmented/text-1000-in-7-byte-fragments", rfc: ruleRoundTrip, req: offer(chromiumOffer),
			steps: []step{sendDeflated(opText, []byte(textOf(1000)), 7), expectText(textOf(1000))}},
		tcase{name: "7692-6.1/fragmented/binary-65536-in-1024-byte-fragments", rfc: ruleRoundTrip, req: offer(chromiumOffer),
			steps: []step{sendDeflated(opBinary, noisy(65536), 1024), expectBinary(noisy(65536))}},
		tcase{name: "7692-6.1/fragmented/1-byte-fragments", rfc: ruleRoundTrip, req: offer(chromiumOffer),
			steps: []step{sendDeflated(opText, []byte(kosme+kosme), 1), expectText(kosme + kosme)}},
		tcase{name: "7692-6.1/fragmented/ping-between-fragments", rfc: ruleRoundTrip, req: offer(chromiumOffer),
			steps: func() []step {
				frames := deflatedFrames(&deflater{}, opText, []byte(textOf(2000)), 10)
				return []step{send(frames[0], pingFrame("mid")), expectPong("mid"), sendEach(frames[1:]), expectText(textOf(2000))}
			}()},
		tcase{name: "7692-6.1/rsv1/on-continuation", rfc: ruleRSV1Cont, req: offer(chromiumOffer),
			steps: func() []step {
				specs := fragmentsSpec(opText, compressRaw([]byte(textOf(500))), 20)
				specs[0].rsv, specs[1].rsv = rsv1, rsv1
				return []step{send(specs[0].encode(), specs[1].encode()), expectFail(1002)}
			}()},
		tcase{name: "7692-6.1/rsv1/on-continuation-of-plain-message", rfc: ruleRSV1Cont, req: offer(chromiumOffer),
			steps: []step{send(fragFrame(opText, false, []byte("plain")), frameSpec{op: opCont, rsv: rsv1, payload: compressRaw(hello)}.encode()), expectFail(1002)}},
		tcase{name: "7692-6.1/rsv1/on-ping", rfc: ruleRSV1Ctrl, req: offer(chromiumOffer),
			steps: []step{send(frameSpec{op: opPing, rsv: rsv1, payload: []byte("p")}.encode()), expectFail(1002)}},
		tcase{name: "7692-6.1/rsv1/on-pong", rfc: ruleRSV1Ctrl, req: offer(chromiumOffer),
			steps: []step{send(frameSpec{op: opPong, rsv: rsv1}.encode()), expectFail(1002)}},
		tcase{name: "7692-6.1/rsv1/on-close", rfc: ruleRSV1Ctrl, req: offer(chromiumOffer),
			steps: []step{send(frameSpec{op: opClose, rsv: rsv1, payload: []byte{0x03, 0xe8}}.encode()), expectFail(1002)}},
		tcase{name: "7692-6.1/rsv2/with-deflate-negotiated", rfc: ruleRSV, req: offer(chromiumOffer),
			steps: []step{send(frameSpec{op: opText, rsv: rsv1 | rsv2, payload: compressRaw(hello)}.encode()), expectFail(1002)}},

		// Bad compressed data and limits.
		tcase{name: "7692-6.2/invalid/not-deflate-data", rfc: ruleBadDeflate, req: offer(chromiumOffer),
			steps: []step{send(compressedFrame(opBinary, []byte{0xff, 0xff, 0xff, 0xff, 0xff})), expectFail(1002, 1007)}},
		tcase{name: "7692-6.2/invalid/inflated-text-not-utf8", rfc: ruleUTF8Invalid + " (after inflating, RFC 7692 §6.2)", req: offer(chromiumOffer),
			steps: []step{send(compressedFrame(opText, compressRaw([]byte(kosme+"\xed\xa0\x80edited")))), expectFail(1007)}},
		tcase{name: "7692-8.1/limit/inflates-to-limit-echoed", rfc: ruleInflateMax, server: srvSmall, req: offer(chromiumOffer),
			steps: []step{send(compressedFrame(opBinary, compressRaw(make([]byte, smallLimit)))), expectBinary(make([]byte, smallLimit))}},
		tcase{name: "7692-8.1/limit/inflates-past-limit", rfc: ruleInflateMax, server: srvSmall, req: offer(chromiumOffer),
			steps: []step{send(compressedFrame(opBinary, compressRaw(make([]byte, smallLimit+1)))), expectFail(1009)}},
		tcase{name: "7692-8.1/limit/inflates-to-1-MiB-past-limit", rfc: ruleInflateMax, server: srvSmall, req: offer(chromiumOffer),
			steps: []step{send(compressedFrame(opText, compressRaw([]byte(strings.Repeat("a", 1<<20))))), expectFail(1009)}},
		tcase{name: "7692-8.1/limit/fragmented-inflates-past-limit", rfc: ruleInflateMax, server: srvSmall, req: offer(chromiumOffer),
			steps: []step{sendDeflated(opText, []byte(textOf(3*smallLimit)), 30), expectFail(1009)}},
		tcase{name: "7692-8.1/limit/default-server-inflates-past-1-MiB", rfc: ruleInflateMax, req: offer(chromiumOffer),
			steps: []step{send(compressedFrame(opBinary, compressRaw(make([]byte, 1<<20+1)))), expectFail(1009)}},
	)
	cases = append(cases, rfcExampleCases()...)
	return append(cases, takeoverCases()...)
}

// rfcExampleCases send the payloads of RFC 7692 §7.2.3 as they are.
func rfcExampleCases() []tcase {
	ex := func(name string, frames ...[]byte) tcase {
		return tcase{name: "7692-7.2.3/rfc-example/" + name, rfc: ruleRFCExample, req: offer(chromiumOffer),
			steps: []step{sendJoined(frames...), expectText("Hello")}}
	}
	helloZ := []byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}
	return []tcase{
		ex("7.2.3.1-hello", compressedFrame(opText, helloZ)),
		ex("7.2.3.1-hello-fragmented",
			frameSpec{op: opText, notFin: true, rsv: rsv1, payload: helloZ[:3]}.encode(),
			fragFrame(opCont, true, helloZ[3:])),
		ex("7.2.3.3-no-compression-block", compressedFrame(opText, []byte{0x00, 0x05, 0x00, 0xfa, 0xff, 'H', 'e', 'l', 'l', 'o', 0x00})),
		ex("7.2.3.4-bfinal-block", compressedFrame(opText, []byte{0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00})),
		ex("7.2.3.5-two-deflate-blocks", compressedFrame(opText, []byte{0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00})),
		{name: "7692-7.2.3/rfc-example/7.2.3.6-empty-message", rfc: ruleRFCExample, req: offer(chromiumOffer),
			steps: []step{send(compressedFrame(opBinary, []byte{0x00})), expectBinary([]byte{})}},
		{name: "7692-7.2.3/rfc-example/7.2.3.2-shared-window", rfc: ruleRFCExample + " (with context takeover)",
			server: srvTakeover, req: offer(firefoxOffer),
			steps: []step{send(compressedFrame(opText, helloZ)), expectText("Hello"),
				send(compressedFrame(opText, []byte{0xf2, 0x00, 0x11, 0x00, 0x00})), expectText("Hello")}},
	}
}

// takeoverCases run against a server with ContextTakeover and a client
// that keeps its own window too (Autobahn 13.x).
func takeoverCases() []tcase {
	req := request{extensions: []string{firefoxOffer}, clientTakeover: true}
	repeated := []byte(strings.Repeat("The quick brown fox jumps over the lazy dog. ", 40))
	words := noisyText(3000)
	var varied []step
	for i := range 12 {
		msg := []byte(fmt.Sprintf("%d: %s %s", i, textOf(100*i), repeated[:i*50]))
		varied = append(varied, sendDeflated(opText, msg, 1<<20), expectText(string(msg)))
	}
	return []tcase{
		{name: "7692-7.1/takeover/same-message-three-times", rfc: ruleTakeover, server: srvTakeover, req: req,
			checkResp: wantExtensions("permessage-deflate"),
			steps: []step{sendDeflated(opText, words, 1<<20), expectCompressed(opText, words),
				sendDeflated(opText, words, 1<<20), expectCompressed(opText, words),
				sendDeflated(opText, words, 1<<20), expectCompressed(opText, words)}},
		{name: "7692-7.1/takeover/twelve-varied-messages", rfc: ruleTakeover, server: srvTakeover, req: req, steps: varied},
		{name: "7692-7.1/takeover/fragmented-messages", rfc: ruleTakeover, server: srvTakeover, req: req,
			steps: []step{sendDeflated(opBinary, binOf(40000), 999), expectBinary(binOf(40000)),
				sendDeflated(opBinary, binOf(40000), 17), expectBinary(binOf(40000))}},
		{name: "7692-7.1/takeover/window-past-32-KiB", rfc: ruleTakeover, server: srvTakeover, req: req,
			steps: []step{sendDeflated(opText, []byte(textOf(50000)), 1<<20), expectText(textOf(50000)),
				sendDeflated(opText, repeated, 1<<20), expectText(string(repeated)),
				sendDeflated(opText, []byte(textOf(50000)), 1<<20), expectText(textOf(50000))}},
		{name: "7692-7.1/takeover/plain-message-does-not-enter-window", rfc: ruleTakeover + "; an uncompressed message is not part of the window (§7.2.1 applies to compressed data only)",
			server: srvTakeover, req: req,
			steps: []step{sendDeflated(opText, repeated, 1<<20), expectText(string(repeated)),
				send(textFrame(textOf(3000))), expectText(textOf(3000)),
				sendDeflated(opText, repeated, 1<<20), expectText(string(repeated))}},
		{name: "7692-7.1/takeover/empty-message-between", rfc: ruleTakeover, server: srvTakeover, req: req,
			steps: []step{sendDeflated(opText, repeated, 1<<20), expectText(string(repeated)),
				sendDeflated(opText, nil, 1<<20), expectText(""),
				sendDeflated(opText, repeated, 1<<20), expectText(string(repeated))}},
	}
}
