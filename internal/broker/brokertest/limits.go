package brokertest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/broker"
)

// testRules: the longest matching prefix wins; a client publish on a
// server-fed channel is ErrForbidden, the server's is not; invalid names
// are ErrInvalidChannel for publish and subscribe.
func testRules(t *testing.T, newBroker NewBroker) {
	b := newBroker(t, Config{Rules: append(broker.DefaultRules(),
		broker.Rule{Prefix: "stream:open", Options: broker.Options{Publish: broker.PublishersClients}})})
	if _, err := b.Publish(broker.ChannelStream, broker.Message{From: "x", Data: json.RawMessage(`1`)}); !errors.Is(err, broker.ErrForbidden) {
		t.Fatalf("client publish on stream = %v", err)
	}
	if _, err := b.Publish("stream:2", broker.Message{From: "x", Data: json.RawMessage(`1`)}); !errors.Is(err, broker.ErrForbidden) {
		t.Fatalf("client publish on stream:2 = %v", err)
	}
	if _, err := b.Publish(broker.ChannelStream, broker.Message{Data: json.RawMessage(`1`), Server: true}); err != nil {
		t.Fatalf("server publish on stream = %v", err)
	}
	if _, err := b.Publish("stream:open:1", broker.Message{From: "x", Data: json.RawMessage(`1`)}); err != nil {
		t.Fatalf("longer prefix rule = %v", err)
	}
	for _, name := range []string{"", strings.Repeat("c", broker.MaxChannelName+1), "\xff", "bad\x00"} {
		if _, err := b.Publish(name, broker.Message{Data: json.RawMessage(`1`)}); !errors.Is(err, broker.ErrInvalidChannel) {
			t.Errorf("publish on %q = %v", name, err)
		}
		if err := b.Subscribe(name, &recorder{}, broker.SubscribeOptions{}, nil); !errors.Is(err, broker.ErrInvalidChannel) {
			t.Errorf("subscribe to %q = %v", name, err)
		}
	}
	if st := b.Stats(); st.Published != 2 {
		t.Fatalf("stats %+v, want 2 publications", st)
	}
}

// testMaxChannels: past MaxChannels a new channel is ErrTooManyChannels
// while existing ones work; a channel left without subscribers or
// history is removed, which frees its place.
func testMaxChannels(t *testing.T, newBroker NewBroker) {
	b := newBroker(t, Config{Rules: broker.Rules{{Prefix: "", Options: broker.Options{}}}, MaxChannels: 2, MaxChannelsPerQuota: -1})
	r := &recorder{}
	subscribe(t, b, "a", r, nil)
	subscribe(t, b, "b", r, nil)
	if err := b.Subscribe("c", r, broker.SubscribeOptions{}, nil); !errors.Is(err, broker.ErrTooManyChannels) {
		t.Fatalf("third channel by subscribe = %v", err)
	}
	if _, err := b.Publish("c", broker.Message{Data: json.RawMessage(`1`), Server: true}); !errors.Is(err, broker.ErrTooManyChannels) {
		t.Fatalf("third channel by publish = %v", err)
	}
	publish(t, b, "a", 1)
	b.Unsubscribe("b", r)
	if st := b.Stats(); st.Channels != 1 || st.Subscriptions != 1 {
		t.Fatalf("stats after unsubscribe %+v", st)
	}
	subscribe(t, b, "c", r, nil)
}

// testChannelQuota lets a quota create 3 channels, by publish or
// subscribe: the 4th is a *QuotaError (ErrChannelQuota) while channels
// that exist stay open to it and other quotas and the server go on
// creating; a channel removed is given back to its quota.
func testChannelQuota(t *testing.T, newBroker NewBroker) {
	b := newBroker(t, Config{MaxChannelsPerQuota: 3,
		Rules: broker.Rules{{Prefix: "", Options: broker.Options{HistorySize: 10}}, {Prefix: "s", Options: broker.Options{}}}})
	q := &broker.Quota{}
	msg := broker.Message{From: "q", Data: json.RawMessage(`1`), Quota: q}
	for i := range 2 {
		if _, err := b.Publish(fmt.Sprint("p", i), msg); err != nil {
			t.Fatal(err)
		}
	}
	r := &recorder{}
	if err := b.Subscribe("s0", r, broker.SubscribeOptions{Quota: q}, nil); err != nil {
		t.Fatal(err)
	}
	if q.Channels() != 3 {
		t.Fatalf("quota counts %d channels, want 3", q.Channels())
	}
	_, err := b.Publish("p9", msg)
	var qe *broker.QuotaError
	if !errors.As(err, &qe) || !errors.Is(err, broker.ErrChannelQuota) || qe.Limit != 3 {
		t.Fatalf("4th channel by publish = %v", err)
	}
	if err := b.Subscribe("s9", r, broker.SubscribeOptions{Quota: q}, nil); !errors.Is(err, broker.ErrChannelQuota) {
		t.Fatalf("4th channel by subscribe = %v", err)
	}
	if _, err := b.Publish("p0", msg); err != nil {
		t.Fatalf("publish on an existing channel = %v", err)
	}
	if err := b.Subscribe("p1", r, broker.SubscribeOptions{Quota: q}, nil); err != nil {
		t.Fatalf("subscribe to an existing channel = %v", err)
	}
	if _, err := b.Publish("other", broker.Message{Data: json.RawMessage(`1`), Quota: &broker.Quota{}}); err != nil {
		t.Fatalf("another quota = %v", err)
	}
	if _, err := b.Publish("server", broker.Message{Data: json.RawMessage(`1`), Server: true}); err != nil {
		t.Fatalf("the server = %v", err)
	}
	if q.Channels() != 3 {
		t.Fatalf("quota counts %d channels, want 3", q.Channels())
	}
	// s0 has no history: unsubscribing removes it and frees the quota.
	b.Unsubscribe("s0", r)
	if q.Channels() != 2 {
		t.Fatalf("after unsubscribe the quota counts %d, want 2", q.Channels())
	}
	if _, err := b.Publish("p9", msg); err != nil {
		t.Fatalf("a new channel after the unsubscribe = %v", err)
	}
}
