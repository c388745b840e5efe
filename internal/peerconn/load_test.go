package peerconn

import (
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/frontdoor"
	"github.com/switchboard/switchboard/internal/testutil"
)

// TestFiveHundredWaiting signs in 500 members that all park a /wait at
// once, within a member cap of 500, a queue cap of one item and a
// connection cap of 1000: a 501st
// sign-in is refused, one more sign-in after a sign-out reaches all 499
// parked waits, and the cost per parked wait is logged.
func TestFiveHundredWaiting(t *testing.T) {
	testutil.CheckGoroutines(t, waitFor)
	const n = 500
	s := startServer(t, Config{MaxMembers: n, MaxQueueItems: 1}, frontdoor.Config{MaxConnections: 2 * n})
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	g0 := runtime.NumGoroutine()
	start := time.Now()
	for i := range n {
		s.do(t, signIn("m"+itoa(i+1)))
	}
	signedIn := time.Since(start)
	// With a queue of one item, each member holds only the notice of the
	// last sign-in: the older ones are dropped past its limit.
	waits := make([]*net.TCPConn, n)
	for i := range n {
		if i < n-1 {
			c := s.wait(t, i+1)
			if got, exp := finish(t, c), want("200 OK", "text/plain", itoa(i+1), "m"+itoa(n)+","+itoa(n)+",1\n"); got != exp {
				t.Fatalf("member %d: got %q\nwant %q", i+1, got, exp)
			}
		}
		waits[i] = s.wait(t, i+1)
	}
	s.waitParked(t, n)
	parkedAt := time.Since(start)
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	g1 := runtime.NumGoroutine()
	t.Logf("%d members signed in in %v, all parked after %v; %d goroutines (%.1f per parked wait), heap +%d KiB (%.1f KiB per member)",
		n, signedIn.Round(time.Millisecond), parkedAt.Round(time.Millisecond), g1-g0, float64(g1-g0)/n,
		(int64(after.HeapAlloc)-int64(before.HeapAlloc))>>10, float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/1024/n)

	if st := s.svc.Channel().Stats(); st.Members != n || st.Parked != n || st.Queued != 0 {
		t.Fatalf("stats %+v, want %d members parked, nothing queued", st, n)
	}
	s.expect(t, signIn("late"), want("503 Service Unavailable", "text/plain", "", "too many members\n"))

	// member 500 signs out: 499 parked waits hear it; then one more signs in.
	s.expect(t, signOut(n), wantEmptyOK)
	if got := readAll(t, waits[n-1]); got != "" {
		t.Errorf("the signed-out member's wait got %q, want a close", got)
	}
	for i := range n - 1 {
		if got, exp := readResponse(t, waits[i]), want("200 OK", "text/plain", itoa(i+1), "m"+itoa(n)+","+itoa(n)+",0\n"); got != exp {
			t.Fatalf("member %d got %q\nwant %q", i+1, got, exp)
		}
		waits[i].Close()
	}
	if st := s.svc.Channel().Stats(); st.Members != n-1 || st.Refused != 1 || st.Dropped != (n-1)*(n-2)/2 {
		t.Errorf("stats %+v", st)
	}
}
