package websocket

import (
	"log/slog"
	"sync/atomic"
	"time"
)

// Config holds the per-connection settings of the engine. The zero value
// works: every field documents its default.
type Config struct {
	// MaxMessageBytes is the largest message accepted, after
	// decompression; a larger one closes the connection with 1009.
	// Default 1 MiB.
	MaxMessageBytes int64
	// PingInterval is how often a ping is sent. Default 25 s; negative
	// disables keepalive.
	PingInterval time.Duration
	// PingTimeout is how long after a ping the peer has to send anything
	// (a pong or data) before it is dropped as dead. Default 10 s.
	PingTimeout time.Duration
	// WriteTimeout is how long a write to the socket may make no
	// progress: a peer that takes no bytes for that long (up to twice
	// that when it stopped in the middle of a write) is dropped. It does
	// not bound a whole batch: the writer takes at most 256 KiB of
	// queued messages at a time and writes them in pieces of at most
	// 256 KiB, each bit of progress moving the deadline, so a slow but
	// steady reader keeps its connection and loses only droppable
	// messages (QueueBytes). Default 10 s.
	WriteTimeout time.Duration
	// CloseTimeout is how long the close handshake may take before the
	// TCP connection is closed anyway. Default 5 s.
	CloseTimeout time.Duration
	// QueueMessages and QueueBytes bound the outbound queue: the messages
	// waiting for the writer, not those it is writing. They bound the
	// backlog, not the size of one message: a message always fits an
	// empty queue, however large (MaxMessageBytes bounds what a peer can
	// make the server echo), and is refused only when the queue already
	// holds QueueMessages messages, or holds something and the message
	// would take it past QueueBytes. A Send that does not fit first
	// evicts the oldest droppable messages (SendDroppable), counted in
	// Metrics.Dropped; when that is not enough the slow-consumer rule
	// closes the connection with 1013 and counts it. The same rule holds
	// for replies and publications alike. Defaults 1024 messages and
	// 8 MiB.
	QueueMessages int
	QueueBytes    int
	// BatchDelay is how long droppable messages (channel publications,
	// SendDroppable) queued on an idle connection may wait before they
	// are written, so that a busy channel's frames go out many to a writev
	// instead of one write per publication per subscriber. Without it the
	// shared flusher writes at once and batches only what piled up while
	// it was busy, which under heavy fan-out is already most of the gain;
	// BatchDelay trades up to its length of delivery latency for fewer
	// writes at moderate load. Whatever else is queued meanwhile (replies,
	// pings, a close) goes out with the batch; a reply queued while nothing
	// waits is written at once. One timer per flusher serves all
	// connections. Default 0: no wait.
	BatchDelay time.Duration
	// ReuseMessageBuffer lends OnMessage its data instead of giving it:
	// the slice is valid only until OnMessage returns, and the reader
	// assembles the next message in the same pooled memory, so a message
	// costs no allocation. Default false: data belongs to the handler.
	ReuseMessageBuffer bool
	// ReadBufferSize is the size of the read buffer, borrowed from a pool
	// only while it holds unread bytes. Default 4 KiB.
	ReadBufferSize int
	// FragmentSize is the largest outgoing frame payload; longer messages
	// are fragmented. Default 1 MiB.
	FragmentSize int
	// Logger receives connection-level events; nil discards them.
	Logger *slog.Logger
	// Metrics, when set, counts this connection's events. One Metrics is
	// usually shared by all connections of a server.
	Metrics *Metrics
	// Flusher writes this connection's channel publications
	// (SendDroppable) and BatchDelay rounds. One Flusher is usually shared
	// by all connections of a server (NewFlusher). Default: a Flusher
	// shared by every connection of the process that has none.
	Flusher *Flusher
}

func (c Config) withDefaults() Config {
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = 1 << 20
	}
	if c.PingInterval == 0 {
		c.PingInterval = 25 * time.Second
	}
	if c.PingTimeout <= 0 {
		c.PingTimeout = 10 * time.Second
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.CloseTimeout <= 0 {
		c.CloseTimeout = 5 * time.Second
	}
	if c.QueueMessages <= 0 {
		c.QueueMessages = 1024
	}
	if c.QueueBytes <= 0 {
		c.QueueBytes = 8 << 20
	}
	if c.ReadBufferSize <= 0 {
		c.ReadBufferSize = 4096
	}
	if c.FragmentSize <= 0 {
		c.FragmentSize = 1 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Metrics == nil {
		c.Metrics = new(Metrics)
	}
	if c.Flusher == nil {
		c.Flusher = defaultFlusher()
	}
	return c
}

// Metrics counts connection events. All fields are updated atomically and
// may be read at any time.
type Metrics struct {
	Open           atomic.Int64 // connections open now
	Opened         atomic.Int64 // connections opened in all
	MessagesIn     Counter
	MessagesOut    Counter
	BytesIn        Counter      // payload bytes received, before decompression
	BytesOut       Counter      // frame bytes written
	Writes         Counter      // socket writes (one writev each)
	BlockedWrites  atomic.Int64 // times a full socket made writes wait for a slow reader
	SlowConsumers  atomic.Int64 // connections closed by the slow-consumer rule
	Dropped        atomic.Int64 // droppable messages evicted from full queues (SendDroppable)
	WriteTimeouts  atomic.Int64 // connections dropped for a write deadline
	DeadPeers      atomic.Int64 // connections dropped for missing pongs
	ProtocolErrors atomic.Int64 // connections failed with 1002, 1007 or 1009
}

// counterCells is how many cells a Counter spreads its adds over.
const counterCells = 8

// Counter is a counter that every connection adds to on every message.
// One shared atomic would be one cache line the cores pass back and forth
// several times per message; a Counter spreads the adds over cells of a
// cache line each, a connection always using the same cell, and Load sums
// them.
type Counter struct {
	cells [counterCells]struct {
		n atomic.Int64
		_ [56]byte // a cell per 64-byte cache line
	}
}

// add adds n in the given cell.
func (c *Counter) add(cell uint32, n int64) { c.cells[cell%counterCells].n.Add(n) }

// Load returns the sum of the cells.
func (c *Counter) Load() int64 {
	var sum int64
	for i := range c.cells {
		sum += c.cells[i].n.Load()
	}
	return sum
}
