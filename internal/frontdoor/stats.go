package frontdoor

import "sync/atomic"

// Stats is a snapshot of a [Server]'s counters.
type Stats struct {
	Accepted int64       // connections accepted since start, including rejected ones
	Active   int64       // connections open now: reading a head, in a ConnHandler, or in net/http
	Routed   int64       // request heads handed to a ConnHandler
	HTTP     int64       // request heads handed to net/http
	Rejected RejectStats // connections the front door answered itself and closed
}

// RejectStats counts front-door rejections by reason.
type RejectStats struct {
	TooLarge     int64 // 431: head larger than MaxHeadBytes
	BadRequest   int64 // 400: malformed or truncated head
	Timeout      int64 // 408: head not complete within HeadReadTimeout
	OverCapacity int64 // 503: MaxConnections reached
	OverIPCap    int64 // 503: MaxConnectionsPerIP reached for the client's address
}

type counters struct {
	accepted, active, routed, http           atomic.Int64
	tooLarge, badRequest, timeout, overCapac atomic.Int64
	overIPCap                                atomic.Int64
}

// Stats returns a snapshot of the server's counters. It is safe to call at
// any time, also before Serve and after Shutdown.
func (s *Server) Stats() Stats {
	c := &s.stats
	return Stats{
		Accepted: c.accepted.Load(),
		Active:   c.active.Load(),
		Routed:   c.routed.Load(),
		HTTP:     c.http.Load(),
		Rejected: RejectStats{
			TooLarge:     c.tooLarge.Load(),
			BadRequest:   c.badRequest.Load(),
			Timeout:      c.timeout.Load(),
			OverCapacity: c.overCapac.Load(),
			OverIPCap:    c.overIPCap.Load(),
		},
	}
}
