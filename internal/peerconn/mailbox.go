package peerconn

import "time"

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

// box is one member's node-local state (docs/peerconnection.md, "Model"):
// its parked wait, its last-seen time and its FIFO of pending responses
// (docs/peerconnection.md, "Members, queues and expiry"). The FIFO is three
// sources read in this order: front (items given back by [Channel.Requeue]),
// then the messages of queue merged with the mailbox's shared presence
// notices from sequence number seen on, each message after the notices older
// than it.
type box struct {
	id       int
	lastSeen time.Time

	prev, next *box // join order

	front      [][]byte  // encoded responses given back after a failed write
	queue      []message // messages for this member, FIFO
	queueBytes int       // bytes in front and queue
	seen       uint64    // sequence number of the next notice to read

	parked   *Wait
	parkedAt int // index in mailbox.parked while parked
}

// message is a queued peer message, encoded for its recipient.
type message struct {
	resp  []byte
	after uint64 // notices with a smaller sequence number come first
}

// mailbox is the node-local half of a channel: a box per member whose
// requests this node serves, the waits parked on this node's connections,
// and the presence notices not yet read by all of them. Items are queued
// already encoded for their recipient. It is not safe for concurrent use:
// the [Channel] calls it under its lock.
type mailbox struct {
	cfg   Config
	stats *counters

	boxes       map[int]*box
	first, last *box   // join order
	parked      []*box // boxes with a parked wait, in no order
	log         noticeLog
	queueBytes  int // bytes of every box's front and queue
}

func newMailbox(cfg Config, stats *counters) mailbox {
	return mailbox{cfg: cfg, stats: stats, boxes: make(map[int]*box)}
}

// open adds an empty box for the member id, which has read every notice
// so far: a member is not told about itself, nor about the past.
func (mb *mailbox) open(id int, now time.Time) {
	b := &box{id: id, lastSeen: now, seen: mb.log.end(), prev: mb.last}
	if mb.last != nil {
		mb.last.next = b
	} else {
		mb.first = b
	}
	mb.last = b
	mb.boxes[id] = b
}

// close removes b, closes its parked wait without a response and drops its
// queue. It costs O(1).
func (mb *mailbox) close(b *box) {
	mb.dropNotices(b) // count what b never read past its limits
	delete(mb.boxes, b.id)
	if b.prev != nil {
		b.prev.next = b.next
	} else {
		mb.first = b.next
	}
	if b.next != nil {
		b.next.prev = b.prev
	} else {
		mb.last = b.prev
	}
	b.prev, b.next = nil, nil
	if w := mb.unpark(b); w != nil {
		w.send(Delivery{})
	}
	mb.addBytes(b, -b.queueBytes)
	b.front, b.queue = nil, nil
}

// park parks w as b's wait; b has nothing pending.
func (mb *mailbox) park(b *box, w *Wait) {
	w.id = b.id
	if b.parked != nil {
		b.parked = w // a newer /wait replaces the parked one in place
		return
	}
	b.parked = w
	b.parkedAt = len(mb.parked)
	mb.parked = append(mb.parked, b)
}

// unpark un-parks b and returns its wait, or nil if none is parked.
func (mb *mailbox) unpark(b *box) *Wait {
	w := b.parked
	if w == nil {
		return nil
	}
	last := len(mb.parked) - 1
	moved := mb.parked[last]
	mb.parked[b.parkedAt] = moved
	moved.parkedAt = b.parkedAt
	mb.parked[last] = nil
	mb.parked = mb.parked[:last]
	b.parked = nil
	return w
}

// notice tells every box other than s's that s is now connected or not
// (docs/peerconnection.md, "Model"). The notice is encoded once into the
// shared log; only boxes with a parked wait get a response now, and they all
// do: a parked box has nothing else pending. The others read it from the log
// at their next /wait, so a notice costs O(parked), not O(members).
func (mb *mailbox) notice(s Member, connected bool, now time.Time) {
	entry := appendEntry(nil, s.Name, s.ID, connected)
	seq := mb.log.push(notice{about: s.ID, entry: entry}, mb.cfg.MaxNoticeBytes)
	for _, r := range mb.parked {
		w := r.parked
		r.parked = nil
		r.seen = seq + 1
		r.lastSeen = now
		w.send(Delivery{Response: response(StatusOK, typeText, r.id, entry), Requeue: true})
	}
	clear(mb.parked)
	mb.parked = mb.parked[:0]
}

// deliver hands a message to b's parked wait, or appends it to b's queue
// within the limits (docs/peerconnection.md, "Members, queues and expiry"). It
// returns why it could not: b's queue is full (MaxQueueItems, MaxQueueBytes) or
// all queues together are (MaxTotalQueueBytes); "" when delivered or queued.
func (mb *mailbox) deliver(b *box, resp []byte) string {
	if w := mb.unpark(b); w != nil {
		b.lastSeen = mb.cfg.Now()
		w.send(Delivery{Response: resp, Requeue: true})
		return ""
	}
	items := len(b.front) + len(b.queue) + mb.pendingNotices(b)
	switch {
	case items >= mb.cfg.MaxQueueItems || b.queueBytes+len(resp) > mb.cfg.MaxQueueBytes:
		return "the recipient's queue is full"
	case mb.queueBytes+len(resp) > mb.cfg.MaxTotalQueueBytes:
		return "the server's queues are full"
	}
	b.queue = append(b.queue, message{resp: resp, after: mb.log.end()})
	mb.addBytes(b, len(resp))
	return ""
}

// addBytes counts n more (or, negative, fewer) bytes in b's queue.
func (mb *mailbox) addBytes(b *box, n int) {
	b.queueBytes += n
	mb.queueBytes += n
}

// wait serves a /wait of b: the front item of its queue now, or w is parked,
// replacing a parked wait of b (docs/peerconnection.md, "Members, queues and
// expiry"). It returns the response to write, or nil when w is parked.
func (mb *mailbox) wait(b *box, w *Wait, now time.Time) []byte {
	b.lastSeen = now
	if resp := mb.pop(b); resp != nil {
		return resp
	}
	if old := b.parked; old != nil {
		old.send(Delivery{})
	}
	mb.park(b, w)
	return nil
}

// pop takes the next pending response of b, or returns nil.
func (mb *mailbox) pop(b *box) []byte {
	if len(b.front) > 0 {
		resp := b.front[0]
		b.front[0] = nil
		b.front = b.front[1:]
		if len(b.front) == 0 {
			b.front = nil
		}
		mb.addBytes(b, -len(resp))
		return resp
	}
	mb.dropNotices(b)
	limit := mb.log.end()
	if len(b.queue) > 0 {
		limit = min(limit, b.queue[0].after)
	}
	for b.seen < limit {
		n := mb.log.at(b.seen)
		b.seen++
		if n.about != b.id {
			return response(StatusOK, typeText, b.id, n.entry)
		}
	}
	if len(b.queue) == 0 {
		return nil
	}
	resp := b.queue[0].resp
	b.queue[0] = message{}
	b.queue = b.queue[1:]
	if len(b.queue) == 0 {
		b.queue = nil
	}
	mb.addBytes(b, -len(resp))
	return resp
}

// unparkWait un-parks w if it is still parked, sets its member's last-seen
// to now and reports true; false means w was un-parked first.
func (mb *mailbox) unparkWait(w *Wait, now time.Time) bool {
	b := mb.boxes[w.id]
	if b == nil || b.parked != w {
		return false
	}
	mb.unpark(b)
	b.lastSeen = now
	return true
}

// requeue gives resp, which w could not write, to the member's newer parked
// wait or puts it at the front of its queue. It reports false, dropping
// resp, when the member is gone.
func (mb *mailbox) requeue(w *Wait, resp []byte) bool {
	b := mb.boxes[w.id]
	if b == nil {
		return false
	}
	if p := mb.unpark(b); p != nil {
		p.send(Delivery{Response: resp, Requeue: true})
		return true
	}
	b.front = append([][]byte{resp}, b.front...)
	mb.addBytes(b, len(resp)) // may pass MaxTotalQueueBytes: it was counted before
	return true
}

// expired returns, in join order, the boxes with no parked wait that were
// last seen more than ExpireAfter before now.
func (mb *mailbox) expired(now time.Time) []*box {
	var gone []*box
	for b := mb.first; b != nil; b = b.next {
		if b.parked == nil && now.Sub(b.lastSeen) > mb.cfg.ExpireAfter {
			gone = append(gone, b)
		}
	}
	return gone
}

// trim forgets the notices every box has read, all of them when no box is
// left.
func (mb *mailbox) trim() {
	oldest := mb.log.end()
	for b := mb.first; b != nil; b = b.next {
		oldest = min(oldest, b.seen)
	}
	mb.log.trim(oldest)
}

// quit sends "Server shutting down" to every parked wait and drops every box.
func (mb *mailbox) quit() {
	for _, b := range mb.parked {
		w := b.parked
		b.parked = nil
		w.send(Delivery{Response: respShutdown})
	}
	clear(mb.parked)
	mb.parked = mb.parked[:0]
	clear(mb.boxes)
	mb.first, mb.last = nil, nil
	mb.queueBytes = 0
	mb.log.trim(mb.log.end())
}
