package server_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/internal/testutil/nodetest"
	"github.com/switchboard/switchboard/internal/testutil/servertest"
)

// The tests in this file drive the messaging protocol on /ws with the real
// npm protoo-client (4.0.8) through test/node/protoo-messaging.mjs.

type protooError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type pubData struct {
	Channel string          `json:"channel"`
	Offset  uint64          `json:"offset"`
	From    string          `json:"from"`
	Data    json.RawMessage `json:"data"`
}

// runScenario starts a server with cfg, runs scenario of the test/node
// script against ws://server+path, and decodes its JSON result into v.
func runScenario(t *testing.T, cfg server.Config, script, path, scenario string, v any) *servertest.Server {
	t.Helper()
	ts := servertest.Start(t, cfg)
	nodetest.RunJSON(t, v, script, "--url", ts.URL("ws", path), "--scenario", scenario)
	return ts
}

func runMessaging(t *testing.T, cfg server.Config, scenario string, v any) *servertest.Server {
	t.Helper()
	return runScenario(t, cfg, "protoo-messaging.mjs", "/ws", scenario, v)
}

func TestProtooClientWorkflows(t *testing.T) {
	testutil.CheckGoroutines(t, 15*time.Second)
	var res struct {
		Login struct {
			Key, Name, Welcome, Resume string
		}
		Echo     json.RawMessage
		Presence struct{ Event, Name string }
		Online   struct{ Names []string }
		Send     json.RawMessage
		Message  struct {
			From string
			Data struct{ Text string }
		}
		SendUnknown     protooError
		SubA            struct{ Channel, Epoch string }
		Publish         struct{ Offset uint64 }
		GroupA, GroupB  pubData
		Stream          []pubData
		StreamForbidden protooError
		Unsubscribe     json.RawMessage
		PresenceLeave   struct{ Event, Name string }
	}
	runMessaging(t, server.Config{}, "workflows", &res)
	if res.Login.Name != "alice" || res.Login.Welcome != "Welcome alice" || res.Login.Key == "" || len(res.Login.Resume) < 16 {
		t.Errorf("login reply = %+v", res.Login)
	}
	if string(res.Echo) != `{"hello":"world","n":[1,2,3]}` {
		t.Errorf("echo = %s", res.Echo)
	}
	if res.Presence.Event != "join" || res.PresenceLeave.Event != "leave" {
		t.Errorf("presence = %+v then %+v", res.Presence, res.PresenceLeave)
	}
	if len(res.Online.Names) != 2 || res.Online.Names[0] != "alice" || res.Online.Names[1] != "bob" {
		t.Errorf("online = %v", res.Online.Names)
	}
	if string(res.Send) != `{}` || res.Message.From != "alice" || res.Message.Data.Text != "hi bob" {
		t.Errorf("send = %s, message = %+v", res.Send, res.Message)
	}
	if res.SendUnknown.Code != 404 {
		t.Errorf("send to an unknown name = %+v, want 404", res.SendUnknown)
	}
	for _, p := range []pubData{res.GroupA, res.GroupB} {
		if p.Channel != "group" || p.From != "bob" || p.Offset != res.Publish.Offset || string(p.Data) != `{"text":"hello group"}` {
			t.Errorf("group publication = %+v (publish offset %d)", p, res.Publish.Offset)
		}
	}
	if res.SubA.Epoch == "" {
		t.Error("subscribe reply without an epoch")
	}
	if len(res.Stream) != 3 {
		t.Fatalf("got %d stream publications", len(res.Stream))
	}
	var times []time.Time
	for i, p := range res.Stream {
		var f server.StreamFigures
		if err := json.Unmarshal(p.Data, &f); err != nil {
			t.Fatal(err)
		}
		if p.From != "" || f.Connections < 2 || f.HeapBytes == 0 || (i > 0 && p.Offset != res.Stream[i-1].Offset+1) {
			t.Errorf("stream publication %d = %+v, figures %+v", i, p, f)
		}
		tm, err := time.Parse(time.RFC3339Nano, f.Time)
		if err != nil {
			t.Fatal(err)
		}
		times = append(times, tm)
	}
	for i := 1; i < len(times); i++ {
		// One a second; the bounds leave room for a busy machine.
		if d := times[i].Sub(times[i-1]); d < 500*time.Millisecond || d > 1500*time.Millisecond {
			t.Errorf("stream publications %v apart, want about 1 s", d)
		}
	}
	if res.StreamForbidden.Code != 403 {
		t.Errorf("publish on stream = %+v, want 403", res.StreamForbidden)
	}
}

func TestProtooClientRecovery(t *testing.T) {
	var res struct {
		Recovered      bool
		Replayed       int
		Offsets        []uint64
		Values         []int
		StaleRecovered bool
	}
	runMessaging(t, server.Config{}, "recovery", &res)
	if !res.Recovered || res.Replayed != 20 {
		t.Errorf("recovered %v with %d publications, want true with 20", res.Recovered, res.Replayed)
	}
	if len(res.Offsets) != 30 {
		t.Fatalf("client saw %d distinct publications, want 30: %v", len(res.Offsets), res.Offsets)
	}
	for i, o := range res.Offsets {
		if o != uint64(i+1) || res.Values[i] != i {
			t.Fatalf("publication %d: offset %d value %d; offsets %v", i, o, res.Values[i], res.Offsets)
		}
	}
	if res.StaleRecovered {
		t.Error("a position from another epoch was reported recovered")
	}
}

func TestProtooClientLogin(t *testing.T) {
	var res struct {
		BeforeLogin, Again, Taken, BadName, EmptyName protooError
		Takeover                                      struct{ Key, Resumed bool }
		OldClosed                                     bool
		AfterTakeover                                 json.RawMessage
		PeerIDLogin                                   struct{ Name, Welcome string } `json:"peerIdLogin"`
		PeerIDEcho                                    struct{ OK int }               `json:"peerIdEcho"`
		PeerIDTaken                                   struct {
			ErrorCode   int
			ErrorReason string
		} `json:"peerIdTaken"`
		IdleClosedAfterMs int
		IdleNote          struct{ ErrorCode int }
	}
	ts := runMessaging(t, server.Config{Messaging: server.MessagingConfig{LoginTimeout: time.Second}}, "login", &res)
	for name, e := range map[string]protooError{"before login": res.BeforeLogin, "second login": res.Again, "taken name": res.Taken, "65 characters": res.BadName, "empty name": res.EmptyName} {
		want := map[string]int{"before login": 401, "taken name": 409}[name]
		if want == 0 {
			want = 400
		}
		if e.Code != want || e.Message == "" {
			t.Errorf("%s: %+v, want %d with a reason", name, e, want)
		}
	}
	if !res.Takeover.Key || !res.Takeover.Resumed || !res.OldClosed {
		t.Errorf("takeover = %+v, old closed %v", res.Takeover, res.OldClosed)
	}
	if string(res.AfterTakeover) != `"after takeover"` {
		t.Errorf("publication after takeover = %s", res.AfterTakeover)
	}
	if res.PeerIDLogin.Name != "frank" || res.PeerIDLogin.Welcome != "Welcome frank" || res.PeerIDEcho.OK != 1 {
		t.Errorf("peerId login = %+v, echo %+v", res.PeerIDLogin, res.PeerIDEcho)
	}
	if res.PeerIDTaken.ErrorCode != 409 {
		t.Errorf("duplicate peerId notification = %+v", res.PeerIDTaken)
	}
	if res.IdleClosedAfterMs < 800 || res.IdleClosedAfterMs > 5000 || res.IdleNote.ErrorCode != 401 {
		t.Errorf("idle socket closed after %d ms with %+v, want about 1000 ms and 401", res.IdleClosedAfterMs, res.IdleNote)
	}
	if n := ts.Hub().Counters().LoginLimit.Load(); n != 1 {
		t.Errorf("login deadline closed %d connections, want 1", n)
	}
}

func TestProtooClientErrors(t *testing.T) {
	var res struct {
		UnknownMethod, MissingTo, WrongType, MissingChannel protooError
		EchoAfter                                           string
	}
	runMessaging(t, server.Config{}, "errors", &res)
	if res.UnknownMethod.Code != 501 || res.UnknownMethod.Message != `unknown method "nosuch"` {
		t.Errorf("unknown method = %+v", res.UnknownMethod)
	}
	for name, e := range map[string]protooError{"missing to": res.MissingTo, "wrong type": res.WrongType, "missing channel": res.MissingChannel} {
		if e.Code != 400 || e.Message == "" {
			t.Errorf("%s = %+v, want 400 with a reason", name, e)
		}
	}
	if res.EchoAfter != "still here" {
		t.Errorf("echo after errors = %q", res.EchoAfter)
	}
}
