package session

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/switchboard/switchboard/internal/broker"
	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/protoo"
	"github.com/switchboard/switchboard/websocket"
)

// fakeTransport records what the hub sends.
type fakeTransport struct {
	mu        sync.Mutex
	msgs      []protoo.Message
	droppable int
	closed    websocket.StatusCode
	reason    string
	addr      net.Addr // RemoteAddr; default 0.0.0.0:0
}

func (f *fakeTransport) record(payload []byte) {
	msg, err := protoo.Parse(payload)
	if err != nil {
		panic(err)
	}
	f.mu.Lock()
	f.msgs = append(f.msgs, msg)
	f.mu.Unlock()
}

func (f *fakeTransport) Send(m *websocket.PreparedMessage) error { f.record(m.Payload()); return nil }
func (f *fakeTransport) SendMessage(_ websocket.Opcode, data []byte) error {
	f.record(data)
	return nil
}
func (f *fakeTransport) SendDroppable(m *websocket.PreparedMessage) error {
	f.mu.Lock()
	f.droppable++
	f.mu.Unlock()
	f.record(m.Payload())
	return nil
}
func (f *fakeTransport) Close(code websocket.StatusCode, reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed == 0 {
		f.closed, f.reason = code, reason
	}
}
func (f *fakeTransport) RemoteAddr() net.Addr {
	if f.addr != nil {
		return f.addr
	}
	return &net.TCPAddr{IP: net.IPv4zero}
}
func (f *fakeTransport) Subprotocol() string { return "protoo" }

func (f *fakeTransport) closeCode() (websocket.StatusCode, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closed, f.reason
}

// last returns the last message sent.
func (f *fakeTransport) last() protoo.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.msgs) == 0 {
		return nil
	}
	return f.msgs[len(f.msgs)-1]
}

func (f *fakeTransport) notes(method string) []*protoo.Notification {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*protoo.Notification
	for _, m := range f.msgs {
		if n, ok := m.(*protoo.Notification); ok && n.Method == method {
			out = append(out, n)
		}
	}
	return out
}

// conn is a client on a fake transport.
type conn struct {
	*Client
	t      *fakeTransport
	id     int
	resume string
}

func open(h *Hub, query string) *conn {
	q, _ := url.ParseQuery(query)
	t := &fakeTransport{}
	return &conn{Client: h.Open(t, q), t: t}
}

// call sends a request and returns its response (the hub answers
// synchronously).
func (c *conn) call(t *testing.T, method string, data any) *protoo.Response {
	t.Helper()
	c.id++
	b, _ := json.Marshal(data)
	c.OnMessage(c.t, websocket.OpText, protoo.AppendRequest(nil, json.RawMessage(fmt.Sprint(c.id)), method, b))
	r, ok := c.t.last().(*protoo.Response)
	if !ok || string(r.ID) != fmt.Sprint(c.id) {
		t.Fatalf("%s: last message %#v is not its response", method, c.t.last())
	}
	return r
}

func (c *conn) ok(t *testing.T, method string, data, v any) {
	t.Helper()
	r := c.call(t, method, data)
	if !r.OK {
		t.Fatalf("%s: error %d %s", method, r.ErrorCode, r.ErrorReason)
	}
	if v != nil {
		if err := json.Unmarshal(r.Data, v); err != nil {
			t.Fatal(err)
		}
	}
}

func (c *conn) fails(t *testing.T, code protoo.ErrorCode, method string, data any) {
	t.Helper()
	if r := c.call(t, method, data); r.OK || r.ErrorCode != code {
		t.Fatalf("%s(%v) = %v %d %q, want error %d", method, data, r.OK, r.ErrorCode, r.ErrorReason, code)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testutil.WaitFor(t, 10*time.Second, what, cond)
}

func TestLoginRules(t *testing.T) {
	h := NewHub(Config{})
	defer h.Close()
	a := open(h, "")
	a.fails(t, protoo.CodeUnauthorized, "echo", 1)
	a.fails(t, protoo.CodeUnauthorized, "unknown", 1)
	for _, name := range []string{"", "a\x00b", "\u200bz\u0007", string(make([]rune, 65))} {
		a.fails(t, protoo.CodeBadRequest, "login", map[string]string{"name": name})
	}
	a.fails(t, protoo.CodeBadRequest, "login", map[string]int{"name": 1})
	var res loginResult
	a.ok(t, "login", map[string]string{"name": "ünïcode 名前"}, &res)
	if res.Welcome != "Welcome ünïcode 名前" || res.Key == "" || res.Resume == "" || res.Resumed {
		t.Fatalf("login = %+v", res)
	}
	a.fails(t, protoo.CodeBadRequest, "login", map[string]string{"name": "again"})
	b := open(h, "")
	b.fails(t, protoo.CodeConflict, "login", map[string]string{"name": "ünïcode 名前"})
	b.fails(t, protoo.CodeConflict, "login", map[string]string{"name": "ünïcode 名前", "resume": "nope"})
	b.ok(t, "login", map[string]string{"name": "b"}, nil)
	var online struct{ Names []string }
	b.ok(t, "online", nil, &online)
	if fmt.Sprint(online.Names) != "[b ünïcode 名前]" {
		t.Fatalf("online = %v", online.Names)
	}
}

func TestTakeoverKeepsSubscriptions(t *testing.T) {
	h := NewHub(Config{})
	defer h.Close()
	a := open(h, "")
	var la loginResult
	a.ok(t, "login", map[string]string{"name": "a"}, &la)
	a.ok(t, "subscribe", map[string]string{"channel": "group"}, nil)
	b := open(h, "")
	var lb loginResult
	b.ok(t, "login", map[string]string{"name": "a", "resume": la.Resume}, &lb)
	if lb.Key != la.Key || !lb.Resumed {
		t.Fatalf("takeover login = %+v", lb)
	}
	if code, reason := a.t.closeCode(); code != websocket.StatusDoNotReconnect || reason != "replaced" {
		t.Fatalf("old socket closed with %d %q", code, reason)
	}
	// The old connection's end does not detach the new one.
	a.Closed(websocket.StatusNoStatusRcvd)
	if h.Sessions() != 1 || len(h.Online()) != 1 {
		t.Fatal("old connection's close ended the session")
	}
	c := open(h, "")
	c.ok(t, "login", map[string]string{"name": "c"}, nil)
	c.ok(t, "publish", map[string]any{"channel": "group", "data": "x"}, nil)
	if len(b.t.notes("publication")) != 1 || len(a.t.notes("publication")) != 0 || b.t.droppable != 1 {
		t.Fatal("publication did not follow the session to the new connection as a droppable frame")
	}
}

// TestLoginDeadline runs in a synctest bubble: the 200 ms deadline passes
// on the bubble's fake clock.
func TestLoginDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHub(Config{LoginTimeout: 200 * time.Millisecond})
		defer h.Close()
		idle := open(h, "")
		quick := open(h, "")
		quick.ok(t, "login", map[string]string{"name": "q"}, nil)
		time.Sleep(199 * time.Millisecond)
		synctest.Wait()
		if c, _ := idle.t.closeCode(); c != 0 {
			t.Fatal("the idle socket closed before its deadline")
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if code, reason := idle.t.closeCode(); code != websocket.StatusDoNotReconnect || reason != "login timeout" {
			t.Fatalf("closed with %d %q", code, reason)
		}
		if len(idle.t.notes("error")) != 1 {
			t.Fatal("no error notification before the close")
		}
		if h.Counters().LoginLimit.Load() != 1 {
			t.Fatal("logged-in socket hit the deadline")
		}
		if c, _ := quick.t.closeCode(); c != 0 {
			t.Fatal("logged-in socket closed")
		}
	})
}

// TestResumeGrace runs in a synctest bubble: the 300 ms grace passes on
// the bubble's fake clock.
func TestResumeGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) { testResumeGrace(t) })
}

func testResumeGrace(t *testing.T) {
	h := NewHub(Config{ResumeGrace: 300 * time.Millisecond})
	defer h.Close()
	watch := open(h, "")
	watch.ok(t, "login", map[string]string{"name": "watch"}, nil)
	watch.ok(t, "subscribe", map[string]string{"channel": broker.ChannelPresence}, nil)

	a := open(h, "")
	a.ok(t, "login", map[string]string{"name": "a"}, nil)
	a.Closed(websocket.StatusAbnormalClosure)
	if h.Sessions() != 2 {
		t.Fatal("abnormal close ended the session at once")
	}
	watch.fails(t, protoo.CodeNotFound, "send", map[string]any{"to": "a", "data": 1})
	time.Sleep(299 * time.Millisecond)
	synctest.Wait()
	if h.Sessions() != 2 {
		t.Fatal("the session ended before its grace period")
	}
	time.Sleep(time.Millisecond)
	synctest.Wait()
	if h.Sessions() != 1 || h.Counters().Expired.Load() != 1 {
		t.Fatalf("after the grace period: %d sessions, %d expired", h.Sessions(), h.Counters().Expired.Load())
	}
	// A clean close ends a session at once.
	b := open(h, "")
	b.ok(t, "login", map[string]string{"name": "b"}, nil)
	b.Closed(websocket.StatusNoStatusRcvd)
	if h.Sessions() != 1 {
		t.Fatal("clean close kept the session")
	}
	var events []string
	for _, n := range watch.t.notes("publication") {
		var p struct {
			Data struct{ Event, Name string }
		}
		_ = json.Unmarshal(n.Data, &p)
		events = append(events, p.Data.Event+" "+p.Data.Name)
	}
	if fmt.Sprint(events) != "[join a leave a join b leave b]" {
		t.Fatalf("presence = %v", events)
	}
}

func TestPeerIDQuery(t *testing.T) {
	h := NewHub(Config{})
	defer h.Close()
	p := open(h, "peerId=pia&roomId=r")
	if n := p.t.notes("login"); len(n) != 1 || !p.LoggedIn() {
		t.Fatal("peerId did not log in")
	}
	p.ok(t, "echo", []int{1}, nil)
	for _, q := range []string{"peerId=", "peerId=pia"} {
		bad := open(h, q)
		if code, _ := bad.t.closeCode(); code != websocket.StatusDoNotReconnect || len(bad.t.notes("error")) != 1 {
			t.Fatalf("%s: closed %d with %d error notifications", q, code, len(bad.t.notes("error")))
		}
	}
}

func TestBadFramesAndPanics(t *testing.T) {
	h := NewHub(Config{})
	defer h.Close()
	Handle(h.mux, "boom", true, func(*Call, *struct{}) (any, error) { panic("boom") })
	c := open(h, "")
	for _, f := range []string{"null", "[1]", "{", `{"response":true,"id":1,"ok":true}`, `{"notification":true,"method":"x"}`} {
		c.OnMessage(c.t, websocket.OpText, []byte(f))
	}
	c.OnMessage(c.t, websocket.OpBinary, []byte("{}"))
	if n := len(c.t.notes("error")); n != 4 {
		t.Fatalf("%d error notifications, want 4 (null, [1], {, binary)", n)
	}
	c.fails(t, protoo.CodeInternal, "boom", nil)
}
