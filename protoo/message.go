package protoo

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// Kind is the shape of a protoo message.
type Kind int

// The message kinds; KindUnknown is the zero value.
const (
	KindUnknown Kind = iota
	KindRequest
	KindResponse
	KindNotification
)

// String returns the kind's wire name.
func (k Kind) String() string {
	switch k {
	case KindRequest:
		return "request"
	case KindResponse:
		return "response"
	case KindNotification:
		return "notification"
	}
	return "unknown"
}

// Message is a parsed protoo message: a *Request, *Response or
// *Notification.
type Message interface {
	Kind() Kind
}

// Request is {"request":true,"id":N,"method":M,"data":D}.
type Request struct {
	// ID is the request id exactly as the JSON number token it was sent
	// as (docs/protoo.md): echo it unchanged.
	ID     json.RawMessage
	Method string
	// Data is never empty: a missing or falsy data is {}.
	Data json.RawMessage
}

// Response is a success {"response":true,"id":N,"ok":true,"data":D} or an
// error {"response":true,"id":N,"ok":false,"errorCode":C,"errorReason":R}.
type Response struct {
	ID          json.RawMessage
	OK          bool
	Data        json.RawMessage // on success; {} when missing or falsy
	ErrorCode   ErrorCode       // on error; 0 when missing
	ErrorReason string          // on error; "" when missing
}

// Err returns the response's error as an *Error, or nil on success.
func (r *Response) Err() error {
	if r.OK {
		return nil
	}
	return &Error{Code: r.ErrorCode, Reason: r.ErrorReason}
}

// Notification is {"notification":true,"method":M,"data":D}.
type Notification struct {
	Method string
	Data   json.RawMessage // {} when missing or falsy
}

// Kind returns KindRequest.
func (*Request) Kind() Kind { return KindRequest }

// Kind returns KindResponse.
func (*Response) Kind() Kind { return KindResponse }

// Kind returns KindNotification.
func (*Notification) Kind() Kind { return KindNotification }

var emptyObject = json.RawMessage(`{}`)

// Parse decodes one message by the rules of docs/protoo.md: the
// input must be a JSON object; a truthy request (checked first) needs a
// string method and a number id; else a truthy response needs a number id;
// else a truthy notification needs a string method. Anything else is an
// error wrapping ErrInvalid. Parse does not keep b.
//
// Parse reads the object's members with a flat scan instead of
// json.Unmarshal: encoding/json's reflective decoder needs over 2 KB of
// stack, and Parse runs on every connection's reader goroutine, whose stack
// the runtime never shrinks back once a message has grown it.
func Parse(b []byte) (Message, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil, invalid("empty")
	}
	if b[0] != '{' {
		if !json.Valid(b) {
			return nil, invalid("not JSON")
		}
		return nil, invalid("not a JSON object")
	}
	if !json.Valid(b) {
		return nil, notJSON(b)
	}
	var f members
	f.scan(b)
	switch {
	case truthy(f.request):
		id, err := number(f.id)
		if err != nil {
			return nil, err
		}
		m, err := str(f.method, "method")
		if err != nil {
			return nil, err
		}
		return &Request{ID: id, Method: m, Data: data(f.data)}, nil
	case truthy(f.response):
		id, err := number(f.id)
		if err != nil {
			return nil, err
		}
		r := &Response{ID: id, OK: truthy(f.ok)}
		if r.OK {
			r.Data = data(f.data)
			return r, nil
		}
		if n, err := number(f.errorCode); err == nil {
			if v, err := strconv.ParseFloat(string(n), 64); err == nil {
				r.ErrorCode = ErrorCode(int(v))
			}
		}
		if s, err := str(f.errorReason, "errorReason"); err == nil {
			r.ErrorReason = s
		}
		return r, nil
	case truthy(f.notification):
		m, err := str(f.method, "method")
		if err != nil {
			return nil, err
		}
		return &Notification{Method: m, Data: data(f.data)}, nil
	}
	return nil, invalid("neither request, response nor notification")
}

// notJSON is the error for b, which is not valid JSON.
func notJSON(b []byte) error {
	var f map[string]json.RawMessage
	// json.Unmarshal finds the syntax error before it decodes anything.
	return invalid("not JSON: %v", json.Unmarshal(b, &f))
}

// members are the values of the members of a message that Parse reads,
// as slices of its input; nil when missing. A repeated name keeps its last
// value, as json.Unmarshal into a map does.
type members struct {
	request, response, notification json.RawMessage
	id, method, data, ok            json.RawMessage
	errorCode, errorReason          json.RawMessage
}

// scan fills f from the JSON object b, which must be valid JSON.
func (f *members) scan(b []byte) {
	i := skipSpace(b, 1)
	for i < len(b) && b[i] == '"' {
		end := stringEnd(b, i)
		name := b[i:end]
		i = skipSpace(b, skipSpace(b, end)+1) // past the colon
		end = valueEnd(b, i)
		f.set(name, b[i:end])
		i = skipSpace(b, end)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
}

// set records value v for the member named by the JSON string name.
func (f *members) set(name, v json.RawMessage) {
	var key string
	if bytes.IndexByte(name, '\\') < 0 {
		key = string(name[1 : len(name)-1])
	} else if err := json.Unmarshal(name, &key); err != nil {
		return
	}
	switch key {
	case "request":
		f.request = v
	case "response":
		f.response = v
	case "notification":
		f.notification = v
	case "id":
		f.id = v
	case "method":
		f.method = v
	case "data":
		f.data = v
	case "ok":
		f.ok = v
	case "errorCode":
		f.errorCode = v
	case "errorReason":
		f.errorReason = v
	}
}

// skipSpace returns the index of the first byte of b at or after i that is
// not JSON whitespace.
func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// stringEnd returns the index just past the valid JSON string at b[i].
func stringEnd(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// valueEnd returns the index just past the valid JSON value at b[i].
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = stringEnd(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return len(b)
	}
	for ; i < len(b); i++ { // a number, true, false or null
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
	}
	return i
}

// truthy is JavaScript truthiness of a JSON value; a missing one is false.
func truthy(v json.RawMessage) bool {
	if len(v) == 0 {
		return false
	}
	switch v[0] {
	case 't', '{', '[':
		return true
	case 'f', 'n':
		return false
	case '"':
		return len(v) > 2
	}
	f, err := strconv.ParseFloat(string(v), 64)
	return err != nil || f != 0 // a number too large to parse is non-zero
}

// number returns v when it is a JSON number token.
func number(v json.RawMessage) (json.RawMessage, error) {
	if len(v) == 0 {
		return nil, invalid("missing id")
	}
	if c := v[0]; c != '-' && (c < '0' || c > '9') {
		return nil, invalid("id is not a number")
	}
	return bytes.Clone(v), nil
}

// str decodes a JSON string.
func str(v json.RawMessage, field string) (string, error) {
	if len(v) == 0 || v[0] != '"' {
		return "", invalid("%s is not a string", field)
	}
	if len(v) >= 2 && bytes.IndexByte(v[1:len(v)-1], '\\') < 0 && utf8.Valid(v[1:len(v)-1]) {
		return string(v[1 : len(v)-1]), nil // nothing to unescape
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", invalid("%s: %v", field, err)
	}
	return s, nil
}

// data returns v, or {} when it is missing or falsy.
func data(v json.RawMessage) json.RawMessage {
	if !truthy(v) {
		return emptyObject
	}
	return bytes.Clone(v)
}

// AppendRequest appends a request. id must be a JSON number token; data
// must be valid JSON or empty (then {}).
func AppendRequest(dst []byte, id json.RawMessage, method string, data json.RawMessage) []byte {
	dst = append(dst, `{"request":true,"id":`...)
	dst = append(dst, id...)
	dst = append(dst, `,"method":`...)
	dst = appendString(dst, method)
	dst = append(dst, `,"data":`...)
	return append(appendData(dst, data), '}')
}

// AppendResponse appends a success response echoing id.
func AppendResponse(dst []byte, id json.RawMessage, data json.RawMessage) []byte {
	dst = append(dst, `{"response":true,"id":`...)
	dst = append(dst, id...)
	dst = append(dst, `,"ok":true,"data":`...)
	return append(appendData(dst, data), '}')
}

// AppendError appends an error response echoing id, always with "ok":false.
func AppendError(dst []byte, id json.RawMessage, code ErrorCode, reason string) []byte {
	dst = append(dst, `{"response":true,"id":`...)
	dst = append(dst, id...)
	dst = append(dst, `,"ok":false,"errorCode":`...)
	dst = strconv.AppendInt(dst, int64(code), 10)
	dst = append(dst, `,"errorReason":`...)
	dst = appendString(dst, reason)
	return append(dst, '}')
}

// AppendNotification appends a notification.
func AppendNotification(dst []byte, method string, data json.RawMessage) []byte {
	dst = append(dst, `{"notification":true,"method":`...)
	dst = appendString(dst, method)
	dst = append(dst, `,"data":`...)
	return append(appendData(dst, data), '}')
}

// Marshal encodes v as data for the Append functions; nil becomes {}.
func Marshal(v any) (json.RawMessage, error) {
	if v == nil {
		return emptyObject, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if string(b) == "null" {
		return emptyObject, nil
	}
	return b, nil
}

func appendData(dst []byte, data json.RawMessage) []byte {
	if len(data) == 0 || string(data) == "null" {
		return append(dst, '{', '}')
	}
	return append(dst, data...)
}

func appendString(dst []byte, s string) []byte {
	b, _ := json.Marshal(s) // a string always marshals
	return append(dst, b...)
}
