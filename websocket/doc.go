// Package websocket is Switchboard's own implementation of the WebSocket
// protocol (RFC 6455) with permessage-deflate (RFC 7692), server and client
// side.
//
// # Where to start
//
// The client dials with Dial. A server takes a connection over with Upgrade
// (a net/http handler) or Accept (a server that reads request heads
// itself); IsUpgrade and OffersSubprotocol help it route such requests.
// Either way Conn.Run then reads on the caller's goroutine and hands each
// message to a Handler, and Conn.Send, Conn.SendDroppable and
// Conn.SendMessage queue messages without blocking. A PreparedMessage is
// one message encoded once for any number of connections. Connections end
// with a CloseError (a StatusCode and a reason); ErrClosed, ErrQueueFull
// and ErrBadHandshake are the sentinel errors, and a refused handshake is
// a *HandshakeError carrying the HTTP status it was answered with.
//
// # What is public, and why
//
// The public API is the client, the server half, the message and close
// types and the engine's settings (Config, Metrics, Flusher); nothing else
// is exported. The server half takes public types only. Upgrade takes a
// net/http request, for any Go server. Accept takes a Request: the method,
// version, host and header fields of a request head, which is all the
// handshake reads. It is a small value of public types, not an
// *http.Request, so that a server that parses request heads itself, as
// Switchboard's front door does (it must accept heads net/http refuses:
// see internal/httphead), fills it in from its parser's result with no
// conversion beyond copying four fields, and builds no net/http request on
// the connection-setup path.
//
// The frame codec (frame headers, masking, close payloads, the handshake's
// key helpers) is unexported: its only users are in this package, and
// Switchboard's conformance suite (internal/conformance) keeps a codec of
// its own on purpose, so that an implementation is not checked against
// itself. It is pure all the same: parseHeader, appendHeader, appendFrame,
// maskBytes, parseClosePayload, appendClosePayload and serverHandshake do
// no I/O, and are table-tested and fuzzed.
//
// # The engine
//
// The engine is Conn: one reader (Run, on the caller's goroutine) and a
// bounded queue of already-encoded frames, with no writer goroutine per
// connection (flush.go). Whoever queues a frame on a connection nobody is
// writing takes its write side and writes the queue with non-blocking
// writev: a reply at once on the reader's goroutine, a channel publication
// through a Flusher, which a server owns and shares among its connections
// (Config.Flusher; connections without one share the process's), so that
// a publisher reaching thousands of connections wakes no goroutine per
// recipient and each connection's publications pile up into one writev
// while the flusher is busy. A Flusher needs no stopping: its goroutines
// run only while connections wait for it. A socket that would block gets
// a goroutine of its own that writes with a deadline until the queue is
// empty, taking at most 256 KiB of messages at a time and moving the
// deadline whenever the peer makes progress, so that what it has not
// taken stays droppable. Send never blocks; a message that does not fit
// the queue (its limits bound the backlog: one message always fits an
// empty queue) first evicts the oldest droppable messages (SendDroppable:
// channel publications a client can recover by offset) and otherwise
// closes the connection with 1013 (the slow-consumer rule), counting
// either in Metrics. A PreparedMessage is encoded once, and compressed at
// most once, for any number of connections; a fan-out allocates nothing
// per recipient. An idle connection holds its reader's stack and no
// buffer: read buffers come from a pool while bytes are unread, and frames
// SendMessage encodes (and, with Config.ReuseMessageBuffer, message
// buffers) are pooled too. A message being read holds memory for the
// bytes that arrived, not for the length its frame headers announce: its
// buffer grows as they come, geometrically, so many small fragments cost
// linear time.
//
// Compression is negotiated without context takeover unless
// DeflateConfig.ContextTakeover is set: a compressor that keeps its context
// holds a deflate window and state of several hundred KB per connection,
// which a server with many connections cannot afford, and it would make
// every connection's bytes different, so a broadcast could no longer be
// compressed once for all subscribers.
package websocket
