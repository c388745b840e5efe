package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/client"
	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/protoo"
	"github.com/switchboard/switchboard/websocket"
)

const waitTimeout = 15 * time.Second

// fastReconnect keeps reconnect tests quick.
var fastReconnect = client.WithReconnect(client.ExponentialBackoff(10*time.Millisecond, 100*time.Millisecond))

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	t.Cleanup(cancel)
	return ctx
}

func dial(t *testing.T, url string, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.Dial(testCtx(t), url, opts...)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// recorder collects what handlers receive.
type recorder struct {
	mu     sync.Mutex
	pubs   []client.Publication
	events []client.Event
}

func (r *recorder) pub(p client.Publication) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pubs = append(r.pubs, p)
}

func (r *recorder) event(e client.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) offsets() []uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var o []uint64
	for _, p := range r.pubs {
		o = append(o, p.Offset)
	}
	return o
}

func (r *recorder) hasEvent(k client.EventKind) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.ContainsFunc(r.events, func(e client.Event) bool { return e.Kind == k })
}

func (r *recorder) eventOf(k client.EventKind) client.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.events {
		if e.Kind == k {
			return e
		}
	}
	return client.Event{}
}

func seq(from, to uint64) []uint64 {
	var s []uint64
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

func TestRequestFake(t *testing.T) {
	testutil.CheckGoroutines(t, waitTimeout)
	f := startFake(t)
	c := dial(t, f.url())
	ctx := testCtx(t)

	got, err := c.Echo(ctx, map[string]int{"x": 1})
	if err != nil || string(got) != `{"x":1}` {
		t.Fatalf("Echo = %s, %v; want {\"x\":1}", got, err)
	}
	got, err = c.Request(ctx, "echo", json.RawMessage(`[1, "two"]`))
	if err != nil || string(got) != `[1,"two"]` {
		t.Fatalf("echo of raw JSON = %s, %v", got, err)
	}
	_, err = c.Request(ctx, "nope", nil)
	var pe *protoo.Error
	if !errors.As(err, &pe) || pe.Code != protoo.CodeUnknownMethod || pe.Reason != "unknown method nope" {
		t.Fatalf("unknown method: err = %v, want a *protoo.Error 501", err)
	}
	if !errors.Is(err, &protoo.Error{Code: protoo.CodeUnknownMethod}) {
		t.Errorf("errors.Is does not match the code")
	}
	if _, err := c.Request(ctx, "echo", json.RawMessage(`{bad`)); err == nil {
		t.Fatal("a request with invalid raw JSON was sent")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Echo(ctx, 1); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("Echo after Close: %v, want ErrClosed", err)
	}
}

// TestGapRecovery drops publications on the way to the subscriber; the
// offsets jump and the client resubscribes with since and gets them.
func TestGapRecovery(t *testing.T) {
	testutil.CheckGoroutines(t, waitTimeout)
	f := startFake(t)
	var rec recorder
	c := dial(t, f.url(), client.WithEventHandler(rec.event))
	ctx := testCtx(t)
	f.publish("group", "x", "before") // offset 1, before the subscription

	sub, err := c.Subscribe(ctx, "group", rec.pub)
	if err != nil {
		t.Fatal(err)
	}
	if e, o := sub.Position(); e != "e1" || o != 1 {
		t.Fatalf("Position = %q, %d; want e1, 1", e, o)
	}
	f.mu.Lock()
	f.skip[3], f.skip[4] = true, true
	f.mu.Unlock()
	for i := range 6 {
		f.publish("group", "x", i) // offsets 2..7; 3 and 4 are not sent
	}
	testutil.WaitFor(t, waitTimeout, "publications 2..7", func() bool { return len(rec.offsets()) >= 6 })
	if got := rec.offsets(); !slices.Equal(got, seq(2, 7)) {
		t.Fatalf("offsets %v, want 2..7 once each in order", got)
	}
	if e := rec.eventOf(client.EventRecovered); e.Channel != "group" || e.Missed != 2 {
		t.Errorf("recovery event %v, want group with 2 missed", e)
	}
}

// TestReconnectResume drops the connection; the client reconnects, logs in
// with its resume token and recovers what was published meanwhile.
func TestReconnectResume(t *testing.T) {
	testutil.CheckGoroutines(t, waitTimeout)
	f := startFake(t)
	var rec recorder
	c := dial(t, f.url(), fastReconnect, client.WithEventHandler(rec.event))
	ctx := testCtx(t)
	lr, err := c.Login(ctx, "alice")
	if err != nil || lr.Welcome != "Welcome alice" || lr.Resume == "" {
		t.Fatalf("Login = %+v, %v", lr, err)
	}
	if _, err := c.Subscribe(ctx, "group", rec.pub); err != nil {
		t.Fatal(err)
	}
	f.publish("group", "x", 1)
	testutil.WaitFor(t, waitTimeout, "the first publication", func() bool { return len(rec.offsets()) == 1 })

	f.mu.Lock()
	f.skip[2], f.skip[3] = true, true // published while the client is away
	f.mu.Unlock()
	f.closeAll(websocket.StatusServiceRestart, "restart")
	f.publish("group", "x", 2)
	f.publish("group", "x", 3)
	testutil.WaitFor(t, waitTimeout, "the reconnect", func() bool { return rec.hasEvent(client.EventReconnected) })
	f.publish("group", "x", 4)
	testutil.WaitFor(t, waitTimeout, "publications 1..4", func() bool { return len(rec.offsets()) >= 4 })
	if got := rec.offsets(); !slices.Equal(got, seq(1, 4)) {
		t.Fatalf("offsets %v, want 1..4", got)
	}
	f.mu.Lock()
	logins := slices.Clone(f.logins)
	f.mu.Unlock()
	if len(logins) != 2 || logins[1]["name"] != "alice" || logins[1]["resume"] != lr.Resume {
		t.Fatalf("logins %v, want a second one for alice with resume %q", logins, lr.Resume)
	}
	if !rec.hasEvent(client.EventDisconnected) || !rec.hasEvent(client.EventRecovered) {
		t.Errorf("events %v, want disconnected and recovered", rec.events)
	}
	// Requests work on the new connection.
	if _, err := c.Echo(ctx, "again"); err != nil {
		t.Fatal(err)
	}
}

// TestDoNotReconnect: a close with 4000 ends the client.
func TestDoNotReconnect(t *testing.T) {
	testutil.CheckGoroutines(t, waitTimeout)
	f := startFake(t)
	var rec recorder
	c := dial(t, f.url(), fastReconnect, client.WithEventHandler(rec.event))
	// Dial returns once the 101 is read, which can be before the fake
	// server has registered the connection.
	testutil.WaitFor(t, waitTimeout, "the server side of the connection", func() bool { return f.connCount() == 1 })
	f.closeAll(websocket.StatusDoNotReconnect, "replaced")
	select {
	case <-c.Done():
	case <-time.After(waitTimeout):
		t.Fatal("the client did not end after a close with 4000")
	}
	if websocket.CloseStatus(c.Err()) != websocket.StatusDoNotReconnect {
		t.Fatalf("Err() = %v, want the 4000 close", c.Err())
	}
	if _, err := c.Echo(testCtx(t), 1); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("Echo after 4000: %v, want ErrClosed", err)
	}
	// The server side lets go of the closed connection a moment after
	// the client has ended. A reconnect would be a second accepted one.
	testutil.WaitFor(t, waitTimeout, "the server to let go of the connection", func() bool { return f.connCount() == 0 })
	if n := f.acceptedCount(); n != 1 {
		t.Errorf("the client reconnected: %d connections accepted", n)
	}
	testutil.WaitFor(t, waitTimeout, "the closed event", func() bool { return rec.hasEvent(client.EventClosed) })
}

// TestRequestWaitsForReconnect: a request made while the client is away
// goes out on the next connection.
func TestRequestWaitsForReconnect(t *testing.T) {
	testutil.CheckGoroutines(t, waitTimeout)
	f := startFake(t)
	c := dial(t, f.url(), fastReconnect)
	testutil.WaitFor(t, waitTimeout, "the server side of the connection", func() bool { return f.connCount() == 1 })
	f.closeAll(websocket.StatusServiceRestart, "restart")
	testutil.WaitFor(t, waitTimeout, "the drop", func() bool { return !c.Connected() || f.connCount() == 0 })
	for i := range 5 {
		got, err := c.Echo(testCtx(t), i+1) // 0 would come back as {}: a falsy data is {}
		if err != nil && !errors.Is(err, client.ErrDisconnected) {
			t.Fatalf("Echo while reconnecting: %v", err)
		}
		if err == nil && string(got) != fmt.Sprint(i+1) {
			t.Fatalf("Echo = %s", got)
		}
	}
	testutil.WaitFor(t, waitTimeout, "the reconnect", c.Connected)
}

func TestExponentialBackoff(t *testing.T) {
	b := client.ExponentialBackoff(100*time.Millisecond, time.Second)
	for attempt, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 5: time.Second, 50: time.Second} {
		if d := b(attempt); d > want || d < want*4/5 {
			t.Errorf("attempt %d: %v, want %v less at most a fifth", attempt, d, want)
		}
	}
}

// TestOnlinePages: Online asks for every page of the names (the fake
// server answers 2 at a time) and returns them all.
func TestOnlinePages(t *testing.T) {
	f := startFake(t)
	c := dial(t, f.url())
	names, err := c.Online(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, []string{"ann", "bea", "cid", "dan", "eve"}) {
		t.Fatalf("Online = %v", names)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.onlineCalls != 3 {
		t.Fatalf("%d online requests, want 3 pages", f.onlineCalls)
	}
}

// TestGapRecoveryPages: the fake server replays 2 publications a page
// (more:true); the client asks for page after page until the gap of 7 is
// filled, and delivers everything once, in order.
func TestGapRecoveryPages(t *testing.T) {
	testutil.CheckGoroutines(t, waitTimeout)
	f := startFake(t)
	f.mu.Lock()
	f.page = 2
	f.mu.Unlock()
	var rec recorder
	c := dial(t, f.url(), client.WithEventHandler(rec.event))
	ctx := testCtx(t)
	if _, err := c.Subscribe(ctx, "group", rec.pub); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	for off := uint64(2); off <= 8; off++ {
		f.skip[off] = true
	}
	f.mu.Unlock()
	for i := range 10 {
		f.publish("group", "x", i) // offsets 1..10; 2..8 are not sent
	}
	testutil.WaitFor(t, waitTimeout, "publications 1..10", func() bool { return len(rec.offsets()) >= 10 })
	if got := rec.offsets(); !slices.Equal(got, seq(1, 10)) {
		t.Fatalf("offsets %v, want 1..10 once each in order", got)
	}
	testutil.WaitFor(t, waitTimeout, "the recovery event", func() bool { return rec.hasEvent(client.EventRecovered) })
	if e := rec.eventOf(client.EventRecovered); e.Channel != "group" || e.Missed != 7 {
		t.Errorf("recovery event %v, want group with 7 missed", e)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	// The subscription, then pages of 2 from offset 1: at least 4 (2..9),
	// one more if 10 was published before the recovery began.
	if f.subscribes != 5 && f.subscribes != 6 {
		t.Errorf("%d subscribe requests, want 5 or 6", f.subscribes)
	}
}
