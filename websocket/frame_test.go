package websocket

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseHeader(t *testing.T) {
	mask := [4]byte{1, 2, 3, 4}
	tests := []struct {
		name    string
		in      []byte
		want    frameHeader
		n       int
		wantErr error
	}{
		{"short", []byte{0x81}, frameHeader{}, 0, errShortHeader},
		{"text 5 unmasked", []byte{0x81, 0x05}, frameHeader{Fin: true, Op: OpText, Length: 5}, 2, nil},
		{"masked", []byte{0x82, 0x83, 1, 2, 3, 4}, frameHeader{Fin: true, Op: OpBinary, Masked: true, Mask: mask, Length: 3}, 6, nil},
		{"masked short key", []byte{0x82, 0x83, 1, 2}, frameHeader{}, 0, errShortHeader},
		{"16-bit length", []byte{0x02, 126, 0x01, 0x00}, frameHeader{Op: OpBinary, Length: 256}, 4, nil},
		{"16-bit short", []byte{0x02, 126, 0x01}, frameHeader{}, 0, errShortHeader},
		{"64-bit length", []byte{0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0}, frameHeader{Fin: true, Op: OpBinary, Length: 65536}, 10, nil},
		{"64-bit top bit", []byte{0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0}, frameHeader{}, 0, errProtocol},
		{"rsv bits", []byte{0xF1, 0x00}, frameHeader{Fin: true, Rsv1: true, Rsv2: true, Rsv3: true, Op: OpText}, 2, nil},
		{"fragmented ping", []byte{0x09, 0x00}, frameHeader{}, 0, errProtocol},
		{"long ping", []byte{0x89, 126, 0, 126}, frameHeader{}, 0, errProtocol},
		{"ping 125", []byte{0x89, 125}, frameHeader{Fin: true, Op: OpPing, Length: 125}, 2, nil},
		{"non-minimal length accepted", []byte{0x81, 126, 0, 5}, frameHeader{Fin: true, Op: OpText, Length: 5}, 4, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, n, err := parseHeader(tt.in)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if h != tt.want || n != tt.n {
				t.Fatalf("got %+v n=%d, want %+v n=%d", h, n, tt.want, tt.n)
			}
		})
	}
}

func TestHeaderRoundTrip(t *testing.T) {
	for _, length := range []int64{0, 1, 125, 126, 65535, 65536, 1 << 40} {
		for _, masked := range []bool{false, true} {
			h := frameHeader{Fin: true, Rsv1: true, Op: OpBinary, Masked: masked, Length: length}
			if masked {
				h.Mask = [4]byte{9, 8, 7, 6}
			}
			b := appendHeader(nil, h)
			wantLen := 2
			switch {
			case length > 65535:
				wantLen = 10
			case length > 125:
				wantLen = 4
			}
			if masked {
				wantLen += 4
			}
			if len(b) != wantLen {
				t.Fatalf("length %d: header is %d bytes, want %d (minimal form)", length, len(b), wantLen)
			}
			got, n, err := parseHeader(b)
			if err != nil || n != len(b) || got != h {
				t.Fatalf("length %d masked %v: got %+v n=%d err=%v", length, masked, got, n, err)
			}
		}
	}
}

func TestMaskBytes(t *testing.T) {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	// RFC 6455 §5.7: "Hello" masked with 37 fa 21 3d.
	b := []byte("Hello")
	maskBytes(key, 0, b)
	if want := []byte{0x7f, 0x9f, 0x4d, 0x51, 0x58}; !bytes.Equal(b, want) {
		t.Fatalf("masked = % x, want % x", b, want)
	}
	// Masking in pieces at any split equals masking at once.
	data := bytes.Repeat([]byte("0123456789abcdef"), 9)
	whole := append([]byte(nil), data...)
	maskBytes(key, 0, whole)
	for split := 0; split <= len(data); split++ {
		parts := append([]byte(nil), data...)
		pos := maskBytes(key, 0, parts[:split])
		maskBytes(key, pos, parts[split:])
		if !bytes.Equal(parts, whole) {
			t.Fatalf("split at %d differs", split)
		}
	}
}

func TestAppendFrameRFCExamples(t *testing.T) {
	// RFC 6455 §5.7 examples.
	if got := appendFrame(nil, OpText, true, false, nil, []byte("Hello")); !bytes.Equal(got, []byte{0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}) {
		t.Errorf("unmasked Hello = % x", got)
	}
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	payload := []byte("Hello")
	got := appendFrame(nil, OpText, true, false, &key, payload)
	if want := []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}; !bytes.Equal(got, want) {
		t.Errorf("masked Hello = % x", got)
	}
	if string(payload) != "Hello" {
		t.Error("appendFrame changed the caller's payload")
	}
	if got := appendFrame(nil, OpPing, true, false, nil, []byte("Hello")); !bytes.Equal(got[:2], []byte{0x89, 0x05}) {
		t.Errorf("ping = % x", got)
	}
	if got := appendFrame(nil, OpBinary, true, false, nil, make([]byte, 256)); !bytes.Equal(got[:4], []byte{0x82, 0x7e, 0x01, 0x00}) {
		t.Errorf("256-byte binary header = % x", got[:4])
	}
	if got := appendFrame(nil, OpBinary, true, false, nil, make([]byte, 65536)); !bytes.Equal(got[:10], []byte{0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0}) {
		t.Errorf("64 KiB binary header = % x", got[:10])
	}
}

func TestAppendMessageFragments(t *testing.T) {
	payload := bytes.Repeat([]byte("x"), 10)
	b := appendMessage(nil, OpText, true, nil, payload, 4)
	var ops []Opcode
	var rsv1 []bool
	var got []byte
	for len(b) > 0 {
		h, n, err := parseHeader(b)
		if err != nil {
			t.Fatal(err)
		}
		ops = append(ops, h.Op)
		rsv1 = append(rsv1, h.Rsv1)
		got = append(got, b[n:n+int(h.Length)]...)
		b = b[n+int(h.Length):]
		if h.Fin != (len(b) == 0) {
			t.Fatalf("FIN on a middle frame or missing on the last")
		}
	}
	if len(ops) != 3 || ops[0] != OpText || ops[1] != OpContinuation || ops[2] != OpContinuation {
		t.Fatalf("opcodes %v", ops)
	}
	if !rsv1[0] || rsv1[1] || rsv1[2] {
		t.Fatalf("RSV1 must be on the first frame only: %v", rsv1)
	}
	if !bytes.Equal(got, payload) {
		t.Fatal("payload differs")
	}
}

func TestClosePayload(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		code    StatusCode
		reason  string
		wantErr bool
	}{
		{"empty", nil, StatusNoStatusRcvd, "", false},
		{"one byte", []byte{0x03}, 0, "", true},
		{"1000", []byte{0x03, 0xe8}, StatusNormalClosure, "", false},
		{"1000 with reason", []byte{0x03, 0xe8, 'b', 'y', 'e'}, StatusNormalClosure, "bye", false},
		{"1005 on wire", []byte{0x03, 0xed}, 0, "", true},
		{"1006 on wire", []byte{0x03, 0xee}, 0, "", true},
		{"1015 on wire", []byte{0x03, 0xf7}, 0, "", true},
		{"1016", []byte{0x03, 0xf8}, 0, "", true},
		{"999", []byte{0x03, 0xe7}, 0, "", true},
		{"2999", []byte{0x0b, 0xb7}, 0, "", true},
		{"3000", []byte{0x0b, 0xb8}, 3000, "", false},
		{"4999", []byte{0x13, 0x87}, 4999, "", false},
		{"5000", []byte{0x13, 0x88}, 0, "", true},
		{"bad utf8 reason", []byte{0x03, 0xe8, 0xff}, 0, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, reason, err := parseClosePayload(tt.in)
			if tt.wantErr {
				if !errors.Is(err, errProtocol) {
					t.Fatalf("err = %v, want a protocol error", err)
				}
				return
			}
			if err != nil || code != tt.code || reason != tt.reason {
				t.Fatalf("got %d %q %v", code, reason, err)
			}
		})
	}
}

func TestAppendClosePayload(t *testing.T) {
	if got := appendClosePayload(nil, StatusNoStatusRcvd, "x"); len(got) != 0 {
		t.Errorf("1005 must give an empty payload, got % x", got)
	}
	long := strings.Repeat("é", 100) // 200 bytes
	got := appendClosePayload(nil, StatusGoingAway, long)
	if len(got) > maxControlPayload {
		t.Fatalf("close payload %d bytes > 125", len(got))
	}
	code, reason, err := parseClosePayload(got)
	if err != nil || code != StatusGoingAway || !utf8.ValidString(reason) || len(reason) != 122 {
		t.Fatalf("got %d %q (%d bytes) %v", code, reason, len(reason), err)
	}
	if _, _, err := parseClosePayload(appendClosePayload(nil, StatusNormalClosure, "bad \xff")); err != nil {
		t.Fatalf("invalid UTF-8 in a reason must be replaced, got %v", err)
	}
}

func TestStatusCodeString(t *testing.T) {
	if StatusMessageTooBig.String() != "message too big" || StatusCode(4321).String() != "status 4321" {
		t.Fatal("unexpected names")
	}
	if CloseStatus(&CloseError{Code: StatusGoingAway}) != StatusGoingAway || CloseStatus(errors.New("x")) != 0 {
		t.Fatal("CloseStatus")
	}
}

func FuzzParseHeader(f *testing.F) {
	f.Add([]byte{0x81, 0x05})
	f.Add([]byte{0x82, 0xfe, 0x01, 0x00, 1, 2, 3, 4})
	f.Add([]byte{0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0})
	f.Add([]byte{0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0x89, 0x7e, 0, 0x7e})
	f.Add([]byte{0x08, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := parseHeader(b)
		if err != nil {
			return
		}
		if n < 2 || n > maxHeaderSize || n > len(b) {
			t.Fatalf("header size %d for %d bytes", n, len(b))
		}
		if h.Length < 0 {
			t.Fatalf("negative length %d", h.Length)
		}
		if h.Op.isControl() && (!h.Fin || h.Length > maxControlPayload) {
			t.Fatalf("accepted a bad control header %+v", h)
		}
		// Re-encoding and parsing again gives the same header.
		again, _, err := parseHeader(appendHeader(nil, h))
		if err != nil || again != h {
			t.Fatalf("round trip: %+v vs %+v (%v)", again, h, err)
		}
	})
}

func FuzzClosePayload(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x03, 0xe8, 'o', 'k'})
	f.Add([]byte{0x03, 0xe8, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		code, reason, err := parseClosePayload(b)
		if err != nil || code == StatusNoStatusRcvd {
			return
		}
		if !code.validOnWire() || !utf8.ValidString(reason) {
			t.Fatalf("accepted %d %q", code, reason)
		}
	})
}
