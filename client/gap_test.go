package client_test

import (
	"context"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/switchboard/switchboard/client"
	"github.com/switchboard/switchboard/internal/broker"
	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/internal/testutil/servertest"
	"github.com/switchboard/switchboard/websocket"
)

// stallConn is a net.Conn whose reads wait while the test stalls it: a
// client that stops reading, as a slow one does.
type stallConn struct {
	net.Conn
	mu      sync.Mutex
	stalled bool
	resume  chan struct{}
}

func (c *stallConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	ch := c.resume
	stalled := c.stalled
	c.mu.Unlock()
	if stalled {
		<-ch
	}
	return c.Conn.Read(p)
}

func (c *stallConn) stall() {
	c.mu.Lock()
	c.stalled, c.resume = true, make(chan struct{})
	c.mu.Unlock()
}

func (c *stallConn) unstall() {
	c.mu.Lock()
	if c.stalled {
		c.stalled = false
		close(c.resume)
	}
	c.mu.Unlock()
}

// TestServerGap stalls a subscriber until the server's queue for it
// overflows and drops publications; once it reads again, the client sees
// the offsets jump, subscribes again with since and gets every
// publication, in order, once.
func TestServerGap(t *testing.T) {
	testutil.CheckGoroutines(t, waitTimeout)
	ts := servertest.Start(t, server.Config{
		QueueMessages: 64,
		QueueBytes:    1 << 20, // room for the replay of what a full queue held
		Messaging: server.MessagingConfig{Channels: broker.Rules{
			{Prefix: "big", Options: broker.Options{Publish: broker.PublishersClients, HistorySize: 10000}},
		}},
	})
	url := ts.URL("ws", "/ws")
	ctx := testCtx(t)

	var sc *stallConn
	dialStall := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		sc = &stallConn{Conn: c}
		return sc, nil
	}
	var rec recorder
	alice := dial(t, url, client.WithEventHandler(rec.event),
		client.WithDialOptions(websocket.DialOptions{NetDialContext: dialStall, Deflate: websocket.DeflateConfig{Disabled: true}}))
	t.Cleanup(func() { sc.unstall() })
	// No compression: under the race detector it would make publishing slow.
	plain := client.WithDialOptions(websocket.DialOptions{Deflate: websocket.DeflateConfig{Disabled: true}})
	bob := dial(t, url, plain)
	if _, err := alice.Login(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Login(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Subscribe(ctx, "big", rec.pub); err != nil {
		t.Fatal(err)
	}

	sc.stall()
	payload := strings.Repeat("x", 1<<10)
	// Publish in concurrent batches until the server drops some; a batch
	// stays under QueueMessages, which bounds bob's replies too.
	var last uint64
	for ts.Metrics().Dropped.Load() == 0 {
		if last > 9000 {
			t.Fatalf("no publication dropped after %d (%d MiB) to a stalled reader", last, last>>10)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 32)
		for range 32 {
			wg.Go(func() {
				if _, err := bob.Publish(ctx, "big", payload); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		last += 32
	}
	for range 5 {
		if last, _ = bob.Publish(ctx, "big", "after the drop"); last == 0 {
			t.Fatal("publish failed")
		}
	}
	t.Logf("%d publications, %d dropped on the way", last, ts.Metrics().Dropped.Load())
	sc.unstall()

	if !testutil.Poll(waitTimeout, func() bool { return len(rec.offsets()) >= int(last) }) {
		got := rec.offsets()
		rec.mu.Lock()
		events := slices.Clone(rec.events)
		rec.mu.Unlock()
		t.Fatalf("got %d of %d publications (last %v), events %v", len(got), last, got[max(0, len(got)-5):], events)
	}
	if got := rec.offsets(); !slices.Equal(got, seq(1, last)) {
		t.Fatalf("got %d publications, want 1..%d once each in order (first %v)", len(got), last, got[:min(10, len(got))])
	}
	e := rec.eventOf(client.EventRecovered)
	if e.Channel != "big" || e.Missed == 0 {
		t.Errorf("recovery event %v, want big with missed publications", e)
	}
	if rec.hasEvent(client.EventDisconnected) {
		t.Errorf("the slow subscriber was disconnected")
	}
}
