package session

import (
	"net"
	"net/netip"
	"time"
)

// Detached sessions (those in their resume grace period) hold memory
// without a connection, so Config.MaxConnections-style caps on sockets do
// not bound them. The hub caps them in number, in all and per address
// block (Config.MaxDetached, Config.MaxDetachedPerIP), and each session's
// room infos in bytes (Config.MaxRoomInfoBytes). When a detach passes a
// cap, the oldest detached session (of the same address block, for the
// per-address cap) ends at once, as if its grace period had passed, and
// Counters.Evicted counts it: the newest drop is the one most likely to
// come back.

// Detached-session caps and their defaults.
const (
	DefaultMaxDetached      = 4096
	DefaultMaxDetachedPerIP = 64
)

// detached is called when s lost its connection, whose remote address was
// addr: the session ends now (clean close, no grace) or when the grace
// period passes without a resume.
func (h *Hub) detached(s *Session, clean bool, addr net.Addr) {
	h.mu.Lock()
	if clean || h.closed || h.cfg.ResumeGrace < 0 {
		h.mu.Unlock()
		h.end(s, nil)
		return
	}
	s.mu.Lock()
	if s.client != nil || s.ended {
		s.mu.Unlock()
		h.mu.Unlock()
		return
	}
	if s.grace != nil {
		s.grace.Stop()
	}
	s.grace = time.AfterFunc(h.cfg.ResumeGrace, func() {
		if h.end(s, nil) {
			h.stats.Expired.Add(1)
		}
	})
	s.mu.Unlock()
	if err := h.dir.SetOnline(s.name, s.key, false, ""); err != nil {
		h.log.Warn("session: directory lost a session of this node", "name", s.name, "key", s.key, "err", err)
	}
	evicted := h.park(s, addrBlock(addr))
	h.mu.Unlock()
	for _, v := range evicted {
		if h.end(v, nil) {
			h.stats.Evicted.Add(1)
			h.refusedAddr(v.ip, "detach", "session "+v.name+" ended before its grace period: too many detached sessions")
		}
	}
}

// park adds s to the detached sessions and returns those it pushes past
// the caps, oldest first, taken out already. The caller holds h.mu.
func (h *Hub) park(s *Session, ip string) []*Session {
	h.unpark(s)
	s.ip = ip
	s.parked = h.parked.PushBack(s)
	h.perIP[ip]++
	var evicted []*Session
	for h.perIP[ip] > h.cfg.MaxDetachedPerIP {
		for e := h.parked.Front(); e != nil; e = e.Next() {
			if v := e.Value.(*Session); v.ip == ip {
				h.unpark(v)
				evicted = append(evicted, v)
				break
			}
		}
	}
	for h.parked.Len() > h.cfg.MaxDetached {
		v := h.parked.Front().Value.(*Session)
		h.unpark(v)
		evicted = append(evicted, v)
	}
	return evicted
}

// unpark takes s out of the detached sessions, if it is there. The caller
// holds h.mu.
func (h *Hub) unpark(s *Session) {
	if s.parked == nil {
		return
	}
	h.parked.Remove(s.parked)
	s.parked = nil
	if h.perIP[s.ip]--; h.perIP[s.ip] <= 0 {
		delete(h.perIP, s.ip)
	}
}

// Detached returns the number of sessions in their grace period.
func (h *Hub) Detached() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.parked.Len()
}

// addrBlock is the block of addresses a per-address cap counts together:
// the IPv4 address, or the /64 of an IPv6 one (one host's share).
func addrBlock(addr net.Addr) string {
	if addr == nil {
		return ""
	}
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return addr.String()
	}
	ip := ap.Addr().Unmap()
	if ip.Is4() {
		return ip.String()
	}
	p, _ := ip.Prefix(64)
	return p.String()
}

// end removes a session that has no connection, or whose connection is
// owner, unsubscribes it and publishes its leave. It reports whether it
// ended s.
func (h *Hub) end(s *Session, owner *Client) bool {
	h.mu.Lock()
	s.mu.Lock()
	if s.ended || (s.client != nil && s.client != owner) {
		s.mu.Unlock()
		h.mu.Unlock()
		return false
	}
	s.ended = true
	if s.grace != nil {
		s.grace.Stop()
	}
	subs := make([]string, 0, len(s.subs))
	for ch := range s.subs {
		subs = append(subs, ch)
	}
	clear(s.subs)
	s.mu.Unlock()
	delete(h.local, s.key)
	h.dir.Release(s.name, s.key)
	h.router.Remove(s.key)
	h.unpark(s)
	h.mu.Unlock()
	for _, ch := range subs {
		h.broker.Unsubscribe(ch, s)
	}
	h.rooms.LeaveAll(s.member())
	h.presence("leave", s.name)
	h.log.Debug("session: ended", "name", s.name, "key", s.key)
	return true
}
