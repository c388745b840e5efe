package broker

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/websocket"
)

// MemoryConfig configures a Memory broker. The zero value works.
type MemoryConfig struct {
	// Rules give channel options by name prefix. Default DefaultRules().
	Rules Rules
	// MaxChannels caps the channels alive at once. Default 10000.
	MaxChannels int
	// MaxChannelsPerQuota caps the channels alive at once that one Quota
	// (one session) created; creating one more is ErrChannelQuota.
	// Default 100; negative: no cap.
	MaxChannelsPerQuota int
	// MaxHistoryBytes caps one channel's history; the oldest publications
	// go first. Default 4 MiB.
	MaxHistoryBytes int
	// HistoryBytes caps the history of all channels together; past it the
	// oldest publications of any channel go first. Sizes are counted as
	// stored: encoded and decompressed, whatever the client's compression
	// saved on the wire. Default 256 MiB; negative: no cap.
	HistoryBytes int64
	// HistoryMaxAge drops publications older than this from the history
	// of channels whose Options set no HistoryMaxAge. Default 1 h;
	// negative: kept until HistorySize or the byte caps push them out.
	HistoryMaxAge time.Duration
	// ReplayBytes and ReplayCount bound the publications one subscribe
	// result replays (at least one is always replayed); a longer replay
	// sets More and the subscriber subscribes again from the last one.
	// Defaults 256 KiB and 1000.
	ReplayBytes int
	ReplayCount int
	// Now is the clock, for tests. Default time.Now.
	Now func() time.Time
}

// Defaults of MemoryConfig.
const (
	DefaultMaxChannels         = 10000
	DefaultMaxChannelsPerQuota = 100
	DefaultMaxHistoryBytes     = 4 << 20
	DefaultHistoryBytes        = 256 << 20
	DefaultHistoryMaxAge       = time.Hour
	DefaultReplayBytes         = 256 << 10
	DefaultReplayCount         = 1000
)

// Memory is the in-memory Broker for one node.
type Memory struct {
	cfg MemoryConfig

	mu        sync.Mutex
	channels  map[string]*channel
	lastSweep time.Time // of a sweep on a full table, see get

	hist budget

	published atomic.Int64
	delivered atomic.Int64
	evicted   atomic.Int64
	removed   atomic.Int64
}

var (
	_ Broker  = (*Memory)(nil)
	_ Sweeper = (*Memory)(nil)
)

// NewMemory returns an empty in-memory broker.
func NewMemory(cfg MemoryConfig) *Memory {
	if cfg.Rules == nil {
		cfg.Rules = DefaultRules()
	}
	if cfg.MaxChannels <= 0 {
		cfg.MaxChannels = DefaultMaxChannels
	}
	if cfg.MaxChannelsPerQuota == 0 {
		cfg.MaxChannelsPerQuota = DefaultMaxChannelsPerQuota
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxHistoryBytes <= 0 {
		cfg.MaxHistoryBytes = DefaultMaxHistoryBytes
	}
	if cfg.HistoryBytes == 0 {
		cfg.HistoryBytes = DefaultHistoryBytes
	}
	if cfg.HistoryMaxAge == 0 {
		cfg.HistoryMaxAge = DefaultHistoryMaxAge
	}
	if cfg.ReplayBytes <= 0 {
		cfg.ReplayBytes = DefaultReplayBytes
	}
	if cfg.ReplayCount <= 0 {
		cfg.ReplayCount = DefaultReplayCount
	}
	b := &Memory{cfg: cfg, channels: make(map[string]*channel)}
	b.hist.limit = cfg.HistoryBytes
	return b
}

// channel is one channel's state; its mutex orders publications and
// subscriptions.
type channel struct {
	name    string
	opts    Options
	epoch   string
	creator *Quota // pays for the channel while it lives; nil: nobody

	mu      sync.Mutex
	offset  uint64
	history []entry // oldest first, offsets consecutive
	histLen int     // encoded bytes in history
	subs    map[Subscriber]struct{}
	pending map[Subscriber]*pending // subscribers whose result is being sent
	dead    bool                    // removed from the broker: look it up again

	// first is the offset of the oldest publication in history (offset+1
	// when it is empty), for the history budget to skip stale entries
	// without the lock.
	first atomic.Uint64
}

type entry struct {
	pub Publication
	at  time.Time
}

// pending holds the publications of a subscriber whose subscribe result
// is being encoded outside the lock; they are delivered after it.
type pending struct {
	held []*websocket.PreparedMessage
}

// maxHeld bounds the publications held for one pending subscriber; past
// it they are dropped, as a full queue drops them, and the subscriber
// recovers them by offset.
const maxHeld = 1024

func newEpoch() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// get returns the channel, creating it on q's account.
func (b *Memory) get(name string, q *Quota) (*channel, error) {
	if !ValidChannel(name) {
		return nil, ErrInvalidChannel
	}
	b.mu.Lock()
	if ch, ok := b.channels[name]; ok {
		b.mu.Unlock()
		return ch, nil
	}
	limit := b.cfg.MaxChannelsPerQuota
	if q != nil && limit > 0 && q.n.Load() >= int64(limit) {
		b.mu.Unlock()
		return nil, &QuotaError{Limit: limit}
	}
	if len(b.channels) >= b.cfg.MaxChannels {
		// A full table may hold idle channels a sweep would free: sweep
		// now, at most once a second so that a client knocking on a full
		// table does not make every request walk it.
		now := b.cfg.Now()
		if now.Sub(b.lastSweep) < time.Second {
			b.mu.Unlock()
			return nil, ErrTooManyChannels
		}
		b.lastSweep = now
		b.mu.Unlock()
		b.Sweep()
		b.mu.Lock()
		if ch, ok := b.channels[name]; ok {
			b.mu.Unlock()
			return ch, nil
		}
		if len(b.channels) >= b.cfg.MaxChannels {
			b.mu.Unlock()
			return nil, ErrTooManyChannels
		}
	}
	defer b.mu.Unlock()
	if !q.Take(limit) { // again: b.mu was released for the sweep
		return nil, &QuotaError{Limit: limit}
	}
	ch := &channel{name: name, opts: b.options(name), epoch: newEpoch(), creator: q,
		subs: make(map[Subscriber]struct{})}
	ch.first.Store(1)
	b.channels[name] = ch
	return ch, nil
}

// lock returns the live channel, locked.
func (b *Memory) lock(name string, q *Quota) (*channel, error) {
	for {
		ch, err := b.get(name, q)
		if err != nil {
			return nil, err
		}
		ch.mu.Lock()
		if !ch.dead {
			return ch, nil
		}
		ch.mu.Unlock()
	}
}

// options returns the options channel has or would have: its rule's, with
// MemoryConfig.HistoryMaxAge when the rule sets no maximum age.
func (b *Memory) options(channel string) Options {
	o := b.cfg.Rules.Options(channel)
	if o.HistoryMaxAge == 0 && b.cfg.HistoryMaxAge > 0 {
		o.HistoryMaxAge = b.cfg.HistoryMaxAge
	}
	return o
}

// Publish implements Broker.
func (b *Memory) Publish(name string, m Message) (uint64, error) {
	if !m.Server && b.cfg.Rules.Options(name).Publish == PublishersServer {
		return 0, ErrForbidden
	}
	ch, err := b.lock(name, m.Quota)
	if err != nil {
		return 0, err
	}
	off := b.publishLocked(ch, m)
	ch.mu.Unlock()
	if b.hist.over() {
		b.evict()
	}
	return off, nil
}

// publishLocked appends and delivers a publication; ch.mu is held.
func (b *Memory) publishLocked(ch *channel, m Message) uint64 {
	ch.offset++
	pub := NewPublication(ch.name, ch.offset, m)
	now := b.cfg.Now()
	if ch.opts.HistorySize > 0 {
		ch.history = append(ch.history, entry{pub: pub, at: now})
		ch.histLen += pub.Size()
		b.hist.add(ch, pub.Offset, pub.Size())
		// Past HistorySize or MaxHistoryBytes the oldest go; the
		// newest one always stays.
		n := max(0, len(ch.history)-ch.opts.HistorySize)
		size := ch.histLen
		for _, e := range ch.history[:n] {
			size -= e.pub.Size()
		}
		for ; n < len(ch.history)-1 && size > b.cfg.MaxHistoryBytes; n++ {
			size -= ch.history[n].pub.Size()
		}
		b.drop(ch, n)
	}
	b.expire(ch, now)
	b.published.Add(1)
	if len(ch.subs) == 0 && len(ch.pending) == 0 {
		return pub.Offset
	}
	frame := pub.Frame()
	for s := range ch.subs {
		s.Deliver(frame)
	}
	b.delivered.Add(int64(len(ch.subs)))
	for _, p := range ch.pending {
		if len(p.held) < maxHeld { // else dropped: a gap the subscriber recovers
			p.held = append(p.held, frame)
		}
	}
	return pub.Offset
}

// expire drops publications older than the channel's maximum age.
func (b *Memory) expire(ch *channel, now time.Time) {
	if ch.opts.HistoryMaxAge <= 0 {
		return
	}
	cut := 0
	for cut < len(ch.history) && now.Sub(ch.history[cut].at) > ch.opts.HistoryMaxAge {
		cut++
	}
	b.drop(ch, cut)
}

// drop removes the n oldest publications from ch's history.
func (b *Memory) drop(ch *channel, n int) {
	if n <= 0 {
		return
	}
	size := 0
	for _, e := range ch.history[:n] {
		size += e.pub.Size()
	}
	ch.histLen -= size
	b.hist.release(n, size)
	clear(ch.history[:n])
	ch.history = ch.history[n:]
	if len(ch.history) == 0 {
		ch.history = nil // let the backing array go
		ch.first.Store(ch.offset + 1)
	} else {
		ch.first.Store(ch.history[0].pub.Offset)
	}
}

// Subscribe implements Broker. The result is encoded by ready outside the
// channel's lock: the subscriber is registered as pending under it, and
// the publications that arrive meanwhile are held and delivered after
// ready returns.
func (b *Memory) Subscribe(name string, sub Subscriber, opts SubscribeOptions, ready func(SubscribeResult)) error {
	ch, err := b.lock(name, opts.Quota)
	if err != nil {
		return err
	}
	b.expire(ch, b.cfg.Now())
	res := SubscribeResult{Channel: name, Epoch: ch.epoch, Offset: ch.offset, Publications: []Publication{}}
	if opts.Since != nil {
		res.Publications, res.Recovered, res.More = b.since(ch, *opts.Since)
	}
	delete(ch.subs, sub)
	p := &pending{}
	if ch.pending == nil {
		ch.pending = make(map[Subscriber]*pending)
	}
	ch.pending[sub] = p
	ch.mu.Unlock()

	defer b.activate(ch, sub, p) // even if ready panics
	if ready != nil {
		ready(res)
	}
	return nil
}

// activate delivers what was held for a pending subscriber and makes it a
// subscriber, unless it unsubscribed or subscribed again meanwhile.
func (b *Memory) activate(ch *channel, sub Subscriber, p *pending) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.pending[sub] != p {
		return
	}
	delete(ch.pending, sub)
	for _, m := range p.held {
		sub.Deliver(m)
	}
	b.delivered.Add(int64(len(p.held)))
	ch.subs[sub] = struct{}{}
}

// since returns at most one page of the publications after p, whether
// they are all there, and whether more follow the page.
func (b *Memory) since(ch *channel, p Position) (pubs []Publication, recovered, more bool) {
	if p.Epoch != ch.epoch || p.Offset > ch.offset {
		return []Publication{}, false, false
	}
	missed := ch.offset - p.Offset
	if missed == 0 {
		return []Publication{}, true, false
	}
	if missed > uint64(len(ch.history)) {
		return []Publication{}, false, false
	}
	tail := ch.history[uint64(len(ch.history))-missed:]
	n, size := 0, 0
	for n < len(tail) && n < b.cfg.ReplayCount {
		size += tail[n].pub.Size()
		if n > 0 && size > b.cfg.ReplayBytes {
			break
		}
		n++
	}
	out := make([]Publication, n)
	for i, e := range tail[:n] {
		out[i] = e.pub
	}
	return out, true, n < len(tail)
}

// Unsubscribe implements Broker. A channel left without subscribers or
// history is removed; its next use starts a new epoch.
func (b *Memory) Unsubscribe(name string, sub Subscriber) {
	b.mu.Lock()
	ch, ok := b.channels[name]
	b.mu.Unlock()
	if !ok {
		return
	}
	ch.mu.Lock()
	delete(ch.subs, sub)
	delete(ch.pending, sub)
	b.expire(ch, b.cfg.Now())
	remove := b.idle(ch)
	ch.mu.Unlock()
	if remove {
		b.remove(ch)
	}
}

// Stats implements Broker.
func (b *Memory) Stats() Stats {
	chans := b.snapshot()
	s := Stats{Channels: len(chans), Published: b.published.Load(), Delivered: b.delivered.Load(),
		HistoryBytes: b.hist.bytes.Load(), Evicted: b.evicted.Load(), Removed: b.removed.Load()}
	for _, ch := range chans {
		ch.mu.Lock()
		s.Subscriptions += len(ch.subs) + len(ch.pending)
		ch.mu.Unlock()
	}
	return s
}
