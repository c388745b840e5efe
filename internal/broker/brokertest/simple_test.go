package brokertest_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/broker"
	"github.com/switchboard/switchboard/internal/broker/brokertest"
)

// TestSimpleSuite runs the suite against simple, a Broker written from
// package broker's exported API alone: it proves that a broker can live
// outside package broker.
func TestSimpleSuite(t *testing.T) {
	brokertest.Run(t, func(t *testing.T, cfg brokertest.Config) broker.Broker { return newSimple(cfg) })
}

// simple is a small Broker: one lock for everything, no shared history
// budget, no sweeper (a full table removes idle channels when it must).
// It keeps only the relaxed contract: ready runs after the lock is
// released, so a publication made meanwhile may reach the subscriber
// before the result.
type simple struct {
	cfg      brokertest.Config
	perQuota int // for Quota.Take: 0 is no cap

	mu        sync.Mutex
	chans     map[string]*simpleChannel
	epochs    int
	published int64
	delivered int64
}

type simpleChannel struct {
	opts      broker.Options
	epoch     string
	offset    uint64
	hist      []simpleEntry // oldest first
	histBytes int
	subs      map[broker.Subscriber]bool
	quota     *broker.Quota
}

type simpleEntry struct {
	pub broker.Publication
	at  time.Time
}

var _ broker.Broker = (*simple)(nil)

func newSimple(cfg brokertest.Config) *simple {
	if cfg.Rules == nil {
		cfg.Rules = broker.DefaultRules()
	}
	if cfg.MaxChannels == 0 {
		cfg.MaxChannels = 10000
	}
	perQuota := cfg.MaxChannelsPerQuota
	switch {
	case perQuota == 0:
		perQuota = 100
	case perQuota < 0:
		perQuota = 0
	}
	if cfg.MaxHistoryBytes == 0 {
		cfg.MaxHistoryBytes = 4 << 20
	}
	if cfg.HistoryMaxAge == 0 {
		cfg.HistoryMaxAge = time.Hour
	}
	if cfg.ReplayBytes == 0 {
		cfg.ReplayBytes = 256 << 10
	}
	if cfg.ReplayCount == 0 {
		cfg.ReplayCount = 1000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &simple{cfg: cfg, perQuota: perQuota, chans: map[string]*simpleChannel{}}
}

// channel returns the channel, creating it on q's account; s.mu is held.
func (s *simple) channel(name string, q *broker.Quota) (*simpleChannel, error) {
	if !broker.ValidChannel(name) {
		return nil, broker.ErrInvalidChannel
	}
	if ch := s.chans[name]; ch != nil {
		return ch, nil
	}
	if len(s.chans) >= s.cfg.MaxChannels {
		now := s.cfg.Now()
		for name, ch := range s.chans {
			s.expire(ch, now)
			s.removeIdle(name, ch)
		}
		if len(s.chans) >= s.cfg.MaxChannels {
			return nil, broker.ErrTooManyChannels
		}
	}
	if !q.Take(s.perQuota) {
		return nil, &broker.QuotaError{Limit: s.perQuota}
	}
	opts := s.cfg.Rules.Options(name)
	if opts.HistoryMaxAge == 0 && s.cfg.HistoryMaxAge > 0 {
		opts.HistoryMaxAge = s.cfg.HistoryMaxAge
	}
	s.epochs++
	ch := &simpleChannel{opts: opts, epoch: fmt.Sprint("simple-", s.epochs), subs: map[broker.Subscriber]bool{}, quota: q}
	s.chans[name] = ch
	return ch, nil
}

// expire drops the publications past the channel's maximum age.
func (s *simple) expire(ch *simpleChannel, now time.Time) {
	for ch.opts.HistoryMaxAge > 0 && len(ch.hist) > 0 && now.Sub(ch.hist[0].at) > ch.opts.HistoryMaxAge {
		s.dropOldest(ch)
	}
}

func (s *simple) dropOldest(ch *simpleChannel) {
	ch.histBytes -= ch.hist[0].pub.Size()
	ch.hist = ch.hist[1:]
}

// removeIdle removes a channel without subscribers or history.
func (s *simple) removeIdle(name string, ch *simpleChannel) {
	if len(ch.subs) == 0 && len(ch.hist) == 0 {
		delete(s.chans, name)
		ch.quota.Release()
	}
}

func (s *simple) Publish(name string, m broker.Message) (uint64, error) {
	if !m.Server && s.cfg.Rules.Options(name).Publish == broker.PublishersServer {
		return 0, broker.ErrForbidden
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, err := s.channel(name, m.Quota)
	if err != nil {
		return 0, err
	}
	ch.offset++
	pub := broker.NewPublication(name, ch.offset, m)
	now := s.cfg.Now()
	if ch.opts.HistorySize > 0 {
		ch.hist = append(ch.hist, simpleEntry{pub: pub, at: now})
		ch.histBytes += pub.Size()
		for len(ch.hist) > 1 && (len(ch.hist) > ch.opts.HistorySize || ch.histBytes > s.cfg.MaxHistoryBytes) {
			s.dropOldest(ch)
		}
	}
	s.expire(ch, now)
	s.published++
	if len(ch.subs) > 0 {
		frame := pub.Frame()
		for sub := range ch.subs {
			sub.Deliver(frame)
		}
		s.delivered += int64(len(ch.subs))
	}
	return ch.offset, nil
}

func (s *simple) Subscribe(name string, sub broker.Subscriber, opts broker.SubscribeOptions, ready func(broker.SubscribeResult)) error {
	s.mu.Lock()
	ch, err := s.channel(name, opts.Quota)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	s.expire(ch, s.cfg.Now())
	ch.subs[sub] = true
	res := broker.SubscribeResult{Channel: name, Epoch: ch.epoch, Offset: ch.offset}
	if opts.Since != nil {
		res.Publications, res.Recovered, res.More = s.since(ch, *opts.Since)
	}
	s.mu.Unlock()
	if ready != nil {
		ready(res)
	}
	return nil
}

// since returns one page of the publications after p, whether the
// history holds all of them, and whether more follow the page.
func (s *simple) since(ch *simpleChannel, p broker.Position) (pubs []broker.Publication, recovered, more bool) {
	if p.Epoch != ch.epoch || p.Offset > ch.offset {
		return nil, false, false
	}
	missed := ch.offset - p.Offset
	if missed > uint64(len(ch.hist)) {
		return nil, false, false
	}
	size := 0
	for _, e := range ch.hist[uint64(len(ch.hist))-missed:] {
		size += e.pub.Size()
		if len(pubs) == s.cfg.ReplayCount || (len(pubs) > 0 && size > s.cfg.ReplayBytes) {
			return pubs, true, true
		}
		pubs = append(pubs, e.pub)
	}
	return pubs, true, false
}

func (s *simple) Unsubscribe(name string, sub broker.Subscriber) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.chans[name]
	if ch == nil {
		return
	}
	delete(ch.subs, sub)
	s.expire(ch, s.cfg.Now())
	s.removeIdle(name, ch)
}

func (s *simple) Stats() broker.Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := broker.Stats{Channels: len(s.chans), Published: s.published, Delivered: s.delivered}
	for _, ch := range s.chans {
		st.Subscriptions += len(ch.subs)
		st.HistoryBytes += int64(ch.histBytes)
	}
	return st
}
