// Package websocket is Switchboard's own implementation of the WebSocket
// protocol (RFC 6455) with permessage-deflate (RFC 7692), server and client
// side.
//
// The codec is pure: parseHeader, appendHeader, appendFrame, maskBytes,
// parseClosePayload and appendClosePayload do no I/O, and ServerHandshake
// turns a request head into the 101 reply or a *HandshakeError carrying the
// HTTP status to answer with. They are table-tested and fuzzed.
//
// The engine is Conn: one reader (Run, on the caller's goroutine) and a
// bounded queue of already-encoded frames, with no writer goroutine per
// connection (flush.go). Whoever queues a frame on a connection nobody is
// writing takes its write side and writes the queue with non-blocking
// writev: a reply at once on the reader's goroutine, a channel publication
// through a shared flusher per CPU, so that a publisher reaching thousands
// of connections wakes no goroutine per recipient and each connection's
// publications pile up into one writev while the flusher is busy. A socket
// that would block gets a goroutine of its own that writes with a
// deadline until the queue is empty, taking at most 256 KiB of messages
// at a time and moving the deadline whenever the peer makes progress, so
// that what it has not taken stays droppable. Send never blocks; a
// message that does not fit the queue (its limits bound the backlog: one
// message always fits an empty queue) first evicts the oldest droppable
// messages (SendDroppable: channel publications a client can recover by
// offset) and otherwise closes the connection with 1013 (the
// slow-consumer rule), counting either in Metrics. A PreparedMessage is
// encoded once, and compressed at most once, for any number of
// connections; a fan-out allocates nothing per recipient. An idle
// connection holds its reader's stack and no buffer: read buffers come
// from a pool while bytes are unread, and frames SendMessage encodes (and,
// with Config.ReuseMessageBuffer, message buffers) are pooled too. A
// message being read holds memory for the bytes that arrived, not for
// the length its frame headers announce: its buffer grows as they come,
// geometrically, so many small fragments cost linear time.
//
// Start with Accept (server side, after the front door has read the request
// head) or Dial (client side), then Conn.Run with a Handler.
//
// Compression is negotiated without context takeover unless
// DeflateConfig.ContextTakeover is set: a compressor that keeps its context
// holds a deflate window and state of several hundred KB per connection,
// which a server with many connections cannot afford, and it would make
// every connection's bytes different, so a broadcast could no longer be
// compressed once for all subscribers.
package websocket
