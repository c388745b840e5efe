package server_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/internal/testutil/servertest"
	"github.com/switchboard/switchboard/protoo"
	"github.com/switchboard/switchboard/websocket"
)

// TestRoomsGraceAndReconnect: a member whose socket drops without a close
// frame stays in the room for the resume grace period. Reconnecting within
// it (a mediasoup-style URL takes the session over) is seen by nobody; not
// coming back gives peerLeft once the period ends.
func TestRoomsGraceAndReconnect(t *testing.T) {
	testutil.CheckGoroutines(t, msgWait)
	const grace = 1500 * time.Millisecond
	ts := servertest.Start(t, server.Config{Messaging: server.MessagingConfig{ResumeGrace: grace}})
	a := dialMsg(t, ts.URL("ws", "/?roomId=g&peerId=ann"), websocket.Config{})
	a.waitFor(t, "joined", isNote("joined"))
	b := dialMsg(t, ts.URL("ws", "/?roomId=g&peerId=ben"), websocket.Config{})
	b.waitFor(t, "joined", isNote("joined"))
	a.waitFor(t, "peerJoined", isNote("peerJoined"))

	// ben drops and comes back at once: ann sees nothing.
	b.nc.Close()
	testutil.WaitFor(t, msgWait, "ben offline", func() bool { return len(ts.Hub().Online()) == 1 })
	b2 := dialMsg(t, ts.URL("ws", "/?roomId=g&peerId=ben"), websocket.Config{})
	var joined struct{ Peers []struct{ ID string } }
	b2.waitFor(t, "joined", isNote("joined"))
	decodeNote(t, b2.notes("joined")[0], &joined)
	if len(joined.Peers) != 1 || joined.Peers[0].ID != "ann" {
		t.Fatalf("ben's roster after reconnecting = %+v", joined)
	}
	a.ok(t, "signal", map[string]any{"room": "g", "to": "ben", "data": map[string]int{"n": 1}}, nil)
	b2.waitFor(t, "signal", isNote("signal"))

	// ben drops for good: peerLeft comes after the grace period.
	dropped := time.Now()
	b2.nc.Close()
	a.waitFor(t, "peerLeft", isNote("peerLeft"))
	after := time.Since(dropped)
	if after < grace {
		t.Errorf("peerLeft %v after the drop, before the %v grace period", after, grace)
	}
	t.Logf("peerLeft %v after an abnormal drop (grace %v)", after.Round(time.Millisecond), grace)
	if n := len(a.notes("peerJoined")); n != 1 {
		t.Errorf("ann saw %d peerJoined, want 1 (the reconnect is not a join)", n)
	}
	if n := len(a.notes("peerLeft")); n != 1 {
		t.Errorf("ann saw %d peerLeft, want 1", n)
	}
	a.fails(t, protoo.CodeNotFound, "signal", map[string]any{"room": "g", "to": "ben", "data": 1})
	if m := ts.Hub().RoomMembers("g"); len(m) != 1 || m[0] != "ann" {
		t.Errorf("members of g = %v", m)
	}
}

// TestRoomsNativeLogin: join, leave and signal on /ws after a login, and the
// 401 before it.
func TestRoomsNativeLogin(t *testing.T) {
	ts := servertest.Start(t, server.Config{})
	a := dialMsg(t, ts.URL("ws", "/ws"), websocket.Config{})
	a.fails(t, protoo.CodeUnauthorized, "join", map[string]string{"room": "n"})
	login(t, a, "nia")
	b := dialMsg(t, ts.URL("ws", "/ws"), websocket.Config{})
	login(t, b, "noe")
	var ra, rb struct {
		Room  string
		Peers []struct {
			ID   string
			Info map[string]string
		}
	}
	a.ok(t, "join", map[string]any{"room": "n", "info": map[string]string{"displayName": "Nia"}}, &ra)
	b.ok(t, "join", map[string]any{"room": "n"}, &rb)
	if ra.Room != "n" || len(ra.Peers) != 0 || len(rb.Peers) != 1 || rb.Peers[0].Info["displayName"] != "Nia" {
		t.Fatalf("join replies %+v, %+v", ra, rb)
	}
	if n := ts.Stats().Rooms; n != 1 {
		t.Errorf("/stats rooms = %d, want 1", n)
	}
	b.fails(t, protoo.CodeBadRequest, "signal", map[string]any{"room": "n", "to": "nia"})
	b.ok(t, "leave", map[string]string{"room": "n"}, nil)
	a.waitFor(t, "peerLeft", isNote("peerLeft"))
	b.fails(t, protoo.CodeForbidden, "signal", map[string]any{"room": "n", "to": "nia", "data": 1})
}

func isNote(method string) func(protoo.Message) bool {
	return func(m protoo.Message) bool {
		n, ok := m.(*protoo.Notification)
		return ok && n.Method == method
	}
}

func decodeNote(t testing.TB, n *protoo.Notification, v any) {
	t.Helper()
	if err := json.Unmarshal(n.Data, v); err != nil {
		t.Fatalf("notification %s: %v", n.Method, err)
	}
}

// TestClientConfigICEServers: /config.json hands the --ice-server URLs to
// the web app, and an empty list without them.
func TestClientConfigICEServers(t *testing.T) {
	for _, tc := range []struct {
		servers []string
		want    string
	}{
		{nil, `{"iceServers":[],"streamIntervalSeconds":1}`},
		{[]string{"stun:stun.example.com:3478", "turn:turn.example.com"}, `{"iceServers":[{"urls":["stun:stun.example.com:3478"]},{"urls":["turn:turn.example.com"]}],"streamIntervalSeconds":1}`},
	} {
		ts := servertest.Start(t, server.Config{Messaging: server.MessagingConfig{ICEServers: tc.servers}})
		resp, body := rawExchange(t, ts.Addr, "GET /config.json HTTP/1.1\r\nHost: "+ts.Addr+"\r\nConnection: close\r\n\r\n")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || strings.TrimSpace(string(body)) != tc.want {
			t.Errorf("GET /config.json with %v = %d %q %s, want %s", tc.servers, resp.StatusCode, resp.Header.Get("Content-Type"), body, tc.want)
		}
	}
}
