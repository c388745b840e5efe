package peerconn

import (
	"strconv"
	"sync"
	"time"
)

// Channel is the peer channel of one listener (docs/peerconnection.md,
// "Model"). It joins two halves under one lock:
//
//   - the member list and id allocation, a [Roster] (by default a
//     [MemoryRoster]), which a cluster could share between nodes;
//   - the node-local mailbox: each member's queue of encoded responses,
//     its parked wait, its last-seen time, and the presence notices
//     (mailbox.go, notices.go).
//
// It does no I/O: responses are returned encoded, and parked waits get
// theirs through [Wait.C]. It is safe for concurrent use.
type Channel struct {
	cfg Config

	mu     sync.Mutex
	roster Roster
	mail   mailbox

	stats counters
}

// NewChannel returns an empty channel with cfg's limits and cfg.Roster, or
// a new [MemoryRoster] when it is nil.
func NewChannel(cfg Config) *Channel {
	cfg = cfg.withDefaults()
	c := &Channel{cfg: cfg, roster: cfg.Roster}
	if c.roster == nil {
		ids := NewSequentialIDs()
		if cfg.RandomIDs {
			ids = NewRandomIDs()
		}
		c.roster = NewMemoryRoster(ids, cfg.MaxMembers)
	}
	c.mail = newMailbox(cfg, &c.stats)
	return c
}

// signInLocked adds a member named from the raw sign-in query and returns
// the response (docs/peerconnection.md, "Responses"): the new member's entry
// first, then every other member in join order.
func (c *Channel) signInLocked(query string, now time.Time) []byte {
	m, err := c.roster.SignIn(func(id int) string { return memberName(query, id) })
	if err != nil {
		c.stats.refused.Add(1)
		return errorResponse(StatusUnavailable, err.Error())
	}
	c.mail.notice(m, true, now)
	c.mail.open(m.ID, now)
	c.stats.signIns.Add(1)

	body := appendEntry(nil, m.Name, m.ID, true)
	for o := range c.roster.All() {
		if o.ID != m.ID {
			body = appendEntry(body, o.Name, o.ID, true)
		}
	}
	return response(StatusAdded, typeText, m.ID, body)
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

// lookupLocked returns the member with this id and its box; the box is nil
// when there is no such member (or, which one node never sees, the member
// has no box here).
func (c *Channel) lookupLocked(id int) (Member, *box) {
	m, ok := c.roster.Lookup(id)
	if !ok {
		return Member{}, nil
	}
	return m, c.mail.boxes[id]
}

// removeLocked removes m, whose box is b, closes its parked wait without a
// response and tells the others (docs/peerconnection.md, "Members, queues and
// expiry"). It costs O(1) plus the notice.
func (c *Channel) removeLocked(m Member, b *box, now time.Time) {
	signedIn := c.roster.SignOut(m.ID)
	c.mail.close(b)
	if signedIn {
		c.mail.notice(m, false, now)
	}
	if len(c.mail.boxes) == 0 {
		c.mail.trim() // nobody is left to read a notice
	}
}

// Unpark is called when a parked wait's connection ended (the client closed
// it, or the server shuts down). If w is still parked it is un-parked, its
// member's last-seen set to now, and Unpark returns true. It returns false
// when the channel un-parked w first: its Delivery is then in w.C().
func (c *Channel) Unpark(w *Wait, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mail.unparkWait(w, now)
}

// Requeue gives back an item that w could not write: it goes to the front of
// the member's queue, or to the member's newer parked wait
// (docs/peerconnection.md, "Members, queues and expiry"). It is dropped when
// the member is gone.
func (c *Channel) Requeue(w *Wait, resp []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mail.requeue(w, resp) {
		c.stats.requeued.Add(1)
	}
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
	gone := c.mail.expired(now)
	ids := make([]int, 0, len(gone))
	for _, b := range gone {
		m, _ := c.roster.Lookup(b.id)
		c.removeLocked(m, b, now)
		c.stats.expired.Add(1)
		ids = append(ids, b.id)
	}
	c.mail.trim()
	return ids
}

// Quit sends "Server shutting down" to every parked wait and drops every
// member, as the reference server's /quit does (docs/peerconnection.md, "Where
// Switchboard differs").
func (c *Channel) Quit() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for b := c.mail.first; b != nil; b = b.next {
		c.roster.SignOut(b.id)
	}
	c.mail.quit()
}
