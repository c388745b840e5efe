package protoo

import (
	"errors"
	"fmt"
)

// ErrorCode is a protoo errorCode. Switchboard's codes follow HTTP.
type ErrorCode int

// The error codes of Switchboard's messaging methods (docs/messaging.md).
const (
	CodeBadRequest    ErrorCode = 400 // invalid JSON, a missing or wrong-typed field, a bad name
	CodeUnauthorized  ErrorCode = 401 // the method needs a login first
	CodeForbidden     ErrorCode = 403 // e.g. a client publish to a server-fed channel
	CodeNotFound      ErrorCode = 404 // unknown or offline recipient
	CodeConflict      ErrorCode = 409 // the login name is taken
	CodeTooLarge      ErrorCode = 413 // a message or field over its limit
	CodeTooMany       ErrorCode = 429 // rate or quota
	CodeInternal      ErrorCode = 500 // a server fault
	CodeUnknownMethod ErrorCode = 501 // no such method
)

// String returns the code's name.
func (c ErrorCode) String() string {
	switch c {
	case CodeBadRequest:
		return "bad request"
	case CodeUnauthorized:
		return "not logged in"
	case CodeForbidden:
		return "forbidden"
	case CodeNotFound:
		return "not found"
	case CodeConflict:
		return "conflict"
	case CodeTooLarge:
		return "too large"
	case CodeTooMany:
		return "too many requests"
	case CodeInternal:
		return "internal error"
	case CodeUnknownMethod:
		return "unknown method"
	}
	return fmt.Sprintf("error %d", int(c))
}

// Error is an error with a protoo code: a service returns one to answer a
// request with an error response.
type Error struct {
	Code   ErrorCode
	Reason string
}

// Errorf returns an *Error with a formatted reason.
func Errorf(code ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Reason: fmt.Sprintf(format, args...)}
}

// Error returns "CODE REASON", the one form in which Switchboard's tools
// show an error reply, such as `404 no client named "carol" is online`;
// with no reason, "CODE NAME" (`404 not found`). The reason already says
// what failed, so the code's name is not repeated before it.
func (e *Error) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("%d %s", int(e.Code), e.Code)
	}
	return fmt.Sprintf("%d %s", int(e.Code), e.Reason)
}

// Is matches an *Error with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// CodeOf returns the code of the *Error in err's chain, CodeInternal for
// any other error, and 0 for nil.
func CodeOf(err error) ErrorCode {
	if err == nil {
		return 0
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrInvalid is wrapped by every Parse error: the input is not a protoo
// message and, by the protocol, is dropped without a response.
var ErrInvalid = errors.New("protoo: invalid message")

// parseError is a Parse failure; it wraps ErrInvalid.
type parseError struct{ reason string }

func (e *parseError) Error() string { return "protoo: invalid message: " + e.reason }
func (e *parseError) Unwrap() error { return ErrInvalid }

func invalid(format string, args ...any) error {
	return &parseError{reason: fmt.Sprintf(format, args...)}
}
