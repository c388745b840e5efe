package httphead

import (
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

const testMax = 16 << 10

type requestCase struct {
	name   string
	in     string
	max    int // testMax when 0
	want   *Request
	wantN  int // len(in) when 0 and want != nil
	status int // expected *Error status; 0 = success or ErrIncomplete
	reason string
	incomp bool // expect ErrIncomplete
}

var requestCases = []requestCase{
	{
		name: "get http/1.1",
		in:   "GET /index.html?a=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n",
		want: &Request{Method: "GET", Target: "/index.html?a=1", Proto: "HTTP/1.1", Major: 1, Minor: 1,
			Header: http.Header{"Host": {"example.com"}, "Accept": {"*/*"}}},
	},
	{
		name: "post with body after head",
		in:   "POST /message?peer_id=1&to=2 HTTP/1.0\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
		want: &Request{Method: "POST", Target: "/message?peer_id=1&to=2", Proto: "HTTP/1.0", Major: 1, Minor: 0,
			Header: http.Header{"Content-Length": {"5"}, "Content-Type": {"text/plain"}}},
		wantN: len("POST /message?peer_id=1&to=2 HTTP/1.0\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\n"),
	},
	{
		name: "http/1.0 without host",
		in:   "GET /sign_in?alice HTTP/1.0\r\n\r\n",
		want: &Request{Method: "GET", Target: "/sign_in?alice", Proto: "HTTP/1.0", Major: 1, Minor: 0, Header: http.Header{}},
	},
	{
		name: "http/1.1 without host",
		in:   "GET /wait?peer_id=1 HTTP/1.1\r\n\r\n",
		want: &Request{Method: "GET", Target: "/wait?peer_id=1", Proto: "HTTP/1.1", Major: 1, Minor: 1, Header: http.Header{}},
	},
	{
		name: "version-less line",
		in:   "GET /wait?peer_id=1\r\n\r\n",
		want: &Request{Method: "GET", Target: "/wait?peer_id=1", Proto: "", Major: 1, Minor: 0, Header: http.Header{}},
	},
	{
		name: "garbage version ignored",
		in:   "GET /x FOO/9\r\n\r\n",
		want: &Request{Method: "GET", Target: "/x", Proto: "", Major: 1, Minor: 0, Header: http.Header{}},
	},
	{
		name: "tab after method",
		in:   "GET\t/wait?peer_id=1\tHTTP/1.0\r\n\r\n",
		want: &Request{Method: "GET", Target: "/wait?peer_id=1", Proto: "HTTP/1.0", Major: 1, Minor: 0, Header: http.Header{}},
	},
	{
		name: "spaces in target",
		in:   "GET /sign_in?John Doe@pc HTTP/1.0\r\n\r\n",
		want: &Request{Method: "GET", Target: "/sign_in?John", Proto: "HTTP/1.0", Major: 1, Minor: 0, Header: http.Header{}},
	},
	{
		name: "trailing whitespace after version",
		in:   "GET / HTTP/1.1 \t\r\n\r\n",
		want: &Request{Method: "GET", Target: "/", Proto: "HTTP/1.1", Major: 1, Minor: 1, Header: http.Header{}},
	},
	{
		name: "lower-case method kept",
		in:   "get / HTTP/1.1\r\n\r\n",
		want: &Request{Method: "get", Target: "/", Proto: "HTTP/1.1", Major: 1, Minor: 1, Header: http.Header{}},
	},
	{
		name: "absolute-form target and non-ascii bytes",
		in:   "OPTIONS http://h/x\xc3\xa9 HTTP/1.1\r\n\r\n",
		want: &Request{Method: "OPTIONS", Target: "http://h/x\xc3\xa9", Proto: "HTTP/1.1", Major: 1, Minor: 1, Header: http.Header{}},
	},
	{
		name: "multiple values and name case",
		in: "GET /ws HTTP/1.1\r\nsec-websocket-extensions: permessage-deflate\r\nSEC-WEBSOCKET-EXTENSIONS:x-foo \r\n" +
			"X-Empty:\r\nconnection:\t keep-alive, Upgrade\t\r\nUpgrade: websocket\r\n\r\n",
		want: &Request{Method: "GET", Target: "/ws", Proto: "HTTP/1.1", Major: 1, Minor: 1, Header: http.Header{
			"Sec-Websocket-Extensions": {"permessage-deflate", "x-foo"},
			"X-Empty":                  {""},
			"Connection":               {"keep-alive, Upgrade"},
			"Upgrade":                  {"websocket"},
		}},
	},
	{name: "empty", in: "", incomp: true},
	{name: "incomplete line", in: "GET /wait?peer_id=1 HTTP/1.0", incomp: true},
	{name: "incomplete after CR", in: "GET / HTTP/1.0\r", incomp: true},
	{name: "incomplete head", in: "GET / HTTP/1.0\r\nHost: x\r\n", incomp: true},
	{name: "incomplete final CR", in: "GET / HTTP/1.0\r\n\r", incomp: true},
	{name: "bare LF request", in: "GET / HTTP/1.0\n\n", status: 400, reason: "bare LF line ending"},
	{name: "bare LF header", in: "GET / HTTP/1.0\r\nHost: x\n\r\n", status: 400, reason: "bare LF line ending"},
	{name: "bare LF before head complete", in: "GET / HTTP/1.0\nHost", status: 400, reason: "bare LF line ending"},
	{name: "leading LF", in: "\nGET / HTTP/1.0\r\n\r\n", status: 400, reason: "bare LF line ending"},
	{name: "bare CR", in: "GET / HTTP/1.0\rX\r\n\r\n", status: 400, reason: "bare CR in head"},
	{name: "NUL in target", in: "GET /a\x00b HTTP/1.0\r\n\r\n", status: 400, reason: "control character in head"},
	{name: "control in header", in: "GET / HTTP/1.0\r\nX-A: a\x01b\r\n\r\n", status: 400, reason: "control character in head"},
	{name: "DEL in header", in: "GET / HTTP/1.0\r\nX-A: a\x7fb\r\n\r\n", status: 400, reason: "control character in head"},
	{name: "control before head complete", in: "GET /\x1b", status: 400, reason: "control character in head"},
	{name: "empty request line", in: "\r\n\r\n", status: 400, reason: "empty start line"},
	{name: "leading empty line", in: "\r\nGET / HTTP/1.1\r\n\r\n", status: 400, reason: "empty start line"},
	{name: "empty method", in: " / HTTP/1.1\r\n\r\n", status: 400, reason: "empty method"},
	{name: "no target", in: "GET\r\n\r\n", status: 400, reason: "malformed request line"},
	{name: "empty target", in: "GET  /x HTTP/1.1\r\n\r\n", status: 400, reason: "empty request target"},
	{name: "method then space only", in: "GET \r\n\r\n", status: 400, reason: "empty request target"},
	{name: "non-token method", in: "GE(T / HTTP/1.1\r\n\r\n", status: 400, reason: "invalid method"},
	{name: "binary garbage", in: "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", status: 400, reason: "control character in head"},
	{name: "header without colon", in: "GET / HTTP/1.1\r\nHost example.com\r\n\r\n", status: 400, reason: "header line without colon"},
	{name: "empty header name", in: "GET / HTTP/1.1\r\n: x\r\n\r\n", status: 400, reason: "invalid header name"},
	{name: "space before colon", in: "GET / HTTP/1.1\r\nHost : x\r\n\r\n", status: 400, reason: "invalid header name"},
	{name: "obs-fold", in: "GET / HTTP/1.1\r\nX-A: a\r\n b\r\n\r\n", status: 400, reason: "obsolete line folding"},
	{
		name: "head exactly max",
		in:   "GET / HTTP/1.0\r\n\r\n",
		max:  len("GET / HTTP/1.0\r\n\r\n"),
		want: &Request{Method: "GET", Target: "/", Proto: "HTTP/1.0", Major: 1, Minor: 0, Header: http.Header{}},
	},
	{
		name:  "head within max, body beyond",
		in:    "GET / HTTP/1.0\r\n\r\nbody bytes",
		max:   len("GET / HTTP/1.0\r\n\r\n"),
		want:  &Request{Method: "GET", Target: "/", Proto: "HTTP/1.0", Major: 1, Minor: 0, Header: http.Header{}},
		wantN: len("GET / HTTP/1.0\r\n\r\n"),
	},
	{name: "head one over max", in: "GET / HTTP/1.0\r\n\r\n", max: len("GET / HTTP/1.0\r\n\r\n") - 1,
		status: 431, reason: "request header fields too large"},
	{name: "incomplete at max", in: "GET / HTTP/1.0\r\nX: y", max: len("GET / HTTP/1.0\r\nX: y"),
		status: 431, reason: "request header fields too large"},
	{name: "incomplete below max", in: "GET / HTTP/1.0\r\nX: y", max: 100, incomp: true},
	{name: "no limit", in: "GET / HTTP/1.0\r\nX: " + strings.Repeat("y", 40<<10) + "\r\n\r\n", max: -1,
		want: &Request{Method: "GET", Target: "/", Proto: "HTTP/1.0", Major: 1, Minor: 0,
			Header: http.Header{"X": {strings.Repeat("y", 40<<10)}}}},
}

func TestParseRequest(t *testing.T) {
	for _, tc := range requestCases {
		t.Run(tc.name, func(t *testing.T) {
			max := tc.max
			if max == 0 {
				max = testMax
			}
			req, n, err := ParseRequest([]byte(tc.in), max)
			switch {
			case tc.incomp:
				if !errors.Is(err, ErrIncomplete) {
					t.Fatalf("err = %v, want ErrIncomplete", err)
				}
			case tc.status != 0:
				var he *Error
				if !errors.As(err, &he) {
					t.Fatalf("err = %v, want *Error %d", err, tc.status)
				}
				if he.Status != tc.status || he.Reason != tc.reason {
					t.Fatalf("err = %d %q, want %d %q", he.Status, he.Reason, tc.status, tc.reason)
				}
			default:
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				wantN := tc.wantN
				if wantN == 0 {
					wantN = len(tc.in)
				}
				if n != wantN {
					t.Errorf("n = %d, want %d", n, wantN)
				}
				if !reflect.DeepEqual(req, tc.want) {
					t.Errorf("req = %#v\nwant  %#v", req, tc.want)
				}
				return
			}
			if req != nil || n != 0 {
				t.Errorf("on error: req = %v, n = %d; want nil, 0", req, n)
			}
		})
	}
}

func TestErrorIsFreshCopy(t *testing.T) {
	_, _, err := ParseRequest([]byte("\n"), testMax)
	var he *Error
	if !errors.As(err, &he) {
		t.Fatalf("err = %v", err)
	}
	he.Reason = "changed"
	_, _, err = ParseRequest([]byte("\n"), testMax)
	if !errors.As(err, &he) || he.Reason != "bare LF line ending" {
		t.Fatalf("second err = %v", err)
	}
	if got := err.Error(); got != "httphead: 400 bare LF line ending" {
		t.Errorf("Error() = %q", got)
	}
}

func TestPathQuery(t *testing.T) {
	tests := []struct{ target, path, query string }{
		{"/wait?peer_id=1", "/wait", "peer_id=1"},
		{"/", "/", ""},
		{"/a?", "/a", ""},
		{"/a?b?c", "/a", "b?c"},
		{"?x", "", "x"},
		{"/message?peer_id=1&to=2", "/message", "peer_id=1&to=2"},
	}
	for _, tt := range tests {
		r := &Request{Target: tt.target}
		if got := r.Path(); got != tt.path {
			t.Errorf("Path(%q) = %q, want %q", tt.target, got, tt.path)
		}
		if got := r.Query(); got != tt.query {
			t.Errorf("Query(%q) = %q, want %q", tt.target, got, tt.query)
		}
	}
}

// TestParseRequestIncremental feeds a valid head one byte at a time: every
// proper prefix must be ErrIncomplete, the whole must parse.
func TestParseRequestIncremental(t *testing.T) {
	in := "POST /message?peer_id=1&to=2 HTTP/1.0\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\n"
	for i := range len(in) {
		if _, _, err := ParseRequest([]byte(in[:i]), testMax); !errors.Is(err, ErrIncomplete) {
			t.Fatalf("prefix %d (%q): err = %v, want ErrIncomplete", i, in[:i], err)
		}
	}
	if _, n, err := ParseRequest([]byte(in), testMax); err != nil || n != len(in) {
		t.Fatalf("full: n = %d, err = %v", n, err)
	}
}

func TestParseRequestAllocs(t *testing.T) {
	in := []byte("GET /ws HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	incomplete := in[:len(in)-2]
	if a := testing.AllocsPerRun(100, func() { _, _, _ = ParseRequest(incomplete, testMax) }); a != 0 {
		t.Errorf("incomplete head: %v allocs, want 0", a)
	}
	// head string, Request, header map (+ its group), value array, and one
	// per non-canonical name (Sec-WebSocket-Key, Sec-WebSocket-Version).
	if a := testing.AllocsPerRun(100, func() { _, _, _ = ParseRequest(in, testMax) }); a > 7 {
		t.Errorf("complete head: %v allocs, want <= 7", a)
	}
}

type responseCase struct {
	name   string
	in     string
	want   *Response
	wantN  int
	status int
	reason string
	incomp bool
}

var responseCases = []responseCase{
	{
		name: "101 with headers",
		in: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nsec-websocket-extensions: permessage-deflate\r\n\r\n",
		want: &Response{Proto: "HTTP/1.1", Status: 101, Reason: "Switching Protocols", Header: http.Header{
			"Upgrade":                  {"websocket"},
			"Connection":               {"Upgrade"},
			"Sec-Websocket-Accept":     {"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="},
			"Sec-Websocket-Extensions": {"permessage-deflate"},
		}},
	},
	{
		name: "custom reason and body after head",
		in:   "HTTP/1.1 200 Added\r\nPragma: 1\r\nContent-Length: 10\r\n\r\nalice,1,1\n",
		want: &Response{Proto: "HTTP/1.1", Status: 200, Reason: "Added",
			Header: http.Header{"Pragma": {"1"}, "Content-Length": {"10"}}},
		wantN: len("HTTP/1.1 200 Added\r\nPragma: 1\r\nContent-Length: 10\r\n\r\n"),
	},
	{
		name: "no reason",
		in:   "HTTP/1.0 404\r\n\r\n",
		want: &Response{Proto: "HTTP/1.0", Status: 404, Header: http.Header{}},
	},
	{
		name: "empty reason",
		in:   "HTTP/1.1 500 \r\n\r\n",
		want: &Response{Proto: "HTTP/1.1", Status: 500, Header: http.Header{}},
	},
	{
		name: "reason with spaces",
		in:   "HTTP/1.1 431 Request Header Fields Too Large\r\n\r\n",
		want: &Response{Proto: "HTTP/1.1", Status: 431, Reason: "Request Header Fields Too Large", Header: http.Header{}},
	},
	{name: "incomplete", in: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n", incomp: true},
	{name: "no version", in: "101 Switching Protocols\r\n\r\n", status: 400, reason: "malformed status line"},
	{name: "bad version", in: "HTTP/x 101 Switching\r\n\r\n", status: 400, reason: "malformed status line"},
	{name: "only version", in: "HTTP/1.1\r\n\r\n", status: 400, reason: "malformed status line"},
	{name: "short code", in: "HTTP/1.1 10\r\n\r\n", status: 400, reason: "invalid status code"},
	{name: "long code", in: "HTTP/1.1 1010 x\r\n\r\n", status: 400, reason: "invalid status code"},
	{name: "non-digit code", in: "HTTP/1.1 1a1 x\r\n\r\n", status: 400, reason: "invalid status code"},
	{name: "code below 100", in: "HTTP/1.1 099 x\r\n\r\n", status: 400, reason: "invalid status code"},
	{name: "two spaces", in: "HTTP/1.1  101 x\r\n\r\n", status: 400, reason: "invalid status code"},
	{name: "bare LF", in: "HTTP/1.1 101 Switching Protocols\n\n", status: 400, reason: "bare LF line ending"},
	{name: "header without colon", in: "HTTP/1.1 101 x\r\nUpgrade websocket\r\n\r\n", status: 400, reason: "header line without colon"},
	{name: "too large", in: "HTTP/1.1 101 x\r\nX: " + strings.Repeat("a", testMax), status: 431, reason: "response head too large"},
}

func TestParseResponse(t *testing.T) {
	for _, tc := range responseCases {
		t.Run(tc.name, func(t *testing.T) {
			resp, n, err := ParseResponse([]byte(tc.in), testMax)
			switch {
			case tc.incomp:
				if !errors.Is(err, ErrIncomplete) {
					t.Fatalf("err = %v, want ErrIncomplete", err)
				}
			case tc.status != 0:
				var he *Error
				if !errors.As(err, &he) {
					t.Fatalf("err = %v, want *Error %d", err, tc.status)
				}
				if he.Status != tc.status || he.Reason != tc.reason {
					t.Fatalf("err = %d %q, want %d %q", he.Status, he.Reason, tc.status, tc.reason)
				}
			default:
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				wantN := tc.wantN
				if wantN == 0 {
					wantN = len(tc.in)
				}
				if n != wantN {
					t.Errorf("n = %d, want %d", n, wantN)
				}
				if !reflect.DeepEqual(resp, tc.want) {
					t.Errorf("resp = %#v\nwant   %#v", resp, tc.want)
				}
				return
			}
			if resp != nil || n != 0 {
				t.Errorf("on error: resp = %v, n = %d; want nil, 0", resp, n)
			}
		})
	}
}
