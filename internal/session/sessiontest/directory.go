package sessiontest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/switchboard/switchboard/internal/session"
)

// RunDirectory runs the behaviour suite of session.Directory; newDir
// returns an empty directory for each subtest.
func RunDirectory(t *testing.T, newDir func(t *testing.T) session.Directory) {
	t.Run("ClaimLookup", func(t *testing.T) { testClaimLookup(t, newDir(t)) })
	t.Run("Authorize", func(t *testing.T) { testAuthorize(t, newDir(t)) })
	t.Run("SetOnline", func(t *testing.T) { testSetOnline(t, newDir(t)) })
	t.Run("Release", func(t *testing.T) { testRelease(t, newDir(t)) })
	t.Run("OnlinePages", func(t *testing.T) { testOnlinePages(t, newDir(t)) })
	t.Run("ConcurrentClaims", func(t *testing.T) { testConcurrentClaims(t, newDir(t)) })
}

func claim(t *testing.T, d session.Directory, e session.Entry, resume string) {
	t.Helper()
	if err := d.Claim(e, resume); err != nil {
		t.Fatalf("Claim(%+v) = %v", e, err)
	}
}

func testClaimLookup(t *testing.T, d session.Directory) {
	if _, ok := d.Lookup("a"); ok {
		t.Fatal("an empty directory has a")
	}
	e := session.Entry{Name: "a", Key: "n1-1", Node: "n1", ViaURL: true}
	claim(t, d, e, "token-a")
	got, ok := d.Lookup("a")
	want := e
	want.Online = true
	if !ok || got != want {
		t.Fatalf("Lookup(a) = %+v, %v; want %+v", got, ok, want)
	}
	if err := d.Claim(session.Entry{Name: "a", Key: "n2-1", Node: "n2"}, "other"); !errors.Is(err, session.ErrNameTaken) {
		t.Fatalf("second Claim of a = %v, want ErrNameTaken", err)
	}
	if got, _ := d.Lookup("a"); got != want {
		t.Fatalf("a refused claim changed the entry: %+v", got)
	}
}

func testAuthorize(t *testing.T, d session.Directory) {
	claim(t, d, session.Entry{Name: "login", Key: "n-1", Node: "n"}, "tok-login")
	claim(t, d, session.Entry{Name: "url", Key: "n-2", Node: "n", ViaURL: true}, "tok-url")
	for _, c := range []struct {
		name, resume string
		viaURL       bool
		byToken      bool
		err          error
	}{
		{"login", "tok-login", false, true, nil},
		{"login", "tok-login", true, true, nil},
		{"login", "wrong", false, false, session.ErrNameTaken},
		{"login", "", false, false, session.ErrNameTaken},
		{"login", "", true, false, session.ErrNameTaken}, // a login session is never taken over by URL
		{"login", "tok-url", false, false, session.ErrNameTaken},
		{"url", "", true, false, nil},
		{"url", "", false, false, session.ErrNameTaken},
		{"url", "tok-url", false, true, nil},
		{"nobody", "", true, false, session.ErrNoSession},
	} {
		e, byToken, err := d.Authorize(c.name, c.resume, c.viaURL)
		if !errors.Is(err, c.err) || (err == nil) != (c.err == nil) || byToken != c.byToken {
			t.Errorf("Authorize(%q, %q, %v) = %v, %v; want %v, %v", c.name, c.resume, c.viaURL, byToken, err, c.byToken, c.err)
		}
		if err == nil && e.Name != c.name {
			t.Errorf("Authorize(%q) returned the entry of %q", c.name, e.Name)
		}
	}
}

func testSetOnline(t *testing.T, d session.Directory) {
	claim(t, d, session.Entry{Name: "a", Key: "n-1", Node: "n"}, "old")
	if err := d.SetOnline("a", "n-1", false, ""); err != nil {
		t.Fatal(err)
	}
	if e, _ := d.Lookup("a"); e.Online {
		t.Fatal("SetOnline(false) left the session online")
	}
	if names, _ := d.Online("", 10); len(names) != 0 {
		t.Fatalf("Online lists a detached session: %v", names)
	}
	if _, byToken, err := d.Authorize("a", "old", false); err != nil || !byToken {
		t.Fatal("a detached session no longer resumes with its token")
	}
	if err := d.SetOnline("a", "n-9", true, ""); !errors.Is(err, session.ErrNoSession) {
		t.Fatalf("SetOnline with another key = %v, want ErrNoSession", err)
	}
	if err := d.SetOnline("b", "n-1", true, ""); !errors.Is(err, session.ErrNoSession) {
		t.Fatalf("SetOnline of an unknown name = %v, want ErrNoSession", err)
	}
	if err := d.SetOnline("a", "n-1", true, "new"); err != nil {
		t.Fatal(err)
	}
	if e, _ := d.Lookup("a"); !e.Online {
		t.Fatal("SetOnline(true) left the session offline")
	}
	if _, _, err := d.Authorize("a", "old", false); !errors.Is(err, session.ErrNameTaken) {
		t.Fatalf("the replaced token still authorizes: %v", err)
	}
	if _, byToken, err := d.Authorize("a", "new", false); err != nil || !byToken {
		t.Fatalf("the new token does not authorize: %v %v", byToken, err)
	}
}

func testRelease(t *testing.T, d session.Directory) {
	claim(t, d, session.Entry{Name: "a", Key: "n-1", Node: "n"}, "t")
	if d.Release("a", "n-2") {
		t.Fatal("Release with another key released the name")
	}
	if _, ok := d.Lookup("a"); !ok {
		t.Fatal("a wrong-key Release removed the entry")
	}
	if !d.Release("a", "n-1") {
		t.Fatal("Release with the key did not release")
	}
	if _, ok := d.Lookup("a"); ok {
		t.Fatal("a released name is still looked up")
	}
	if d.Release("a", "n-1") {
		t.Fatal("a second Release reported true")
	}
	if _, _, err := d.Authorize("a", "t", false); !errors.Is(err, session.ErrNoSession) {
		t.Fatalf("Authorize after Release = %v, want ErrNoSession", err)
	}
	claim(t, d, session.Entry{Name: "a", Key: "n-3", Node: "n"}, "t2")
}

func testOnlinePages(t *testing.T, d session.Directory) {
	for i, name := range []string{"d", "b", "e", "a", "c"} {
		claim(t, d, session.Entry{Name: name, Key: fmt.Sprint("n-", i), Node: "n"}, "t")
	}
	if err := d.SetOnline("e", "n-2", false, ""); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		after string
		limit int
		want  []string
		more  bool
	}{
		{"", 10, []string{"a", "b", "c", "d"}, false},
		{"", 2, []string{"a", "b"}, true},
		{"b", 2, []string{"c", "d"}, false},
		{"bb", 1, []string{"c"}, true},
		{"d", 5, []string{}, false},
		{"", 4, []string{"a", "b", "c", "d"}, false},
	} {
		names, more := d.Online(c.after, c.limit)
		if !slices.Equal(names, c.want) || more != c.more {
			t.Errorf("Online(%q, %d) = %v, %v; want %v, %v", c.after, c.limit, names, more, c.want, c.more)
		}
	}
}

func testConcurrentClaims(t *testing.T, d session.Directory) {
	const n = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for i := range n {
		wg.Go(func() {
			err := d.Claim(session.Entry{Name: "x", Key: fmt.Sprint("n-", i), Node: "n"}, "t")
			if err != nil && !errors.Is(err, session.ErrNameTaken) {
				t.Errorf("Claim: %v", err)
			}
			if err == nil {
				mu.Lock()
				won++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if won != 1 {
		t.Fatalf("%d of %d concurrent claims of one name won, want 1", won, n)
	}
}
