package peerconn

import "sync/atomic"

// counters are the channel's event counts, see [Stats].
type counters struct {
	signIns, signOuts, expired, messages, refused, dropped, requeued atomic.Int64
}

// Stats is a snapshot of a channel's state and counters.
type Stats struct {
	Members int // signed in now
	Parked  int // members with a parked /wait now
	Queued  int // items pending in all queues now, presence notices included
	// QueueBytes is the memory the queues hold now: the messages and
	// given-back responses, plus the shared presence notices, each
	// counted once however many members have still to read it.
	QueueBytes  int
	Notices     int   // presence notices held for members that have not read them
	NoticeBytes int   // their cost against Config.MaxNoticeBytes
	SignIns     int64 // since start
	SignOuts    int64
	Expired     int64 // members removed by expiry
	Messages    int64 // messages accepted for another member
	Refused     int64 // requests answered 503 (queue full, member cap, ids exhausted)
	Dropped     int64 // presence notices a member lost, past its queue limit or MaxNoticeBytes
	Requeued    int64 // items put back after a failed write
}

// Stats returns the current state and counters.
func (c *Channel) Stats() Stats {
	c.mu.Lock()
	mb := &c.mail
	s := Stats{
		Members:     c.roster.Len(),
		Parked:      len(mb.parked),
		Notices:     len(mb.log.notices),
		NoticeBytes: mb.log.bytes,
		QueueBytes:  mb.log.bytes,
	}
	var lost int64
	for b := mb.first; b != nil; b = b.next {
		s.Queued += len(b.front) + len(b.queue) + mb.pendingNotices(b)
		s.QueueBytes += b.queueBytes
		lost += int64(mb.noticeStart(b) - b.seen)
	}
	c.mu.Unlock()
	s.SignIns = c.stats.signIns.Load()
	s.SignOuts = c.stats.signOuts.Load()
	s.Expired = c.stats.expired.Load()
	s.Messages = c.stats.messages.Load()
	s.Refused = c.stats.refused.Load()
	s.Dropped = c.stats.dropped.Load() + lost
	s.Requeued = c.stats.requeued.Load()
	return s
}
