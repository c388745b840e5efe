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
	// WriteTimeout bounds each batched write to the socket. A peer that
	// does not take the bytes in time is dropped. Default 10 s.
	WriteTimeout time.Duration
	// CloseTimeout is how long the close handshake may take before the
	// TCP connection is closed anyway. Default 5 s.
	CloseTimeout time.Duration
	// QueueMessages and QueueBytes bound the outbound queue. A Send that
	// would pass either limit first evicts the oldest droppable messages
	// (SendDroppable), counted in Metrics.Dropped; when that is not enough
	// the slow-consumer rule closes the connection with 1013 and counts
	// it. Defaults 1024 messages and 8 MiB.
	QueueMessages int
	QueueBytes    int
	// BatchDelay is how long the writer lets droppable messages (channel
	// publications, SendDroppable) gather before it writes them, so that
	// a busy channel's frames go out many to a writev instead of one
	// write per publication per subscriber. It trades up to BatchDelay of
	// delivery latency for throughput under heavy fan-out. The wait ends
	// early when the connection closes; replies and control frames queued
	// while nothing else waits are written at once. Default 0: no wait.
	BatchDelay time.Duration
	// ReadBufferSize is the size of the read buffer. Default 4 KiB.
	ReadBufferSize int
	// FragmentSize is the largest outgoing frame payload; longer messages
	// are fragmented. Default 1 MiB.
	FragmentSize int
	// Logger receives connection-level events; nil discards them.
	Logger *slog.Logger
	// Metrics, when set, counts this connection's events. One Metrics is
	// usually shared by all connections of a server.
	Metrics *Metrics
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
	return c
}

// Metrics counts connection events. All fields are updated atomically and
// may be read at any time.
type Metrics struct {
	Open           atomic.Int64 // connections open now
	Opened         atomic.Int64 // connections opened in all
	MessagesIn     atomic.Int64
	MessagesOut    atomic.Int64
	BytesIn        atomic.Int64 // payload bytes received, before decompression
	BytesOut       atomic.Int64 // frame bytes written
	Writes         atomic.Int64 // batched socket writes (one writev each)
	SlowConsumers  atomic.Int64 // connections closed by the slow-consumer rule
	Dropped        atomic.Int64 // droppable messages evicted from full queues (SendDroppable)
	WriteTimeouts  atomic.Int64 // connections dropped for a write deadline
	DeadPeers      atomic.Int64 // connections dropped for missing pongs
	ProtocolErrors atomic.Int64 // connections failed with 1002, 1007 or 1009
}
