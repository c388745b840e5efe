// Package httphead parses HTTP/1.x request and response heads (the start
// line plus header fields, up to and including the first CRLF CRLF).
//
// It is a pure codec: no I/O, no state between calls. Start with
// [ParseRequest]; the front door calls it after every read until it returns
// something other than [ErrIncomplete].
//
// The request parser is deliberately lenient where WebRTC's native
// peerconnection client needs it (see docs/peerconnection.md) and
// strict everywhere else:
//
//   - the method is any RFC 9110 token, followed by exactly one SP or HTAB;
//   - the target is the bytes up to the next SP, HTAB or end of line, kept
//     raw (never percent-decoded), so "GET /sign_in?John Doe@pc HTTP/1.0"
//     has target "/sign_in?John";
//   - the version is optional: the last word of the line is used when it is
//     "HTTP/x.y", and otherwise ignored;
//   - no header is required (HTTP/1.0 and HTTP/1.1 without Host parse fine).
//
// Rejected with a 400 [*Error]: bare LF or bare CR line endings, control
// bytes (other than HTAB) anywhere in the head, an empty or non-token method,
// an empty target, header lines without ':' or with a non-token name
// (including whitespace before the colon), and obsolete line folding. A head
// that does not end within max bytes is a 431 [*Error].
//
// Errors in the bytes already received are reported as soon as they are
// seen, even before the head is complete, so a client sending bare-LF lines
// gets its 400 at once instead of waiting for a timeout.
package httphead
