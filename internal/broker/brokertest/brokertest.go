package brokertest

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/broker"
	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/protoo"
	"github.com/switchboard/switchboard/websocket"
)

// Config is what a test asks of the broker it gets. Its fields mean what
// the same fields of broker.MemoryConfig mean; a zero field takes the
// implementation's default, and a test sets every field it depends on.
type Config struct {
	// Rules give channel options by name prefix; nil: broker.DefaultRules().
	Rules broker.Rules
	// MaxChannels caps the channels alive at once (ErrTooManyChannels).
	MaxChannels int
	// MaxChannelsPerQuota caps the live channels one Quota created
	// (*QuotaError); negative: no cap.
	MaxChannelsPerQuota int
	// MaxHistoryBytes caps one channel's history, oldest out first.
	MaxHistoryBytes int
	// HistoryMaxAge is the history maximum age of channels whose rule
	// sets none; negative: none.
	HistoryMaxAge time.Duration
	// ReplayBytes and ReplayCount bound one page of a replay.
	ReplayBytes int
	ReplayCount int
	// Now is the clock; the suite moves it to age history.
	Now func() time.Time
}

// NewBroker builds a fresh broker for one test.
type NewBroker func(t *testing.T, cfg Config) broker.Broker

// Run runs the behaviour suite against the brokers newBroker builds, one
// subtest per behaviour.
func Run(t *testing.T, newBroker NewBroker) {
	for _, tc := range []struct {
		name string
		run  func(*testing.T, NewBroker)
	}{
		{"HistoryAndRecovery", testHistoryAndRecovery},
		{"HistoryBytes", testHistoryBytes},
		{"ReplayPages", testReplayPages},
		{"EncodesOnce", testEncodesOnce},
		{"Rules", testRules},
		{"Unsubscribe", testUnsubscribe},
		{"SubscribeAgain", testSubscribeAgain},
		{"PublishInReady", testPublishInReady},
		{"ConcurrentRecovery", testConcurrentRecovery},
		{"SubscribeOrder", testSubscribeOrder},
		{"MaxChannels", testMaxChannels},
		{"ChannelQuota", testChannelQuota},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newBroker) })
	}
}

// clock is a clock the tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Unix(1000, 0)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// event is what a subscriber sees: a subscribe result, or a live
// publication's frame and offset.
type event struct {
	result *broker.SubscribeResult
	frame  *websocket.PreparedMessage
	offset uint64
}

// recorder is a Subscriber that records results and publications in the
// order a session's queue would hold them.
type recorder struct {
	mu     sync.Mutex
	events []event
}

// Deliver implements broker.Subscriber: the frame must be a protoo
// notification `publication` whose data is a publication object.
func (r *recorder) Deliver(m *websocket.PreparedMessage) {
	off, err := frameOffset(m)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		off = 0 // live offsets start at 1: checks report it
	}
	r.events = append(r.events, event{frame: m, offset: off})
}

func (r *recorder) ready(res broker.SubscribeResult) {
	if _, err := json.Marshal(res); err != nil { // the encoding a session does
		panic(err)
	}
	r.mu.Lock()
	r.events = append(r.events, event{result: &res})
	r.mu.Unlock()
}

// live returns the offsets delivered live so far.
func (r *recorder) live() []uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := []uint64{}
	for _, e := range r.events {
		if e.result == nil {
			out = append(out, e.offset)
		}
	}
	return out
}

// wait bounds how long a test waits for deliveries: a broker may deliver
// after Publish returns.
const wait = 10 * time.Second

// waitLive waits until r has had n live publications.
func (r *recorder) waitLive(t *testing.T, n int) {
	t.Helper()
	testutil.WaitFor(t, wait, fmt.Sprintf("%d live publications", n), func() bool { return len(r.live()) >= n })
}

// waitView waits until r, seen as a client (clientView), has taken total
// publications or has gone wrong, and returns what it took.
func (r *recorder) waitView(total int) (view []uint64, err error) {
	testutil.Poll(wait, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		view, err = clientView(r.events)
		return err != nil || len(view) >= total
	})
	return view, err
}

// frames returns the frames delivered live so far.
func (r *recorder) frames() []*websocket.PreparedMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*websocket.PreparedMessage
	for _, e := range r.events {
		if e.result == nil {
			out = append(out, e.frame)
		}
	}
	return out
}

// publication is the wire object of a publication.
type publication struct {
	Channel string          `json:"channel"`
	Offset  uint64          `json:"offset"`
	Data    json.RawMessage `json:"data"`
	From    string          `json:"from"`
}

// parseFrame decodes a publication notification.
func parseFrame(m *websocket.PreparedMessage) (publication, error) {
	var p publication
	msg, err := protoo.Parse(m.Payload())
	if err != nil {
		return p, err
	}
	n, ok := msg.(*protoo.Notification)
	if !ok || n.Method != "publication" {
		return p, fmt.Errorf("frame %s is not a publication notification", m.Payload())
	}
	err = json.Unmarshal(n.Data, &p)
	return p, err
}

func frameOffset(m *websocket.PreparedMessage) (uint64, error) {
	p, err := parseFrame(m)
	return p.Offset, err
}

// subscribe subscribes sub and returns the result ready got.
func subscribe(t *testing.T, b broker.Broker, ch string, sub broker.Subscriber, since *broker.Position) broker.SubscribeResult {
	t.Helper()
	var res *broker.SubscribeResult
	ready := func(r broker.SubscribeResult) {
		if res != nil {
			t.Error("ready called twice")
		}
		res = &r
	}
	if rec, ok := sub.(*recorder); ok {
		ready = func(r broker.SubscribeResult) {
			if res != nil {
				t.Error("ready called twice")
			}
			res = &r
			rec.ready(r)
		}
	}
	if err := b.Subscribe(ch, sub, broker.SubscribeOptions{Since: since}, ready); err != nil {
		t.Fatalf("subscribe %s: %v", ch, err)
	}
	if res == nil {
		t.Fatalf("subscribe %s returned before ready was called", ch)
	}
	if res.Channel != ch || res.Epoch == "" {
		t.Fatalf("subscribe %s = %+v: wrong channel or no epoch", ch, *res)
	}
	return *res
}

// publish publishes n client messages on ch with data 0, 1, ...; it
// checks that their offsets follow one another.
func publish(t *testing.T, b broker.Broker, ch string, n int) {
	t.Helper()
	var last uint64
	for i := range n {
		off, err := b.Publish(ch, broker.Message{From: "a", Data: json.RawMessage(fmt.Sprint(i))})
		if err != nil {
			t.Fatalf("publish on %s: %v", ch, err)
		}
		if i > 0 && off != last+1 {
			t.Fatalf("publish on %s: offset %d after %d", ch, off, last)
		}
		last = off
	}
}

func offsets(pubs []broker.Publication) []uint64 {
	out := []uint64{}
	for _, p := range pubs {
		out = append(out, p.Offset)
	}
	return out
}

func seq(from, to uint64) []uint64 {
	out := []uint64{}
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}
