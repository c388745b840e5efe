package sessiontest

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/switchboard/switchboard/internal/session"
	"github.com/switchboard/switchboard/protoo"
	"github.com/switchboard/switchboard/websocket"
)

// RunRouter runs the behaviour suite of session.Router; newRouter
// returns a router without recipients for each subtest.
func RunRouter(t *testing.T, newRouter func(t *testing.T) session.Router) {
	t.Run("Unknown", func(t *testing.T) { testRouterUnknown(t, newRouter(t)) })
	t.Run("Deliver", func(t *testing.T) { testRouterDeliver(t, newRouter(t)) })
	t.Run("Refusals", func(t *testing.T) { testRouterRefusals(t, newRouter(t)) })
	t.Run("Order", func(t *testing.T) { testRouterOrder(t, newRouter(t)) })
}

// frame encodes notification method with data v.
func frame(t *testing.T, method string, v any) *websocket.PreparedMessage {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return websocket.NewPreparedMessage(websocket.OpText, protoo.AppendNotification(nil, method, data))
}

func testRouterUnknown(t *testing.T, r session.Router) {
	m := frame(t, "message", 1)
	if err := r.Send("n-1", m, m.Len()); !errors.Is(err, session.ErrOffline) {
		t.Errorf("Send to an unknown key = %v, want ErrOffline", err)
	}
	if err := r.Notify("n-1", m); !errors.Is(err, session.ErrOffline) {
		t.Errorf("Notify to an unknown key = %v, want ErrOffline", err)
	}
	if err := r.CanTake("n-1", 1); !errors.Is(err, session.ErrOffline) {
		t.Errorf("CanTake of an unknown key = %v, want ErrOffline", err)
	}
}

func testRouterDeliver(t *testing.T, r session.Router) {
	var log Log
	a, b := NewRecorder("a", &log), NewRecorder("b", &log)
	r.Add("n-1", a)
	r.Add("n-2", b)
	m := frame(t, "message", "to a")
	if err := r.Send("n-1", m, m.Len()); err != nil {
		t.Fatal(err)
	}
	if err := r.Notify("n-2", frame(t, "peerJoined", "to b")); err != nil {
		t.Fatal(err)
	}
	if err := r.CanTake("n-1", 10); err != nil {
		t.Fatal(err)
	}
	ev := log.Events()
	if len(ev) != 2 || ev[0].To != "a" || ev[0].Method != "message" || ev[1].To != "b" || ev[1].Method != "peerJoined" {
		t.Fatalf("delivered %+v", ev)
	}
	r.Remove("n-1")
	if err := r.Send("n-1", m, m.Len()); !errors.Is(err, session.ErrOffline) {
		t.Fatalf("Send after Remove = %v, want ErrOffline", err)
	}
	if err := r.Notify("n-2", m); err != nil {
		t.Fatalf("Remove of one key removed another: %v", err)
	}
}

func testRouterRefusals(t *testing.T, r session.Router) {
	var log Log
	a := NewRecorder("a", &log)
	r.Add("n-1", a)
	m := frame(t, "message", 1)
	a.Busy.Store(true)
	if err := r.Send("n-1", m, m.Len()); !errors.Is(err, session.ErrBusy) {
		t.Errorf("Send to a busy recipient = %v, want ErrBusy", err)
	}
	if err := r.CanTake("n-1", 1); !errors.Is(err, session.ErrBusy) {
		t.Errorf("CanTake of a busy recipient = %v, want ErrBusy", err)
	}
	if err := r.Notify("n-1", m); err != nil {
		t.Errorf("Notify to a busy recipient = %v: notifications take no busy rule", err)
	}
	a.Busy.Store(false)
	a.Offline.Store(true)
	if err := r.Send("n-1", m, m.Len()); !errors.Is(err, session.ErrOffline) {
		t.Errorf("Send to an offline recipient = %v, want ErrOffline", err)
	}
	if err := r.CanTake("n-1", 1); !errors.Is(err, session.ErrOffline) {
		t.Errorf("CanTake of an offline recipient = %v, want ErrOffline", err)
	}
	if n := len(log.Events()); n != 1 {
		t.Errorf("%d messages delivered, want the one notification", n)
	}
}

func testRouterOrder(t *testing.T, r session.Router) {
	var log Log
	r.Add("n-1", NewRecorder("a", &log))
	const n = 50
	for i := range n {
		m := frame(t, "message", map[string]int{"i": i})
		if err := r.Send("n-1", m, m.Len()); err != nil {
			t.Fatal(err)
		}
	}
	ev := log.Events()
	if len(ev) != n {
		t.Fatalf("%d of %d messages delivered", len(ev), n)
	}
	for i, e := range ev {
		if string(e.Data) != fmt.Sprintf(`{"i":%d}`, i) {
			t.Fatalf("message %d is %s: out of order", i, e.Data)
		}
	}
}
