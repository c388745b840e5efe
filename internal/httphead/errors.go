package httphead

import (
	"errors"
	"strconv"
)

// ErrIncomplete means b holds no complete head yet and is shorter than max:
// read more bytes and call the parser again.
var ErrIncomplete = errors.New("httphead: incomplete head")

// Error is a head that cannot be parsed. Status is the HTTP status a server
// should answer with: 400 for malformed input, 431 for a head larger than
// the limit. [ParseResponse] uses the same two values to classify its errors.
// Reason is a short lower-case phrase fit for a one-line reply body.
type Error struct {
	Status int
	Reason string
}

// Error implements error.
func (e *Error) Error() string {
	return "httphead: " + strconv.Itoa(e.Status) + " " + e.Reason
}

// The errors the parsers report; each call returns a fresh copy.
var (
	errTooLarge       = Error{431, "request header fields too large"}
	errRespTooLarge   = Error{431, "response head too large"}
	errBareLF         = Error{400, "bare LF line ending"}
	errBareCR         = Error{400, "bare CR in head"}
	errControl        = Error{400, "control character in head"}
	errEmptyStartLine = Error{400, "empty start line"}
	errRequestLine    = Error{400, "malformed request line"}
	errEmptyMethod    = Error{400, "empty method"}
	errMethod         = Error{400, "invalid method"}
	errEmptyTarget    = Error{400, "empty request target"}
	errNoColon        = Error{400, "header line without colon"}
	errHeaderName     = Error{400, "invalid header name"}
	errObsFold        = Error{400, "obsolete line folding"}
	errStatusLine     = Error{400, "malformed status line"}
	errStatusCode     = Error{400, "invalid status code"}
)

// fail returns a fresh copy of e, so callers may keep or modify it.
func fail(e Error) *Error { return &e }
