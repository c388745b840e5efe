package brokertest

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/broker"
)

// clientView applies a subscriber's events as a de-duplicating client
// does (client/subscription.go): live publications are held back until a
// result without More; then the replayed publications and the held ones
// are taken once each, in order, skipping offsets already taken. It
// returns the offsets taken, and an error at the first gap, at live
// publications out of order, or at a replay that stops short.
func clientView(events []event) ([]uint64, error) {
	out := []uint64{}
	var last, lastLive uint64
	recovering := true
	var held []uint64
	take := func(off uint64, what string) error {
		switch {
		case off <= last:
			return nil // seen: a duplicate the contract allows
		case off != last+1:
			return fmt.Errorf("%s publication %d after %d: a gap", what, off, last)
		}
		out = append(out, off)
		last = off
		return nil
	}
	for _, e := range events {
		if e.result == nil {
			if e.offset == 0 {
				return out, fmt.Errorf("a delivered frame is not a publication")
			}
			if e.offset <= lastLive {
				return out, fmt.Errorf("live publication %d after live %d", e.offset, lastLive)
			}
			lastLive = e.offset
			if recovering {
				held = append(held, e.offset)
				continue
			}
			if err := take(e.offset, "live"); err != nil {
				return out, err
			}
			continue
		}
		r := e.result
		if !r.Recovered {
			last = max(last, r.Offset)
		}
		for _, p := range r.Publications {
			if err := take(p.Offset, "replayed"); err != nil {
				return out, err
			}
		}
		if r.More {
			continue // the next page follows
		}
		if last < r.Offset {
			return out, fmt.Errorf("the replay stops at %d, the result's offset is %d", last, r.Offset)
		}
		recovering = false
		for _, off := range held {
			if err := take(off, "held"); err != nil {
				return out, err
			}
		}
		held = nil
	}
	return out, nil
}

// testEncodesOnce: every subscriber gets the same frame, a protoo
// notification `publication` {channel, offset, data, from}, and the
// counters count it.
func testEncodesOnce(t *testing.T, newBroker NewBroker) {
	b := newBroker(t, Config{})
	subs := []*recorder{{}, {}, {}}
	for _, s := range subs {
		subscribe(t, b, broker.ChannelGroup, s, nil)
	}
	off, err := b.Publish(broker.ChannelGroup, broker.Message{From: "x", Data: json.RawMessage(`{"t":1}`)})
	if err != nil || off != 1 {
		t.Fatalf("publish = %d, %v; want offset 1", off, err)
	}
	for _, s := range subs {
		s.waitLive(t, 1)
	}
	first := subs[0].frames()
	if len(first) != 1 {
		t.Fatalf("subscriber got %d frames, want 1", len(first))
	}
	for _, s := range subs[1:] {
		if f := s.frames(); len(f) != 1 || f[0] != first[0] {
			t.Fatal("subscribers got different frames: the publication was encoded more than once")
		}
	}
	p, err := parseFrame(first[0])
	if err != nil {
		t.Fatal(err)
	}
	if p.Channel != broker.ChannelGroup || p.Offset != 1 || string(p.Data) != `{"t":1}` || p.From != "x" {
		t.Fatalf("publication %+v", p)
	}
	if st := b.Stats(); st.Published != 1 || st.Delivered != 3 || st.Subscriptions != 3 || st.Channels != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// testUnsubscribe: no publication reaches a subscriber after Unsubscribe
// returns; the others still get it; unknown ones are ignored.
func testUnsubscribe(t *testing.T, newBroker NewBroker) {
	b := newBroker(t, Config{})
	gone, stays := &recorder{}, &recorder{}
	subscribe(t, b, broker.ChannelGroup, gone, nil)
	subscribe(t, b, broker.ChannelGroup, stays, nil)
	publish(t, b, broker.ChannelGroup, 1)
	gone.waitLive(t, 1)
	b.Unsubscribe(broker.ChannelGroup, gone)
	b.Unsubscribe(broker.ChannelGroup, gone)
	b.Unsubscribe("never-used", gone)
	publish(t, b, broker.ChannelGroup, 1)
	stays.waitLive(t, 2)
	if got := fmt.Sprint(gone.live()); got != "[1]" {
		t.Fatalf("unsubscribed subscriber got %s, want [1]", got)
	}
	if got := fmt.Sprint(stays.live()); got != "[1 2]" {
		t.Fatalf("subscriber got %s, want [1 2]", got)
	}
	if st := b.Stats(); st.Subscriptions != 1 {
		t.Fatalf("stats %+v, want 1 subscription", st)
	}
}

// testSubscribeAgain: subscribing again is harmless: the subscriber gets
// each publication once, and one Unsubscribe ends it.
func testSubscribeAgain(t *testing.T, newBroker NewBroker) {
	b := newBroker(t, Config{})
	r := &recorder{}
	first := subscribe(t, b, broker.ChannelGroup, r, nil)
	publish(t, b, broker.ChannelGroup, 2)
	again := subscribe(t, b, broker.ChannelGroup, r, &broker.Position{Epoch: first.Epoch, Offset: 1})
	if !again.Recovered || fmt.Sprint(offsets(again.Publications)) != "[2]" || again.Offset != 2 {
		t.Fatalf("subscribe again from 1 = %+v", again)
	}
	publish(t, b, broker.ChannelGroup, 1)
	r.waitLive(t, 3)
	if got := fmt.Sprint(r.live()); got != "[1 2 3]" {
		t.Fatalf("live publications %s, want [1 2 3]", got)
	}
	if st := b.Stats(); st.Subscriptions != 1 {
		t.Fatalf("stats %+v, want 1 subscription", st)
	}
	b.Unsubscribe(broker.ChannelGroup, r)
	witness := &recorder{}
	subscribe(t, b, broker.ChannelGroup, witness, nil)
	publish(t, b, broker.ChannelGroup, 1)
	witness.waitLive(t, 1)
	if n := len(r.live()); n != 3 {
		t.Fatalf("%d publications after one Unsubscribe, want 3", n)
	}
}

// testPublishInReady publishes on the channel from inside ready, on
// another goroutine: ready is not called under a lock that Publish needs,
// and the publication reaches the subscriber, after the result as the
// client sees it.
func testPublishInReady(t *testing.T, newBroker NewBroker) {
	b := newBroker(t, Config{})
	r := &recorder{}
	done := make(chan error, 1)
	err := b.Subscribe(broker.ChannelGroup, r, broker.SubscribeOptions{}, func(res broker.SubscribeResult) {
		r.ready(res)
		go func() {
			_, err := b.Publish(broker.ChannelGroup, broker.Message{Data: json.RawMessage(`1`)})
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Error(err)
			}
		case <-time.After(10 * time.Second):
			t.Error("a publish waited for ready to return")
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	view, err := r.waitView(1)
	if err != nil || fmt.Sprint(view) != "[1]" {
		t.Fatalf("the subscriber sees %v (%v), want [1]", view, err)
	}
}

// testConcurrentRecovery races a publisher against subscribers that
// recover from offset 0: each sees every offset once, as a client.
func testConcurrentRecovery(t *testing.T, newBroker NewBroker) {
	b := newBroker(t, Config{Rules: broker.Rules{{Prefix: "", Options: broker.Options{HistorySize: 10000}}},
		ReplayCount: 10000, ReplayBytes: 1 << 20})
	epoch := subscribe(t, b, "c", &recorder{}, nil).Epoch
	const total = 2000
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range total {
			if _, err := b.Publish("c", broker.Message{Data: json.RawMessage(`1`)}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	recs := make([]*recorder, 8)
	for i := range recs {
		recs[i] = &recorder{}
		subscribe(t, b, "c", recs[i], &broker.Position{Epoch: epoch})
	}
	wg.Wait()
	for i, r := range recs {
		view, err := r.waitView(total)
		if err != nil || fmt.Sprint(view) != fmt.Sprint(seq(1, total)) {
			t.Fatalf("subscriber %d: %v; saw %d offsets of %d", i, err, len(view), total)
		}
	}
}

// testSubscribeOrder races two publishers against subscribers that
// recover from offset 0 in pages, subscribing again from the end of each
// page: as a client, each sees every offset once and in order.
func testSubscribeOrder(t *testing.T, newBroker NewBroker) {
	b := newBroker(t, Config{Rules: broker.Rules{{Prefix: "", Options: broker.Options{HistorySize: 1000}}},
		ReplayCount: 50, ReplayBytes: 1 << 20})
	epoch := subscribe(t, b, "c", &recorder{}, nil).Epoch
	const perPublisher = 400
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perPublisher {
				if _, err := b.Publish("c", broker.Message{Data: json.RawMessage(`1`)}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	subs := make([]*recorder, 6)
	for i := range subs {
		r := &recorder{}
		subs[i] = r
		wg.Add(1)
		go func() {
			defer wg.Done()
			pos := broker.Position{Epoch: epoch}
			for range 100 {
				var res broker.SubscribeResult
				err := b.Subscribe("c", r, broker.SubscribeOptions{Since: &pos}, func(x broker.SubscribeResult) { res = x; r.ready(x) })
				if err != nil {
					t.Error(err)
					return
				}
				if !res.More {
					return
				}
				if len(res.Publications) == 0 {
					t.Error("a page with More and no publication")
					return
				}
				pos.Offset = res.Publications[len(res.Publications)-1].Offset
			}
			t.Error("paging does not end")
		}()
	}
	wg.Wait()
	const total = 2 * perPublisher
	for i, r := range subs {
		view, err := r.waitView(total)
		if err != nil || fmt.Sprint(view) != fmt.Sprint(seq(1, total)) {
			t.Fatalf("subscriber %d: %v; saw %d offsets of %d", i, err, len(view), total)
		}
	}
}
