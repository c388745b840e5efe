package peerconn

import "strconv"

// Status lines (without "HTTP/1.1 ") of the reference server and of
// Switchboard's own answers to bad input (docs/peerconnection.md, "Requests").
const (
	StatusAdded          = "200 Added"
	StatusOK             = "200 OK"
	StatusError          = "500 Error"
	StatusSorry          = "500 Sorry"
	StatusBadRequest     = "400 Bad Request"
	StatusNotAllowed     = "405 Method Not Allowed"
	StatusTimeout        = "408 Request Timeout"
	StatusTooLarge       = "413 Payload Too Large"
	StatusHeadTooLarge   = "431 Request Header Fields Too Large"
	StatusUnavailable    = "503 Service Unavailable"
	statusContinueHeader = "HTTP/1.1 100 Continue\r\n\r\n"
)

// Bodies of the reference server (docs/peerconnection.md, "Responses").
const (
	BodyPeerGone = "Peer most likely gone."
	BodySorry    = "<html><body>Sorry, not yet implemented</body></html>"
	BodyQuitting = "<html><body>Quitting...</body></html>"
	BodyShutdown = "Server shutting down"
)

const (
	typeText = "text/plain"
	typeHTML = "text/html"
)

// The fixed parts of every response (docs/peerconnection.md, "Responses"):
// [HDR] and [CORS].
const (
	hdrBlock = "\r\nServer: PeerConnectionTestServer/0.1" +
		"\r\nCache-Control: no-cache" +
		"\r\nConnection: close"
	corsBlock = "\r\nAccess-Control-Allow-Origin: *" +
		"\r\nAccess-Control-Allow-Credentials: true" +
		"\r\nAccess-Control-Allow-Methods: POST, GET, OPTIONS" +
		"\r\nAccess-Control-Allow-Headers: Content-Type, Content-Length, Connection, Cache-Control" +
		"\r\nAccess-Control-Expose-Headers: Content-Length" +
		"\r\n\r\n"
)

// AppendResponse appends one complete response in the reference server's
// byte-exact layout (docs/peerconnection.md, "Responses") to b and returns the
// result:
//
//	HTTP/1.1 <status>
//	Server, Cache-Control, Connection
//	Content-Type: <contentType>    (only when contentType is not empty)
//	Content-Length: <len(body)>
//	Pragma: <pragma>               (only when pragma is not 0)
//	the five Access-Control-* lines
//
//	<body>
//
// status is a status line without the protocol, such as [StatusAdded].
func AppendResponse(b []byte, status, contentType string, pragma int, body []byte) []byte {
	b = append(b, "HTTP/1.1 "...)
	b = append(b, status...)
	b = append(b, hdrBlock...)
	if contentType != "" {
		b = append(b, "\r\nContent-Type: "...)
		b = append(b, contentType...)
	}
	b = append(b, "\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	if pragma != 0 {
		b = append(b, "\r\nPragma: "...)
		b = strconv.AppendInt(b, int64(pragma), 10)
	}
	b = append(b, corsBlock...)
	return append(b, body...)
}

// response returns a freshly allocated response.
func response(status, contentType string, pragma int, body []byte) []byte {
	n := len(hdrBlock) + len(corsBlock) + len(status) + len(contentType) + len(body) + 64
	return AppendResponse(make([]byte, 0, n), status, contentType, pragma, body)
}

// errorResponse is Switchboard's answer to input the reference server never
// answers (docs/peerconnection.md, "Where Switchboard differs"): the reference
// layout, text/plain and a one-line reason.
func errorResponse(status, reason string) []byte {
	return response(status, typeText, 0, []byte(reason+"\n"))
}

// Canned responses that never change.
var (
	respSorry    = response(StatusSorry, typeHTML, 0, []byte(BodySorry))
	respPeerGone = response(StatusError, typeText, 0, []byte(BodyPeerGone))
	respOptions  = response(StatusOK, "", 0, nil)
	respEmptyOK  = response(StatusOK, typeText, 0, nil)
	respQuitting = response(StatusOK, typeHTML, 0, []byte(BodyQuitting))
	respShutdown = response(StatusOK, typeText, 0, []byte(BodyShutdown))
)

// appendEntry appends one member entry, "name,id,connected\n"
// (docs/peerconnection.md, "Members, queues and expiry").
func appendEntry(b []byte, name string, id int, connected bool) []byte {
	b = append(b, name...)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(id), 10)
	if connected {
		return append(b, ",1\n"...)
	}
	return append(b, ",0\n"...)
}
