package server_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/internal/testutil/servertest"
	"github.com/switchboard/switchboard/websocket"
)

// TestMessagingURLHijackRefused: a mediasoup-style URL naming a client
// that logged in with login is refused with 409 and 4000 "refused: name
// ... is taken"; the victim keeps its connection and its resume token
// stays secret. A URL whose room is full leaves the session of its peerId
// alone too. The refusals are logged at info with the remote address.
func TestMessagingURLHijackRefused(t *testing.T) {
	logger, logs := captureLogs(t)
	ts := servertest.Start(t, server.Config{Logger: logger, Messaging: server.MessagingConfig{MaxRoomMembers: 1}})
	victim := dialMsg(t, ts.URL("ws", "/ws"), websocket.Config{})
	token := login(t, victim, "victim").Resume
	victim.ok(t, "join", map[string]any{"room": "full"}, nil)

	for _, q := range []string{"/?roomId=any&peerId=victim", "/?roomId=full&peerId=victim", "/?roomId=full&peerId=other"} {
		a := dialMsg(t, ts.URL("ws", q), websocket.Config{})
		select {
		case <-a.done:
		case <-time.After(msgWait):
			t.Fatalf("%s: not closed", q)
		}
		ce := a.CloseStatus()
		errs := a.notes("error")
		if ce.Code != websocket.StatusDoNotReconnect || !strings.HasPrefix(ce.Reason, "refused: ") || len(errs) != 1 {
			t.Fatalf("%s: closed %v with %d error notifications, want 4000 \"refused: ...\"", q, ce, len(errs))
		}
		if strings.Contains(q, "victim") && len(a.notes("login")) != 0 {
			t.Fatalf("%s: the URL logged in", q)
		}
		a.mu.Lock()
		for _, m := range a.msgs {
			if b, _ := json.Marshal(m); strings.Contains(string(b), token) {
				t.Fatalf("%s: the victim's resume token was sent", q)
			}
		}
		a.mu.Unlock()
	}
	victim.ok(t, "echo", "still here", nil)
	select {
	case <-victim.done:
		t.Fatalf("victim closed: %v", victim.CloseStatus())
	default:
	}
	if got := ts.Hub().RoomMembers("full"); len(got) != 1 || got[0] != "victim" {
		t.Fatalf("room full = %v", got)
	}
	testutil.WaitFor(t, msgWait, "the refusals in the log", func() bool {
		return strings.Count(logs.String(), `level=INFO msg="session: refused" remote=127.0.0.1:`) >= 3
	})
	for _, want := range []string{`reason="name \"victim\" is taken"`, `reason="room \"full\" is full: 1 members at most"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("no refusal logged with %s", want)
		}
	}
}
