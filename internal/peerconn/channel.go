package peerconn

import (
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// A Wait is one parked GET /wait: a connection waiting for the next item of
// its member's queue. The channel hands it exactly one [Delivery] when it
// un-parks it; the connection's owner reads it from [Wait.C].
type Wait struct {
	c    chan Delivery
	wake func()
	id   int // the member's id, set when parked
}

// NewWait returns a Wait. wake, if not nil, is called (under the channel's
// lock, so it must not block) right after a Delivery is put in C: the
// connection's owner uses it to interrupt its blocked read.
func NewWait(wake func()) *Wait {
	return &Wait{c: make(chan Delivery, 1), wake: wake}
}

// C receives the Wait's one Delivery.
func (w *Wait) C() <-chan Delivery { return w.c }

// send hands d to w. The channel sends at most once per Wait, so it never
// blocks.
func (w *Wait) send(d Delivery) {
	w.c <- d
	if w.wake != nil {
		w.wake()
	}
}

// Delivery is what an un-parked [Wait] must do.
type Delivery struct {
	// Response is the response to write; nil means close the connection
	// without a response (a newer /wait replaced this one, or the member
	// was removed).
	Response []byte
	// Requeue says the response is a queued item: if writing it fails,
	// give it back with [Channel.Requeue].
	Requeue bool
}

// member is one signed-in peer (spec §1).
type member struct {
	id         int
	name       string
	queue      [][]byte // encoded responses, FIFO
	queueBytes int
	parked     *Wait
	lastSeen   time.Time
}

// Channel is the in-memory peer channel of one listener: members, their
// queues and their parked waits. It does no I/O: responses are returned
// encoded, and parked waits get theirs through [Wait.C]. It is safe for
// concurrent use.
type Channel struct {
	cfg Config

	mu      sync.Mutex
	lastID  int
	members map[int]*member
	order   []*member // join order

	stats counters
}

// NewChannel returns an empty channel with cfg's limits.
func NewChannel(cfg Config) *Channel {
	return &Channel{cfg: cfg.withDefaults(), members: make(map[int]*member)}
}

// counters are the channel's event counts, see [Stats].
type counters struct {
	signIns, signOuts, expired, messages, refused, dropped, requeued atomic.Int64
}

// Stats is a snapshot of a channel's state and counters.
type Stats struct {
	Members    int   // signed in now
	Parked     int   // members with a parked /wait now
	Queued     int   // items in all queues now
	QueueBytes int   // bytes in all queues now
	SignIns    int64 // since start
	SignOuts   int64
	Expired    int64 // members removed by expiry
	Messages   int64 // messages accepted for another member
	Refused    int64 // requests answered 503 (queue full, member cap, ids exhausted)
	Dropped    int64 // presence notices dropped at a full queue
	Requeued   int64 // items put back after a failed write
}

// Stats returns the current state and counters.
func (c *Channel) Stats() Stats {
	c.mu.Lock()
	s := Stats{Members: len(c.members)}
	for _, m := range c.order {
		if m.parked != nil {
			s.Parked++
		}
		s.Queued += len(m.queue)
		s.QueueBytes += m.queueBytes
	}
	c.mu.Unlock()
	s.SignIns = c.stats.signIns.Load()
	s.SignOuts = c.stats.signOuts.Load()
	s.Expired = c.stats.expired.Load()
	s.Messages = c.stats.messages.Load()
	s.Refused = c.stats.refused.Load()
	s.Dropped = c.stats.dropped.Load()
	s.Requeued = c.stats.requeued.Load()
	return s
}

// signInLocked adds a member named from the raw sign-in query and returns
// the response (spec §4.1).
func (c *Channel) signInLocked(query string, now time.Time) []byte {
	if len(c.members) >= c.cfg.MaxMembers {
		c.stats.refused.Add(1)
		return errorResponse(StatusUnavailable, "too many members")
	}
	if c.lastID >= maxID {
		c.stats.refused.Add(1)
		return errorResponse(StatusUnavailable, "member ids exhausted")
	}
	c.lastID++
	m := &member{id: c.lastID, name: memberName(query, c.lastID), lastSeen: now}
	c.broadcastLocked(m, true)
	c.members[m.id] = m
	c.order = append(c.order, m)
	c.stats.signIns.Add(1)

	body := appendEntry(nil, m.name, m.id, true)
	for _, o := range c.order[:len(c.order)-1] {
		body = appendEntry(body, o.name, o.id, true)
	}
	return response(StatusAdded, typeText, m.id, body)
}

// memberName applies spec §5.1 to the raw query of a sign-in target.
func memberName(query string, id int) string {
	if query == "" {
		return "peer_" + strconv.Itoa(id)
	}
	if len(query) > 512 {
		query = query[:512]
	}
	b := []byte(query)
	for i, ch := range b {
		if ch == ',' {
			b[i] = '_'
		}
	}
	return string(b)
}

// broadcastLocked tells every member other than s that s is now connected
// or not (spec §5.3).
func (c *Channel) broadcastLocked(s *member, connected bool) {
	entry := appendEntry(nil, s.name, s.id, connected)
	for _, r := range c.order {
		if r == s {
			continue
		}
		if !c.deliverLocked(r, response(StatusOK, typeText, r.id, entry)) {
			c.stats.dropped.Add(1)
		}
	}
}

// deliverLocked hands resp to m's parked wait, or appends it to m's queue
// within the limits (spec §5.2). It reports false when the queue is full.
func (c *Channel) deliverLocked(m *member, resp []byte) bool {
	if w := m.parked; w != nil {
		m.parked = nil
		m.lastSeen = c.cfg.Now()
		w.send(Delivery{Response: resp, Requeue: true})
		return true
	}
	if len(m.queue) >= c.cfg.MaxQueueItems || m.queueBytes+len(resp) > c.cfg.MaxQueueBytes {
		return false
	}
	m.queue = append(m.queue, resp)
	m.queueBytes += len(resp)
	return true
}

// waitLocked serves a /wait of m: the front item of its queue now, or w is
// parked, replacing a parked wait of m (spec §4.2). It returns the response
// to write, or nil when w is parked.
func (c *Channel) waitLocked(m *member, w *Wait, now time.Time) []byte {
	m.lastSeen = now
	if len(m.queue) > 0 {
		resp := m.queue[0]
		m.queue[0] = nil
		m.queue = m.queue[1:]
		m.queueBytes -= len(resp)
		if len(m.queue) == 0 {
			m.queue = nil
		}
		return resp
	}
	if old := m.parked; old != nil {
		old.send(Delivery{})
	}
	w.id = m.id
	m.parked = w
	return nil
}

// removeLocked removes m, closes its parked wait without a response and
// tells the others (spec §4.4, §5.4).
func (c *Channel) removeLocked(m *member) {
	delete(c.members, m.id)
	for i, o := range c.order {
		if o == m {
			c.order = slices.Delete(c.order, i, i+1)
			break
		}
	}
	if w := m.parked; w != nil {
		m.parked = nil
		w.send(Delivery{})
	}
	m.queue = nil
	m.queueBytes = 0
	c.broadcastLocked(m, false)
}

// Unpark is called when a parked wait's connection ended (the client closed
// it, or the server shuts down). If w is still parked it is un-parked, its
// member's last-seen set to now, and Unpark returns true. It returns false
// when the channel un-parked w first: its Delivery is then in w.C().
func (c *Channel) Unpark(w *Wait, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.members[w.id]
	if m == nil || m.parked != w {
		return false
	}
	m.parked = nil
	m.lastSeen = now
	return true
}

// Requeue gives back an item that w could not write: it goes to the front
// of the member's queue, or to the member's newer parked wait (spec §5.2).
// It is dropped when the member is gone.
func (c *Channel) Requeue(w *Wait, resp []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.members[w.id]
	if m == nil {
		return
	}
	c.stats.requeued.Add(1)
	if p := m.parked; p != nil {
		m.parked = nil
		p.send(Delivery{Response: resp, Requeue: true})
		return
	}
	m.queue = append([][]byte{resp}, m.queue...)
	m.queueBytes += len(resp)
}

// Expire removes, with a "…,0" notice to the others, every member that has
// no parked wait and was last seen more than ExpireAfter before now
// (spec §5.4). It returns the ids removed.
func (c *Channel) Expire(now time.Time) []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var gone []*member
	for _, m := range c.order {
		if m.parked == nil && now.Sub(m.lastSeen) > c.cfg.ExpireAfter {
			gone = append(gone, m)
		}
	}
	ids := make([]int, 0, len(gone))
	for _, m := range gone {
		c.removeLocked(m)
		c.stats.expired.Add(1)
		ids = append(ids, m.id)
	}
	return ids
}

// Quit sends "Server shutting down" to every parked wait and drops every
// member, as the reference server's /quit does (spec §4.6).
func (c *Channel) Quit() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.order {
		if w := m.parked; w != nil {
			m.parked = nil
			w.send(Delivery{Response: respShutdown})
		}
	}
	clear(c.members)
	clear(c.order)
	c.order = c.order[:0]
}
