package conformance

import (
	"strings"
	"testing"
)

// Group 6: UTF-8 in text messages, RFC 6455 §8.1 (Autobahn 6.x).

func TestUTF8(t *testing.T) { runCases(t, utf8Cases()) }

const (
	ruleUTF8Valid   = "RFC 6455 §5.6/§8.1: text payloads are UTF-8 (RFC 3629), which includes U+0000, noncharacters and U+10FFFF; they are echoed as sent (Autobahn 6.2-6.23)"
	ruleUTF8Invalid = "RFC 6455 §8.1: an endpoint that finds a text payload not to be valid UTF-8 MUST fail the connection; §7.4.1: with 1007 (Autobahn 6.3-6.23)"
	ruleFailFast    = "RFC 6455 §8.1 as Autobahn 6.4 tests it: fail fast, at the first octet that cannot be valid UTF-8, before the rest of the frame arrives (1007)"
)

// kosme is Autobahn's "κόσμε" (case 6.3, 6.4).
const kosme = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"

var validTexts = []struct{ name, s string }{
	{"ascii-and-latin", "Hello-µ@ßöäüàá-UTF-8!!"},
	{"kosme", kosme},
	{"u+0000", "\x00"},
	{"u+007f", "\x7f"},
	{"u+0080", "\u0080"},
	{"u+07ff", "\u07ff"},
	{"u+0800", "\u0800"},
	{"u+d7ff", "\ud7ff"},
	{"u+e000", "\ue000"},
	{"u+fffd", "\ufffd"},
	{"u+fffe-noncharacter", "\xef\xbf\xbe"},
	{"u+ffff-noncharacter", "\xef\xbf\xbf"},
	{"u+10000", "\U00010000"},
	{"u+10ffff-max", "\xf4\x8f\xbf\xbf"},
	{"mixed-scripts", "Ωμέγα 𝄞 中文 ✓ Ärger"},
}

var invalidTexts = []struct{ name, s string }{
	{"overlong-slash-2-byte", kosme + "\xc0\xaf" + "edited"},
	{"overlong-slash-3-byte", kosme + "\xe0\x80\xaf" + "edited"},
	{"overlong-slash-4-byte", kosme + "\xf0\x80\x80\xaf" + "edited"},
	{"overlong-nul-2-byte", "\xc0\x80"},
	{"overlong-max-2-byte", "\xc1\xbf"},
	{"overlong-max-3-byte", "\xe0\x9f\xbf"},
	{"overlong-max-4-byte", "\xf0\x8f\xbf\xbf"},
	{"surrogate-high-d800", kosme + "\xed\xa0\x80" + "edited"},
	{"surrogate-low-dfff", "\xed\xbf\xbf"},
	{"surrogate-pair", "\xed\xa0\x80\xed\xb0\x80"},
	{"above-u+10ffff", kosme + "\xf4\x90\x80\x80" + "edited"},
	{"lead-f5", "\xf5\x80\x80\x80"},
	{"5-byte-sequence", "\xf8\x88\x80\x80\x80"},
	{"6-byte-sequence", "\xfc\x84\x80\x80\x80\x80"},
	{"byte-fe", kosme + "\xfe"},
	{"byte-ff", "\xff" + kosme},
	{"fe-fe-ff-ff", "\xfe\xfe\xff\xff"},
	{"lone-continuation", kosme + "\x80" + "edited"},
	{"lead-then-ascii", "\xc2A"},
	{"3-byte-missing-last-then-ascii", "\xe1\x80A"},
	{"truncated-2-byte-at-end", kosme + "\xce"},
	{"truncated-3-byte-at-end", kosme + "\xe1\xbd"},
	{"truncated-4-byte-at-end", kosme + "\xf0\x90\x80"},
}

func utf8Cases() []tcase {
	var cases []tcase
	for _, v := range validTexts {
		b := []byte(v.s)
		cases = append(cases,
			tcase{name: "8.1/valid/" + v.name, rfc: ruleUTF8Valid,
				steps: []step{send(textFrame(v.s)), expectText(v.s)}},
			tcase{name: "8.1/valid/" + v.name + "-fragmented-at-every-byte", rfc: ruleUTF8Valid,
				steps: []step{sendJoined(fragments(opText, b, 1)...), expectText(v.s)}},
			tcase{name: "8.1/valid/" + v.name + "-in-1-byte-writes", rfc: ruleUTF8Valid,
				steps: []step{sendSplit(textFrame(v.s), 1), expectText(v.s)}},
		)
	}
	long := strings.Repeat(kosme+" Ωμέγα 𝄞 ", 1000)
	cases = append(cases,
		tcase{name: "8.1/valid/long-multibyte-text", rfc: ruleUTF8Valid,
			steps: []step{send(textFrame(long)), expectText(long)}},
		tcase{name: "8.1/valid/long-multibyte-text-in-7-byte-fragments", rfc: ruleUTF8Valid,
			steps: []step{sendJoined(fragments(opText, []byte(long), 7)...), expectText(long)}},
		tcase{name: "8.1/valid/binary-is-not-checked", rfc: "RFC 6455 §5.6: binary data is arbitrary; only text must be UTF-8",
			steps: []step{send(binaryFrame([]byte("\xff\xfe\xc0\xaf\xed\xa0\x80"))), expectBinary([]byte("\xff\xfe\xc0\xaf\xed\xa0\x80"))}},
	)
	for _, v := range invalidTexts {
		cases = append(cases,
			tcase{name: "8.1/invalid/" + v.name, rfc: ruleUTF8Invalid,
				steps: []step{send(textFrame(v.s)), expectFail(1007)}},
			tcase{name: "8.1/invalid/" + v.name + "-fragmented-at-every-byte", rfc: ruleUTF8Invalid,
				steps: []step{sendJoined(fragments(opText, []byte(v.s), 1)...), expectFail(1007)}},
		)
	}
	cases = append(cases,
		tcase{name: "8.1/invalid/after-valid-echo", rfc: ruleUTF8Invalid,
			steps: []step{send(textFrame(kosme)), expectText(kosme), send(textFrame("\xed\xa0\x80")), expectFail(1007)}},
		tcase{name: "8.1/invalid/valid-fragments-then-truncated-last", rfc: ruleUTF8Invalid,
			steps: []step{send(fragFrame(opText, false, []byte(kosme)), fragFrame(opCont, false, []byte(kosme)), fragFrame(opCont, true, []byte("\xe1"))), expectFail(1007)}},
		tcase{name: "8.1/invalid/rune-split-across-fragments-then-bad", rfc: ruleUTF8Invalid,
			steps: []step{send(fragFrame(opText, false, []byte("\xf0\x90")), fragFrame(opCont, true, []byte("\x80A"))), expectFail(1007)}},
	)
	return append(cases, failFastCases()...)
}

// failFastCases send the first part of a text frame, wait (with a
// deadline) for the 1007 close, and only then send the rest or hang up.
func failFastCases() []tcase {
	type ff struct {
		name string
		head string // the bytes sent first, invalid at their end
		tail string // the rest of the frame, sent after the close arrived
	}
	rest := strings.Repeat("this text never needs to arrive ", 100)
	var cases []tcase
	for _, f := range []ff{
		{"above-u+10ffff-prefix", kosme + "\xf4\x90", "\x80\x80" + rest},
		{"surrogate-prefix", kosme + "\xed\xa0", "\x80" + rest},
		{"overlong-3-byte-prefix", "\xe0\x80", "\xaf" + rest},
		{"overlong-2-byte-lead", kosme + "\xc0", "\xaf" + rest},
		{"byte-ff", "Hello \xff", rest},
		{"lone-continuation", "\x80", rest},
	} {
		frame := textFrame(f.head + f.tail)
		hdr := len(frame) - len(f.head) - len(f.tail)
		first, second := frame[:hdr+len(f.head)], frame[hdr+len(f.head):]
		cases = append(cases,
			tcase{name: "8.1/fail-fast/" + f.name + "-then-rest", rfc: ruleFailFast,
				steps: []step{send(first), expectCloseFrame(1007), send(second), replyClose(1007), expectEOF()}},
			tcase{name: "8.1/fail-fast/" + f.name + "-then-hang-up", rfc: ruleFailFast,
				steps: []step{send(first), expectCloseFrame(1007), hangUp()}},
		)
	}
	big := textFrame(kosme + "\xf5" + textOf(65536))
	cases = append(cases,
		tcase{name: "8.1/fail-fast/64-KiB-frame-invalid-in-first-bytes", rfc: ruleFailFast,
			steps: []step{send(big[:100]), expectCloseFrame(1007), send(big[100:]), replyClose(1007), expectEOF()}},
		tcase{name: "8.1/fail-fast/invalid-first-fragment", rfc: ruleFailFast,
			steps: []step{send(fragFrame(opText, false, []byte(kosme+"\xed\xa0\x80"))), expectCloseFrame(1007),
				send(fragFrame(opCont, true, []byte("edited"))), replyClose(1007), expectEOF()}},
		tcase{name: "8.1/fail-fast/invalid-in-second-fragment-header-sent", rfc: ruleFailFast,
			steps: func() []step {
				second := fragFrame(opCont, true, []byte("\xf4\x90\x80\x80"+rest))
				return []step{send(fragFrame(opText, false, []byte(kosme))), send(second[:10]), expectCloseFrame(1007),
					send(second[10:]), replyClose(1007), expectEOF()}
			}()},
		tcase{name: "8.1/fail-fast/invalid-lead-in-fragment-then-more-fragments", rfc: ruleFailFast,
			steps: []step{send(fragFrame(opText, false, []byte("ok")), fragFrame(opCont, false, []byte("\xc1"))), expectCloseFrame(1007),
				send(fragFrame(opCont, true, []byte("never"))), replyClose(1007), expectEOF()}},
	)
	return cases
}
