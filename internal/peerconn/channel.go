package peerconn

import (
	"strconv"
	"sync"
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

// member is one signed-in peer (docs/peerconnection.md, "Model"). Its FIFO of
// pending responses (docs/peerconnection.md, "Members, queues and expiry") is
// three sources read in this order: front (items given back by
// [Channel.Requeue]), then the messages of queue merged with the channel's
// shared presence notices from sequence number seen on, each message after the
// notices older than it.
type member struct {
	id       int
	name     string
	lastSeen time.Time

	prev, next *member // join order

	front      [][]byte  // encoded responses given back after a failed write
	queue      []message // messages for this member, FIFO
	queueBytes int       // bytes in front and queue
	seen       uint64    // sequence number of the next notice to read

	parked   *Wait
	parkedAt int // index in Channel.parked while parked
}

// message is a queued peer message, encoded for its recipient.
type message struct {
	resp  []byte
	after uint64 // notices with a smaller sequence number come first
}

// Channel is the in-memory peer channel of one listener: members, their
// queues and their parked waits. It does no I/O: responses are returned
// encoded, and parked waits get theirs through [Wait.C]. It is safe for
// concurrent use.
type Channel struct {
	cfg Config

	mu          sync.Mutex
	ids         idSource
	members     map[int]*member
	first, last *member   // join order
	parked      []*member // members with a parked wait, in no order
	log         noticeLog // presence notices, shared by every member's queue
	queueBytes  int       // bytes of every member's front and queue

	stats counters
}

// NewChannel returns an empty channel with cfg's limits.
func NewChannel(cfg Config) *Channel {
	cfg = cfg.withDefaults()
	return &Channel{cfg: cfg, ids: newIDSource(cfg.RandomIDs), members: make(map[int]*member)}
}

// signInLocked adds a member named from the raw sign-in query and returns
// the response (docs/peerconnection.md, "Responses").
func (c *Channel) signInLocked(query string, now time.Time) []byte {
	if len(c.members) >= c.cfg.MaxMembers {
		c.stats.refused.Add(1)
		return errorResponse(StatusUnavailable, "too many members")
	}
	id, ok := c.ids.next(c.members)
	if !ok {
		c.stats.refused.Add(1)
		return errorResponse(StatusUnavailable, "member ids exhausted")
	}
	m := &member{id: id, name: memberName(query, id), lastSeen: now}
	c.broadcastLocked(m, true, now)
	m.seen = c.log.end() // a member is not told about itself, nor about the past
	c.members[m.id] = m
	c.linkLocked(m)
	c.stats.signIns.Add(1)

	body := appendEntry(nil, m.name, m.id, true)
	for o := c.first; o != m; o = o.next {
		body = appendEntry(body, o.name, o.id, true)
	}
	return response(StatusAdded, typeText, m.id, body)
}

// memberName turns the raw query of a sign-in target into a member name
// (docs/peerconnection.md, "Members, queues and expiry").
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

// linkLocked appends m to the join order.
func (c *Channel) linkLocked(m *member) {
	m.prev = c.last
	if c.last != nil {
		c.last.next = m
	} else {
		c.first = m
	}
	c.last = m
}

// unlinkLocked removes m from the join order.
func (c *Channel) unlinkLocked(m *member) {
	if m.prev != nil {
		m.prev.next = m.next
	} else {
		c.first = m.next
	}
	if m.next != nil {
		m.next.prev = m.prev
	} else {
		c.last = m.prev
	}
	m.prev, m.next = nil, nil
}

// parkLocked parks w as m's wait; m has nothing pending.
func (c *Channel) parkLocked(m *member, w *Wait) {
	w.id = m.id
	if m.parked != nil {
		m.parked = w // a newer /wait replaces the parked one in place
		return
	}
	m.parked = w
	m.parkedAt = len(c.parked)
	c.parked = append(c.parked, m)
}

// unparkLocked un-parks m and returns its wait, or nil if none is parked.
func (c *Channel) unparkLocked(m *member) *Wait {
	w := m.parked
	if w == nil {
		return nil
	}
	last := len(c.parked) - 1
	moved := c.parked[last]
	c.parked[m.parkedAt] = moved
	moved.parkedAt = m.parkedAt
	c.parked[last] = nil
	c.parked = c.parked[:last]
	m.parked = nil
	return w
}

// broadcastLocked tells every member other than s that s is now connected or
// not (docs/peerconnection.md, "Model"). The notice is encoded once into the
// shared log; only members with a parked wait get a response now, and they all
// do: a parked member has nothing else pending. The others read it from the log
// at their next /wait, so a broadcast costs O(parked), not O(members).
func (c *Channel) broadcastLocked(s *member, connected bool, now time.Time) {
	entry := appendEntry(nil, s.name, s.id, connected)
	seq := c.log.push(notice{about: s.id, entry: entry}, c.cfg.MaxNoticeBytes)
	for _, r := range c.parked {
		w := r.parked
		r.parked = nil
		r.seen = seq + 1
		r.lastSeen = now
		w.send(Delivery{Response: response(StatusOK, typeText, r.id, entry), Requeue: true})
	}
	clear(c.parked)
	c.parked = c.parked[:0]
}

// deliverLocked hands a message to m's parked wait, or appends it to m's queue
// within the limits (docs/peerconnection.md, "Members, queues and expiry"). It
// returns why it could not: m's queue is full (MaxQueueItems, MaxQueueBytes) or
// all queues together are (MaxTotalQueueBytes); "" when delivered or queued.
func (c *Channel) deliverLocked(m *member, resp []byte) string {
	if w := c.unparkLocked(m); w != nil {
		m.lastSeen = c.cfg.Now()
		w.send(Delivery{Response: resp, Requeue: true})
		return ""
	}
	items := len(m.front) + len(m.queue) + c.pendingNotices(m)
	switch {
	case items >= c.cfg.MaxQueueItems || m.queueBytes+len(resp) > c.cfg.MaxQueueBytes:
		return "the recipient's queue is full"
	case c.queueBytes+len(resp) > c.cfg.MaxTotalQueueBytes:
		return "the server's queues are full"
	}
	m.queue = append(m.queue, message{resp: resp, after: c.log.end()})
	c.addBytesLocked(m, len(resp))
	return ""
}

// addBytesLocked counts n more (or, negative, fewer) bytes in m's queue.
func (c *Channel) addBytesLocked(m *member, n int) {
	m.queueBytes += n
	c.queueBytes += n
}

// waitLocked serves a /wait of m: the front item of its queue now, or w is
// parked, replacing a parked wait of m (docs/peerconnection.md, "Members,
// queues and expiry"). It returns the response to write, or nil when w is
// parked.
func (c *Channel) waitLocked(m *member, w *Wait, now time.Time) []byte {
	m.lastSeen = now
	if resp := c.popLocked(m); resp != nil {
		return resp
	}
	if old := m.parked; old != nil {
		old.send(Delivery{})
	}
	c.parkLocked(m, w)
	return nil
}

// popLocked takes the next pending response of m, or returns nil.
func (c *Channel) popLocked(m *member) []byte {
	if len(m.front) > 0 {
		resp := m.front[0]
		m.front[0] = nil
		m.front = m.front[1:]
		if len(m.front) == 0 {
			m.front = nil
		}
		c.addBytesLocked(m, -len(resp))
		return resp
	}
	c.dropNoticesLocked(m)
	limit := c.log.end()
	if len(m.queue) > 0 {
		limit = min(limit, m.queue[0].after)
	}
	for m.seen < limit {
		n := c.log.at(m.seen)
		m.seen++
		if n.about != m.id {
			return response(StatusOK, typeText, m.id, n.entry)
		}
	}
	if len(m.queue) == 0 {
		return nil
	}
	resp := m.queue[0].resp
	m.queue[0] = message{}
	m.queue = m.queue[1:]
	if len(m.queue) == 0 {
		m.queue = nil
	}
	c.addBytesLocked(m, -len(resp))
	return resp
}

// removeLocked removes m, closes its parked wait without a response and tells
// the others (docs/peerconnection.md, "Members, queues and expiry"). It costs
// O(1) plus the broadcast.
func (c *Channel) removeLocked(m *member, now time.Time) {
	c.dropNoticesLocked(m) // count what m never read past its limits
	delete(c.members, m.id)
	c.unlinkLocked(m)
	if w := c.unparkLocked(m); w != nil {
		w.send(Delivery{})
	}
	c.addBytesLocked(m, -m.queueBytes)
	m.front, m.queue = nil, nil
	c.broadcastLocked(m, false, now)
	if len(c.members) == 0 {
		c.log.trim(c.log.end())
	}
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
	c.unparkLocked(m)
	m.lastSeen = now
	return true
}

// Requeue gives back an item that w could not write: it goes to the front of
// the member's queue, or to the member's newer parked wait
// (docs/peerconnection.md, "Members, queues and expiry"). It is dropped when
// the member is gone.
func (c *Channel) Requeue(w *Wait, resp []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.members[w.id]
	if m == nil {
		return
	}
	c.stats.requeued.Add(1)
	if p := c.unparkLocked(m); p != nil {
		p.send(Delivery{Response: resp, Requeue: true})
		return
	}
	m.front = append([][]byte{resp}, m.front...)
	c.addBytesLocked(m, len(resp)) // may pass MaxTotalQueueBytes: it was counted before
}

// Expire removes, with a "…,0" notice to the others, every member that has no
// parked wait and was last seen more than ExpireAfter before now
// (docs/peerconnection.md, "Members, queues and expiry"). It returns the ids
// removed. It costs O(members): each removal is O(1) plus its notice, which
// only parked members get at once, and a member stays parked for at most one of
// them. It also forgets the notices every member has read.
func (c *Channel) Expire(now time.Time) []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var gone []*member
	for m := c.first; m != nil; m = m.next {
		if m.parked == nil && now.Sub(m.lastSeen) > c.cfg.ExpireAfter {
			gone = append(gone, m)
		}
	}
	ids := make([]int, 0, len(gone))
	for _, m := range gone {
		c.removeLocked(m, now)
		c.stats.expired.Add(1)
		ids = append(ids, m.id)
	}
	oldest := c.log.end()
	for m := c.first; m != nil; m = m.next {
		oldest = min(oldest, m.seen)
	}
	c.log.trim(oldest)
	return ids
}

// Quit sends "Server shutting down" to every parked wait and drops every
// member, as the reference server's /quit does (docs/peerconnection.md, "Where
// Switchboard differs").
func (c *Channel) Quit() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.parked {
		w := m.parked
		m.parked = nil
		w.send(Delivery{Response: respShutdown})
	}
	clear(c.parked)
	c.parked = c.parked[:0]
	clear(c.members)
	c.first, c.last = nil, nil
	c.queueBytes = 0
	c.log.trim(c.log.end())
}
