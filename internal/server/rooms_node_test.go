package server_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/internal/testutil/servertest"
)

// The tests in this file drive room signaling with the real npm
// protoo-client (4.0.8) through test/node/protoo-rooms.mjs, connecting the
// way mediasoup-demo does: ws://HOST/?roomId=R&peerId=P.

type roomPeer struct {
	ID   string
	Info json.RawMessage
}

type roomReply struct {
	Room  string
	Peers []roomPeer
}

func runRooms(t *testing.T, cfg server.Config, scenario string, v any) *servertest.Server {
	t.Helper()
	return runScenario(t, cfg, "protoo-rooms.mjs", "/", scenario, v)
}

// TestProtooClientRooms: two peers join r1 through ?roomId&peerId, see each
// other, relay 50 signals in order, get 404 for a non-member and 501 for
// the SFU methods; a leave and a disconnect each give peerLeft.
func TestProtooClientRooms(t *testing.T) {
	testutil.CheckGoroutines(t, 15*time.Second)
	var res struct {
		AliceLogin    struct{ Name string }
		AliceJoined   roomReply
		BobJoined     roomReply
		PeerJoined    struct{ Room, ID string }
		Rejoin        roomReply
		SignalReplies []string
		SignalSeqs    []int
		SignalFrom    []string
		SignalBack    json.RawMessage
		SignalAtAlice struct {
			Room, From string
			Data       struct{ Type string }
		}
		SignalNonMember protooError
		SignalOtherRoom protooError
		SFU             map[string]protooError
		CarolJoined     roomReply
		MediasoupJoin   roomReply
		RosterWithCarol roomReply
		Leave           json.RawMessage
		PeerLeftCarol   struct{ Room, ID string }
		LeaveAgain      protooError
		PeerLeftBob     struct{ Room, ID string }
		PeerLeftAfterMs int
		AliceEvents     []string
	}
	ts := runRooms(t, server.Config{}, "rooms", &res)
	if res.AliceLogin.Name != "alice" || res.AliceJoined.Room != "r1" || len(res.AliceJoined.Peers) != 0 {
		t.Errorf("alice: login %+v, joined %+v", res.AliceLogin, res.AliceJoined)
	}
	if len(res.BobJoined.Peers) != 1 || res.BobJoined.Peers[0].ID != "alice" || string(res.BobJoined.Peers[0].Info) != `{"displayName":"Alice"}` {
		t.Errorf("bob joined %+v, want alice with her displayName", res.BobJoined)
	}
	if res.PeerJoined.Room != "r1" || res.PeerJoined.ID != "bob" {
		t.Errorf("peerJoined at alice = %+v", res.PeerJoined)
	}
	if len(res.Rejoin.Peers) != 1 || res.Rejoin.Peers[0].ID != "alice" {
		t.Errorf("second join = %+v", res.Rejoin)
	}
	if len(res.SignalSeqs) != 50 {
		t.Fatalf("bob got %d signals, want 50", len(res.SignalSeqs))
	}
	for i, s := range res.SignalSeqs {
		if s != i {
			t.Fatalf("signals out of order: %v", res.SignalSeqs)
		}
	}
	if !slices.Equal(res.SignalFrom, []string{"alice@r1"}) || res.SignalReplies[0] != "{}" {
		t.Errorf("signal senders %v, replies %v", res.SignalFrom, res.SignalReplies[:1])
	}
	if res.SignalAtAlice.From != "bob" || res.SignalAtAlice.Data.Type != "answer" || string(res.SignalBack) != "{}" {
		t.Errorf("signal back = %s, alice got %+v", res.SignalBack, res.SignalAtAlice)
	}
	if res.SignalNonMember.Code != 404 || !strings.Contains(res.SignalNonMember.Message, "nobody") {
		t.Errorf("signal to a non-member = %+v, want 404", res.SignalNonMember)
	}
	if res.SignalOtherRoom.Code != 403 {
		t.Errorf("signal in a room not joined = %+v, want 403", res.SignalOtherRoom)
	}
	for _, m := range []string{"getRouterRtpCapabilities", "createWebRtcTransport", "produce", "consume"} {
		if e := res.SFU[m]; e.Code != 501 || !strings.Contains(e.Message, "peer-to-peer") {
			t.Errorf("%s = %+v, want 501 saying media is peer-to-peer", m, e)
		}
	}
	if res.MediasoupJoin.Room != "r1" || len(res.MediasoupJoin.Peers) != 2 {
		t.Errorf("join without room (mediasoup style) = %+v", res.MediasoupJoin)
	}
	if p := res.RosterWithCarol.Peers; len(p) != 2 || p[1].ID != "carol" || string(p[1].Info) != `{"displayName":"Carol","device":{"name":"node"}}` {
		t.Errorf("alice's roster after carol's mediasoup join = %+v", res.RosterWithCarol)
	}
	if len(res.CarolJoined.Peers) != 2 || string(res.Leave) != "{}" || res.PeerLeftCarol.ID != "carol" || res.LeaveAgain.Code != 404 {
		t.Errorf("carol: joined %+v, leave %s, peerLeft %+v, leave again %+v", res.CarolJoined, res.Leave, res.PeerLeftCarol, res.LeaveAgain)
	}
	if res.PeerLeftBob.Room != "r1" || res.PeerLeftBob.ID != "bob" {
		t.Errorf("peerLeft after bob's close = %+v", res.PeerLeftBob)
	}
	t.Logf("peerLeft %d ms after bob's peer.close()", res.PeerLeftAfterMs)
	if !slices.Equal(res.AliceEvents, []string{"open"}) {
		t.Errorf("alice's transport events %v, want just open", res.AliceEvents)
	}
	testutil.WaitFor(t, waitTimeout, "room r1 gone", func() bool { return len(ts.Hub().Rooms()) == 0 })
}

// TestProtooClientTakeoverNoZombieRoom: the only peer of a room reconnects
// with the same peerId while its old socket is open. The old one is closed
// with 4000 (protoo-client emits close and never reconnects), the room
// survives the swap, and the new peer is served in it: it gets joined,
// peerJoined and signals, and its requests succeed (docs/protoo.md,
// "Differences from protoo-server worth knowing").
func TestProtooClientTakeoverNoZombieRoom(t *testing.T) {
	var res struct {
		FreshLogin struct {
			Name    string
			Resumed bool
		}
		FreshJoined       roomReply
		FreshJoin         roomReply
		OtherJoined       roomReply
		PeerJoinedAtFresh struct{ Room, ID string }
		SignalAtFresh     struct {
			From string
			Data struct{ Hello string }
		}
		EchoAfter   struct{ Still string }
		OldEvents   []string
		OldNotes    []string
		FreshEvents []string
		EmptyRoom   struct {
			ErrorCode   int
			ErrorReason string
		}
		EmptyRoomEvents []string
	}
	ts := runRooms(t, server.Config{}, "takeover", &res)
	if res.FreshLogin.Name != "solo" || !res.FreshLogin.Resumed || res.FreshJoined.Room != "z" {
		t.Errorf("new connection: login %+v, joined %+v", res.FreshLogin, res.FreshJoined)
	}
	if !slices.Equal(res.OldEvents, []string{"open", "close"}) {
		t.Errorf("old connection's events %v, want open, close (4000: no reconnect)", res.OldEvents)
	}
	if !slices.Equal(res.FreshEvents, []string{"open"}) {
		t.Errorf("new connection's events %v", res.FreshEvents)
	}
	if len(res.OtherJoined.Peers) != 1 || res.OtherJoined.Peers[0].ID != "solo" || res.PeerJoinedAtFresh.ID != "other" {
		t.Errorf("other joined %+v; solo saw %+v", res.OtherJoined, res.PeerJoinedAtFresh)
	}
	if res.SignalAtFresh.From != "other" || res.SignalAtFresh.Data.Hello != "solo" || res.EchoAfter.Still != "here" {
		t.Errorf("signal at the new connection %+v, echo %+v", res.SignalAtFresh, res.EchoAfter)
	}
	if res.EmptyRoom.ErrorCode != 400 || !slices.Equal(res.EmptyRoomEvents, []string{"open", "close"}) {
		t.Errorf("empty roomId: %+v, events %v", res.EmptyRoom, res.EmptyRoomEvents)
	}
	// Four sockets in all: the old one did not come back.
	if n := ts.Metrics().Opened.Load(); n != 4 {
		t.Errorf("server saw %d WebSocket connections, want 4", n)
	}
	if n := ts.Hub().Counters().Takeovers.Load(); n != 1 {
		t.Errorf("%d takeovers, want 1", n)
	}
	testutil.WaitFor(t, waitTimeout, "room z gone", func() bool { return len(ts.Hub().Rooms()) == 0 })
}

// TestProtooClientRoomLimits: a full room refuses a URL join for good (an
// error notification, then 4000), and the rooms-per-session cap and bad
// room names are error replies.
// TestProtooClientHijackRefused: a protoo-client connecting with
// ?roomId=any&peerId=VICTIM, where VICTIM logged in with login, gets error
// 409 and close 4000 (no retry) and never the victim's token; the victim
// stays connected.
func TestProtooClientHijackRefused(t *testing.T) {
	var res struct {
		AttackerError struct {
			ErrorCode   int
			ErrorReason string
		}
		AttackerEvents, AttackerNotes, VictimEvents []string
		AttackerSawToken                            bool
		VictimEcho                                  struct{ Still string }
	}
	runRooms(t, server.Config{}, "hijack", &res)
	if res.AttackerError.ErrorCode != 409 || !strings.Contains(res.AttackerError.ErrorReason, "taken") {
		t.Errorf("attacker's error %+v, want 409 name taken", res.AttackerError)
	}
	if !slices.Equal(res.AttackerEvents, []string{"open", "close"}) || !slices.Equal(res.AttackerNotes, []string{"error"}) || res.AttackerSawToken {
		t.Errorf("attacker: events %v, notifications %v, saw the token %v", res.AttackerEvents, res.AttackerNotes, res.AttackerSawToken)
	}
	if res.VictimEcho.Still != "here" || !slices.Equal(res.VictimEvents, []string{"open"}) {
		t.Errorf("victim: echo %+v, events %v", res.VictimEcho, res.VictimEvents)
	}
}

func TestProtooClientRoomLimits(t *testing.T) {
	var res struct {
		FullNote struct {
			ErrorCode   int
			ErrorReason string
		}
		FullEvents                    []string
		SecondRoom                    roomReply
		ThirdRoom, BadRoom, WrongRoom protooError
	}
	cfg := server.Config{Messaging: server.MessagingConfig{MaxRoomMembers: 2, MaxRoomsPerSession: 2}}
	ts := runRooms(t, cfg, "limits", &res)
	if res.FullNote.ErrorCode != 429 || !strings.Contains(res.FullNote.ErrorReason, "full") || !slices.Equal(res.FullEvents, []string{"open", "close"}) {
		t.Errorf("third member: %+v, events %v", res.FullNote, res.FullEvents)
	}
	if res.SecondRoom.Room != "second" || res.ThirdRoom.Code != 429 || res.BadRoom.Code != 400 || res.WrongRoom.Code != 400 {
		t.Errorf("second room %+v, third %+v, bad %+v, wrong type %+v", res.SecondRoom, res.ThirdRoom, res.BadRoom, res.WrongRoom)
	}
	testutil.WaitFor(t, waitTimeout, "refused p3 ended", func() bool { return ts.Hub().Sessions() == 0 })
}

// TestProtooClientDropReconnect cuts a member's TCP connection (no close
// frame): protoo-client reconnects at once with the same URL, takes its
// session back and is still in the room, and the other member sees no
// peerLeft / peerJoined. Cut again without a reconnect, the member leaves
// when the resume grace period ends.
func TestProtooClientDropReconnect(t *testing.T) {
	const grace = time.Second
	var res struct {
		Rejoined             roomReply
		SignalAfterReconnect struct{ From string }
		BeaEvents            []string
		AmyNotesBeforeLeave  []string
		PeerLeft             struct{ Room, ID string }
		PeerLeftAfterMs      int
	}
	runRooms(t, server.Config{Messaging: server.MessagingConfig{ResumeGrace: grace}}, "drop", &res)
	if !slices.Equal(res.BeaEvents, []string{"open", "disconnected", "open"}) {
		t.Errorf("bea's transport events %v, want open, disconnected, open", res.BeaEvents)
	}
	if len(res.Rejoined.Peers) != 1 || res.Rejoined.Peers[0].ID != "amy" || res.SignalAfterReconnect.From != "bea" {
		t.Errorf("after reconnecting: joined %+v, amy got a signal from %q", res.Rejoined, res.SignalAfterReconnect.From)
	}
	if countOf(res.AmyNotesBeforeLeave, "peerJoined") != 1 || countOf(res.AmyNotesBeforeLeave, "peerLeft") != 0 {
		t.Errorf("amy's notifications around the reconnect %v, want one peerJoined and no peerLeft", res.AmyNotesBeforeLeave)
	}
	if res.PeerLeft.ID != "bea" || res.PeerLeftAfterMs < int(grace/time.Millisecond)-100 {
		t.Errorf("peerLeft %+v after %d ms, want bea after the %v grace period", res.PeerLeft, res.PeerLeftAfterMs, grace)
	}
	t.Logf("peerLeft %d ms after the connection was cut (grace %v)", res.PeerLeftAfterMs, grace)
}

func countOf(list []string, s string) int {
	n := 0
	for _, v := range list {
		if v == s {
			n++
		}
	}
	return n
}
