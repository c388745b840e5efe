package server_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/internal/testutil/servertest"
	"github.com/switchboard/switchboard/protoo"
	"github.com/switchboard/switchboard/websocket"
)

// TestMessagingSendFloodRefused: one client flooding another, which has
// stopped reading, with large direct messages gets 429 before the
// receiver's queue is full; the receiver is not closed as a slow consumer
// and, reading again, gets every message that was accepted. (Before, 13
// compressed sends of large, compressible messages closed a receiver
// reading at 2 MB/s with 1013.)
func TestMessagingSendFloodRefused(t *testing.T) {
	// The queue (1 MiB) fills after the kernel buffers (about 4 MB on the
	// server's side, 16 KiB on the receiver's): at most 400 sends of
	// 32 KiB, 13 MB, bound the flood.
	const n, size = 400, 32 << 10
	cfg := server.Config{QueueBytes: 1 << 20}
	cfg.Deflate.Disabled = true // the receiver's frames take their full size
	ts := servertest.Start(t, cfg)
	url := ts.URL("ws", "/ws")
	victim := dialMsg(t, url, websocket.Config{}, 16<<10)
	login(t, victim, "victim")
	sender := dialMsg(t, url, websocket.Config{})
	login(t, sender, "sender")

	gate := make(chan struct{})
	var release sync.Once
	t.Cleanup(func() { release.Do(func() { close(gate) }) })
	victim.gate.Store(&gate) // the victim stops reading
	big := strings.Repeat("x", size)
	accepted := 0
	var refusal *protoo.Response
	for range n {
		r := sender.request(t, "send", map[string]any{"to": "victim", "data": big})
		if !r.OK {
			refusal = r
			break
		}
		accepted++
	}
	if refusal == nil || refusal.ErrorCode != protoo.CodeTooMany || !strings.Contains(refusal.ErrorReason, "not keeping up") {
		t.Fatalf("after %d sends: %+v, want error 429 \"... not keeping up ...\" before the receiver is closed", accepted, refusal)
	}
	if st := ts.Stats(); st.BusyRefused != 1 || st.Refusals == 0 {
		t.Fatalf("stats: %d sends refused busy, %d refusals; want 1 and some", st.BusyRefused, st.Refusals)
	}
	if m := ts.Metrics(); m.SlowConsumers.Load() != 0 {
		t.Fatalf("the receiver was closed as a slow consumer after %d sends", accepted)
	}
	t.Logf("%d sends of %d KiB accepted, then 429", accepted, size>>10)
	release.Do(func() { close(gate) })
	victim.gate.Store(nil)
	testutil.WaitFor(t, msgWait, "the receiver to get every accepted message", func() bool {
		return len(victim.notes("message")) == accepted
	})
	if ts.Metrics().SlowConsumers.Load() != 0 {
		t.Fatal("the receiver was closed as a slow consumer")
	}
	victim.ok(t, "echo", 1, nil)
}

// TestMessagingDetachedCapped: sessions whose TCP connections drop (no
// close frame) wait in their grace period, but at most MaxDetachedPerIP
// of them per address: past it the oldest ends at once. (Before, 1,000
// dropped sessions in 16 rooms with 16 KB infos held 260 MB, whatever
// --max-connections said.)
func TestMessagingDetachedCapped(t *testing.T) {
	const n, perIP = 6, 2
	ts := servertest.Start(t, server.Config{Messaging: server.MessagingConfig{MaxDetachedPerIP: perIP}})
	for i := range n {
		p := dialMsg(t, ts.URL("ws", "/ws"), websocket.Config{})
		login(t, p, "dropper"+string(rune('a'+i)))
		p.ok(t, "join", map[string]any{"room": "r", "info": map[string]string{"pad": strings.Repeat("x", 8<<10)}}, nil)
		_ = p.nc.Close() // the TCP connection drops: no close frame
		testutil.WaitFor(t, msgWait, "the session to detach", func() bool {
			return ts.Stats().Detached+int(ts.Stats().DetachedEvicted) == i+1
		})
	}
	st := ts.Stats()
	if st.Detached != perIP || st.DetachedEvicted != n-perIP || st.Sessions != perIP {
		t.Fatalf("%d detached, %d evicted, %d sessions; want %d, %d, %d", st.Detached, st.DetachedEvicted, st.Sessions, perIP, n-perIP, perIP)
	}
	if got := ts.Hub().RoomMembers("r"); len(got) != perIP || got[0] != "droppere" {
		t.Fatalf("room r = %v, want the two newest", got)
	}
}
