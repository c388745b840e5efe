package websocket

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"
)

// StatusCode is a close status code (RFC 6455 §7.4). Switchboard's own codes
// in the 4000-4999 range are listed here too, in one place.
type StatusCode uint16

// Close codes of RFC 6455 §7.4.1 and the IANA registry.
const (
	StatusNormalClosure   StatusCode = 1000
	StatusGoingAway       StatusCode = 1001
	StatusProtocolError   StatusCode = 1002
	StatusUnsupportedData StatusCode = 1003
	// StatusNoStatusRcvd is reported when a close frame had no code. It is
	// never sent.
	StatusNoStatusRcvd StatusCode = 1005
	// StatusAbnormalClosure is reported when the connection closed without
	// a close frame. It is never sent.
	StatusAbnormalClosure    StatusCode = 1006
	StatusInvalidPayload     StatusCode = 1007
	StatusPolicyViolation    StatusCode = 1008
	StatusMessageTooBig      StatusCode = 1009
	StatusMandatoryExtension StatusCode = 1010
	StatusInternalError      StatusCode = 1011
	StatusServiceRestart     StatusCode = 1012
	StatusTryAgainLater      StatusCode = 1013
	StatusBadGateway         StatusCode = 1014
	// StatusTLSHandshake is never sent.
	StatusTLSHandshake StatusCode = 1015
)

// Switchboard's application close codes (4000-4999, private use).
const (
	// StatusDoNotReconnect means "closed by the server, do not come back":
	// a session replaced by a newer login, a missed login deadline, a
	// refused peer. protoo-client never reconnects after it.
	StatusDoNotReconnect StatusCode = 4000
)

// String returns the code's name.
func (c StatusCode) String() string {
	switch c {
	case StatusNormalClosure:
		return "normal closure"
	case StatusGoingAway:
		return "going away"
	case StatusProtocolError:
		return "protocol error"
	case StatusUnsupportedData:
		return "unsupported data"
	case StatusNoStatusRcvd:
		return "no status"
	case StatusAbnormalClosure:
		return "abnormal closure"
	case StatusInvalidPayload:
		return "invalid payload"
	case StatusPolicyViolation:
		return "policy violation"
	case StatusMessageTooBig:
		return "message too big"
	case StatusMandatoryExtension:
		return "mandatory extension"
	case StatusInternalError:
		return "internal error"
	case StatusServiceRestart:
		return "service restart"
	case StatusTryAgainLater:
		return "try again later"
	case StatusBadGateway:
		return "bad gateway"
	case StatusTLSHandshake:
		return "TLS handshake"
	case StatusDoNotReconnect:
		return "do not reconnect"
	}
	return fmt.Sprintf("status %d", uint16(c))
}

// validOnWire reports whether c may appear in a close frame: 1000-1003,
// 1007-1014 and 3000-4999. 1005, 1006 and 1015 are for reporting only.
func (c StatusCode) validOnWire() bool {
	switch {
	case c >= 1000 && c <= 1003:
		return true
	case c >= 1007 && c <= 1014:
		return true
	case c >= 3000 && c <= 4999:
		return true
	}
	return false
}

// maxCloseReason is the longest close reason in bytes: 125 minus the code.
const maxCloseReason = maxControlPayload - 2

// CloseError is how a connection reports the close frame it saw (or, with
// StatusAbnormalClosure, that it saw none).
type CloseError struct {
	Code   StatusCode
	Reason string
}

func (e *CloseError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("websocket: closed: %d (%s)", uint16(e.Code), e.Code)
	}
	return fmt.Sprintf("websocket: closed: %d (%s): %s", uint16(e.Code), e.Code, e.Reason)
}

// CloseStatus returns the code of the *CloseError in err's chain, or 0.
func CloseStatus(err error) StatusCode {
	var ce *CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return 0
}

// parseClosePayload decodes a close frame's payload (RFC 6455 §5.5.1). An
// empty payload is StatusNoStatusRcvd. A one-byte payload, a code that may not
// be sent, or a reason that is not UTF-8 is an error wrapping errProtocol;
// the caller answers it with 1002.
func parseClosePayload(p []byte) (StatusCode, string, error) {
	switch {
	case len(p) == 0:
		return StatusNoStatusRcvd, "", nil
	case len(p) == 1:
		return 0, "", protocolErrorf("close payload of 1 byte")
	}
	code := StatusCode(binary.BigEndian.Uint16(p))
	if !code.validOnWire() {
		return 0, "", protocolErrorf("close code %d is not allowed on the wire", uint16(code))
	}
	reason := p[2:]
	if !utf8.Valid(reason) {
		return 0, "", protocolErrorf("close reason is not valid UTF-8")
	}
	return code, string(reason), nil
}

// appendClosePayload appends a close payload for code and reason. A code that
// may not be sent (1005 among them) gives an empty payload; the reason is cut
// to maxCloseReason bytes at a rune boundary.
func appendClosePayload(dst []byte, code StatusCode, reason string) []byte {
	if !code.validOnWire() {
		return dst
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(code))
	return append(dst, truncateUTF8(reason, maxCloseReason)...)
}

// truncateUTF8 cuts s to at most n bytes without splitting a rune, and
// replaces invalid UTF-8 so that the result is always valid.
func truncateUTF8(s string, n int) string {
	if !utf8.ValidString(s) {
		s = string([]rune(s))
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
