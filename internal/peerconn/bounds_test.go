package peerconn

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// longName is a 512-byte name, the longest a member can have
// (docs/peerconnection.md, "Members, queues and expiry").
func longName(i int) string {
	s := itoa(i) + "-"
	return s + strings.Repeat("n", 512-len(s))
}

// signInMany signs n members with 512-byte names into ch, none of which
// ever polls, and returns the time used as "now".
func signInMany(t testing.TB, ch *Channel, n int) time.Time {
	t.Helper()
	now := time.Unix(1e9, 0)
	for i := range n {
		out := ch.Dispatch(Request{Method: "GET", Target: "/sign_in?" + longName(i)}, now)
		if !strings.HasPrefix(string(out.Response), "HTTP/1.1 200 Added\r\n") {
			t.Fatalf("sign-in %d: %.80q", i, out.Response)
		}
	}
	return now
}

// A sign-in's presence notice is encoded once and shared by every queue
// that holds it: n sign-ins that nobody reads hold O(n) bytes, not the
// n²/2 encoded responses of one copy per recipient (issue 16, item 3).
func TestSignInNoticesShared(t *testing.T) {
	const n = 300
	ch := NewChannel(Config{})
	signInMany(t, ch, n)
	st := ch.Stats()
	if want := n * (n - 1) / 2; st.Queued != want {
		t.Errorf("queued %d items, want %d (every member has a notice of each later sign-in)", st.Queued, want)
	}
	// One 512-byte entry per sign-in, plus bookkeeping.
	if limit := n * 1024; st.QueueBytes > limit {
		t.Errorf("the queues hold %d bytes for %d sign-ins, want at most %d", st.QueueBytes, n, limit)
	}
}

// The shared notices are bounded globally: past MaxNoticeBytes the oldest
// are dropped, and a member that never polled gets the newest ones, while
// a member that polls all along gets every notice, byte for byte.
func TestNoticesBoundedGlobally(t *testing.T) {
	const n, limit = 400, 32 << 10
	ch := NewChannel(Config{MaxNoticeBytes: limit})
	now := time.Unix(1e9, 0)
	ch.Dispatch(Request{Method: "GET", Target: "/sign_in?idle"}, now)    // 1, never polls
	ch.Dispatch(Request{Method: "GET", Target: "/sign_in?watcher"}, now) // 2, always polls
	wait := Request{Method: "GET", Target: "/wait?peer_id=2"}
	if out := ch.Dispatch(wait, now); out.Parked == nil {
		t.Fatalf("the watcher's first wait: %.80q, want parked", out.Response)
	}
	for i := range n {
		name := longName(i)
		w := NewWait(nil)
		out := ch.Dispatch(Request{Method: "GET", Target: "/wait?peer_id=2", Park: w}, now)
		if out.Parked == nil {
			t.Fatalf("sign-in %d: the watcher has something queued: %.80q", i, out.Response)
		}
		ch.Dispatch(Request{Method: "GET", Target: "/sign_in?" + name}, now)
		d := <-w.C()
		if got, exp := string(d.Response), want("200 OK", "text/plain", "2", name+","+itoa(i+3)+",1\n"); got != exp {
			t.Fatalf("sign-in %d: the watcher got %.120q\nwant %.120q", i, got, exp)
		}
		if st := ch.Stats(); st.QueueBytes > limit {
			t.Fatalf("sign-in %d: %d bytes queued, over the %d limit", i, st.QueueBytes, limit)
		}
	}
	if st := ch.Stats(); st.Dropped == 0 || st.NoticeBytes > limit {
		t.Fatalf("stats %+v: want notices dropped, at most %d bytes of them", st, limit)
	}
	// The idle member reads what is left: the newest notices, in order.
	idle := Request{Method: "GET", Target: "/wait?peer_id=1"}
	var got []string
	for {
		out := ch.Dispatch(idle, now)
		if out.Parked != nil {
			break
		}
		got = append(got, string(out.Response))
	}
	if len(got) == 0 || len(got) >= n {
		t.Fatalf("the idle member read %d notices, want some but not all of %d", len(got), n)
	}
	for j, resp := range got {
		i := n - len(got) + j
		if exp := want("200 OK", "text/plain", "1", longName(i)+","+itoa(i+3)+",1\n"); resp != exp {
			t.Fatalf("idle member, notice %d: got %.120q\nwant %.120q", i, resp, exp)
		}
	}
}

// Expiring many members costs O(n): counted in allocations, which are
// deterministic, expiring 2n members must cost about twice as much as
// expiring n, not four times (one notice per remaining member per
// removal).
func TestExpireLinear(t *testing.T) {
	allocs := func(n int) uint64 {
		ch := NewChannel(Config{})
		now := signInMany(t, ch, n)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		gone := ch.Expire(now.Add(time.Hour))
		runtime.ReadMemStats(&after)
		if len(gone) != n {
			t.Fatalf("expired %d of %d members", len(gone), n)
		}
		return after.Mallocs - before.Mallocs
	}
	a1, a2 := allocs(250), allocs(500)
	t.Logf("expiring 250 members: %d allocations; 500: %d", a1, a2)
	if a2 > 3*a1 {
		t.Errorf("expiring 500 members allocated %d times, expiring 250 %d: want linear growth", a2, a1)
	}
}

// Past its MaxQueueItems a member loses its oldest presence notices, never
// a message, and what is left keeps its FIFO order.
func TestNoticesBoundedPerMember(t *testing.T) {
	ch := NewChannel(Config{MaxQueueItems: 3})
	now := time.Unix(1e9, 0)
	get := func(target string) Outcome { return ch.Dispatch(Request{Method: "GET", Target: target}, now) }
	get("/sign_in?alice")
	get("/sign_in?bob") // alice: bob,2,1
	if out := ch.Dispatch(Request{Method: "POST", Target: "/message?peer_id=2&to=1", ContentType: "text/plain", Body: []byte("hi")}, now); string(out.Response) != wantEmptyOK {
		t.Fatalf("message: %q", out.Response)
	}
	get("/sign_in?carol") // alice: bob, hi, carol
	get("/sign_in?dave")  // alice: hi, carol, dave (bob's notice dropped)
	get("/sign_in?erin")  // alice: hi, dave, erin
	// alice holds 3 items, bob 3 notices, carol 2, dave 1; only alice lost some.
	if st := ch.Stats(); st.Dropped != 2 || st.Queued != 3+3+2+1 {
		t.Errorf("stats %+v, want 2 dropped, 9 queued", st)
	}
	for i, exp := range []string{
		want("200 OK", "text/plain", "2", "hi"),
		want("200 OK", "text/plain", "1", "dave,4,1\n"),
		want("200 OK", "text/plain", "1", "erin,5,1\n"),
	} {
		if got := string(get("/wait?peer_id=1").Response); got != exp {
			t.Fatalf("item %d: got %q\nwant %q", i, got, exp)
		}
	}
	if out := get("/wait?peer_id=1"); out.Parked == nil {
		t.Fatalf("after the last item: %q, want parked", out.Response)
	}
	if st := ch.Stats(); st.Dropped != 2 || st.Queued != 3+2+1 {
		t.Errorf("stats %+v, want alice's notices of bob and carol dropped, 6 queued", st)
	}
}

// Messages queued for all members together are bounded: past
// MaxTotalQueueBytes a message is refused with 503 until queues drain.
func TestMessagesBoundedGlobally(t *testing.T) {
	ch := NewChannel(Config{MaxTotalQueueBytes: 10 << 10})
	now := time.Unix(1e9, 0)
	for _, name := range []string{"alice", "bob", "carol"} {
		ch.Dispatch(Request{Method: "GET", Target: "/sign_in?" + name}, now)
	}
	send := func(to int) string {
		body := []byte(strings.Repeat("x", 4<<10))
		return string(ch.Dispatch(Request{Method: "POST", Target: "/message?peer_id=2&to=" + itoa(to), ContentType: "text/plain", Body: body}, now).Response)
	}
	if got := send(1); got != wantEmptyOK {
		t.Fatalf("first message: %q", got)
	}
	if got := send(3); got != wantEmptyOK {
		t.Fatalf("second message: %q", got)
	}
	full := want("503 Service Unavailable", "text/plain", "", "the server's queues are full\n")
	if got := send(3); got != full {
		t.Fatalf("third message: %q, want %q", got, full)
	}
	if st := ch.Stats(); st.Refused != 1 || st.QueueBytes-st.NoticeBytes > 10<<10 {
		t.Fatalf("stats %+v", st)
	}
	// alice reads her notices and her message: room for one more.
	for {
		out := ch.Dispatch(Request{Method: "GET", Target: "/wait?peer_id=1"}, now)
		if out.Parked != nil {
			break
		}
	}
	if got := send(3); got != wantEmptyOK {
		t.Fatalf("after alice read hers: %q", got)
	}
	// A member's queue goes with it.
	ch.Dispatch(Request{Method: "GET", Target: "/sign_out?peer_id=3"}, now)
	if got := send(1); got != wantEmptyOK {
		t.Fatalf("after carol left: %q", got)
	}
	if got := send(1); got != wantEmptyOK {
		t.Fatalf("after carol left, second: %q", got)
	}
}
