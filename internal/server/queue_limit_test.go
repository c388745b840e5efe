package server_test

import (
	"crypto/rand"
	"encoding/base64"
	"testing"

	"github.com/switchboard/switchboard/internal/broker"
	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testutil/servertest"
	"github.com/switchboard/switchboard/protoo"
	"github.com/switchboard/switchboard/websocket"
)

// noise is n random bytes as base64 text: permessage-deflate cannot shrink
// a message carrying it below the queue limit.
func noise(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// TestMessagesLargerThanQueue sets QueueBytes below the size of one reply,
// one channel publication and one recovery reply: each still arrives, on
// an otherwise idle connection, because the queue limit bounds the
// backlog, not the size of one message.
func TestMessagesLargerThanQueue(t *testing.T) {
	const queue = 16 << 10
	ts := servertest.Start(t, server.Config{QueueBytes: queue})
	url := ts.URL("ws", "/ws")
	ann := dialMsg(t, url, websocket.Config{})
	login(t, ann, "ann")
	pub := dialMsg(t, url, websocket.Config{})
	login(t, pub, "pub")
	var sub broker.SubscribeResult
	ann.ok(t, "subscribe", map[string]string{"channel": "group"}, &sub)

	t.Run("reply", func(t *testing.T) {
		data := noise(2 * queue)
		var echoed string
		ann.ok(t, "echo", data, &echoed)
		if echoed != data {
			t.Fatalf("echo of %d bytes came back as %d bytes", len(data), len(echoed))
		}
	})
	t.Run("publication", func(t *testing.T) {
		data := noise(2 * queue)
		pub.ok(t, "publish", map[string]string{"channel": "group", "data": data}, nil)
		ann.waitFor(t, "the large publication", func(m protoo.Message) bool {
			n, ok := m.(*protoo.Notification)
			return ok && n.Method == "publication" && len(n.Data) > queue
		})
	})
	t.Run("recovery", func(t *testing.T) {
		for range 20 {
			pub.ok(t, "publish", map[string]string{"channel": "group", "data": noise(2 << 10)}, nil)
		}
		bea := dialMsg(t, url, websocket.Config{})
		login(t, bea, "bea")
		r := bea.request(t, "subscribe", map[string]any{"channel": "group", "since": broker.Position{Epoch: sub.Epoch, Offset: sub.Offset}})
		if !r.OK {
			t.Fatalf("recovery: error %d %q", r.ErrorCode, r.ErrorReason)
		}
		if len(r.Data) <= queue {
			t.Fatalf("the recovery reply holds %d bytes, not more than the %d-byte queue limit: the test proves nothing", len(r.Data), queue)
		}
	})
	if n := ts.Metrics().SlowConsumers.Load(); n != 0 {
		t.Errorf("%d connections closed as slow consumers", n)
	}
}
