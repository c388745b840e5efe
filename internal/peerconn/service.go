package peerconn

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/frontdoor"
	"github.com/switchboard/switchboard/internal/httphead"
)

// Limits of the connection handling that are not worth a Config field.
const (
	maxDiscard       = 64 << 10 // input a parked wait ignores before it gives up on the client
	maxLingerDiscard = 2 << 20  // input discarded after a response (a refused body), at most
)

// aLongTimeAgo is a deadline in the past, to interrupt a blocked read.
var aLongTimeAgo = time.Unix(1, 0)

// Service serves the peerconnection protocol on connections handed over by
// the front door: it is a [frontdoor.ConnHandler]. It owns one [Channel]
// and a goroutine that expires members, started by the first connection;
// [Service.Close] stops it.
type Service struct {
	cfg Config
	ch  *Channel
	log *slog.Logger

	quitOnce sync.Once

	mu      sync.Mutex
	started bool // the expiry goroutine runs, or ran
	closed  bool
	stop    chan struct{}
	done    chan struct{}
}

var _ frontdoor.ConnHandler = (*Service)(nil)

// New returns a Service for cfg.
func New(cfg Config) *Service {
	cfg = cfg.withDefaults()
	s := &Service{
		cfg:  cfg,
		ch:   NewChannel(cfg),
		log:  cfg.Logger,
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	return s
}

// start starts the expiry goroutine unless it runs or the service is
// closed.
func (s *Service) start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started && !s.closed {
		s.started = true
		go s.expireLoop()
	}
}

// Channel returns the service's channel.
func (s *Service) Channel() *Channel { return s.ch }

// Close stops the expiry goroutine and waits for it. Connections are ended
// by cancelling the context given to ServeConn (the front door's Shutdown
// does): parked waits then get "Server shutting down". Close may be called
// more than once.
func (s *Service) Close() {
	s.mu.Lock()
	started, closed := s.started, s.closed
	s.closed = true
	s.mu.Unlock()
	if !closed {
		close(s.stop)
	}
	if started {
		<-s.done
	}
}

func (s *Service) expireLoop() {
	defer close(s.done)
	t := time.NewTicker(s.cfg.CheckInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if ids := s.ch.Expire(s.cfg.Now()); len(ids) > 0 {
				s.log.Info("peerconn: members expired", "ids", ids)
			}
		case <-s.stop:
			return
		}
	}
}

// ServeConn answers one request on nc (one request per connection,
// docs/peerconnection.md, "Model"): it reads a POST body, dispatches the
// request, and writes the response or parks the connection as a hanging /wait.
// It returns when the connection is done; the caller closes nc.
func (s *Service) ServeConn(ctx context.Context, nc net.Conn, req *httphead.Request, buffered []byte) {
	s.start()
	r := Request{Method: req.Method, Target: req.Target, Loopback: isLoopback(nc.RemoteAddr())}
	if req.Method == "POST" {
		n, ct, reject := CheckPost(req.Header, s.cfg.MaxBodyBytes)
		if reject != nil {
			s.log.Debug("peerconn: POST rejected", "remote", remote(nc), "target", req.Target)
			s.answer(ctx, nc, reject)
			return
		}
		body, err := s.readBody(ctx, nc, req, buffered, n)
		if err != nil {
			s.log.Debug("peerconn: reading body", "remote", remote(nc), "err", err)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil {
				s.answer(ctx, nc, errorResponse(StatusTimeout, "request body not received in time"))
			}
			return
		}
		r.ContentType, r.Body = ct, body
	}
	w := NewWait(func() { _ = nc.SetReadDeadline(aLongTimeAgo) })
	r.Park = w
	out := s.ch.Dispatch(r, s.cfg.Now())
	if s.log.Enabled(ctx, slog.LevelDebug) {
		status := "parked"
		if out.Response != nil {
			status = statusOf(out.Response)
		}
		// The target, never the body: messages carry ICE credentials.
		s.log.Debug("peerconn: request", "remote", remote(nc), "method", req.Method, "target", req.Target, "status", status)
	}
	if out.Parked != nil {
		s.park(ctx, nc, w)
		return
	}
	if out.Quit {
		s.log.Warn("peerconn: /quit received; quitting", "remote", remote(nc))
		if s.write(nc, out.Response) == nil {
			s.ch.Quit()
			s.quitOnce.Do(func() {
				if s.cfg.OnQuit != nil {
					s.cfg.OnQuit()
				}
			})
			s.linger(ctx, nc)
		}
		return
	}
	s.answer(ctx, nc, out.Response)
}

// readBody returns exactly n body bytes: those already buffered, then from
// nc within ReadTimeout. "Expect: 100-continue" is honoured.
func (s *Service) readBody(ctx context.Context, nc net.Conn, req *httphead.Request, buffered []byte, n int) ([]byte, error) {
	body := make([]byte, n)
	got := copy(body, buffered)
	if got == n {
		return body, nil
	}
	for _, v := range req.Header["Expect"] {
		if strings.EqualFold(v, "100-continue") {
			_ = nc.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
			if _, err := io.WriteString(nc, statusContinueHeader); err != nil {
				return nil, err
			}
			break
		}
	}
	_ = nc.SetReadDeadline(time.Now().Add(s.cfg.ReadTimeout))
	stop := context.AfterFunc(ctx, func() { _ = nc.SetReadDeadline(aLongTimeAgo) })
	_, err := io.ReadFull(nc, body[got:])
	if !stop() {
		return nil, ctx.Err() // shutting down: the read was interrupted
	}
	_ = nc.SetReadDeadline(time.Time{})
	return body, err
}

// park holds a parked /wait until its Delivery, the client's EOF, or the
// server's shutdown. It reads nc all along, so that a dead client is
// noticed at once (docs/peerconnection.md, "Where Switchboard differs").
func (s *Service) park(ctx context.Context, nc net.Conn, w *Wait) {
	// No deadline is set here: a Delivery may already have woken the
	// read, and clearing the deadline would lose that wake-up. The front
	// door hands nc over without one, and readBody clears its own.
	stop := context.AfterFunc(ctx, func() { _ = nc.SetReadDeadline(aLongTimeAgo) })
	defer stop()
	var rerr error
	buf := make([]byte, 512)
	for discarded := 0; rerr == nil && discarded < maxDiscard; {
		var n int
		n, rerr = nc.Read(buf)
		discarded += n
	}
	var d Delivery
	select {
	case d = <-w.C():
	default:
		if s.ch.Unpark(w, s.cfg.Now()) {
			if ctx.Err() != nil {
				_ = s.write(nc, respShutdown)
			}
			return
		}
		d = <-w.C()
	}
	if d.Response == nil {
		return // replaced by a newer /wait, or the member is gone
	}
	if err := s.write(nc, d.Response); err != nil {
		s.log.Debug("peerconn: writing to a parked wait", "remote", remote(nc), "err", err)
		if d.Requeue {
			s.ch.Requeue(w, d.Response)
		}
		return
	}
	s.linger(ctx, nc)
}

// answer writes resp and lingers.
func (s *Service) answer(ctx context.Context, nc net.Conn, resp []byte) {
	if err := s.write(nc, resp); err != nil {
		s.log.Debug("peerconn: writing response", "remote", remote(nc), "err", err)
		return
	}
	s.linger(ctx, nc)
}

func (s *Service) write(nc net.Conn, resp []byte) error {
	_ = nc.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
	_, err := nc.Write(resp)
	return err
}

// linger waits, up to Linger or the server's shutdown, for the client to close
// first, discarding what it sends: the reference server never closes a
// connection after answering (docs/peerconnection.md, "Model"), and closing
// with unread input would reset the connection before the client read the
// response.
func (s *Service) linger(ctx context.Context, nc net.Conn) {
	_ = nc.SetReadDeadline(time.Now().Add(s.cfg.Linger))
	stop := context.AfterFunc(ctx, func() { _ = nc.SetReadDeadline(aLongTimeAgo) })
	defer stop()
	_, _ = io.CopyN(io.Discard, nc, maxLingerDiscard)
}

// statusOf returns the status of an encoded response, such as "200 OK".
func statusOf(resp []byte) string {
	line := resp[len("HTTP/1.1 "):]
	for i, b := range line {
		if b == '\r' {
			return string(line[:i])
		}
	}
	return string(line)
}

func isLoopback(a net.Addr) bool {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.IP.IsLoopback()
	}
	return false
}

func remote(nc net.Conn) string {
	if a := nc.RemoteAddr(); a != nil {
		return a.String()
	}
	return ""
}
