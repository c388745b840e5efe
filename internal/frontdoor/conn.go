package frontdoor

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"runtime/debug"
	"time"

	"github.com/switchboard/switchboard/internal/httphead"
)

// accept admits or rejects a freshly accepted connection and starts its
// goroutine. It runs on the accept loop, so it does no I/O.
func (s *Server) accept(nc net.Conn) {
	s.stats.accepted.Add(1)
	ip, capped := s.ipKey(nc)
	if capped && !s.admitIP(nc, ip) {
		s.stats.overIPCap.Add(1)
		s.refuse(nc, "too many connections from your address")
		return
	}
	if !s.admit() {
		s.stats.overCapac.Add(1)
		if capped {
			s.releaseIP(nc)
		}
		s.refuse(nc, "too many connections")
		return
	}
	if !s.track(nc, stateHead, time.Now().Add(s.cfg.HeadReadTimeout)) {
		s.stats.active.Add(-1)
		if capped {
			s.releaseIP(nc)
		}
		return
	}
	s.wg.Go(func() { s.serveConn(nc) })
}

// refuse answers nc 503 and closes it, on a goroutine of its own.
func (s *Server) refuse(nc net.Conn, reason string) {
	if s.track(nc, stateLinger, time.Time{}) {
		s.wg.Go(func() {
			defer s.release(nc, false)
			s.reply(nc, 503, reason, "Retry-After: 1")
		})
	}
}

// ipKey returns the address nc counts against MaxConnectionsPerIP (for
// IPv6 its /64 prefix), and false when nc is not capped: no cap is set,
// the client is on loopback (unless CapLoopback), or the address is not
// an IP one.
func (s *Server) ipKey(nc net.Conn) (netip.Addr, bool) {
	if s.cfg.MaxConnectionsPerIP <= 0 {
		return netip.Addr{}, false
	}
	ta, ok := nc.RemoteAddr().(*net.TCPAddr)
	if !ok {
		return netip.Addr{}, false
	}
	a := ta.AddrPort().Addr().Unmap()
	if !a.IsValid() || (a.IsLoopback() && !s.cfg.CapLoopback) {
		return netip.Addr{}, false
	}
	if a.Is6() {
		a = netip.PrefixFrom(a, 64).Masked().Addr()
	}
	return a, true
}

// admitIP counts nc against its address ip unless MaxConnectionsPerIP
// connections from ip are open already.
func (s *Server) admitIP(nc net.Conn, ip netip.Addr) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perIP[ip] >= s.cfg.MaxConnectionsPerIP {
		return false
	}
	s.perIP[ip]++
	s.connIP[nc] = ip
	return true
}

// releaseIP uncounts nc from its address, if it was counted.
func (s *Server) releaseIP(nc net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.releaseIPLocked(nc)
}

func (s *Server) releaseIPLocked(nc net.Conn) {
	ip, ok := s.connIP[nc]
	if !ok {
		return
	}
	delete(s.connIP, nc)
	if s.perIP[ip]--; s.perIP[ip] <= 0 {
		delete(s.perIP, ip)
	}
}

// admit counts nc as active unless MaxConnections are active already.
func (s *Server) admit() bool {
	for {
		n := s.stats.active.Load()
		if s.cfg.MaxConnections > 0 && n >= int64(s.cfg.MaxConnections) {
			return false
		}
		if s.stats.active.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// track registers nc in state st and, if readDeadline is set, sets it, all
// under s.mu so that Shutdown's interruption of reads cannot be overwritten.
// After Shutdown it closes nc and returns false.
func (s *Server) track(nc net.Conn, st connState, readDeadline time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		nc.Close()
		return false
	}
	if !readDeadline.IsZero() {
		_ = nc.SetReadDeadline(readDeadline)
	}
	s.conns[nc] = st
	return true
}

// release closes nc and forgets it; counted says it was counted as active.
func (s *Server) release(nc net.Conn, counted bool) error {
	s.mu.Lock()
	delete(s.conns, nc)
	s.releaseIPLocked(nc)
	s.mu.Unlock()
	err := nc.Close()
	if counted {
		s.stats.active.Add(-1)
	}
	return err
}

// serveConn reads the request head of nc and routes it.
func (s *Server) serveConn(nc net.Conn) {
	toHTTP := false // once net/http owns nc, it releases it through replayConn.Close
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("frontdoor: panic serving connection",
				"remote", remoteAddr(nc), "panic", r, "stack", string(debug.Stack()))
		}
		if !toHTTP {
			s.release(nc, true)
		}
	}()
	setKeepAlive(nc)

	req, buf, n, err := s.readHead(nc)
	if err != nil {
		s.headFailed(nc, buf, err)
		return
	}
	s.mu.Lock()
	closing := s.closed
	if !closing {
		s.conns[nc] = stateBusy
		_ = nc.SetReadDeadline(time.Time{})
	}
	s.mu.Unlock()
	if closing {
		return
	}

	var h ConnHandler
	if s.route != nil {
		h = s.route(req)
	}
	if h == nil {
		s.stats.http.Add(1)
		toHTTP = s.mem.deliver(&replayConn{Conn: nc, s: s, pending: buf})
		return
	}
	s.stats.routed.Add(1)
	h.ServeConn(s.ctx, nc, req, buf[n:len(buf):len(buf)])
}

// readHead reads from nc until buf holds a complete request head, growing
// buf up to MaxHeadBytes. On success buf[:n] is the head and buf[n:] the
// bytes that followed it.
func (s *Server) readHead(nc net.Conn) (req *httphead.Request, buf []byte, n int, err error) {
	max := s.cfg.MaxHeadBytes
	buf = make([]byte, 0, min(initialHeadBuf, max))
	for {
		if len(buf) == cap(buf) {
			// ParseRequest fails with 431 at len(buf) >= max, so cap < max here.
			grown := make([]byte, len(buf), min(2*cap(buf), max))
			copy(grown, buf)
			buf = grown
		}
		m, rerr := nc.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if m > 0 {
			r, hn, perr := httphead.ParseRequest(buf, max)
			if perr == nil {
				return r, buf, hn, nil
			}
			if !errors.Is(perr, httphead.ErrIncomplete) {
				return nil, buf, 0, perr
			}
		}
		if rerr != nil {
			return nil, buf, 0, rerr
		}
	}
}

// headFailed answers a connection whose head could not be read, if the
// client can still hear it.
func (s *Server) headFailed(nc net.Conn, buf []byte, err error) {
	remote := remoteAddr(nc)
	var he *httphead.Error
	var ne net.Error
	switch {
	case errors.As(err, &he):
		if he.Status == 431 {
			s.stats.tooLarge.Add(1)
		} else {
			s.stats.badRequest.Add(1)
		}
		s.log.Debug("frontdoor: bad request head", "remote", remote, "status", he.Status, "reason", he.Reason)
		s.reply(nc, he.Status, he.Reason)
	case errors.As(err, &ne) && ne.Timeout():
		if s.isClosed() { // Shutdown interrupted the read
			return
		}
		s.stats.timeout.Add(1)
		s.log.Debug("frontdoor: request head timeout", "remote", remote, "bytes", len(buf))
		s.reply(nc, 408, "request head not received in time")
	case errors.Is(err, io.EOF) && len(buf) > 0:
		// The client half-closed mid-head; it may still read a reply.
		s.stats.badRequest.Add(1)
		s.log.Debug("frontdoor: truncated request head", "remote", remote, "bytes", len(buf))
		s.reply(nc, 400, "incomplete request head")
	default:
		// Closed or reset before sending anything useful: nobody to answer.
		s.log.Debug("frontdoor: connection lost while reading head", "remote", remote, "err", err)
	}
}

// reply writes a front-door error reply and lingers so that the client can
// read it before the connection is closed.
func (s *Server) reply(nc net.Conn, status int, reason string, extra ...string) {
	_ = nc.SetWriteDeadline(time.Now().Add(replyTimeout))
	if err := WriteError(nc, status, reason, extra...); err != nil {
		s.log.Debug("frontdoor: writing error reply", "remote", remoteAddr(nc), "err", err)
		return
	}
	s.linger(nc)
}

// linger half-closes nc (the client sees the reply, then EOF) and discards
// input until the client's EOF, lingerTimeout or lingerMaxBytes. Closing a
// socket with unread input makes the kernel send RST, which can destroy the
// reply before the client has read it.
func (s *Server) linger(nc net.Conn) {
	if cw, ok := nc.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	s.mu.Lock()
	deadline := time.Now().Add(lingerTimeout)
	if s.closed {
		deadline = aLongTimeAgo
	}
	_ = nc.SetReadDeadline(deadline)
	s.conns[nc] = stateLinger
	s.mu.Unlock()
	_, _ = io.CopyN(io.Discard, nc, lingerMaxBytes)
}

func setKeepAlive(nc net.Conn) {
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetKeepAliveConfig(net.KeepAliveConfig{
			Enable:   true,
			Idle:     keepAliveIdle,
			Interval: keepAliveSpacing,
			Count:    keepAliveCount,
		})
	}
}

func remoteAddr(nc net.Conn) string {
	if a := nc.RemoteAddr(); a != nil {
		return a.String()
	}
	return ""
}
