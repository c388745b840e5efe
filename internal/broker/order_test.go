package broker

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/protoo"
	"github.com/switchboard/switchboard/websocket"
)

// TestMemoryReadyOutsideLock publishes on the channel from inside ready:
// the channel's lock is not held while the result is encoded, and the
// publication made meanwhile reaches the subscriber after the result.
func TestMemoryReadyOutsideLock(t *testing.T) {
	b := NewMemory(MemoryConfig{})
	r := &recorder{}
	var framesAtReady = -1
	done := make(chan error, 1)
	err := b.Subscribe(ChannelGroup, r, SubscribeOptions{}, func(SubscribeResult) {
		go func() {
			_, err := b.Publish(ChannelGroup, Message{Data: json.RawMessage(`1`)})
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Error(err)
			}
		case <-time.After(10 * time.Second):
			t.Error("a publish waited for the subscribe result to be encoded")
		}
		r.mu.Lock()
		framesAtReady = len(r.frames)
		r.mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	if framesAtReady != 0 {
		t.Fatalf("%d publications delivered before the subscribe result", framesAtReady)
	}
	if len(r.frames) != 1 {
		t.Fatalf("subscriber got %d publications after the result, want 1", len(r.frames))
	}
	if st := b.Stats(); st.Subscriptions != 1 || st.Delivered != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// event is a subscriber's view: a result, or a publication's offset.
type event struct {
	result *SubscribeResult
	offset uint64
}

// orderRecorder records results and publications in the order a
// session's queue would.
type orderRecorder struct {
	mu     sync.Mutex
	events []event
}

func (o *orderRecorder) Deliver(m *websocket.PreparedMessage) {
	n, err := protoo.Parse(m.Payload())
	if err != nil {
		panic(err)
	}
	var p struct{ Offset uint64 }
	_ = json.Unmarshal(n.(*protoo.Notification).Data, &p)
	o.mu.Lock()
	o.events = append(o.events, event{offset: p.Offset})
	o.mu.Unlock()
}

func (o *orderRecorder) ready(r SubscribeResult) {
	if _, err := json.Marshal(r); err != nil { // the encoding a session does
		panic(err)
	}
	o.mu.Lock()
	o.events = append(o.events, event{result: &r})
	o.mu.Unlock()
}

// TestMemorySubscribeOrder races two publishers against subscribers that
// recover from offset 0 in pages: each subscriber sees its first result
// before any publication, then the live publications without a gap or a
// repeat from that result's offset on, whatever later pages replay
// meanwhile; results and publications together hold every offset.
func TestMemorySubscribeOrder(t *testing.T) {
	b := NewMemory(MemoryConfig{Rules: Rules{{Prefix: "", Options: Options{HistorySize: 1000}}}, ReplayCount: 50})
	epoch := subscribe(t, b, "c", &recorder{}, nil).Epoch
	const perPublisher = 400
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perPublisher {
				if _, err := b.Publish("c", Message{Data: json.RawMessage(`1`)}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	subs := make([]*orderRecorder, 6)
	for i := range subs {
		o := &orderRecorder{}
		subs[i] = o
		wg.Add(1)
		go func() {
			defer wg.Done()
			pos := Position{Epoch: epoch}
			for {
				var res SubscribeResult
				err := b.Subscribe("c", o, SubscribeOptions{Since: &pos}, func(r SubscribeResult) { res = r; o.ready(r) })
				if err != nil {
					t.Error(err)
					return
				}
				if !res.More {
					return
				}
				pos.Offset = res.Publications[len(res.Publications)-1].Offset
			}
		}()
	}
	wg.Wait()
	const total = 2 * perPublisher
	for i, o := range subs {
		if len(o.events) == 0 || o.events[0].result == nil {
			t.Fatalf("subscriber %d: a publication came before the first result", i)
		}
		seen := map[uint64]int{}
		next := o.events[0].result.Offset + 1 // the next live offset
		for _, e := range o.events {
			if e.result != nil {
				for _, p := range e.result.Publications {
					seen[p.Offset]++
				}
				continue
			}
			if e.offset != next {
				t.Fatalf("subscriber %d: live publication %d, want %d", i, e.offset, next)
			}
			seen[e.offset]++
			next++
		}
		for off := uint64(1); off <= total; off++ {
			if seen[off] == 0 {
				t.Fatalf("subscriber %d never saw offset %d", i, off)
			}
		}
	}
}
