package server_test

import (
	"encoding/json"
	"sync"
	"testing"

	"github.com/switchboard/switchboard/internal/broker"
	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testutil/servertest"
	"github.com/switchboard/switchboard/protoo"
	"github.com/switchboard/switchboard/websocket"
)

// countingBroker is a Broker that is not a Sweeper: it records the
// channels published on and leaves the work to a Memory inside.
type countingBroker struct {
	broker.Broker
	mu        sync.Mutex
	published map[string]int
}

func (b *countingBroker) Publish(channel string, m broker.Message) (uint64, error) {
	b.mu.Lock()
	b.published[channel]++
	b.mu.Unlock()
	return b.Broker.Publish(channel, m)
}

func (b *countingBroker) count(channel string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.published[channel]
}

// TestMessagingInjectedBroker serves the messaging protocol with the
// broker of MessagingConfig.Broker, one that is no Sweeper: client
// publishes, the presence and stream channels and the subscribers'
// deliveries all go through it.
func TestMessagingInjectedBroker(t *testing.T) {
	b := &countingBroker{Broker: broker.NewMemory(broker.MemoryConfig{}), published: map[string]int{}}
	ts := servertest.Start(t, server.Config{Messaging: server.MessagingConfig{Broker: b}})
	p := dialMsg(t, ts.URL("ws", "/ws"), websocket.Config{})
	login(t, p, "ann")
	p.ok(t, "subscribe", map[string]string{"channel": "group"}, nil)
	p.ok(t, "subscribe", map[string]string{"channel": "stream"}, nil)
	p.ok(t, "publish", map[string]any{"channel": "group", "data": 1}, nil)
	p.waitFor(t, "the publication", func(m protoo.Message) bool {
		n, ok := m.(*protoo.Notification)
		return ok && n.Method == "publication" && pubOffset(t, n) == 1
	})
	if b.count("group") != 1 || b.count("presence") != 1 {
		t.Fatalf("the injected broker saw %v", b.published)
	}
	p.waitFor(t, "a stream publication", func(m protoo.Message) bool {
		n, ok := m.(*protoo.Notification)
		var pub struct{ Channel string }
		return ok && n.Method == "publication" && json.Unmarshal(n.Data, &pub) == nil && pub.Channel == "stream"
	})
	if b.count("stream") == 0 {
		t.Fatal("the stream was not published through the injected broker")
	}
	if st := b.Stats(); st.Subscriptions != 2 || st.Published < 3 {
		t.Fatalf("broker stats %+v", st)
	}
}
