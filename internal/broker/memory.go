package broker

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"sync/atomic"
	"time"
)

// MemoryConfig configures a Memory broker. The zero value works.
type MemoryConfig struct {
	// Rules give channel options by name prefix. Default DefaultRules().
	Rules Rules
	// MaxChannels caps the channels alive at once. Default 10000.
	MaxChannels int
	// MaxHistoryBytes caps the encoded size of one channel's history;
	// the oldest publications go first. Default 4 MiB.
	MaxHistoryBytes int
	// Now is the clock, for tests. Default time.Now.
	Now func() time.Time
}

// Memory is the in-memory Broker for one node.
type Memory struct {
	cfg MemoryConfig

	mu       sync.Mutex
	channels map[string]*channel

	published atomic.Int64
	delivered atomic.Int64
}

var _ Broker = (*Memory)(nil)

// NewMemory returns an empty in-memory broker.
func NewMemory(cfg MemoryConfig) *Memory {
	if cfg.Rules == nil {
		cfg.Rules = DefaultRules()
	}
	if cfg.MaxChannels <= 0 {
		cfg.MaxChannels = 10000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxHistoryBytes <= 0 {
		cfg.MaxHistoryBytes = 4 << 20
	}
	return &Memory{cfg: cfg, channels: make(map[string]*channel)}
}

// channel is one channel's state; its mutex orders publications and
// subscriptions.
type channel struct {
	name  string
	opts  Options
	epoch string

	mu      sync.Mutex
	offset  uint64
	history []entry // oldest first, offsets consecutive
	histLen int     // encoded bytes in history
	subs    map[Subscriber]struct{}
	dead    bool // removed from the broker: look it up again
}

type entry struct {
	pub Publication
	at  time.Time
}

func newEpoch() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// get returns the channel, creating it.
func (b *Memory) get(name string) (*channel, error) {
	if !ValidChannel(name) {
		return nil, ErrInvalidChannel
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if ch, ok := b.channels[name]; ok {
		return ch, nil
	}
	if len(b.channels) >= b.cfg.MaxChannels {
		return nil, ErrTooManyChannels
	}
	ch := &channel{name: name, opts: b.cfg.Rules.Options(name), epoch: newEpoch(), subs: make(map[Subscriber]struct{})}
	b.channels[name] = ch
	return ch, nil
}

// lock returns the live channel, locked.
func (b *Memory) lock(name string) (*channel, error) {
	for {
		ch, err := b.get(name)
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

// Options returns the options channel has or would have.
func (b *Memory) Options(channel string) Options { return b.cfg.Rules.Options(channel) }

// Publish implements Broker.
func (b *Memory) Publish(name string, m Message) (uint64, error) {
	if !m.Server && b.cfg.Rules.Options(name).Publish == PublishersServer {
		return 0, ErrForbidden
	}
	ch, err := b.lock(name)
	if err != nil {
		return 0, err
	}
	defer ch.mu.Unlock()
	ch.offset++
	pub := Publication{Offset: ch.offset, json: encodePublication(name, ch.offset, m)}
	now := b.cfg.Now()
	if ch.opts.HistorySize > 0 {
		ch.history = append(ch.history, entry{pub: pub, at: now})
		ch.histLen += len(pub.json)
		// Past HistorySize or MaxHistoryBytes the oldest go; the
		// newest one always stays.
		n := max(0, len(ch.history)-ch.opts.HistorySize)
		size := ch.histLen
		for _, e := range ch.history[:n] {
			size -= len(e.pub.json)
		}
		for ; n < len(ch.history)-1 && size > b.cfg.MaxHistoryBytes; n++ {
			size -= len(ch.history[n].pub.json)
		}
		ch.drop(n)
	}
	ch.expire(now)
	b.published.Add(1)
	if len(ch.subs) == 0 {
		return pub.Offset, nil
	}
	frame := publicationFrame(pub.json)
	for s := range ch.subs {
		s.Deliver(frame)
	}
	b.delivered.Add(int64(len(ch.subs)))
	return pub.Offset, nil
}

// expire drops publications older than the channel's maximum age.
func (ch *channel) expire(now time.Time) {
	if ch.opts.HistoryMaxAge <= 0 {
		return
	}
	cut := 0
	for cut < len(ch.history) && now.Sub(ch.history[cut].at) > ch.opts.HistoryMaxAge {
		cut++
	}
	ch.drop(cut)
}

// drop removes the n oldest publications from the history.
func (ch *channel) drop(n int) {
	if n <= 0 {
		return
	}
	for _, e := range ch.history[:n] {
		ch.histLen -= len(e.pub.json)
	}
	clear(ch.history[:n])
	ch.history = ch.history[n:]
}

// Subscribe implements Broker.
func (b *Memory) Subscribe(name string, sub Subscriber, since *Position, ready func(SubscribeResult)) error {
	ch, err := b.lock(name)
	if err != nil {
		return err
	}
	defer ch.mu.Unlock()
	ch.expire(b.cfg.Now())
	res := SubscribeResult{Channel: name, Epoch: ch.epoch, Offset: ch.offset, Publications: []Publication{}}
	if since != nil {
		res.Publications, res.Recovered = ch.since(*since)
	}
	ch.subs[sub] = struct{}{}
	if ready != nil {
		ready(res)
	}
	return nil
}

// since returns the publications after p, and whether they are all there.
func (ch *channel) since(p Position) ([]Publication, bool) {
	if p.Epoch != ch.epoch || p.Offset > ch.offset {
		return []Publication{}, false
	}
	missed := ch.offset - p.Offset
	if missed == 0 {
		return []Publication{}, true
	}
	if missed > uint64(len(ch.history)) {
		return []Publication{}, false
	}
	tail := ch.history[uint64(len(ch.history))-missed:]
	out := make([]Publication, len(tail))
	for i, e := range tail {
		out[i] = e.pub
	}
	return out, true
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
	ch.expire(b.cfg.Now())
	remove := len(ch.subs) == 0 && len(ch.history) == 0 && !ch.dead
	if remove {
		ch.dead = true
	}
	ch.mu.Unlock()
	if remove {
		b.mu.Lock()
		if b.channels[name] == ch {
			delete(b.channels, name)
		}
		b.mu.Unlock()
	}
}

// Stats implements Broker.
func (b *Memory) Stats() Stats {
	b.mu.Lock()
	chans := make([]*channel, 0, len(b.channels))
	for _, ch := range b.channels {
		chans = append(chans, ch)
	}
	b.mu.Unlock()
	s := Stats{Channels: len(chans), Published: b.published.Load(), Delivered: b.delivered.Load()}
	for _, ch := range chans {
		ch.mu.Lock()
		s.Subscriptions += len(ch.subs)
		ch.mu.Unlock()
	}
	return s
}
