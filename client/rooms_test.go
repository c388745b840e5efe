package client_test

import (
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/switchboard/switchboard/client"
	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/internal/testutil/servertest"
	"github.com/switchboard/switchboard/protoo"
)

// TestRooms: Join, member events, Signal in order, 404 for a non-member,
// Leave; and a URL that joins by itself (?roomId&peerId) with OnJoined.
func TestRooms(t *testing.T) {
	testutil.CheckGoroutines(t, waitTimeout)
	ts := servertest.Start(t, server.Config{})
	ctx := testCtx(t)

	var mu sync.Mutex
	var joinedEv, leftEv []client.PeerEvent
	var signals []client.Signal
	var urlJoined []client.Joined

	alice := dial(t, ts.URL("ws", "/ws"))
	alice.OnPeerJoined(func(e client.PeerEvent) { mu.Lock(); joinedEv = append(joinedEv, e); mu.Unlock() })
	alice.OnPeerLeft(func(e client.PeerEvent) { mu.Lock(); leftEv = append(leftEv, e); mu.Unlock() })
	if _, err := alice.Login(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	j, err := alice.Join(ctx, "call", map[string]string{"displayName": "Alice"})
	if err != nil || j.Room != "call" || len(j.Peers) != 0 {
		t.Fatalf("Join = %+v, %v", j, err)
	}

	bob := dial(t, ts.URL("ws", "/?roomId=call&peerId=bob"))
	bob.OnJoined(func(j client.Joined) { mu.Lock(); urlJoined = append(urlJoined, j); mu.Unlock() })
	bob.OnSignal(func(s client.Signal) { mu.Lock(); signals = append(signals, s); mu.Unlock() })
	testutil.WaitFor(t, waitTimeout, "alice sees bob join", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(joinedEv) == 1 && joinedEv[0].ID == "bob" && joinedEv[0].Room == "call"
	})
	// bob's OnJoined may be set after the notification came: Join again
	// gives the roster either way.
	jb, err := bob.Join(ctx, "call", nil)
	if err != nil || len(jb.Peers) != 1 || jb.Peers[0].ID != "alice" || string(jb.Peers[0].Info) != `{"displayName":"Alice"}` {
		t.Fatalf("bob's Join = %+v, %v", jb, err)
	}
	for i := range 20 {
		if err := alice.Signal(ctx, "call", "bob", map[string]int{"seq": i}); err != nil {
			t.Fatal(err)
		}
	}
	testutil.WaitFor(t, waitTimeout, "20 signals at bob", func() bool { mu.Lock(); defer mu.Unlock(); return len(signals) == 20 })
	for i, s := range signals {
		if s.From != "alice" || s.Room != "call" || string(s.Data) != `{"seq":`+strconv.Itoa(i)+`}` {
			t.Fatalf("signal %d = %+v", i, s)
		}
	}
	var pe *protoo.Error
	if err := alice.Signal(ctx, "call", "nobody", "x"); !errors.As(err, &pe) || pe.Code != protoo.CodeNotFound {
		t.Fatalf("Signal to a non-member = %v, want 404", err)
	}
	if err := bob.Leave(ctx, "call"); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, waitTimeout, "alice sees bob leave", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(leftEv) == 1 && leftEv[0].ID == "bob"
	})
	if m := ts.Hub().RoomMembers("call"); !slices.Equal(m, []string{"alice"}) {
		t.Errorf("members = %v", m)
	}
	mu.Lock()
	t.Logf("OnJoined calls: %d", len(urlJoined))
	mu.Unlock()
}
