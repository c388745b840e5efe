package frontdoor

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/httphead"
)

// ErrServerClosed is returned by [Server.Serve] after [Server.Shutdown]. It
// is the same value as [http.ErrServerClosed].
var ErrServerClosed = http.ErrServerClosed

// ConnHandler takes over a connection whose request head has been read.
//
// buffered holds the bytes read after the head (the start of a body or of
// the first WebSocket frames); it may be empty and belongs to the handler.
// nc has no deadlines set. ServeConn owns nc until it returns; the front
// door then closes nc (closing it earlier is fine). ctx is cancelled when
// the server shuts down: the handler must then finish promptly (a WebSocket
// sends close 1001). A panic in ServeConn is recovered, logged and the
// connection closed, as net/http does for handlers.
type ConnHandler interface {
	ServeConn(ctx context.Context, nc net.Conn, req *httphead.Request, buffered []byte)
}

// ConnHandlerFunc adapts a function to [ConnHandler].
type ConnHandlerFunc func(ctx context.Context, nc net.Conn, req *httphead.Request, buffered []byte)

// ServeConn calls f(ctx, nc, req, buffered).
func (f ConnHandlerFunc) ServeConn(ctx context.Context, nc net.Conn, req *httphead.Request, buffered []byte) {
	f(ctx, nc, req, buffered)
}

var _ ConnHandler = ConnHandlerFunc(nil)

// Server accepts connections, reads each request head and routes it. Set
// its fields before the first call to Serve and do not change them after.
type Server struct {
	Config

	// Route picks the handler for a request head. It is called
	// concurrently, once per connection, and must not block. A nil Route,
	// or a nil result, hands the request to HTTP.
	Route func(req *httphead.Request) ConnHandler

	// HTTP serves ordinary requests (web app, /healthz, ...), one request
	// per connection, through an internal http.Server whose
	// ReadHeaderTimeout is HeadReadTimeout, ReadTimeout BodyReadTimeout and
	// MaxHeaderBytes MaxHeadBytes, with no WriteTimeout (handlers that need
	// one use http.ResponseController). Request contexts are cancelled when
	// Shutdown starts, so long polls and streams end. nil means
	// [http.NotFoundHandler].
	HTTP http.Handler

	mu        sync.Mutex
	started   bool // init has run
	closed    bool // Shutdown has been called
	cfg       Config
	log       *slog.Logger
	route     func(req *httphead.Request) ConnHandler
	ctx       context.Context // handler context, cancelled by Shutdown
	cancel    context.CancelFunc
	httpSrv   *http.Server
	mem       *memListener
	listeners map[*net.Listener]struct{}
	conns     map[net.Conn]connState // every accepted, not yet released conn
	perIP     map[netip.Addr]int     // open connections by capped client address
	connIP    map[net.Conn]netip.Addr

	// wg tracks every goroutine the server starts. Add is only called
	// under mu while !closed, or by a goroutine that is itself tracked, so
	// it never races with the Wait in Shutdown.
	wg    sync.WaitGroup
	stats counters
}

// connState says what a tracked connection is doing, so that Shutdown knows
// which reads it may interrupt.
type connState uint8

const (
	stateHead   connState = iota + 1 // reading the request head
	stateLinger                      // a front-door reply was sent; draining until EOF
	stateBusy                        // owned by a ConnHandler or net/http
)

// initLocked creates the handler context and the internal net/http server
// and starts it. s.mu must be held.
func (s *Server) initLocked() {
	if s.started {
		return
	}
	s.started = true
	s.cfg = s.Config.withDefaults()
	s.log = s.cfg.Logger
	s.route = s.Route
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.listeners = make(map[*net.Listener]struct{})
	s.conns = make(map[net.Conn]connState)
	s.perIP = make(map[netip.Addr]int)
	s.connIP = make(map[net.Conn]netip.Addr)
	s.mem = newMemListener()
	h := s.HTTP
	if h == nil {
		h = http.NotFoundHandler()
	}
	s.httpSrv = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: s.cfg.HeadReadTimeout,
		// The head was read already; this bounds the body. Without it a
		// handler that leaves the body unread (a 405, say) makes net/http
		// drain it after the reply with no deadline at all.
		ReadTimeout:    s.cfg.BodyReadTimeout,
		MaxHeaderBytes: s.cfg.MaxHeadBytes,
		ErrorLog:       slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:    func(net.Listener) context.Context { return s.ctx },
	}
	// One request per connection. With keep-alive, net/http would read the
	// next request on the connection itself: it would bypass the lenient
	// parser, Route (a WebSocket upgrade or peerconnection request sent
	// second would land in the HTTP mux), the head limits and the counters.
	// Disabled, every request enters through the front door again.
	s.httpSrv.SetKeepAlivesEnabled(false)
	s.wg.Go(func() {
		if err := s.httpSrv.Serve(s.mem); !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("frontdoor: http server stopped", "err", err)
		}
	})
}

// Serve accepts connections on ln until Shutdown, then returns
// [ErrServerClosed]; it returns any other Accept error at once. Serve
// closes ln when it returns. It may be called for several listeners.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.initLocked()
	key := &ln
	s.listeners[key] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, key)
		s.mu.Unlock()
		ln.Close()
	}()

	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.isClosed() {
				return ErrServerClosed
			}
			if !isTemporary(err) {
				return err
			}
			// Like net/http: back off on EMFILE and the like.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.log.Warn("frontdoor: accept error; retrying", "err", err, "delay", delay)
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-s.ctx.Done():
				t.Stop()
				return ErrServerClosed
			}
			continue
		}
		delay = 0
		s.accept(nc)
	}
}

// Shutdown stops the server: it closes the listeners, interrupts head reads
// and lingering replies, cancels the handler context (ConnHandlers and
// net/http requests), shuts the net/http server down and waits for every
// goroutine the server started. When ctx ends first, it closes every
// remaining connection and returns ctx.Err() without waiting further.
// Shutdown may be called more than once, and before Serve.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	if !s.started {
		s.mu.Unlock()
		return nil
	}
	for key := range s.listeners {
		(*key).Close()
	}
	for nc, st := range s.conns {
		if st != stateBusy {
			_ = nc.SetReadDeadline(aLongTimeAgo)
		}
	}
	s.mu.Unlock()
	s.cancel()

	if err := s.httpSrv.Shutdown(ctx); err != nil {
		s.forceClose()
		return err
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.forceClose()
		return ctx.Err()
	}
}

// forceClose closes every connection still open.
func (s *Server) forceClose() {
	s.httpSrv.Close()
	s.mu.Lock()
	conns := make([]net.Conn, 0, len(s.conns))
	for nc := range s.conns {
		conns = append(conns, nc)
	}
	s.mu.Unlock()
	for _, nc := range conns {
		nc.Close()
	}
	s.log.Warn("frontdoor: shutdown deadline passed; closed connections", "count", len(conns))
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// aLongTimeAgo is a deadline in the past, to interrupt blocked reads.
var aLongTimeAgo = time.Unix(1, 0)

func isTemporary(err error) bool {
	var te interface{ Temporary() bool }
	return errors.As(err, &te) && te.Temporary()
}
