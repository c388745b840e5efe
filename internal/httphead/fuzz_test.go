package httphead

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// nativeClientRequests are the exact request bytes of WebRTC's native
// peerconnection_client (docs/peerconnection.md).
var nativeClientRequests = []string{
	"GET /sign_in?alice@host HTTP/1.0\r\n\r\n",
	"GET /sign_in?John Doe@pc HTTP/1.0\r\n\r\n",
	"GET /wait?peer_id=1 HTTP/1.0\r\n\r\n",
	"POST /message?peer_id=1&to=2 HTTP/1.0\r\nContent-Length: 11\r\nContent-Type: text/plain\r\n\r\n{\"sdp\":\"x\"}",
	"GET /sign_out?peer_id=1 HTTP/1.0\r\n\r\n",
}

// fuzzMax maps the fuzzer's limit to 1..64 KiB.
func fuzzMax(m uint16) int { return int(m) + 1 }

func FuzzParseRequest(f *testing.F) {
	for _, tc := range requestCases {
		f.Add([]byte(tc.in), uint16(testMax-1))
	}
	for _, s := range nativeClientRequests {
		f.Add([]byte(s), uint16(testMax-1))
		f.Add([]byte(s), uint16(len(s)/2))
	}
	f.Fuzz(func(t *testing.T, b []byte, m uint16) {
		max := fuzzMax(m)
		req, n, err := ParseRequest(b, max)
		if err != nil {
			checkErr(t, err, n, len(b), max)
			if req != nil {
				t.Fatalf("err %v with non-nil req", err)
			}
			return
		}
		checkHead(t, b, n, max)
		if req == nil || req.Header == nil {
			t.Fatal("nil req or header without error")
		}
		if req.Method == "" || req.Target == "" {
			t.Fatalf("empty method or target: %#v", req)
		}
		if strings.ContainsAny(req.Method+req.Target, " \t\r\n") {
			t.Fatalf("whitespace in method or target: %#v", req)
		}
		rebuilt := req.Path()
		if strings.Contains(req.Target, "?") {
			rebuilt += "?" + req.Query()
		}
		if rebuilt != req.Target {
			t.Fatalf("Path %q + Query %q != Target %q", req.Path(), req.Query(), req.Target)
		}
		if req.Proto == "" {
			if req.Major != 1 || req.Minor != 0 {
				t.Fatalf("no Proto but version %d.%d", req.Major, req.Minor)
			}
		} else if major, minor, ok := http.ParseHTTPVersion(req.Proto); !ok || major != req.Major || minor != req.Minor {
			t.Fatalf("Proto %q inconsistent with %d.%d", req.Proto, req.Major, req.Minor)
		}
		// The head alone parses the same way.
		req2, n2, err2 := ParseRequest(b[:n], max)
		if err2 != nil || n2 != n || req2.Target != req.Target || len(req2.Header) != len(req.Header) {
			t.Fatalf("reparse of head: n=%d err=%v, first n=%d", n2, err2, n)
		}
	})
}

func FuzzParseResponse(f *testing.F) {
	for _, tc := range responseCases {
		f.Add([]byte(tc.in), uint16(testMax-1))
	}
	for _, tc := range requestCases {
		f.Add([]byte(tc.in), uint16(testMax-1))
	}
	f.Fuzz(func(t *testing.T, b []byte, m uint16) {
		max := fuzzMax(m)
		resp, n, err := ParseResponse(b, max)
		if err != nil {
			checkErr(t, err, n, len(b), max)
			if resp != nil {
				t.Fatalf("err %v with non-nil resp", err)
			}
			return
		}
		checkHead(t, b, n, max)
		if resp == nil || resp.Header == nil {
			t.Fatal("nil resp or header without error")
		}
		if resp.Status < 100 || resp.Status > 999 {
			t.Fatalf("status %d", resp.Status)
		}
		if !strings.HasPrefix(resp.Proto, "HTTP/") {
			t.Fatalf("proto %q", resp.Proto)
		}
	})
}

func checkErr(t *testing.T, err error, n, lenB, max int) {
	t.Helper()
	if n != 0 {
		t.Fatalf("err %v with n = %d", err, n)
	}
	if errors.Is(err, ErrIncomplete) {
		if lenB >= max {
			t.Fatalf("ErrIncomplete with len %d >= max %d", lenB, max)
		}
		return
	}
	var he *Error
	if !errors.As(err, &he) {
		t.Fatalf("unexpected error type %T: %v", err, err)
	}
	switch he.Status {
	case 400:
	case 431:
		if lenB < max {
			t.Fatalf("431 with len %d < max %d", lenB, max)
		}
	default:
		t.Fatalf("error status %d", he.Status)
	}
	if he.Reason == "" {
		t.Fatal("error without reason")
	}
}

func checkHead(t *testing.T, b []byte, n, max int) {
	t.Helper()
	if n > len(b) || n > max {
		t.Fatalf("n = %d, len = %d, max = %d", n, len(b), max)
	}
	head := b[:n]
	if !bytes.HasSuffix(head, []byte("\r\n\r\n")) {
		t.Fatalf("head %q does not end in CRLF CRLF", head)
	}
	if i := bytes.Index(head, []byte("\r\n\r\n")); i != n-4 {
		t.Fatalf("head %q has an earlier CRLF CRLF at %d", head, i)
	}
}
