package broker

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/protoo"
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

func TestMemoryHistoryAndRecovery(t *testing.T) {
	clk := &clock{now: time.Unix(1000, 0)}
	b := NewMemory(MemoryConfig{
		Rules: Rules{{Prefix: "h", Options: Options{HistorySize: 5, HistoryMaxAge: time.Minute}}},
		Now:   clk.Now,
	})
	r := &recorder{}
	first := subscribe(t, b, "h1", r, nil)
	if first.Offset != 0 || first.Epoch == "" || first.Recovered || len(first.Publications) != 0 {
		t.Fatalf("first subscribe = %+v", first)
	}
	publish(t, b, "h1", 3)
	pos := Position{Epoch: first.Epoch, Offset: 1}
	res := subscribe(t, b, "h1", &recorder{}, &pos)
	if !res.Recovered || fmt.Sprint(offsets(res.Publications)) != "[2 3]" || res.Offset != 3 {
		t.Fatalf("recovery from 1 = %+v", res)
	}
	want := `{"channel":"h1","offset":2,"data":1,"from":"a"}`
	if got, _ := json.Marshal(res.Publications[0]); string(got) != want {
		t.Fatalf("publication = %s, want %s", got, want)
	}
	// Caught up: recovered, nothing to replay.
	pos.Offset = 3
	if res := subscribe(t, b, "h1", &recorder{}, &pos); !res.Recovered || len(res.Publications) != 0 {
		t.Fatalf("recovery at the head = %+v", res)
	}
	// The window holds 5: from offset 1 (missing 2..8) is lost.
	publish(t, b, "h1", 5)
	pos.Offset = 1
	if res := subscribe(t, b, "h1", &recorder{}, &pos); res.Recovered || len(res.Publications) != 0 {
		t.Fatalf("recovery past the window = %+v", res)
	}
	pos.Offset = 3
	if res := subscribe(t, b, "h1", &recorder{}, &pos); !res.Recovered || fmt.Sprint(offsets(res.Publications)) != "[4 5 6 7 8]" {
		t.Fatalf("recovery of the whole window = %+v", res)
	}
	// Age: after a minute the history is gone.
	clk.now = clk.now.Add(2 * time.Minute)
	if res := subscribe(t, b, "h1", &recorder{}, &pos); res.Recovered {
		t.Fatalf("recovery of expired publications = %+v", res)
	}
	// Wrong epoch, future offset.
	for _, p := range []Position{{Epoch: "other", Offset: 8}, {Epoch: first.Epoch, Offset: 99}} {
		if res := subscribe(t, b, "h1", &recorder{}, &p); res.Recovered {
			t.Fatalf("recovery from %+v = %+v", p, res)
		}
	}
	if n := len(r.frames); n != 8 {
		t.Fatalf("live subscriber got %d frames, want 8", n)
	}
}

// TestMemoryEncodesOnce checks that every subscriber gets the same
// prepared message, a protoo publication notification.
func TestMemoryEncodesOnce(t *testing.T) {
	b := NewMemory(MemoryConfig{})
	subs := []*recorder{{}, {}, {}}
	for _, s := range subs {
		subscribe(t, b, ChannelGroup, s, nil)
	}
	off, err := b.Publish(ChannelGroup, Message{From: "x", Data: json.RawMessage(`{"t":1}`)})
	if err != nil || off != 1 {
		t.Fatal(off, err)
	}
	for _, s := range subs[1:] {
		if len(s.frames) != 1 || s.frames[0] != subs[0].frames[0] {
			t.Fatal("subscribers got different messages")
		}
	}
	if st := b.Stats(); st.Published != 1 || st.Delivered != 3 || st.Subscriptions != 3 {
		t.Fatalf("stats %+v", st)
	}
}

func TestMemoryRules(t *testing.T) {
	b := NewMemory(MemoryConfig{Rules: append(DefaultRules(), Rule{Prefix: "stream:open", Options: Options{Publish: PublishersClients}})})
	if _, err := b.Publish(ChannelStream, Message{From: "x", Data: json.RawMessage(`1`)}); err != ErrForbidden {
		t.Fatalf("client publish on stream = %v", err)
	}
	if _, err := b.Publish(ChannelStream, Message{Data: json.RawMessage(`1`), Server: true}); err != nil {
		t.Fatalf("server publish on stream = %v", err)
	}
	if _, err := b.Publish("stream:open:1", Message{Data: json.RawMessage(`1`)}); err != nil {
		t.Fatalf("longer prefix rule = %v", err)
	}
	if _, err := b.Publish("", Message{}); err != ErrInvalidChannel {
		t.Fatalf("empty channel = %v", err)
	}
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

// TestMemoryConcurrentRecovery races publishers against subscribers that
// recover from offset 0: each must see every offset exactly once between
// the replay and live delivery.
func TestMemoryConcurrentRecovery(t *testing.T) {
	b := NewMemory(MemoryConfig{Rules: Rules{{Prefix: "", Options: Options{HistorySize: 10000}}}})
	epoch := subscribe(t, b, "c", &recorder{}, nil).Epoch
	const total = 2000
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range total {
			if _, err := b.Publish("c", Message{Data: json.RawMessage(`1`)}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	recs := make([]*recorder, 8)
	replays := make([]SubscribeResult, 8)
	for i := range recs {
		recs[i] = &recorder{}
		replays[i] = subscribe(t, b, "c", recs[i], &Position{Epoch: epoch})
	}
	wg.Wait()
	for i, r := range recs {
		seen := map[uint64]int{}
		for _, p := range replays[i].Publications {
			seen[p.Offset]++
		}
		for _, f := range r.frames {
			m, err := protoo.Parse(f.Payload())
			if err != nil {
				t.Fatal(err)
			}
			var p struct{ Offset uint64 }
			_ = json.Unmarshal(m.(*protoo.Notification).Data, &p)
			seen[p.Offset]++
		}
		for off := uint64(1); off <= total; off++ {
			if seen[off] != 1 {
				t.Fatalf("subscriber %d saw offset %d %d times", i, off, seen[off])
			}
		}
	}
}

func TestMemoryHistoryBytes(t *testing.T) {
	b := NewMemory(MemoryConfig{Rules: Rules{{Prefix: "", Options: Options{HistorySize: 100}}}, MaxHistoryBytes: 1000})
	e := subscribe(t, b, "c", &recorder{}, nil).Epoch
	data := json.RawMessage(`"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"`)
	for range 20 {
		if _, err := b.Publish("c", Message{Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	res := subscribe(t, b, "c", &recorder{}, &Position{Epoch: e, Offset: 0})
	if res.Recovered {
		t.Fatal("recovered 20 publications from a 1000-byte history")
	}
	ok := subscribe(t, b, "c", &recorder{}, &Position{Epoch: e, Offset: 17})
	if !ok.Recovered || len(ok.Publications) != 3 {
		t.Fatalf("recent recovery = %v with %d", ok.Recovered, len(ok.Publications))
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
