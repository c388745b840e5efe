package frontdoor

import (
	"log/slog"
	"time"
)

// Defaults for the zero values in [Config].
const (
	DefaultMaxHeadBytes    = 16 << 10
	DefaultHeadReadTimeout = 10 * time.Second
	DefaultBodyReadTimeout = 10 * time.Second
)

// Fixed timings of the front door's own replies and sockets.
const (
	initialHeadBuf   = 1 << 10          // first read buffer; grows to MaxHeadBytes
	replyTimeout     = 5 * time.Second  // write deadline for a front-door error reply
	lingerTimeout    = 1 * time.Second  // after a reply, wait this long for the client's EOF
	lingerMaxBytes   = 64 << 10         // ... discarding at most this much input
	keepAliveIdle    = 15 * time.Second // TCP keep-alive: first probe after this idle time
	keepAliveCount   = 4                // ... and this many unanswered probes
	keepAliveSpacing = 15 * time.Second // ... this far apart
)

// Config configures a [Server]. The zero value works.
type Config struct {
	// MaxHeadBytes limits the request head (request line and header
	// fields, through the final CRLF CRLF). A larger head is answered with
	// 431 and the connection closed. Default 16 KiB. It is also the
	// net/http server's MaxHeaderBytes.
	MaxHeadBytes int

	// HeadReadTimeout is the time from accept within which the whole
	// request head must arrive; when it expires the client gets 408 and the
	// connection is closed. Default 10s. Handlers get the connection with no
	// deadline set.
	HeadReadTimeout time.Duration

	// BodyReadTimeout is the time net/http has to read the rest of a
	// request (its body) once the front door handed it over: its
	// http.Server's ReadTimeout. When it expires the read fails and the
	// connection is closed, so a client that announces a body and never
	// sends it holds a connection for this long at most, also when the
	// handler leaves the body unread and net/http drains it after the
	// reply. Once the body is read net/http lifts the deadline, so a
	// handler may then run as long as it likes (a long poll, a stream).
	// A handler that needs longer for the body itself extends it with
	// http.ResponseController.SetReadDeadline. ConnHandlers set their own
	// deadlines. Default 10s.
	BodyReadTimeout time.Duration

	// MaxConnections caps the connections open at once (reading a head, in
	// a ConnHandler, or in net/http). At the cap a new connection gets 503
	// and is closed. 0 or less means unlimited.
	MaxConnections int

	// MaxConnectionsPerIP caps the connections open at once from one
	// client address (for IPv6, one /64 prefix), so that one client cannot
	// take all of MaxConnections. Past it a new connection from that
	// address gets 503 and is closed. Loopback clients (127.0.0.0/8, ::1)
	// are not capped unless CapLoopback is set: a reverse proxy on the
	// same host, and load tests, come from there. 0 or less means
	// unlimited.
	MaxConnectionsPerIP int

	// CapLoopback applies MaxConnectionsPerIP to loopback clients too.
	CapLoopback bool

	// Logger receives the front door's logs and net/http's error log.
	// nil discards them.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.MaxHeadBytes <= 0 {
		c.MaxHeadBytes = DefaultMaxHeadBytes
	}
	if c.HeadReadTimeout <= 0 {
		c.HeadReadTimeout = DefaultHeadReadTimeout
	}
	if c.BodyReadTimeout <= 0 {
		c.BodyReadTimeout = DefaultBodyReadTimeout
	}
	if c.MaxConnections < 0 {
		c.MaxConnections = 0
	}
	if c.MaxConnectionsPerIP < 0 {
		c.MaxConnectionsPerIP = 0
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
