package broker

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/websocket"
)

// recorder is a Subscriber that keeps what it gets.
type recorder struct {
	mu     sync.Mutex
	frames []*websocket.PreparedMessage
}

func (r *recorder) Deliver(m *websocket.PreparedMessage) {
	r.mu.Lock()
	r.frames = append(r.frames, m)
	r.mu.Unlock()
}

type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func offsets(pubs []Publication) []uint64 {
	out := []uint64{}
	for _, p := range pubs {
		out = append(out, p.Offset)
	}
	return out
}

func subscribe(t *testing.T, b Broker, ch string, sub Subscriber, since *Position) SubscribeResult {
	t.Helper()
	var res SubscribeResult
	if err := b.Subscribe(ch, sub, SubscribeOptions{Since: since}, func(r SubscribeResult) { res = r }); err != nil {
		t.Fatal(err)
	}
	return res
}

func publish(t *testing.T, b Broker, ch string, n int) {
	t.Helper()
	for i := range n {
		if _, err := b.Publish(ch, Message{From: "a", Data: json.RawMessage(fmt.Sprint(i))}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMemoryOptions: a name no rule matches gets DefaultOptions with the
// broker's maximum age.
func TestMemoryOptions(t *testing.T) {
	b := NewMemory(MemoryConfig{Rules: Rules{{Prefix: "x", Options: Options{HistorySize: 1}}}})
	want := DefaultOptions()
	want.HistoryMaxAge = DefaultHistoryMaxAge
	if o := b.options("other"); o != want {
		t.Fatalf("default options = %+v", o)
	}
	if _, err := ParsePublishers("x"); err == nil {
		t.Fatal("ParsePublishers accepted x")
	}
}

// TestMemoryUnsubscribeRemovesEmpty checks that a channel without
// subscribers or history goes away and starts a new epoch.
func TestMemoryUnsubscribeRemovesEmpty(t *testing.T) {
	b := NewMemory(MemoryConfig{Rules: Rules{{Prefix: "", Options: Options{}}}, MaxChannels: 1})
	r := &recorder{}
	e1 := subscribe(t, b, "a", r, nil).Epoch
	if err := b.Subscribe("b", r, SubscribeOptions{}, nil); err != ErrTooManyChannels {
		t.Fatalf("second channel = %v", err)
	}
	b.Unsubscribe("a", r)
	if b.Stats().Channels != 0 {
		t.Fatal("empty channel kept")
	}
	if e2 := subscribe(t, b, "a", r, nil).Epoch; e2 == e1 {
		t.Fatal("a new channel kept the old epoch")
	}
}

// counter is a Subscriber that only counts, so the benchmark measures the
// broker.
type counter struct{ n int }

func (c *counter) Deliver(*websocket.PreparedMessage) { c.n++ }

// BenchmarkPublishFanout publishes 100-byte messages to a channel of 1000
// subscribers: one encoding per publication, no allocation per delivery.
func BenchmarkPublishFanout(b *testing.B) {
	m := NewMemory(MemoryConfig{})
	for range 1000 {
		if err := m.Subscribe("bench", &counter{}, SubscribeOptions{}, nil); err != nil {
			b.Fatal(err)
		}
	}
	msg := Message{From: "bench", Data: json.RawMessage(`"` + string(make([]byte, 0, 98)) + fmt.Sprintf("%098d", 0) + `"`)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Publish("bench", msg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/delivery")
}
