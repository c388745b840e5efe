package httphead

import (
	"net/http"
	"net/textproto"
	"strings"
)

// Request is a parsed request head.
type Request struct {
	Method string // as sent, case kept (any RFC 9110 token)
	Target string // raw request target, never percent-decoded
	Proto  string // "HTTP/1.1", "HTTP/1.0", ... or "" when the line had no valid version
	Major  int    // from Proto; 1 when Proto is ""
	Minor  int    // from Proto; 0 when Proto is ""
	Header http.Header
}

// Path returns the target up to the first '?'.
func (r *Request) Path() string {
	if i := strings.IndexByte(r.Target, '?'); i >= 0 {
		return r.Target[:i]
	}
	return r.Target
}

// Query returns the raw target after the first '?', or "" when it has none.
func (r *Request) Query() string {
	if i := strings.IndexByte(r.Target, '?'); i >= 0 {
		return r.Target[i+1:]
	}
	return ""
}

// Response is a parsed response head.
type Response struct {
	Proto  string // "HTTP/1.1", ...
	Status int    // 100-999
	Reason string // reason phrase as sent, possibly ""
	Header http.Header
}

// ParseRequest parses one request head from the start of b. n is the number
// of bytes consumed, including the final CRLF CRLF; b[n:] is the start of
// the body (or of whatever follows).
//
// When b holds no complete head, err is [ErrIncomplete], or a 431 [*Error]
// once len(b) >= max. A head is only accepted if it ends within the first
// max bytes, so n <= max. max <= 0 means no limit. Malformed input is a 400
// [*Error], reported as soon as the offending bytes are in b.
//
// Header keys are canonical ([textproto.CanonicalMIMEHeaderKey]), values are
// trimmed of surrounding SP and HTAB, and repeated fields keep every value
// in order. All strings in req share one copy of the head.
func ParseRequest(b []byte, max int) (req *Request, n int, err error) {
	n, lines, err := scanHead(b, max, errTooLarge)
	if err != nil {
		return nil, 0, err
	}
	s := string(b[:n])
	line, rest := cutLine(s)
	req, perr := parseRequestLine(line)
	if perr != nil {
		return nil, 0, perr
	}
	if req.Header, perr = parseFields(rest, lines-1); perr != nil {
		return nil, 0, perr
	}
	return req, n, nil
}

// ParseResponse parses one response head from the start of b, with the same
// rules and results as [ParseRequest]. The status line must be
// "HTTP/x.y SP 3DIGIT [SP reason]"; a malformed one is a 400 [*Error].
func ParseResponse(b []byte, max int) (resp *Response, n int, err error) {
	n, lines, err := scanHead(b, max, errRespTooLarge)
	if err != nil {
		return nil, 0, err
	}
	s := string(b[:n])
	line, rest := cutLine(s)
	resp, perr := parseStatusLine(line)
	if perr != nil {
		return nil, 0, perr
	}
	if resp.Header, perr = parseFields(rest, lines-1); perr != nil {
		return nil, 0, perr
	}
	return resp, n, nil
}

// scanHead finds the end of the head in b[:max] and validates its bytes: every
// CR must be followed by LF and every LF preceded by CR, and no control byte
// other than HTAB may appear. It returns the head length (through the final
// CRLF CRLF) and the number of non-empty lines in it.
func scanHead(b []byte, max int, tooLarge Error) (n, lines int, err error) {
	lim := len(b)
	if max > 0 && lim > max {
		lim = max
	}
	lineStart := 0
	for i := 0; i < lim; i++ {
		switch c := b[i]; {
		case c == '\r':
			if i+1 >= lim {
				break // the LF has not arrived (or lies beyond max)
			}
			if b[i+1] != '\n' {
				return 0, 0, fail(errBareCR)
			}
		case c == '\n':
			if i == 0 || b[i-1] != '\r' {
				return 0, 0, fail(errBareLF)
			}
			if i-1 == lineStart { // empty line
				if lineStart == 0 {
					return 0, 0, fail(errEmptyStartLine)
				}
				return i + 1, lines, nil
			}
			lines++
			lineStart = i + 1
		case c < 0x20 && c != '\t', c == 0x7f:
			return 0, 0, fail(errControl)
		}
	}
	if max > 0 && len(b) >= max {
		return 0, 0, fail(tooLarge)
	}
	return 0, 0, ErrIncomplete
}

// cutLine splits s at its first CRLF.
func cutLine(s string) (line, rest string) {
	i := strings.Index(s, "\r\n")
	return s[:i], s[i+2:]
}

func parseRequestLine(line string) (*Request, *Error) {
	sp := strings.IndexAny(line, " \t")
	switch {
	case sp == 0:
		return nil, fail(errEmptyMethod)
	case sp < 0:
		return nil, fail(errRequestLine)
	}
	method := line[:sp]
	if !isToken(method) {
		return nil, fail(errMethod)
	}
	rest := line[sp+1:]
	end := strings.IndexAny(rest, " \t")
	if end < 0 {
		end = len(rest)
	}
	if end == 0 {
		return nil, fail(errEmptyTarget)
	}
	req := &Request{Method: method, Target: rest[:end], Major: 1, Minor: 0}
	// The version, if any, is the last word of the line: for
	// "GET /sign_in?John Doe@pc HTTP/1.0" that is "HTTP/1.0".
	tail := strings.TrimRight(rest[end:], " \t")
	if tail != "" {
		word := tail[strings.LastIndexAny(tail, " \t")+1:]
		if major, minor, ok := http.ParseHTTPVersion(word); ok {
			req.Proto, req.Major, req.Minor = word, major, minor
		}
	}
	return req, nil
}

func parseStatusLine(line string) (*Response, *Error) {
	proto, rest, ok := strings.Cut(line, " ")
	if !ok {
		return nil, fail(errStatusLine)
	}
	if _, _, ok := http.ParseHTTPVersion(proto); !ok {
		return nil, fail(errStatusLine)
	}
	if len(rest) < 3 || (len(rest) > 3 && rest[3] != ' ') {
		return nil, fail(errStatusCode)
	}
	code := 0
	for i := range 3 {
		c := rest[i]
		if c < '0' || c > '9' {
			return nil, fail(errStatusCode)
		}
		code = code*10 + int(c-'0')
	}
	if code < 100 {
		return nil, fail(errStatusCode)
	}
	resp := &Response{Proto: proto, Status: code}
	if len(rest) > 3 {
		resp.Reason = rest[4:]
	}
	return resp, nil
}

// parseFields parses the header lines in rest, each ending in CRLF, the
// last one followed by the final empty line's CRLF. count is the number of
// header lines, used to size the map and the value storage.
func parseFields(rest string, count int) (http.Header, *Error) {
	h := make(http.Header, count)
	// One backing array for all single values, as net/textproto does.
	strs := make([]string, count)
	for {
		line, next := cutLine(rest)
		if line == "" {
			return h, nil
		}
		rest = next
		if line[0] == ' ' || line[0] == '\t' {
			return nil, fail(errObsFold)
		}
		colon := strings.IndexByte(line, ':')
		if colon < 0 {
			return nil, fail(errNoColon)
		}
		name := line[:colon]
		if !isToken(name) {
			return nil, fail(errHeaderName)
		}
		value := strings.Trim(line[colon+1:], " \t")
		key := textproto.CanonicalMIMEHeaderKey(name)
		if vv, ok := h[key]; ok {
			h[key] = append(vv, value)
			continue
		}
		strs[0] = value
		h[key] = strs[:1:1]
		strs = strs[1:]
	}
}

// isToken reports whether s is a non-empty RFC 9110 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tchar[s[i]] {
			return false
		}
	}
	return true
}

// tchar is the RFC 9110 token character set.
var tchar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()
