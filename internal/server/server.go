package server

import (
	"context"
	"errors"
	"expvar"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/frontdoor"
	"github.com/switchboard/switchboard/internal/httphead"
	"github.com/switchboard/switchboard/internal/peerconn"
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
	// MaxConnectionsPerIP caps open TCP connections from one client
	// address (IPv6: one /64); more are answered 503. Loopback clients are
	// exempt. Default 0: no cap (frontdoor.Config.MaxConnectionsPerIP).
	MaxConnectionsPerIP int
	// PingInterval is the WebSocket keepalive interval (default 25 s,
	// negative disables) and PingTimeout how long a peer may stay silent
	// after a ping (default 10 s).
	PingInterval time.Duration
	PingTimeout  time.Duration
	// WriteTimeout is how long a WebSocket write may make no progress
	// (websocket.Config.WriteTimeout) and bounds each peerconnection
	// response. Default 10 s.
	WriteTimeout time.Duration
	// HeadReadTimeout bounds reading a request head. Default 10 s.
	HeadReadTimeout time.Duration
	// QueueMessages and QueueBytes bound each connection's outbound queue
	// (defaults 1024 messages, 8 MiB): the backlog, not one message, which
	// always fits an empty queue. Past them the oldest queued channel
	// publications are dropped, and when that is not enough the connection
	// is closed with 1013 as a slow consumer (websocket.Config.QueueBytes).
	QueueMessages int
	QueueBytes    int
	// BatchDelay lets channel publications gather this long on a
	// connection before they are written, many to a writev
	// (websocket.Config.BatchDelay). Default 0: written at once.
	BatchDelay time.Duration
	// DebugVars serves Go's runtime statistics (expvar: memstats and the
	// command line) at /debug/vars. Default off: they are for operators
	// and `switchboard bench`, not for every client of the port.
	DebugVars bool
	// Deflate configures permessage-deflate. Default: negotiated when the
	// client offers it, without context takeover.
	Deflate websocket.DeflateConfig
	// PeerConn configures the WebRTC peerconnection signaling service
	// (/sign_in, /sign_out, /wait, /message, /quit and every OPTIONS
	// request). The zero value follows docs/peerconnection.md: /quit
	// disabled, 30 s expiry, 1 MiB bodies, queues of 1000 items or 8 MiB,
	// 10000 members. Its Logger and WriteTimeout default to Logger and
	// WriteTimeout; its OnQuit is called
	// after Quit is closed.
	PeerConn peerconn.Config
	// Messaging configures the native messaging protocol on /ws and on
	// every upgrade offering the protoo subprotocol (login, echo, routed
	// messages, channels; docs/messaging.md).
	Messaging MessagingConfig
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
}

// Server is Switchboard's server: the front door on one listener, the
// WebSocket endpoints and the HTTP handlers.
type Server struct {
	cfg     Config
	log     *slog.Logger
	metrics websocket.Metrics
	flusher *websocket.Flusher // writes its connections' publications
	fd      *frontdoor.Server
	pc      *peerconn.Service
	ws      map[string]session.Handler // raw WebSocket endpoints by path
	msg     *messaging
	started time.Time

	quitOnce sync.Once
	quit     chan struct{} // closed by an allowed peerconnection /quit
}

// New returns a server for cfg.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, flusher: websocket.NewFlusher(), started: time.Now(), quit: make(chan struct{})}
	pcc := cfg.PeerConn
	if pcc.Logger == nil {
		pcc.Logger = cfg.Logger
	}
	if pcc.WriteTimeout == 0 {
		pcc.WriteTimeout = cfg.WriteTimeout
	}
	onQuit := pcc.OnQuit
	pcc.OnQuit = func() {
		s.quitOnce.Do(func() { close(s.quit) })
		if onQuit != nil {
			onQuit()
		}
	}
	s.pc = peerconn.New(pcc)
	// The raw endpoints' handlers keep nothing of a message's data after
	// the call: their connections reuse message buffers.
	s.ws = map[string]session.Handler{
		"/echo": session.Echo(),
	}
	s.msg = newMessaging(s)
	s.fd = &frontdoor.Server{
		Config: frontdoor.Config{
			HeadReadTimeout: cfg.HeadReadTimeout,
			MaxConnections:  cfg.MaxConnections,
			Logger:          cfg.Logger,
		},
		Route: s.route,
		HTTP:  s.httpHandler(),
	}
	s.fd.MaxConnectionsPerIP = cfg.MaxConnectionsPerIP
	return s
}

// Serve accepts connections on ln until Shutdown; it then returns
// frontdoor.ErrServerClosed.
func (s *Server) Serve(ln net.Listener) error {
	s.log.Debug("switchboard serving", "addr", ln.Addr().String())
	s.msg.start(s)
	return s.fd.Serve(ln)
}

// Shutdown stops accepting, closes every WebSocket with 1001, answers every
// parked peerconnection /wait with "Server shutting down" and waits for all
// connections to end, or for ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	s.msg.close()
	err := s.fd.Shutdown(ctx)
	s.pc.Close()
	return err
}

// Quit is closed when a peerconnection client sent an allowed /quit (see
// peerconn.Config.AllowQuit): the caller should then shut the server down.
func (s *Server) Quit() <-chan struct{} { return s.quit }

// PeerConn returns the peerconnection signaling service.
func (s *Server) PeerConn() *peerconn.Service { return s.pc }

// Metrics returns the WebSocket counters.
func (s *Server) Metrics() *websocket.Metrics { return &s.metrics }

// route sends WebSocket upgrades to the raw WebSocket endpoints (/echo) or
// the messaging protocol (/ws, and any path offering protoo), the
// peerconnection routes (and every OPTIONS request) to the peerconnection
// service; everything else goes to the HTTP handlers.
func (s *Server) route(req *httphead.Request) frontdoor.ConnHandler {
	if !websocket.IsUpgrade(req.Header) {
		if peerconn.IsRoute(req.Method, req.Target) {
			return s.pc
		}
		return nil
	}
	p, err := endpointPath(req.Target)
	if err != nil {
		return refuseUpgrade(http.StatusBadRequest, "invalid request target")
	}
	h, ok := s.ws[p]
	if !ok {
		if isMessaging(p, req) {
			return frontdoor.ConnHandlerFunc(s.serveMessaging)
		}
		return refuseUpgrade(http.StatusNotFound, "no WebSocket endpoint at "+p)
	}
	return frontdoor.ConnHandlerFunc(func(ctx context.Context, nc net.Conn, req *httphead.Request, buffered []byte) {
		s.serveWebSocket(ctx, nc, req, buffered, h)
	})
}

// endpointPath returns the path a request target addresses, as RFC 9112
// §3.2 reads it (origin-form or absolute-form), percent-decoded and with
// dot segments removed, so that /echo, /%65cho, /./echo and
// http://host/echo all name the same endpoint.
func endpointPath(target string) (string, error) {
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return "", err
	}
	if u.Path == "" {
		return "/", nil
	}
	return path.Clean(u.Path), nil
}

// refuseUpgrade answers an upgrade request that has no endpoint.
func refuseUpgrade(status int, reason string) frontdoor.ConnHandler {
	return frontdoor.ConnHandlerFunc(func(_ context.Context, nc net.Conn, _ *httphead.Request, _ []byte) {
		_ = frontdoor.WriteError(nc, status, reason)
	})
}

func (s *Server) acceptOptions() *websocket.AcceptOptions {
	return &websocket.AcceptOptions{
		// protoo is echoed when offered (docs/protoo.md): a
		// browser fails a connection that asked for a subprotocol and
		// got none.
		Subprotocols:   []string{"protoo"},
		AllowedOrigins: s.cfg.AllowedOrigins,
		Deflate:        s.cfg.Deflate,
		Config: websocket.Config{
			MaxMessageBytes: s.cfg.MaxMessageBytes,
			PingInterval:    s.cfg.PingInterval,
			PingTimeout:     s.cfg.PingTimeout,
			WriteTimeout:    s.cfg.WriteTimeout,
			QueueMessages:   s.cfg.QueueMessages,
			QueueBytes:      s.cfg.QueueBytes,
			BatchDelay:      s.cfg.BatchDelay,
			Logger:          s.log,
			Metrics:         &s.metrics,
			Flusher:         s.flusher,
		},
	}
}

// accept completes a WebSocket handshake; a refusal has been answered and
// logged when it returns nil.
func (s *Server) accept(nc net.Conn, req *httphead.Request, buffered []byte, opts *websocket.AcceptOptions) *websocket.Conn {
	wreq := websocket.Request{Method: req.Method, ProtoMajor: req.Major, ProtoMinor: req.Minor, Header: req.Header}
	c, err := websocket.Accept(nc, &wreq, buffered, opts)
	if err != nil {
		var he *websocket.HandshakeError
		if errors.As(err, &he) {
			s.log.Info("websocket handshake refused", "remote", nc.RemoteAddr().String(), "status", he.Status, "reason", he.Reason)
		}
		nc.Close()
		return nil
	}
	return c
}

func (s *Server) serveWebSocket(ctx context.Context, nc net.Conn, req *httphead.Request, buffered []byte, h session.Handler) {
	opts := s.acceptOptions()
	opts.Config.ReuseMessageBuffer = true // see s.ws
	c := s.accept(nc, req, buffered, opts)
	if c == nil {
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
	mux.HandleFunc("GET /config.json", s.handleClientConfig)
	if s.cfg.DebugVars {
		// Go memory statistics (memstats) for `switchboard bench idle`.
		mux.Handle("GET /debug/vars", expvar.Handler())
	}
	mux.Handle("GET /", appHandler())
	return mux
}
