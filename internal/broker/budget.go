package broker

import (
	"sync"
	"sync/atomic"
)

// budget is the history byte budget shared by all channels
// (MemoryConfig.HistoryBytes). It queues a reference to every publication
// kept in some history in the order they were published, so that past the
// budget the oldest publications of any channel go first. References to
// publications a channel dropped by itself (HistorySize, age) go stale;
// they are skipped when popped and compacted away when they outnumber the
// live ones.
type budget struct {
	limit int64        // negative: no budget, only counting
	bytes atomic.Int64 // encoded bytes in all histories
	live  atomic.Int64 // publications in all histories

	mu   sync.Mutex
	refs []ref // refs[head:] are queued, oldest first
	head int
}

// ref names one publication in a channel's history.
type ref struct {
	ch     *channel
	offset uint64
}

// stale reports whether the publication has left its channel's history.
func (r ref) stale() bool { return r.offset < r.ch.first.Load() }

// add counts a publication appended to ch's history; ch.mu is held.
func (q *budget) add(ch *channel, offset uint64, size int) {
	q.bytes.Add(int64(size))
	live := q.live.Add(1)
	if q.limit < 0 {
		return
	}
	q.mu.Lock()
	if q.head > 0 && q.head >= len(q.refs)/2 {
		n := copy(q.refs, q.refs[q.head:])
		clear(q.refs[n:])
		q.refs, q.head = q.refs[:n], 0
	}
	if n := int64(len(q.refs) - q.head); n >= 1024 && n > 2*live {
		kept := q.refs[:0]
		for _, r := range q.refs[q.head:] {
			if !r.stale() {
				kept = append(kept, r)
			}
		}
		clear(q.refs[len(kept):])
		q.refs, q.head = kept, 0
	}
	q.refs = append(q.refs, ref{ch: ch, offset: offset})
	q.mu.Unlock()
}

// release counts n publications of size bytes in all leaving a history.
func (q *budget) release(n, size int) {
	q.bytes.Add(-int64(size))
	q.live.Add(-int64(n))
}

// over reports whether the histories hold more than the budget.
func (q *budget) over() bool { return q.limit >= 0 && q.bytes.Load() > q.limit }

// pop takes the oldest queued reference.
func (q *budget) pop() (ref, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.head == len(q.refs) {
		return ref{}, false
	}
	r := q.refs[q.head]
	q.refs[q.head] = ref{}
	q.head++
	return r, true
}

// evict drops the oldest publications of all channels until the
// histories fit the budget again. A channel that loses publications this
// way keeps its epoch: a subscriber whose position is older than what is
// left gets recovered:false, as after HistorySize.
func (b *Memory) evict() {
	for b.hist.over() {
		r, ok := b.hist.pop()
		if !ok {
			return
		}
		if r.stale() {
			continue
		}
		ch := r.ch
		ch.mu.Lock()
		if len(ch.history) > 0 && ch.history[0].pub.Offset <= r.offset {
			n := int(r.offset-ch.history[0].pub.Offset) + 1
			b.drop(ch, n)
			b.evicted.Add(int64(n))
		}
		ch.mu.Unlock()
	}
}
