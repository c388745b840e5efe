package session

import (
	"fmt"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/broker"
	"github.com/switchboard/switchboard/protoo"
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
	c.ok(t, "online", map[string]any{"after": page.Names[len(page.Names)-1]}, &page)
	if fmt.Sprint(page.Names) != "[u1000]" || page.More {
		t.Fatalf("second page %+v", page)
	}
	var got []string
	after := ""
	for range 1000 {
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
