package peerconn

import (
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/testutil"
)

// With RandomIDs the native client's whole transcript (docs/peerconnection.md,
// "The native client's expectations") works with ids anywhere in 1..2^31-1
// (issue 16, item 2).
func TestRandomIDsTranscript(t *testing.T) {
	testutil.CheckGoroutines(t, waitFor)
	s := startServer(t, Config{RandomIDs: true}, frontdoorConfig())
	a, b := transcript(t, s)
	if a == b || (a == 1 && b == 2) {
		t.Errorf("ids %d and %d, want two random ids", a, b)
	}
	t.Logf("ids %d and %d", a, b)
}

// Random ids are unique among the members signed in: a draw of 0 or of a
// live member's id is drawn again; the top bit is never used; when every
// draw collides the sign-in is refused with 503. An id may come back once
// its member is gone.
func TestRandomIDsUnique(t *testing.T) {
	var draws []uint32
	ids := &randomIDs{draw: func() uint32 {
		if len(draws) == 0 {
			return 5
		}
		d := draws[0]
		draws = draws[1:]
		return d
	}}
	ch := NewChannel(Config{Roster: NewMemoryRoster(ids, 0)})
	now := time.Now()
	signIn := func(name string) string {
		return string(ch.Dispatch(Request{Method: "GET", Target: "/sign_in?" + name}, now).Response)
	}
	draws = []uint32{5}
	if got := signIn("x"); !strings.HasSuffix(got, "\r\n\r\nx,5,1\n") {
		t.Fatalf("first sign-in: %q", got)
	}
	draws = []uint32{0, 5, 1<<31 | 5, 1<<31 | 7}
	if got := signIn("y"); !strings.HasSuffix(got, "\r\n\r\ny,7,1\nx,5,1\n") {
		t.Fatalf("second sign-in: %q", got)
	}
	draws = nil // 5 forever
	if got, exp := signIn("z"), want("503 Service Unavailable", "text/plain", "", "member ids exhausted\n"); got != exp {
		t.Fatalf("every draw taken: %q", got)
	}
	ch.Dispatch(Request{Method: "GET", Target: "/sign_out?peer_id=5"}, now)
	if got := signIn("z"); !strings.HasSuffix(got, "\r\n\r\nz,5,1\ny,7,1\n") {
		t.Fatalf("after 5 left: %q", got)
	}
}

// The default random source draws ids in range, all different in practice.
func TestRandomIDsDraw(t *testing.T) {
	ids := NewRandomIDs()
	seen := map[int]bool{}
	for range 200 {
		id, ok := ids.Next(func(int) bool { return false })
		if !ok || id < 1 || id > MaxID || seen[id] {
			t.Fatalf("id %d, ok %v (seen before: %v)", id, ok, seen[id])
		}
		seen[id] = true
	}
}
