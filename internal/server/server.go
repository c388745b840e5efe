package server

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/switchboard/switchboard/internal/frontdoor"
	"github.com/switchboard/switchboard/internal/httphead"
	"github.com/switchboard/switchboard/internal/session"
	"github.com/switchboard/switchboard/websocket"
)

// Config configures a Server. The zero value works; every field documents
// its default.
type Config struct {
	// AllowedOrigins are the browser origins allowed to open WebSockets
	// besides the server's own ("*", a full origin, or a host pattern like
	// "*.example.com"). Default: same origin only.
	AllowedOrigins []string
	// MaxMessageBytes is the largest message a client may send. Default
	// 1 MiB.
	MaxMessageBytes int64
	// MaxConnections caps open TCP connections; more are answered 503.
	// Default 0: no cap.
	MaxConnections int
	// PingInterval is the WebSocket keepalive interval (default 25 s,
	// negative disables) and PingTimeout how long a peer may stay silent
	// after a ping (default 10 s).
	PingInterval time.Duration
	PingTimeout  time.Duration
	// WriteTimeout bounds every socket write. Default 10 s.
	WriteTimeout time.Duration
	// HeadReadTimeout bounds reading a request head. Default 10 s.
	HeadReadTimeout time.Duration
	// QueueMessages and QueueBytes bound each connection's outbound queue
	// (defaults 1024 messages, 8 MiB); past them the connection is closed
	// with 1013 as a slow consumer.
	QueueMessages int
	QueueBytes    int
	// Deflate configures permessage-deflate. Default: negotiated when the
	// client offers it, without context takeover.
	Deflate websocket.DeflateConfig
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
}

// Server is Switchboard's server: the front door on one listener, the
// WebSocket endpoints and the HTTP handlers.
type Server struct {
	cfg     Config
	log     *slog.Logger
	metrics websocket.Metrics
	fd      *frontdoor.Server
	ws      map[string]session.Handler // WebSocket endpoints by path
	started time.Time
}

// New returns a server for cfg.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, started: time.Now()}
	s.ws = map[string]session.Handler{
		"/echo": session.Echo,
	}
	s.fd = &frontdoor.Server{
		Config: frontdoor.Config{
			HeadReadTimeout: cfg.HeadReadTimeout,
			MaxConnections:  cfg.MaxConnections,
			Logger:          cfg.Logger,
		},
		Route: s.route,
		HTTP:  s.httpHandler(),
	}
	return s
}

// Serve accepts connections on ln until Shutdown; it then returns
// frontdoor.ErrServerClosed.
func (s *Server) Serve(ln net.Listener) error {
	s.log.Info("switchboard serving", "addr", ln.Addr().String())
	return s.fd.Serve(ln)
}

// Shutdown stops accepting, closes every WebSocket with 1001 and waits for
// all connections to end, or for ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.fd.Shutdown(ctx)
}

// Metrics returns the WebSocket counters.
func (s *Server) Metrics() *websocket.Metrics { return &s.metrics }

// route sends WebSocket upgrades to the WebSocket endpoints; everything
// else goes to the HTTP handlers.
func (s *Server) route(req *httphead.Request) frontdoor.ConnHandler {
	if !websocket.IsUpgrade(req) {
		return nil
	}
	h, ok := s.ws[req.Path()]
	if !ok {
		return frontdoor.ConnHandlerFunc(func(_ context.Context, nc net.Conn, _ *httphead.Request, _ []byte) {
			_ = frontdoor.WriteError(nc, http.StatusNotFound, "no WebSocket endpoint at "+req.Path())
			nc.Close()
		})
	}
	return frontdoor.ConnHandlerFunc(func(ctx context.Context, nc net.Conn, req *httphead.Request, buffered []byte) {
		s.serveWebSocket(ctx, nc, req, buffered, h)
	})
}

func (s *Server) acceptOptions() *websocket.AcceptOptions {
	return &websocket.AcceptOptions{
		AllowedOrigins: s.cfg.AllowedOrigins,
		Deflate:        s.cfg.Deflate,
		Config: websocket.Config{
			MaxMessageBytes: s.cfg.MaxMessageBytes,
			PingInterval:    s.cfg.PingInterval,
			PingTimeout:     s.cfg.PingTimeout,
			WriteTimeout:    s.cfg.WriteTimeout,
			QueueMessages:   s.cfg.QueueMessages,
			QueueBytes:      s.cfg.QueueBytes,
			Logger:          s.log,
			Metrics:         &s.metrics,
		},
	}
}

func (s *Server) serveWebSocket(ctx context.Context, nc net.Conn, req *httphead.Request, buffered []byte, h session.Handler) {
	c, err := websocket.Accept(nc, req, buffered, s.acceptOptions())
	if err != nil {
		var he *websocket.HandshakeError
		if errors.As(err, &he) {
			s.log.Info("websocket handshake refused", "remote", nc.RemoteAddr().String(), "status", he.Status, "reason", he.Reason)
		}
		nc.Close()
		return
	}
	_ = c.Run(ctx, websocket.HandlerFunc(func(c *websocket.Conn, op websocket.Opcode, data []byte) {
		h.OnMessage(c, op, data)
	}))
	ce := c.CloseStatus()
	s.log.Debug("websocket closed", "remote", nc.RemoteAddr().String(), "path", req.Path(), "code", uint16(ce.Code), "reason", ce.Reason)
}

func (s *Server) httpHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /stats", s.handleStats)
	mux.HandleFunc("GET /{$}", s.handleIndex)
	return mux
}

// Stats is the JSON served at /stats.
type Stats struct {
	UptimeSeconds  float64 `json:"uptime_seconds"`
	Open           int64   `json:"websocket_open"`
	Opened         int64   `json:"websocket_opened"`
	MessagesIn     int64   `json:"messages_in"`
	MessagesOut    int64   `json:"messages_out"`
	Writes         int64   `json:"writes"`
	SlowConsumers  int64   `json:"slow_consumers"`
	WriteTimeouts  int64   `json:"write_timeouts"`
	DeadPeers      int64   `json:"dead_peers"`
	ProtocolErrors int64   `json:"protocol_errors"`
}

// Stats returns the current counters.
func (s *Server) Stats() Stats {
	m := &s.metrics
	return Stats{
		UptimeSeconds:  time.Since(s.started).Seconds(),
		Open:           m.Open.Load(),
		Opened:         m.Opened.Load(),
		MessagesIn:     m.MessagesIn.Load(),
		MessagesOut:    m.MessagesOut.Load(),
		Writes:         m.Writes.Load(),
		SlowConsumers:  m.SlowConsumers.Load(),
		WriteTimeouts:  m.WriteTimeouts.Load(),
		DeadPeers:      m.DeadPeers.Load(),
		ProtocolErrors: m.ProtocolErrors.Load(),
	}
}

func (s *Server) handleStats(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(s.Stats())
}

func (s *Server) handleIndex(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte(indexPage))
}

const indexPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Switchboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto">
<h1>Switchboard</h1>
<p>A real-time server. Endpoints on this port:</p>
<ul>
<li><code>/echo</code>: WebSocket echo; every message comes back with the same opcode</li>
<li><code>/healthz</code>: health check</li>
<li><code>/stats</code>: counters as JSON</li>
</ul>
</body></html>
`
