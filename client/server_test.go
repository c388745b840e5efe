package client_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"sync"
	"testing"

	"github.com/switchboard/switchboard/client"
	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/internal/testutil/servertest"
	"github.com/switchboard/switchboard/protoo"
	"github.com/switchboard/switchboard/websocket"
)

// TestServer runs the client against the real server: login, echo, a
// routed message, the online list, a group channel and the stream.
func TestServer(t *testing.T) {
	testutil.CheckGoroutines(t, waitTimeout)
	ts := servertest.Start(t, server.Config{})
	url := ts.URL("ws", "/ws")
	ctx := testCtx(t)

	alice := dial(t, url)
	bob := dial(t, url)
	var mu sync.Mutex
	var got []client.Message
	bob.OnMessage(func(m client.Message) {
		mu.Lock()
		got = append(got, m)
		mu.Unlock()
	})
	if r, err := alice.Login(ctx, "alice"); err != nil || r.Welcome != "Welcome alice" || r.Resume == "" {
		t.Fatalf("alice Login = %+v, %v", r, err)
	}
	if _, err := bob.Login(ctx, "bob"); err != nil {
		t.Fatal(err)
	}

	t.Run("echo", func(t *testing.T) {
		got, err := alice.Echo(ctx, map[string]any{"x": 1})
		if err != nil || string(got) != `{"x":1}` {
			t.Fatalf("Echo = %s, %v", got, err)
		}
	})
	t.Run("online", func(t *testing.T) {
		names, err := alice.Online(ctx)
		if err != nil || !slices.Equal(names, []string{"alice", "bob"}) {
			t.Fatalf("Online = %v, %v", names, err)
		}
	})
	t.Run("send", func(t *testing.T) {
		if err := alice.Send(ctx, "bob", "hello"); err != nil {
			t.Fatal(err)
		}
		testutil.WaitFor(t, waitTimeout, "bob's message", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(got) == 1
		})
		if got[0].From != "alice" || string(got[0].Data) != `"hello"` {
			t.Fatalf("bob got %+v", got[0])
		}
		err := alice.Send(ctx, "nobody", "hi")
		if !errors.Is(err, &protoo.Error{Code: protoo.CodeNotFound}) {
			t.Fatalf("send to nobody: %v, want 404", err)
		}
	})
	t.Run("name-taken", func(t *testing.T) {
		c := dial(t, url)
		_, err := c.Login(ctx, "alice")
		if !errors.Is(err, &protoo.Error{Code: protoo.CodeConflict}) {
			t.Fatalf("second alice: %v, want 409", err)
		}
	})
	t.Run("group", func(t *testing.T) {
		var rec recorder
		sub, err := bob.Subscribe(ctx, "group", rec.pub)
		if err != nil {
			t.Fatal(err)
		}
		off, err := alice.Publish(ctx, "group", "hi all")
		if err != nil {
			t.Fatal(err)
		}
		testutil.WaitFor(t, waitTimeout, "the publication", func() bool { return len(rec.offsets()) == 1 })
		rec.mu.Lock()
		p := rec.pubs[0]
		rec.mu.Unlock()
		if p.Offset != off || p.From != "alice" || string(p.Data) != `"hi all"` || p.Channel != "group" {
			t.Fatalf("publication %+v, want offset %d from alice", p, off)
		}
		if err := sub.Unsubscribe(ctx); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("stream", func(t *testing.T) {
		var rec recorder
		if _, err := alice.Subscribe(ctx, "stream", rec.pub); err != nil {
			t.Fatal(err)
		}
		testutil.WaitFor(t, waitTimeout, "a stream publication", func() bool { return len(rec.offsets()) >= 1 })
		_, err := alice.Publish(ctx, "stream", "no")
		if !errors.Is(err, &protoo.Error{Code: protoo.CodeForbidden}) {
			t.Fatalf("publish to stream: %v, want 403", err)
		}
	})
}

// dropper dials TCP connections and can cut them all, as a network
// failure would.
type dropper struct {
	mu    sync.Mutex
	conns []net.Conn
}

func (d *dropper) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err == nil {
		d.mu.Lock()
		d.conns = append(d.conns, c)
		d.mu.Unlock()
	}
	return c, err
}

func (d *dropper) cut() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range d.conns {
		c.Close()
	}
	d.conns = nil
}

// TestServerResume cuts the client's connection: it reconnects, takes its
// session back with the resume token (same name, no 409) and recovers the
// group publications it missed.
func TestServerResume(t *testing.T) {
	testutil.CheckGoroutines(t, waitTimeout)
	ts := servertest.Start(t, server.Config{})
	url := ts.URL("ws", "/ws")
	ctx := testCtx(t)

	var d dropper
	var rec recorder
	alice := dial(t, url, fastReconnect, client.WithEventHandler(rec.event),
		client.WithDialOptions(websocket.DialOptions{NetDialContext: d.dial}))
	bob := dial(t, url)
	if _, err := alice.Login(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Login(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Subscribe(ctx, "group", rec.pub); err != nil {
		t.Fatal(err)
	}
	first, err := bob.Publish(ctx, "group", "one")
	if err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, waitTimeout, "the first publication", func() bool { return len(rec.offsets()) == 1 })

	d.cut()
	testutil.WaitFor(t, waitTimeout, "the disconnect", func() bool { return rec.hasEvent(client.EventDisconnected) })
	for _, s := range []string{"two", "three"} {
		if _, err := bob.Publish(ctx, "group", s); err != nil {
			t.Fatal(err)
		}
	}
	testutil.WaitFor(t, waitTimeout, "the reconnect", func() bool { return rec.hasEvent(client.EventReconnected) })
	testutil.WaitFor(t, waitTimeout, "three publications", func() bool { return len(rec.offsets()) >= 3 })
	if got := rec.offsets(); !slices.Equal(got, seq(first, first+2)) {
		t.Fatalf("offsets %v, want %d..%d", got, first, first+2)
	}
	if rec.hasEvent(client.EventLoginFailed) {
		t.Fatalf("logging in again failed: %v", rec.eventOf(client.EventLoginFailed))
	}
	if alice.Name() != "alice" {
		t.Fatalf("Name = %q after the reconnect", alice.Name())
	}
	// Routed messages reach the resumed session.
	got := make(chan client.Message, 1)
	alice.OnMessage(func(m client.Message) { got <- m })
	if err := bob.Send(ctx, "alice", "still there?"); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m.From != "bob" {
			t.Fatalf("message %+v", m)
		}
	case <-ctx.Done():
		t.Fatal("no message after the resume")
	}
}

// TestServerReplaced: a login elsewhere with the session's resume token
// takes the session over; the old client is closed with 4000 and does not
// come back.
func TestServerReplaced(t *testing.T) {
	testutil.CheckGoroutines(t, waitTimeout)
	ts := servertest.Start(t, server.Config{})
	url := ts.URL("ws", "/ws")
	ctx := testCtx(t)
	old := dial(t, url, fastReconnect)
	r, err := old.Login(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, url)
	data, err := c.Request(ctx, "login", map[string]string{"name": "alice", "resume": r.Resume})
	if err != nil {
		t.Fatalf("takeover login: %v", err)
	}
	t.Logf("takeover reply %s", data)
	select {
	case <-old.Done():
	case <-ctx.Done():
		t.Fatal("the replaced client did not end")
	}
	if code := websocket.CloseStatus(old.Err()); code != websocket.StatusDoNotReconnect {
		t.Fatalf("replaced client ended with %v, want 4000", old.Err())
	}
	if names, err := c.Online(ctx); err != nil || !slices.Equal(names, []string{"alice"}) {
		t.Fatalf("Online = %v, %v", names, err)
	}
}

// TestServerURLLogin dials a URL that logs in by itself (?peerId=NAME, as
// protoo-client apps do); after a drop the client dials again with the
// resume token in the URL and keeps its session.
func TestServerURLLogin(t *testing.T) {
	testutil.CheckGoroutines(t, waitTimeout)
	ts := servertest.Start(t, server.Config{})
	ctx := testCtx(t)
	var d dropper
	var rec recorder
	alice := dial(t, ts.URL("ws", "/?peerId=alice"), fastReconnect, client.WithEventHandler(rec.event),
		client.WithDialOptions(websocket.DialOptions{NetDialContext: d.dial}))
	testutil.WaitFor(t, waitTimeout, "the URL login", func() bool { return alice.Name() == "alice" })
	if got, err := alice.Echo(ctx, "hi"); err != nil || string(got) != `"hi"` {
		t.Fatalf("Echo = %s, %v", got, err)
	}
	d.cut()
	testutil.WaitFor(t, waitTimeout, "the reconnect", func() bool { return rec.hasEvent(client.EventReconnected) })
	bob := dial(t, ts.URL("ws", "/ws"))
	if _, err := bob.Login(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, waitTimeout, "alice online again", func() bool {
		names, err := bob.Online(ctx)
		return err == nil && slices.Equal(names, []string{"alice", "bob"})
	})
	select {
	case <-alice.Done():
		t.Fatalf("alice ended: %v", alice.Err())
	default:
	}
}
