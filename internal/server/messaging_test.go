package server_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/broker"
	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/internal/testutil/servertest"
	"github.com/switchboard/switchboard/protoo"
	"github.com/switchboard/switchboard/websocket"
)

// The tests in this file drive the messaging protocol on /ws with our own
// WebSocket client, frame by frame: bad input, resume, slow subscribers.

const msgWait = 15 * time.Second

// msgPeer is a raw messaging client that records what it receives.
type msgPeer struct {
	*websocket.Conn
	nc     net.Conn
	nextID atomic.Int64
	gate   atomic.Pointer[chan struct{}] // while set, the reader waits on it

	mu   sync.Mutex
	msgs []protoo.Message
	done chan struct{}
	err  error
}

// dialMsg connects to url offering the protoo subprotocol (none when url
// ends in /ws). readBuffer, when positive, shrinks the socket's receive
// buffer so that a stalled reader stalls the server's writes soon.
func dialMsg(t testing.TB, url string, cfg websocket.Config, readBuffer ...int) *msgPeer {
	t.Helper()
	p := &msgPeer{done: make(chan struct{})}
	ctx, cancel := context.WithTimeout(context.Background(), msgWait)
	defer cancel()
	var protocols []string
	if !strings.HasSuffix(url, "/ws") {
		protocols = []string{"protoo"}
	}
	c, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		Config:       cfg,
		Subprotocols: protocols,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var d net.Dialer
			if len(readBuffer) > 0 {
				// Before connect, so that the window is small from the
				// start and autotuning stays off.
				d.Control = func(_, _ string, rc syscall.RawConn) error {
					return rc.Control(func(fd uintptr) {
						_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, readBuffer[0])
					})
				}
			}
			nc, err := d.DialContext(ctx, network, addr)
			p.nc = nc
			return nc, err
		},
	})
	if err != nil {
		t.Fatalf("Dial %s: %v", url, err)
	}
	p.Conn = c
	go func() {
		defer close(p.done)
		p.err = c.Run(context.Background(), websocket.HandlerFunc(func(_ *websocket.Conn, op websocket.Opcode, data []byte) {
			if g := p.gate.Load(); g != nil {
				<-*g
			}
			m, err := protoo.Parse(data)
			if err != nil {
				m = &protoo.Notification{Method: "unparseable: " + string(data)}
			}
			p.mu.Lock()
			p.msgs = append(p.msgs, m)
			p.mu.Unlock()
		}))
	}()
	t.Cleanup(func() {
		p.Close(websocket.StatusNormalClosure, "test over")
		select {
		case <-p.done:
		case <-time.After(msgWait):
			t.Errorf("client Run did not return within %v", msgWait)
		}
	})
	return p
}

// send sends a raw text frame.
func (p *msgPeer) send(t testing.TB, s string) {
	t.Helper()
	if err := p.SendMessage(websocket.OpText, []byte(s)); err != nil {
		t.Fatalf("send: %v", err)
	}
}

// request sends a request and waits for its response.
func (p *msgPeer) request(t testing.TB, method string, data any) *protoo.Response {
	t.Helper()
	id := json.RawMessage(fmt.Sprint(p.nextID.Add(1)))
	b, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	p.send(t, string(protoo.AppendRequest(nil, id, method, b)))
	var res *protoo.Response
	p.waitFor(t, "response to "+method, func(m protoo.Message) bool {
		r, ok := m.(*protoo.Response)
		if ok && string(r.ID) == string(id) {
			res = r
		}
		return res != nil
	})
	return res
}

// ok sends a request, checks that it succeeds and decodes its data into v.
func (p *msgPeer) ok(t testing.TB, method string, data, v any) {
	t.Helper()
	r := p.request(t, method, data)
	if !r.OK {
		t.Fatalf("%s: error %d %q", method, r.ErrorCode, r.ErrorReason)
	}
	if v != nil {
		if err := json.Unmarshal(r.Data, v); err != nil {
			t.Fatalf("%s: decode %s: %v", method, r.Data, err)
		}
	}
}

// fails sends a request and checks that it fails with code.
func (p *msgPeer) fails(t testing.TB, code protoo.ErrorCode, method string, data any) string {
	t.Helper()
	r := p.request(t, method, data)
	if r.OK || r.ErrorCode != code || r.ErrorReason == "" {
		t.Fatalf("%s(%v) = ok %v, %d %q; want error %d with a reason", method, data, r.OK, r.ErrorCode, r.ErrorReason, code)
	}
	return r.ErrorReason
}

// waitFor polls the received messages until match holds for one of them.
func (p *msgPeer) waitFor(t testing.TB, what string, match func(protoo.Message) bool) {
	t.Helper()
	seen := 0
	ok := testutil.Poll(msgWait, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		for ; seen < len(p.msgs); seen++ {
			if match(p.msgs[seen]) {
				return true
			}
		}
		return false
	})
	if !ok {
		t.Fatalf("no %s within %v", what, msgWait)
	}
}

// notes returns the notifications called method received so far.
func (p *msgPeer) notes(method string) []*protoo.Notification {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*protoo.Notification
	for _, m := range p.msgs {
		if n, ok := m.(*protoo.Notification); ok && n.Method == method {
			out = append(out, n)
		}
	}
	return out
}

type errorNote struct {
	ErrorCode   int    `json:"errorCode"`
	ErrorReason string `json:"errorReason"`
}

func login(t testing.TB, p *msgPeer, name string) (res struct{ Key, Name, Resume string }) {
	t.Helper()
	p.ok(t, "login", map[string]string{"name": name}, &res)
	return res
}

// TestMessagingBadInput sends each kind of bad input on its own connection
// and checks the error it gets, while a bystander keeps being served.
func TestMessagingBadInput(t *testing.T) {
	testutil.CheckGoroutines(t, msgWait)
	ts := servertest.Start(t, server.Config{MaxMessageBytes: 64 << 10})
	url := ts.URL("ws", "/ws")
	bystander := dialMsg(t, url, websocket.Config{})
	login(t, bystander, "bystander")

	// Frames that are not protoo messages have no id to answer: they get
	// notification error 400 and the connection stays open.
	for i, frame := range []string{
		`{"request":true,`, `not json`, `null`, `[]`, `"x"`, `5`, `{}`,
		`{"request":true,"id":"5","method":"echo"}`, `{"request":true,"id":1}`,
	} {
		t.Run("frame "+frame, func(t *testing.T) {
			p := dialMsg(t, url, websocket.Config{})
			p.send(t, frame)
			p.waitFor(t, "error notification", func(m protoo.Message) bool {
				n, ok := m.(*protoo.Notification)
				return ok && n.Method == "error"
			})
			var e errorNote
			_ = json.Unmarshal(p.notes("error")[0].Data, &e)
			if e.ErrorCode != 400 || !strings.Contains(e.ErrorReason, "invalid message") {
				t.Errorf("error notification = %+v", e)
			}
			login(t, p, fmt.Sprint("after-", i))
			p.ok(t, "echo", "still served", nil)
		})
	}
	t.Run("binary frame", func(t *testing.T) {
		p := dialMsg(t, url, websocket.Config{})
		if err := p.SendMessage(websocket.OpBinary, []byte(`{"request":true,"id":1,"method":"echo"}`)); err != nil {
			t.Fatal(err)
		}
		p.waitFor(t, "error notification", func(m protoo.Message) bool {
			n, ok := m.(*protoo.Notification)
			return ok && n.Method == "error"
		})
		login(t, p, "binary")
	})
	t.Run("requests", func(t *testing.T) {
		p := dialMsg(t, url, websocket.Config{})
		p.fails(t, protoo.CodeUnauthorized, "echo", "before login")
		p.fails(t, protoo.CodeUnauthorized, "nosuch", nil)
		p.fails(t, protoo.CodeBadRequest, "login", map[string]any{})
		p.fails(t, protoo.CodeBadRequest, "login", map[string]any{"name": 7})
		p.fails(t, protoo.CodeBadRequest, "login", map[string]any{"name": "tab\there"})
		p.fails(t, protoo.CodeConflict, "login", map[string]any{"name": "bystander"})
		login(t, p, "requester")
		if reason := p.fails(t, protoo.CodeUnknownMethod, "nosuch", nil); reason != `unknown method "nosuch"` {
			t.Errorf("unknown method reason %q", reason)
		}
		p.fails(t, protoo.CodeBadRequest, "send", map[string]any{"to": "bystander"})
		p.fails(t, protoo.CodeBadRequest, "send", map[string]any{"data": 1})
		p.fails(t, protoo.CodeBadRequest, "send", "not an object")
		p.fails(t, protoo.CodeNotFound, "send", map[string]any{"to": "ghost", "data": 1})
		p.fails(t, protoo.CodeBadRequest, "subscribe", map[string]any{})
		p.fails(t, protoo.CodeBadRequest, "subscribe", map[string]any{"channel": ""})
		p.fails(t, protoo.CodeBadRequest, "subscribe", map[string]any{"channel": "group", "since": "x"})
		p.fails(t, protoo.CodeBadRequest, "publish", map[string]any{"channel": "group"})
		p.fails(t, protoo.CodeForbidden, "publish", map[string]any{"channel": "stream", "data": 1})
		p.fails(t, protoo.CodeForbidden, "publish", map[string]any{"channel": "presence", "data": 1})
		// A request id is echoed as the same JSON number token.
		p.send(t, `{"request":1,"id":8.5,"method":"echo","data":{"x":1}}`)
		p.waitFor(t, "response to id 8.5", func(m protoo.Message) bool {
			r, ok := m.(*protoo.Response)
			return ok && string(r.ID) == "8.5" && r.OK && string(r.Data) == `{"x":1}`
		})
	})
	t.Run("oversized message", func(t *testing.T) {
		p := dialMsg(t, url, websocket.Config{})
		login(t, p, "big")
		p.send(t, `{"request":true,"id":1,"method":"echo","data":"`+strings.Repeat("x", 64<<10)+`"}`)
		select {
		case <-p.done:
		case <-time.After(msgWait):
			t.Fatal("oversized message did not close the connection")
		}
		ce := p.CloseStatus()
		if ce.Code != websocket.StatusMessageTooBig || ce.Reason == "" {
			t.Errorf("closed with %d %q, want 1009 with a reason", ce.Code, ce.Reason)
		}
	})
	// Everyone else was served throughout.
	var online struct{ Names []string }
	bystander.ok(t, "online", nil, &online)
	bystander.ok(t, "echo", map[string]int{"n": 1}, nil)
	if got := ts.Hub().Counters().Invalid.Load(); got < 10 {
		t.Errorf("hub counted %d invalid frames, want at least 10", got)
	}
}

// TestMessagingResume drops a subscriber's TCP connection without a close
// frame: its session waits for the resume grace period, a login with its
// resume token takes it back with its subscriptions, and the publications
// it missed are recovered by offset.
func TestMessagingResume(t *testing.T) {
	testutil.CheckGoroutines(t, msgWait)
	ts := servertest.Start(t, server.Config{})
	url := ts.URL("ws", "/ws")
	pub := dialMsg(t, url, websocket.Config{})
	login(t, pub, "pub")
	a := dialMsg(t, url, websocket.Config{})
	la := login(t, a, "rita")
	var sub broker.SubscribeResult
	a.ok(t, "subscribe", map[string]string{"channel": "group:resume"}, &sub)

	a.nc.Close() // no close frame: an abnormal disconnect
	testutil.WaitFor(t, msgWait, "rita offline", func() bool { return len(ts.Hub().Online()) == 1 })
	pub.fails(t, protoo.CodeNotFound, "send", map[string]any{"to": "rita", "data": 1})
	for i := range 3 {
		pub.ok(t, "publish", map[string]any{"channel": "group:resume", "data": i}, nil)
	}
	if ts.Hub().Sessions() != 2 {
		t.Fatalf("%d sessions, want rita's kept for the grace period", ts.Hub().Sessions())
	}

	b := dialMsg(t, url, websocket.Config{})
	b.fails(t, protoo.CodeConflict, "login", map[string]string{"name": "rita", "resume": "wrong"})
	var lb struct {
		Key     string
		Resumed bool
	}
	b.ok(t, "login", map[string]string{"name": "rita", "resume": la.Resume}, &lb)
	if lb.Key != la.Key || !lb.Resumed {
		t.Fatalf("resume login = %+v, want key %s resumed", lb, la.Key)
	}
	// The subscription survived: a new publication arrives without a
	// new subscribe.
	pub.ok(t, "publish", map[string]any{"channel": "group:resume", "data": 3}, nil)
	b.waitFor(t, "live publication", func(m protoo.Message) bool {
		n, ok := m.(*protoo.Notification)
		return ok && n.Method == "publication"
	})
	var re broker.SubscribeResult
	var replay struct {
		Recovered    bool
		Publications []struct{ Offset uint64 }
	}
	b.ok(t, "subscribe", map[string]any{"channel": "group:resume", "since": broker.Position{Epoch: sub.Epoch, Offset: sub.Offset}}, &replay)
	_ = re
	if !replay.Recovered || len(replay.Publications) != 4 || replay.Publications[0].Offset != sub.Offset+1 {
		t.Fatalf("recovery = %+v", replay)
	}
}

// TestMessagingSlowSubscriber stalls a subscriber while a publisher floods
// its channel: the server drops the oldest queued publications (counted)
// instead of closing it, the publisher and a second subscriber are not
// held up, and the slow one recovers every publication by offset.
func TestMessagingSlowSubscriber(t *testing.T) {
	// 400 publications of 16 KiB (6.4 MB) pass what the kernel buffers
	// (the server's 4 MB send buffer, the client's 16 KiB receive
	// buffer); the queue overflows at 16 messages. QueueBytes stays above
	// the size of the recovery reply, which is one message. The slow
	// subscriber takes no bytes while the publications go out, which can
	// take longer than the default write timeout on a busy machine: the
	// test is about drops, not about that timeout.
	const n, size = 400, 16 << 10
	ts := servertest.Start(t, server.Config{
		QueueMessages: 16,
		QueueBytes:    16 << 20,
		WriteTimeout:  time.Minute,
		Messaging: server.MessagingConfig{Channels: broker.Rules{
			{Prefix: "group:slow", Options: broker.Options{HistorySize: n}},
		}},
	})
	url := ts.URL("ws", "/ws")
	big := websocket.Config{MaxMessageBytes: 64 << 20}
	slow := dialMsg(t, url, big, 16<<10)
	login(t, slow, "slow")
	fast := dialMsg(t, url, big)
	login(t, fast, "fast")
	var sub broker.SubscribeResult
	slow.ok(t, "subscribe", map[string]string{"channel": "group:slow"}, &sub)
	fast.ok(t, "subscribe", map[string]string{"channel": "group:slow"}, nil)
	pub := dialMsg(t, url, websocket.Config{})
	login(t, pub, "pub")

	gate := make(chan struct{})
	var release sync.Once
	t.Cleanup(func() { release.Do(func() { close(gate) }) })
	slow.gate.Store(&gate) // the slow subscriber stops reading
	for i := range n {
		// Random padding: permessage-deflate must not shrink it.
		pad := make([]byte, size*3/4)
		_, _ = rand.Read(pad)
		pub.ok(t, "publish", map[string]any{"channel": "group:slow", "data": map[string]any{"i": i, "pad": pad}}, nil)
	}
	testutil.WaitFor(t, msgWait, "the fast subscriber to get every publication", func() bool {
		return len(fast.notes("publication")) == n
	})
	if !testutil.Poll(msgWait, func() bool { return ts.Metrics().Dropped.Load() > 0 }) {
		t.Fatalf("no publication dropped: %+v", ts.Stats())
	}
	release.Do(func() { close(gate) })
	slow.gate.Store(nil)

	// Read what arrived, in offset order, until the last publication.
	testutil.WaitFor(t, msgWait, "the last publication at the slow subscriber", func() bool {
		ns := slow.notes("publication")
		return len(ns) > 0 && pubOffset(t, ns[len(ns)-1]) == uint64(n)
	})
	got := map[uint64]bool{}
	last, gaps := uint64(0), 0
	for _, note := range slow.notes("publication") {
		off := pubOffset(t, note)
		if off != last+1 {
			gaps++
		}
		last = off
		got[off] = true
	}
	if gaps == 0 || len(got) == n {
		t.Fatalf("no gap seen (%d of %d arrived); the test did not stall the subscriber", len(got), n)
	}
	t.Logf("slow subscriber got %d of %d live, %d gaps, server dropped %d", len(got), n, gaps, ts.Metrics().Dropped.Load())
	if ts.Metrics().SlowConsumers.Load() != 0 {
		t.Fatal("the slow subscriber was closed instead of losing droppable frames")
	}
	// Recover from the first gap.
	first := uint64(0)
	for got[first+1] {
		first++
	}
	// The replay comes in pages (more:true): continue from the last.
	for pages := 0; ; pages++ {
		var replay struct {
			Recovered    bool
			More         bool
			Publications []pubData
		}
		slow.ok(t, "subscribe", map[string]any{"channel": "group:slow", "since": broker.Position{Epoch: sub.Epoch, Offset: first}}, &replay)
		if !replay.Recovered || len(replay.Publications) == 0 && replay.More {
			t.Fatalf("recovery from %d refused: %+v", first, replay)
		}
		for _, p := range replay.Publications {
			got[p.Offset] = true
			first = p.Offset
		}
		if !replay.More || pages > n {
			break
		}
	}
	for off := uint64(1); off <= n; off++ {
		if !got[off] {
			t.Fatalf("publication %d lost", off)
		}
	}
}

func pubOffset(t testing.TB, n *protoo.Notification) uint64 {
	var p struct{ Offset uint64 }
	if err := json.Unmarshal(n.Data, &p); err != nil {
		t.Fatal(err)
	}
	return p.Offset
}

// TestMessagingRoutes checks which upgrades reach the messaging protocol:
// /ws with or without protoo, any path offering protoo (with peerId), and
// /echo stays raw.
func TestMessagingRoutes(t *testing.T) {
	ts := servertest.Start(t, server.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), msgWait)
	defer cancel()
	c, err := websocket.Dial(ctx, ts.URL("ws", "/some/app?peerId=zed&roomId=r1"), &websocket.DialOptions{Subprotocols: []string{"protoo"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Subprotocol() != "protoo" {
		t.Errorf("subprotocol %q", c.Subprotocol())
	}
	c.Close(websocket.StatusNormalClosure, "")
	go func() {
		_ = c.Run(context.Background(), websocket.HandlerFunc(func(*websocket.Conn, websocket.Opcode, []byte) {}))
	}()
	// The close may end zed's session before a poll sees it: count logins.
	testutil.WaitFor(t, msgWait, "zed logged in", func() bool { return ts.Hub().Counters().Logins.Load() == 1 })
	testutil.WaitFor(t, msgWait, "zed's session ended", func() bool { return ts.Hub().Sessions() == 0 })

	p := dialMsg(t, ts.URL("ws", "/?peerId="), websocket.Config{})
	select {
	case <-p.done:
	case <-time.After(msgWait):
		t.Fatal("empty peerId not closed")
	}
	if ce := p.CloseStatus(); ce.Code != websocket.StatusDoNotReconnect || len(p.notes("error")) != 1 {
		t.Errorf("empty peerId: closed %v with %d error notifications", ce, len(p.notes("error")))
	}
	e := dialMsg(t, ts.URL("ws", "/echo"), websocket.Config{})
	e.send(t, `{"request":true,"id":1,"method":"echo"}`)
	e.waitFor(t, "raw echo", func(m protoo.Message) bool { _, ok := m.(*protoo.Request); return ok })
}
