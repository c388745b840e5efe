package broker

import (
	"fmt"
	"sync/atomic"
)

// Quota counts the channels one owner (a session) created that are still
// alive; MemoryConfig.MaxChannelsPerQuota caps them. A channel is charged
// to whoever's publish or subscribe created it, until it is removed. The
// zero value is ready to use.
type Quota struct{ n atomic.Int64 }

// Channels returns how many channels charged to q are alive.
func (q *Quota) Channels() int { return int(q.n.Load()) }

// Take charges one more channel to q unless q already has limit of them
// (limit <= 0: no cap), and reports whether it did. A nil Quota (the
// server's) pays nothing and always may. A broker calls it when a publish
// or subscribe creates a channel, and Release when that channel goes.
func (q *Quota) Take(limit int) bool {
	if q == nil {
		return true
	}
	for {
		n := q.n.Load()
		if limit > 0 && n >= int64(limit) {
			return false
		}
		if q.n.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// Release gives back a channel charged with Take; on nil it does nothing.
func (q *Quota) Release() {
	if q != nil {
		q.n.Add(-1)
	}
}

// QuotaError is the error of a publish or subscribe that would create a
// channel past its Quota. It matches ErrChannelQuota.
type QuotaError struct {
	Limit int // MemoryConfig.MaxChannelsPerQuota
}

func (e *QuotaError) Error() string {
	return fmt.Sprintf("broker: this session created %d channels that are still in use, the most it may; an idle one is removed once its history expires", e.Limit)
}

// Unwrap returns ErrChannelQuota.
func (e *QuotaError) Unwrap() error { return ErrChannelQuota }
