// Package protoo is a pure codec for the protoo JSON message format
// (docs/protoo.md): requests, responses and notifications, one JSON
// object per WebSocket text frame.
//
// Parse decodes one message with the parsing rules of the reference
// libraries (loose JavaScript truthiness for the flags and ok, a number id
// kept as its exact JSON token, a falsy data becoming {}) and returns a
// *Request, *Response or *Notification, or an error wrapping ErrInvalid.
// The Append* functions encode; they never produce "data":null and always
// write "ok":false on an error response.
//
// Error codes are typed (ErrorCode) and *Error carries a code and a reason;
// Switchboard's messaging services return them and the client library
// reports them.
package protoo
