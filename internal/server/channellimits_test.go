package server_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testutil/servertest"
	"github.com/switchboard/switchboard/protoo"
	"github.com/switchboard/switchboard/websocket"
)

// TestMessagingChannelLimits: publications compressed on the wire count
// decompressed against the history budget, which holds, and a session
// past its channel quota gets 429 with the reason.
func TestMessagingChannelLimits(t *testing.T) {
	ts := servertest.Start(t, server.Config{Messaging: server.MessagingConfig{
		HistoryBytes:       1 << 20,
		ChannelsPerSession: 8,
	}})
	p := dialMsg(t, ts.URL("ws", "/ws"), websocket.Config{})
	login(t, p, "zip")
	// 8 publications of 256 KiB of one letter: a few KB on the wire with
	// permessage-deflate, 2 MiB as stored, twice the budget.
	data := strings.Repeat("z", 256<<10)
	for i := range 8 {
		p.ok(t, "publish", map[string]any{"channel": fmt.Sprint("zip:", i), "data": data}, nil)
	}
	st := ts.Stats()
	if st.HistoryBytes > 1<<20 || st.Evicted < 4 {
		t.Fatalf("histories hold %d bytes (budget %d), %d evicted", st.HistoryBytes, 1<<20, st.Evicted)
	}
	reason := p.fails(t, protoo.CodeTooMany, "publish", map[string]any{"channel": "zip:8", "data": 1})
	if !strings.Contains(reason, "channel quota") {
		t.Fatalf("reason %q does not say which limit", reason)
	}
	p.ok(t, "publish", map[string]any{"channel": "zip:0", "data": 1}, nil)
}
