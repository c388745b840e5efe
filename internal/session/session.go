package session

import (
	"net"

	"github.com/switchboard/switchboard/websocket"
)

// Transport is what the session core sees of one connection.
type Transport interface {
	// Send queues an encoded message. It never blocks; when the peer does
	// not keep up, the transport applies its slow-consumer rule and Send
	// returns an error.
	Send(m *websocket.PreparedMessage) error
	// SendMessage encodes and queues a message for this transport alone
	// (a reply, a notification to one client); data is copied. A
	// websocket.Conn encodes it into a pooled frame.
	SendMessage(op websocket.Opcode, data []byte) error
	// SendDroppable queues a message that the slow-consumer rule may
	// drop, oldest first, instead of closing: a channel publication the
	// client can recover by offset.
	SendDroppable(m *websocket.PreparedMessage) error
	// Close starts an orderly close with a code and a reason after the
	// messages already queued.
	Close(code websocket.StatusCode, reason string)
	// RemoteAddr is the peer's address, for logs.
	RemoteAddr() net.Addr
	// Subprotocol is the negotiated subprotocol, or "".
	Subprotocol() string
}

var _ Transport = (*websocket.Conn)(nil)

// Handler receives a transport's messages, one at a time, in order.
// OnMessage must not block for long: sending never blocks.
type Handler interface {
	OnMessage(t Transport, op websocket.Opcode, data []byte)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(t Transport, op websocket.Opcode, data []byte)

// OnMessage calls f.
func (f HandlerFunc) OnMessage(t Transport, op websocket.Opcode, data []byte) { f(t, op, data) }

// Echo returns the raw echo service: every message goes back verbatim
// with the same opcode. Conformance suites and benchmarks drive it. It
// keeps nothing of data, so it may serve connections with
// websocket.Config.ReuseMessageBuffer: an echo then allocates nothing.
func Echo() Handler { return HandlerFunc(echoRaw) }

func echoRaw(t Transport, op websocket.Opcode, data []byte) { _ = t.SendMessage(op, data) }
