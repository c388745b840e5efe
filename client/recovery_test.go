package client_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/switchboard/switchboard/client"
	"github.com/switchboard/switchboard/internal/broker"
	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/internal/testutil/servertest"
	"github.com/switchboard/switchboard/websocket"
)

// TestServerPagedRecovery cuts a default client (1 MiB message limit)
// while 100 publications of 20 KB (2 MB) go by: the server replays them in
// pages, and the client takes them page by page on its new connection,
// each once and in order, without another disconnect (before paging, the
// 2 MB reply closed it with 1009 and it came back for the same replay,
// forever).
func TestServerPagedRecovery(t *testing.T) {
	testutil.CheckGoroutines(t, waitTimeout)
	ts := servertest.Start(t, server.Config{
		Messaging: server.MessagingConfig{Channels: broker.Rules{
			{Prefix: "big", Options: broker.Options{Publish: broker.PublishersClients, HistorySize: 200}},
		}},
	})
	url := ts.URL("ws", "/ws")
	ctx := testCtx(t)

	var d dropper
	var offline atomic.Bool // refuse to reconnect while set
	dialGated := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if offline.Load() {
			return nil, errors.New("offline")
		}
		return d.dial(ctx, network, addr)
	}
	var rec recorder
	alice := dial(t, url, fastReconnect, client.WithEventHandler(rec.event),
		client.WithDialOptions(websocket.DialOptions{NetDialContext: dialGated}))
	// No compression: under the race detector it would make publishing slow.
	bob := dial(t, url, client.WithDialOptions(websocket.DialOptions{Deflate: websocket.DeflateConfig{Disabled: true}}))
	if _, err := alice.Login(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Login(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Subscribe(ctx, "big", rec.pub); err != nil {
		t.Fatal(err)
	}

	offline.Store(true)
	d.cut()
	testutil.WaitFor(t, waitTimeout, "the disconnect", func() bool { return rec.hasEvent(client.EventDisconnected) })
	const n = 100
	buf := make([]byte, 10<<10)
	for range n {
		_, _ = rand.Read(buf)
		if _, err := bob.Publish(ctx, "big", hex.EncodeToString(buf)); err != nil { // 20 KB
			t.Fatal(err)
		}
	}
	offline.Store(false)
	testutil.WaitFor(t, waitTimeout, "the reconnect", func() bool { return rec.hasEvent(client.EventReconnected) })
	if !testutil.Poll(waitTimeout, func() bool { return len(rec.offsets()) >= n }) {
		t.Fatalf("recovered %d of %d publications; events %v", len(rec.offsets()), n, events(&rec))
	}
	if got := rec.offsets(); !slices.Equal(got, seq(1, n)) {
		t.Fatalf("offsets %v, want 1..%d once each in order", got, n)
	}
	disconnects := 0
	for _, e := range events(&rec) {
		if e.Kind == client.EventDisconnected {
			disconnects++
		}
	}
	if disconnects != 1 {
		t.Fatalf("%d disconnects, want the 1 cut; events %v", disconnects, events(&rec))
	}
	if e := rec.eventOf(client.EventRecovered); e.Channel != "big" || e.Missed != n {
		t.Fatalf("recovery event %v, want big with %d missed; events %v", e, n, events(&rec))
	}
}

func events(r *recorder) []client.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}
