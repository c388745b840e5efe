// Package peerconntest holds the behaviour suite every implementation of a
// seam of internal/peerconn runs. Start with [RunRoster]: a roster test
// calls it with a constructor of its implementation.
package peerconntest

import (
	"errors"
	"slices"
	"strconv"
	"testing"

	"github.com/switchboard/switchboard/internal/peerconn"
)

// NewRoster returns an empty roster that holds at most maxMembers members.
type NewRoster func(t *testing.T, maxMembers int) peerconn.Roster

// RunRoster runs the [peerconn.Roster] behaviour suite against rosters from
// newRoster: sign-in with a new unique id and the name chosen for it,
// lookup, sign-out, the join order, the member cap and failed sign-ins that
// change nothing.
func RunRoster(t *testing.T, newRoster NewRoster) {
	t.Helper()
	tests := []struct {
		name string
		run  func(*testing.T, NewRoster)
	}{
		{"Empty", testEmpty},
		{"SignIn", testSignIn},
		{"UniqueIDs", testUniqueIDs},
		{"SignOut", testSignOut},
		{"JoinOrder", testJoinOrder},
		{"AllStops", testAllStops},
		{"Cap", testCap},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newRoster) })
	}
}

// named is the name function of the suite's sign-ins: "<prefix>-<id>".
func named(prefix string) func(int) string {
	return func(id int) string { return prefix + "-" + strconv.Itoa(id) }
}

func signIn(t *testing.T, r peerconn.Roster, prefix string) peerconn.Member {
	t.Helper()
	m, err := r.SignIn(named(prefix))
	if err != nil {
		t.Fatalf("SignIn(%s): %v", prefix, err)
	}
	if m.ID < 1 || m.ID > peerconn.MaxID {
		t.Fatalf("SignIn(%s): id %d, want 1..%d", prefix, m.ID, peerconn.MaxID)
	}
	if want := named(prefix)(m.ID); m.Name != want {
		t.Fatalf("SignIn(%s): name %q, want %q (the name function's for the id)", prefix, m.Name, want)
	}
	return m
}

func all(r peerconn.Roster) []peerconn.Member {
	var ms []peerconn.Member
	for m := range r.All() {
		ms = append(ms, m)
	}
	return ms
}

// check asserts that r holds exactly want, in this join order, and that
// Len and Lookup agree.
func check(t *testing.T, r peerconn.Roster, want []peerconn.Member) {
	t.Helper()
	if got := all(r); !slices.Equal(got, want) {
		t.Fatalf("All = %v, want %v", got, want)
	}
	if n := r.Len(); n != len(want) {
		t.Fatalf("Len = %d, want %d", n, len(want))
	}
	for _, w := range want {
		if m, ok := r.Lookup(w.ID); !ok || m != w {
			t.Fatalf("Lookup(%d) = %v, %v; want %v", w.ID, m, ok, w)
		}
	}
}

func testEmpty(t *testing.T, newRoster NewRoster) {
	r := newRoster(t, 10)
	check(t, r, nil)
	for _, id := range []int{0, 1, 2, -1, peerconn.MaxID} {
		if m, ok := r.Lookup(id); ok {
			t.Errorf("Lookup(%d) on an empty roster = %v", id, m)
		}
		if r.SignOut(id) {
			t.Errorf("SignOut(%d) on an empty roster = true", id)
		}
	}
}

func testSignIn(t *testing.T, newRoster NewRoster) {
	r := newRoster(t, 10)
	var called []int
	m, err := r.SignIn(func(id int) string {
		called = append(called, id)
		return "alice"
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(called) != 1 || called[0] != m.ID || m.Name != "alice" {
		t.Fatalf("member %v; name function called with %v, want once with its id", m, called)
	}
	check(t, r, []peerconn.Member{m})
	// Names need not be unique: a second "alice" is another member.
	m2, err := r.SignIn(func(int) string { return "alice" })
	if err != nil {
		t.Fatal(err)
	}
	if m2.ID == m.ID {
		t.Fatalf("two sign-ins got id %d", m.ID)
	}
	check(t, r, []peerconn.Member{m, m2})
}

func testUniqueIDs(t *testing.T, newRoster NewRoster) {
	const n = 200
	r := newRoster(t, n)
	seen := map[int]bool{}
	var want []peerconn.Member
	for i := range n {
		m := signIn(t, r, "m"+strconv.Itoa(i))
		if seen[m.ID] {
			t.Fatalf("id %d given twice", m.ID)
		}
		seen[m.ID] = true
		want = append(want, m)
	}
	check(t, r, want)
}

func testSignOut(t *testing.T, newRoster NewRoster) {
	r := newRoster(t, 10)
	a := signIn(t, r, "a")
	b := signIn(t, r, "b")
	if !r.SignOut(a.ID) {
		t.Fatalf("SignOut(%d) = false", a.ID)
	}
	if r.SignOut(a.ID) {
		t.Fatalf("second SignOut(%d) = true", a.ID)
	}
	if m, ok := r.Lookup(a.ID); ok {
		t.Fatalf("Lookup(%d) after sign-out = %v", a.ID, m)
	}
	check(t, r, []peerconn.Member{b})
	// The id that left names a member again only if it was handed out
	// anew, and then it names the new member.
	c := signIn(t, r, "c")
	if m, ok := r.Lookup(a.ID); ok && m != c {
		t.Fatalf("Lookup(%d) after a's sign-out = %v, want nothing or the new member", a.ID, m)
	}
	check(t, r, []peerconn.Member{b, c})
	if !r.SignOut(b.ID) || !r.SignOut(c.ID) {
		t.Fatal("signing out the rest failed")
	}
	check(t, r, nil)
	d := signIn(t, r, "d")
	check(t, r, []peerconn.Member{d})
}

func testJoinOrder(t *testing.T, newRoster NewRoster) {
	r := newRoster(t, 10)
	var ms []peerconn.Member
	for _, p := range []string{"a", "b", "c", "d", "e"} {
		ms = append(ms, signIn(t, r, p))
	}
	check(t, r, ms)
	out := func(i int) {
		t.Helper()
		id := ms[i].ID
		if !r.SignOut(id) {
			t.Fatalf("SignOut(%d) = false", id)
		}
		ms = slices.Delete(ms, i, i+1)
		check(t, r, ms)
	}
	out(2) // the middle
	out(0) // the first
	out(len(ms) - 1)
	ms = append(ms, signIn(t, r, "f"), signIn(t, r, "g"))
	check(t, r, ms)
	out(1)
	ms = append(ms, signIn(t, r, "h"))
	check(t, r, ms)
}

func testAllStops(t *testing.T, newRoster NewRoster) {
	r := newRoster(t, 10)
	a := signIn(t, r, "a")
	signIn(t, r, "b")
	signIn(t, r, "c")
	var got []peerconn.Member
	for m := range r.All() {
		got = append(got, m)
		break
	}
	if len(got) != 1 || got[0] != a {
		t.Fatalf("All with an early break yielded %v, want just %v", got, a)
	}
}

func testCap(t *testing.T, newRoster NewRoster) {
	r := newRoster(t, 3)
	ms := []peerconn.Member{signIn(t, r, "a"), signIn(t, r, "b"), signIn(t, r, "c")}
	called := false
	m, err := r.SignIn(func(int) string { called = true; return "d" })
	if !errors.Is(err, peerconn.ErrTooManyMembers) {
		t.Fatalf("sign-in past the cap: %v, %v; want ErrTooManyMembers", m, err)
	}
	if called {
		t.Error("a refused sign-in named a member")
	}
	check(t, r, ms) // a refused sign-in changes nothing
	if !r.SignOut(ms[1].ID) {
		t.Fatal("SignOut failed")
	}
	ms = slices.Delete(ms, 1, 2)
	ms = append(ms, signIn(t, r, "e"))
	check(t, r, ms)
	if _, err := r.SignIn(named("f")); !errors.Is(err, peerconn.ErrTooManyMembers) {
		t.Fatalf("sign-in past the cap again: %v", err)
	}
	check(t, r, ms)
}
