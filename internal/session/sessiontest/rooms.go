package sessiontest

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/switchboard/switchboard/internal/session"
	"github.com/switchboard/switchboard/protoo"
)

// RunRooms runs the behaviour suite of session.Rooms. newRooms returns
// empty rooms with the limits lim (zero fields: the defaults) that
// deliver their notifications through router, a session.MemoryRouter the
// suite fills with Recorders.
func RunRooms(t *testing.T, newRooms func(t *testing.T, router session.Router, lim session.RoomLimits) session.Rooms) {
	run := func(name string, lim session.RoomLimits, f func(*testing.T, *roomsFixture)) {
		t.Run(name, func(t *testing.T) {
			router := session.NewMemoryRouter()
			f(t, &roomsFixture{rs: newRooms(t, router, lim), router: router, log: &Log{}, recs: map[string]*Recorder{}})
		})
	}
	run("JoinLeave", session.RoomLimits{}, testJoinLeave)
	run("Rejoin", session.RoomLimits{}, testRejoin)
	run("LeaveAll", session.RoomLimits{}, testLeaveAll)
	run("Signal", session.RoomLimits{}, testSignal)
	run("Limits", session.RoomLimits{MaxMembers: 2, MaxPerSession: 2, MaxInfoPerMember: 20}, testLimits)
	run("Ended", session.RoomLimits{}, testEnded)
	run("StaleMember", session.RoomLimits{}, testStaleMember)
	run("ReplyFirst", session.RoomLimits{}, testReplyFirst)
	run("JoinedBeforeLeft", session.RoomLimits{MaxMembers: 64}, testJoinedBeforeLeft)
	run("SignalOrder", session.RoomLimits{}, testSignalOrder)
}

type roomsFixture struct {
	rs     session.Rooms
	router *session.MemoryRouter
	log    *Log
	recs   map[string]*Recorder
	n      int
}

// member adds a session called name to the router and returns it.
func (f *roomsFixture) member(name string) session.Member {
	f.n++
	m := session.Member{Key: fmt.Sprintf("n-%d", f.n), Name: name}
	f.recs[m.Key] = NewRecorder(name, f.log)
	f.router.Add(m.Key, f.recs[m.Key])
	return m
}

func (f *roomsFixture) join(t *testing.T, m session.Member, room, info string) *session.JoinResult {
	t.Helper()
	res, err := f.rs.Join(session.Join{Member: m, Room: room, Info: json.RawMessage(info)})
	if err != nil {
		t.Fatalf("%s joins %s: %v", m.Name, room, err)
	}
	return res
}

func ids(peers []session.Peer) []string {
	out := make([]string, len(peers))
	for i, p := range peers {
		out[i] = p.ID
	}
	return out
}

// note decodes the data of a room notification.
type note struct {
	Room, ID, From string
	Info, Data     json.RawMessage
}

func decodeNote(t *testing.T, e Event) note {
	t.Helper()
	var n note
	if err := json.Unmarshal(e.Data, &n); err != nil {
		t.Fatalf("%s to %s: %v", e.Method, e.To, err)
	}
	return n
}

func wantCode(t *testing.T, what string, err error, code protoo.ErrorCode) {
	t.Helper()
	if protoo.CodeOf(err) != code || err == nil {
		t.Fatalf("%s = %v, want error %d", what, err, code)
	}
}

func testJoinLeave(t *testing.T, f *roomsFixture) {
	a, b, c := f.member("a"), f.member("b"), f.member("c")
	if res := f.join(t, a, "r", ""); res.Room != "r" || len(res.Peers) != 0 {
		t.Fatalf("first join = %+v", res)
	}
	f.join(t, b, "r", `{"x":1}`)
	res := f.join(t, c, "r", "null")
	if !slices.Equal(ids(res.Peers), []string{"a", "b"}) || string(res.Peers[0].Info) != "{}" || string(res.Peers[1].Info) != `{"x":1}` {
		t.Fatalf("roster = %+v, want a {} and b {x:1} in join order", res.Peers)
	}
	if m := f.rs.Members("r"); !slices.Equal(m, []string{"a", "b", "c"}) {
		t.Fatalf("Members = %v", m)
	}
	ev := f.log.Events()
	if j := Of(ev, "a", "peerJoined"); len(j) != 2 || decodeNote(t, j[0]).ID != "b" || decodeNote(t, j[1]).ID != "c" {
		t.Fatalf("a heard %+v, want peerJoined b, c", j)
	}
	if n := decodeNote(t, Of(ev, "a", "peerJoined")[0]); n.Room != "r" || string(n.Info) != `{"x":1}` {
		t.Fatalf("peerJoined = %+v", n)
	}
	if len(Of(ev, "c", "")) != 0 {
		t.Fatal("the joiner was told of its own join")
	}
	if err := f.rs.Leave(b, "r"); err != nil {
		t.Fatal(err)
	}
	ev = f.log.Events()
	for _, to := range []string{"a", "c"} {
		if l := Of(ev, to, "peerLeft"); len(l) != 1 || decodeNote(t, l[0]).ID != "b" || decodeNote(t, l[0]).Room != "r" {
			t.Fatalf("%s heard %+v, want peerLeft b", to, l)
		}
	}
	if len(Of(ev, "b", "peerLeft")) != 0 {
		t.Fatal("the leaver was told of its own leave")
	}
	wantCode(t, "a second leave", f.rs.Leave(b, "r"), protoo.CodeNotFound)
	wantCode(t, "a leave of an unknown room", f.rs.Leave(a, "nowhere"), protoo.CodeNotFound)
	wantCode(t, "a join of a bad room name", func() error { _, err := f.rs.Join(session.Join{Member: a, Room: ""}); return err }(), protoo.CodeBadRequest)
	_ = f.rs.Leave(a, "r")
	_ = f.rs.Leave(c, "r")
	if n := f.rs.Names(); len(n) != 0 || f.rs.Members("r") != nil {
		t.Fatalf("an empty room stays open: %v", n)
	}
}

func testRejoin(t *testing.T, f *roomsFixture) {
	a, b := f.member("a"), f.member("b")
	f.join(t, a, "r", "")
	f.join(t, b, "r", `{"v":1}`)
	before := len(f.log.Events())
	if res := f.join(t, b, "r", `{"v":2}`); !slices.Equal(ids(res.Peers), []string{"a"}) {
		t.Fatalf("rejoin roster = %+v", res.Peers)
	}
	if len(f.log.Events()) != before {
		t.Fatal("a rejoin told the others")
	}
	c := f.member("c")
	res := f.join(t, c, "r", "")
	if len(res.Peers) != 2 || string(res.Peers[1].Info) != `{"v":2}` {
		t.Fatalf("the rejoin did not replace the info: %+v", res.Peers)
	}
}

func testLeaveAll(t *testing.T, f *roomsFixture) {
	a, b := f.member("a"), f.member("b")
	for _, r := range []string{"r1", "r2", "r3"} {
		f.join(t, a, r, "")
		f.join(t, b, r, "")
	}
	f.rs.LeaveAll(a)
	if l := Of(f.log.Events(), "b", "peerLeft"); len(l) != 3 {
		t.Fatalf("b heard %d peerLeft, want one per room", len(l))
	}
	for _, r := range []string{"r1", "r2", "r3"} {
		if m := f.rs.Members(r); !slices.Equal(m, []string{"b"}) {
			t.Fatalf("%s members %v", r, m)
		}
	}
	f.rs.LeaveAll(b)
	f.rs.LeaveAll(b)
	if n := f.rs.Names(); len(n) != 0 {
		t.Fatalf("rooms left open: %v", n)
	}
}

func testSignal(t *testing.T, f *roomsFixture) {
	a, b, out := f.member("a"), f.member("b"), f.member("out")
	f.join(t, a, "r", "")
	f.join(t, b, "r", "")
	if err := f.rs.Signal(a, "r", "b", json.RawMessage(`{"sdp":"v=0"}`)); err != nil {
		t.Fatal(err)
	}
	s := Of(f.log.Events(), "b", "signal")
	if len(s) != 1 {
		t.Fatalf("b got %d signals", len(s))
	}
	if n := decodeNote(t, s[0]); n.Room != "r" || n.From != "a" || string(n.Data) != `{"sdp":"v=0"}` {
		t.Fatalf("signal = %+v", n)
	}
	wantCode(t, "a signal from a non-member", f.rs.Signal(out, "r", "b", json.RawMessage(`1`)), protoo.CodeForbidden)
	wantCode(t, "a signal in an unknown room", f.rs.Signal(a, "x", "b", json.RawMessage(`1`)), protoo.CodeForbidden)
	wantCode(t, "a signal to a non-member", f.rs.Signal(a, "r", "out", json.RawMessage(`1`)), protoo.CodeNotFound)
	f.recs[b.Key].Busy.Store(true)
	wantCode(t, "a signal to a busy member", f.rs.Signal(a, "r", "b", json.RawMessage(`1`)), protoo.CodeTooMany)
	f.recs[b.Key].Busy.Store(false)
	f.recs[b.Key].Offline.Store(true)
	wantCode(t, "a signal to an offline member", f.rs.Signal(a, "r", "b", json.RawMessage(`1`)), protoo.CodeNotFound)
	if len(Of(f.log.Events(), "b", "signal")) != 1 {
		t.Fatal("a refused signal was delivered")
	}
}

func testLimits(t *testing.T, f *roomsFixture) {
	a, b, c := f.member("a"), f.member("b"), f.member("c")
	f.join(t, a, "r", "")
	f.join(t, b, "r", "")
	_, err := f.rs.Join(session.Join{Member: c, Room: "r"})
	wantCode(t, "a join of a full room", err, protoo.CodeTooMany)
	f.join(t, a, "r2", "")
	_, err = f.rs.Join(session.Join{Member: a, Room: "r3"})
	wantCode(t, "a join past the rooms per session", err, protoo.CodeTooMany)
	_, err = f.rs.Join(session.Join{Member: c, Room: "big", Info: json.RawMessage(`{"pad":"0123456789abcdef"}`)})
	wantCode(t, "a join past the info bytes", err, protoo.CodeTooLarge)
	if f.rs.Members("big") != nil || slices.Contains(f.rs.Members("r"), "c") {
		t.Fatal("a refused join left a member")
	}
}

func testEnded(t *testing.T, f *roomsFixture) {
	a := f.member("a")
	_, err := f.rs.Join(session.Join{Member: a, Room: "r", Ended: func() bool { return true }})
	if err == nil || f.rs.Members("r") != nil {
		t.Fatalf("the join of an ended session = %v, members %v", err, f.rs.Members("r"))
	}
	if _, err := f.rs.Join(session.Join{Member: a, Room: "r", Ended: func() bool { return false }}); err != nil {
		t.Fatal(err)
	}
}

// testStaleMember: a session that ended but has not left its rooms yet
// is replaced by a newer session of the same name joining, and its late
// leave does not remove the newer one.
func testStaleMember(t *testing.T, f *roomsFixture) {
	old, w := f.member("x"), f.member("w")
	f.join(t, old, "r", "")
	f.join(t, w, "r", "")
	fresh := f.member("x")
	if res := f.join(t, fresh, "r", `{"n":2}`); !slices.Equal(ids(res.Peers), []string{"w"}) {
		t.Fatalf("join of the newer session: roster %+v", res.Peers)
	}
	f.rs.LeaveAll(old)
	if m := f.rs.Members("r"); !slices.Equal(m, []string{"w", "x"}) {
		t.Fatalf("members after the stale leave: %v", m)
	}
	wantCode(t, "a leave by the stale session", f.rs.Leave(old, "r"), protoo.CodeNotFound)
	wantCode(t, "a signal by the stale session", f.rs.Signal(old, "r", "w", json.RawMessage(`1`)), protoo.CodeForbidden)
	if err := f.rs.Signal(w, "r", "x", json.RawMessage(`1`)); err != nil {
		t.Fatal(err)
	}
	if s := Of(f.log.Events(), "x", "signal"); len(s) != 1 || f.recs[fresh.Key] == nil {
		t.Fatalf("the newer session got %d signals", len(s))
	}
}

// testReplyFirst: a joiner's reply is made before any other member is
// told peerJoined, also while others join at the same time.
func testReplyFirst(t *testing.T, f *roomsFixture) {
	const n = 12
	ms := make([]session.Member, n)
	for i := range ms {
		ms[i] = f.member(fmt.Sprint("m", i))
	}
	var wg sync.WaitGroup
	for _, m := range ms {
		wg.Go(func() {
			_, err := f.rs.Join(session.Join{Member: m, Room: "r", Reply: func(*session.JoinResult) {
				f.log.Add(Event{To: m.Name, Method: "reply"})
			}})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	ev := f.log.Events()
	replied := map[string]int{}
	for _, e := range ev {
		if e.Method == "reply" {
			replied[e.To] = e.Seq
		}
	}
	for _, e := range ev {
		if e.Method != "peerJoined" {
			continue
		}
		id := decodeNote(t, e).ID
		if seq, ok := replied[id]; !ok || seq > e.Seq {
			t.Fatalf("%s heard peerJoined %s before %s's reply", e.To, id, id)
		}
	}
}

// testJoinedBeforeLeft: with joins and leaves racing, every member hears
// of each peer alternately peerJoined and peerLeft, starting with
// peerJoined.
func testJoinedBeforeLeft(t *testing.T, f *roomsFixture) {
	w := f.member("w")
	f.join(t, w, "r", "")
	var wg sync.WaitGroup
	for i := range 8 {
		m := f.member(fmt.Sprint("p", i))
		wg.Go(func() {
			for range 10 {
				if _, err := f.rs.Join(session.Join{Member: m, Room: "r"}); err != nil {
					t.Error(err)
					return
				}
				if err := f.rs.Leave(m, "r"); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	in := map[string]bool{}
	for _, e := range Of(f.log.Events(), "w", "") {
		id := decodeNote(t, e).ID
		switch e.Method {
		case "peerJoined":
			if in[id] {
				t.Fatalf("w heard peerJoined %s twice without peerLeft", id)
			}
			in[id] = true
		case "peerLeft":
			if !in[id] {
				t.Fatalf("w heard peerLeft %s before its peerJoined", id)
			}
			in[id] = false
		}
	}
	for id, still := range in {
		if still {
			t.Fatalf("w never heard %s leave", id)
		}
	}
}

func testSignalOrder(t *testing.T, f *roomsFixture) {
	a, b := f.member("a"), f.member("b")
	f.join(t, a, "r", "")
	f.join(t, b, "r", "")
	const n = 50
	var wg sync.WaitGroup
	wg.Go(func() { // another sender, interleaving
		for i := range n {
			_ = f.rs.Signal(b, "r", "a", json.RawMessage(fmt.Sprint(i)))
		}
	})
	for i := range n {
		if err := f.rs.Signal(a, "r", "b", json.RawMessage(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	for _, to := range []string{"a", "b"} {
		s := Of(f.log.Events(), to, "signal")
		if len(s) != n {
			t.Fatalf("%s got %d of %d signals", to, len(s), n)
		}
		for i, e := range s {
			if d := decodeNote(t, e).Data; string(d) != fmt.Sprint(i) {
				t.Fatalf("%s's signal %d is %s: out of order", to, i, d)
			}
		}
	}
}
