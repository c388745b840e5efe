package session

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/broker"
	"github.com/switchboard/switchboard/protoo"
	"github.com/switchboard/switchboard/websocket"
)

// TestChannelQuota: a session that created its quota of channels gets 429
// with the reason for one more, by publish or by subscribe; channels that
// exist stay open to it, and another session still creates channels.
func TestChannelQuota(t *testing.T) {
	h := NewHub(Config{Broker: broker.NewMemory(broker.MemoryConfig{MaxChannelsPerQuota: 2})})
	defer h.Close()
	a, b := open(h, ""), open(h, "")
	a.ok(t, "login", map[string]any{"name": "a"}, nil)
	b.ok(t, "login", map[string]any{"name": "b"}, nil)
	a.ok(t, "publish", map[string]any{"channel": "one", "data": 1}, nil)
	a.ok(t, "subscribe", map[string]any{"channel": "two"}, nil)
	for _, req := range []struct {
		method string
		data   map[string]any
	}{
		{"publish", map[string]any{"channel": "three", "data": 1}},
		{"subscribe", map[string]any{"channel": "three"}},
	} {
		r := a.call(t, req.method, req.data)
		if r.OK || r.ErrorCode != protoo.CodeTooMany || !strings.Contains(r.ErrorReason, "channel quota") {
			t.Fatalf("%s past the quota = %v %d %q", req.method, r.OK, r.ErrorCode, r.ErrorReason)
		}
	}
	a.ok(t, "publish", map[string]any{"channel": "two", "data": 1}, nil)
	b.ok(t, "subscribe", map[string]any{"channel": "three"}, nil)
	a.ok(t, "subscribe", map[string]any{"channel": "three"}, nil)
}

// TestOnlinePages: online answers at most MaxOnlinePage names (or limit),
// with more:true while names follow, and continues after `after`.
func TestOnlinePages(t *testing.T) {
	h := NewHub(Config{})
	defer h.Close()
	var c *conn
	for i := range MaxOnlinePage + 1 {
		c = open(h, "")
		c.ok(t, "login", map[string]any{"name": fmt.Sprintf("u%04d", i)}, nil)
	}
	var page onlineReply
	c.ok(t, "online", map[string]any{}, &page)
	if len(page.Names) != MaxOnlinePage || !page.More || page.Names[0] != "u0000" {
		t.Fatalf("first page: %d names from %q, more %v", len(page.Names), page.Names[0], page.More)
	}
	after := page.Names[len(page.Names)-1]
	page = onlineReply{} // more is left out when false
	c.ok(t, "online", map[string]any{"after": after}, &page)
	if fmt.Sprint(page.Names) != "[u1000]" || page.More {
		t.Fatalf("second page %+v", page)
	}
	var got []string
	after = ""
	for range 1000 {
		page = onlineReply{}
		c.ok(t, "online", map[string]any{"after": after, "limit": 400}, &page)
		got = append(got, page.Names...)
		if !page.More {
			break
		}
		after = page.Names[len(page.Names)-1]
	}
	if len(got) != MaxOnlinePage+1 || got[400] != "u0400" {
		t.Fatalf("paging by 400 gave %d names", len(got))
	}
	c.ok(t, "online", map[string]any{"limit": 1 << 30}, &page)
	if len(page.Names) != MaxOnlinePage {
		t.Fatalf("a huge limit gave %d names", len(page.Names))
	}
	c.fails(t, protoo.CodeBadRequest, "online", map[string]any{"limit": 0})
	c.fails(t, protoo.CodeBadRequest, "online", map[string]any{"after": 5})
}

// TestSubscribeReplyOrder subscribes, with a replay of 300 publications,
// while another session publishes on the channel: on the subscriber's
// connection the reply comes before every publication, and the
// publications after it run from the reply's offset on without a gap or a
// repeat, in order.
func TestSubscribeReplyOrder(t *testing.T) {
	h := NewHub(Config{Broker: broker.NewMemory(broker.MemoryConfig{
		Rules: broker.Rules{{Prefix: "c", Options: broker.Options{HistorySize: 1000}}}})})
	defer h.Close()
	pub, sub := open(h, ""), open(h, "")
	pub.ok(t, "login", map[string]any{"name": "pub"}, nil)
	sub.ok(t, "login", map[string]any{"name": "sub"}, nil)
	var first broker.SubscribeResult
	pub.ok(t, "subscribe", map[string]any{"channel": "c"}, &first)
	for range 300 {
		pub.ok(t, "publish", map[string]any{"channel": "c", "data": 1}, nil)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// The publisher's own connection is not the one checked; its
		// requests go through the hub like any other.
		p := open(h, "")
		p.ok(t, "login", map[string]any{"name": "pub2"}, nil)
		for range 300 {
			p.ok(t, "publish", map[string]any{"channel": "c", "data": 2}, nil)
		}
	}()
	since := map[string]any{"epoch": first.Epoch, "offset": 0}
	sub.OnMessage(sub.t, websocket.OpText, protoo.AppendRequest(nil, []byte("1"), "subscribe", mustJSON(t, map[string]any{"channel": "c", "since": since})))
	<-done
	sub.t.mu.Lock()
	msgs := append([]protoo.Message(nil), sub.t.msgs...)
	sub.t.mu.Unlock()
	var reply *broker.SubscribeResult
	var next uint64
	for _, m := range msgs[1:] { // after the login reply
		switch m := m.(type) {
		case *protoo.Response:
			if reply != nil || !m.OK {
				t.Fatalf("unexpected response %+v", m)
			}
			reply = &broker.SubscribeResult{}
			if err := json.Unmarshal(m.Data, reply); err != nil {
				t.Fatal(err)
			}
			next = reply.Offset + 1
		case *protoo.Notification:
			if m.Method != "publication" {
				continue
			}
			if reply == nil {
				t.Fatal("a publication came before the subscribe reply")
			}
			var p struct{ Offset uint64 }
			_ = json.Unmarshal(m.Data, &p)
			if p.Offset != next {
				t.Fatalf("publication %d after the reply, want %d", p.Offset, next)
			}
			next++
		}
	}
	if reply == nil || !reply.Recovered || next != 601 {
		t.Fatalf("reply %v, publications up to %d, want through 600", reply != nil, next-1)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
