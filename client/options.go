package client

import (
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/switchboard/switchboard/websocket"
)

// An Option configures Dial.
type Option func(*options)

type options struct {
	logger         *slog.Logger
	dial           websocket.DialOptions
	backoff        Backoff
	requestTimeout time.Duration
	onEvent        func(Event)
}

func defaultOptions() options {
	return options{
		logger:         slog.New(slog.DiscardHandler),
		backoff:        ExponentialBackoff(250*time.Millisecond, 10*time.Second),
		requestTimeout: 20 * time.Second,
	}
}

// WithLogger sets the logger for connection events and dropped messages.
// Default: discard.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}

// WithDialOptions sets the WebSocket dial options (headers, origin, TLS,
// compression, queue limits). The subprotocol "protoo" is always offered.
func WithDialOptions(d websocket.DialOptions) Option {
	return func(o *options) { o.dial = d }
}

// A Backoff returns how long to wait before reconnect attempt n (1 for the
// first attempt after a drop). A negative duration stops reconnecting.
type Backoff func(attempt int) time.Duration

// ExponentialBackoff waits initial, then twice as long after each failed
// attempt, up to limit, each wait shortened by up to a fifth at random so
// that many clients dropped together do not come back together.
func ExponentialBackoff(initial, limit time.Duration) Backoff {
	return func(attempt int) time.Duration {
		d := initial
		for i := 1; i < attempt && d < limit; i++ {
			d *= 2
		}
		d = min(d, limit)
		if d > 0 {
			d -= time.Duration(rand.Int64N(int64(d)/5 + 1))
		}
		return d
	}
}

// WithReconnect sets how the client waits between reconnect attempts after
// its connection drops. nil disables reconnecting: the client then ends
// with its first connection. Default: ExponentialBackoff(250ms, 10s).
func WithReconnect(b Backoff) Option {
	return func(o *options) { o.backoff = b }
}

// WithRequestTimeout bounds every request that has no earlier deadline in
// its context. Default 20 s, inside protoo-client's 22.5 s.
func WithRequestTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.requestTimeout = d
		}
	}
}

// WithEventHandler receives the client's connection events (see Event).
// It runs on the client's handler goroutine, in order with notifications.
func WithEventHandler(f func(Event)) Option {
	return func(o *options) { o.onEvent = f }
}
