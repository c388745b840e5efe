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

// noticeLog is the mailbox's presence notices, oldest first, numbered by
// consecutive sequence numbers. Each member reads it from its own position
// (box.seen): a sign-in is one entry in one log, not one response in
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

// noticeStart is the sequence number from which b's pending notices are still
// to be delivered: notices the log has dropped are lost to b, and so are the
// oldest ones beyond b's room, MaxQueueItems pending items in all
// (docs/peerconnection.md, "Where Switchboard differs": past its limits a
// member loses its oldest presence notices).
func (mb *mailbox) noticeStart(b *box) uint64 {
	start := max(b.seen, mb.log.base)
	end := mb.log.end()
	room := max(mb.cfg.MaxQueueItems-len(b.front)-len(b.queue), 0)
	if end-start > uint64(room) {
		start = end - uint64(room)
	}
	return start
}

// pendingNotices is the number of notices b has still to read.
func (mb *mailbox) pendingNotices(b *box) int {
	return int(mb.log.end() - mb.noticeStart(b))
}

// dropNotices moves b past the notices it lost (see noticeStart) and counts
// them as dropped.
func (mb *mailbox) dropNotices(b *box) {
	if start := mb.noticeStart(b); start > b.seen {
		mb.stats.dropped.Add(int64(start - b.seen))
		b.seen = start
	}
}
