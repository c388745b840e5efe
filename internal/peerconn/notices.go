package peerconn

// notice is one presence change (docs/peerconnection.md, "Model"), encoded once
// and shared by every member that has not read it yet. Each member reads it
// with its own id as Pragma, so only the entry is shared; the response is
// encoded when a /wait takes it.
type notice struct {
	about int    // the subject's id: it is never told about itself
	entry []byte // "name,id,connected\n"
}

// noticeOverhead is what a notice costs besides its entry (its slot in the
// log), as counted against Config.MaxNoticeBytes.
const noticeOverhead = 48

func (n *notice) cost() int { return len(n.entry) + noticeOverhead }

// noticeLog is the channel's presence notices, oldest first, numbered by
// consecutive sequence numbers. Each member reads it from its own position
// (member.seen): a sign-in is one entry in one log, not one response in
// every member's queue, so N sign-ins that nobody reads hold O(N) bytes
// instead of O(N²).
type noticeLog struct {
	base    uint64   // sequence number of notices[0]
	notices []notice // notices[i] has sequence number base+i
	bytes   int      // sum of the notices' cost
}

// end is the sequence number the next notice will get.
func (l *noticeLog) end() uint64 { return l.base + uint64(len(l.notices)) }

// at returns the notice numbered seq, which must be in the log.
func (l *noticeLog) at(seq uint64) *notice { return &l.notices[seq-l.base] }

// push appends n and returns its sequence number. While the log holds more
// than maxBytes, its oldest notices are dropped (the members that had not
// read them lose them); the newest is always kept.
func (l *noticeLog) push(n notice, maxBytes int) uint64 {
	seq := l.end()
	l.notices = append(l.notices, n)
	l.bytes += n.cost()
	for l.bytes > maxBytes && len(l.notices) > 1 {
		l.dropFirst()
	}
	return seq
}

// trim forgets the notices numbered below before.
func (l *noticeLog) trim(before uint64) {
	for l.base < before && len(l.notices) > 0 {
		l.dropFirst()
	}
	if len(l.notices) == 0 {
		l.notices = nil // release the backing array
	}
}

func (l *noticeLog) dropFirst() {
	l.bytes -= l.notices[0].cost()
	l.notices[0] = notice{}
	l.notices = l.notices[1:]
	l.base++
}

// noticeStart is the sequence number from which m's pending notices are still
// to be delivered: notices the log has dropped are lost to m, and so are the
// oldest ones beyond m's room, MaxQueueItems pending items in all
// (docs/peerconnection.md, "Where Switchboard differs": past its limits a
// member loses its oldest presence notices).
func (c *Channel) noticeStart(m *member) uint64 {
	start := max(m.seen, c.log.base)
	end := c.log.end()
	room := max(c.cfg.MaxQueueItems-len(m.front)-len(m.queue), 0)
	if end-start > uint64(room) {
		start = end - uint64(room)
	}
	return start
}

// pendingNotices is the number of notices m has still to read.
func (c *Channel) pendingNotices(m *member) int {
	return int(c.log.end() - c.noticeStart(m))
}

// dropNoticesLocked moves m past the notices it lost (see noticeStart) and
// counts them as dropped.
func (c *Channel) dropNoticesLocked(m *member) {
	if start := c.noticeStart(m); start > m.seen {
		c.stats.dropped.Add(int64(start - m.seen))
		m.seen = start
	}
}
