package session

import (
	"encoding/json"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/switchboard/switchboard/protoo"
	"github.com/switchboard/switchboard/websocket"
)

// loginNote decodes the login notification a URL login sent, if any.
func loginNote(t *testing.T, c *conn) *loginResult {
	t.Helper()
	n := c.t.notes("login")
	if len(n) == 0 {
		return nil
	}
	var res loginResult
	if err := json.Unmarshal(n[0].Data, &res); err != nil {
		t.Fatal(err)
	}
	return &res
}

// sawToken reports whether token appears in anything c was sent.
func sawToken(c *conn, token string) bool {
	c.t.mu.Lock()
	defer c.t.mu.Unlock()
	for _, m := range c.t.msgs {
		b, _ := json.Marshal(m)
		if strings.Contains(string(b), token) {
			return true
		}
	}
	return false
}

// TestURLCannotHijackLogin: a URL with the peerId of a session that logged
// in with login is refused; the victim keeps its connection, its token and
// its signals (issue: /?roomId=any&peerId=VICTIM took the session over).
func TestURLCannotHijackLogin(t *testing.T) {
	h := NewHub(Config{})
	defer h.Close()
	victim := open(h, "")
	var lv loginResult
	victim.ok(t, "login", map[string]string{"name": "victim"}, &lv)
	victim.ok(t, "subscribe", map[string]string{"channel": "group"}, nil)
	victim.ok(t, "join", map[string]any{"room": "r"}, nil)

	for _, q := range []string{"roomId=any&peerId=victim", "roomId=r&peerId=victim", "peerId=victim", "roomId=any&peerId=victim&resume=wrong"} {
		attacker := open(h, q)
		if attacker.LoggedIn() || loginNote(t, attacker) != nil {
			t.Fatalf("%s: the attacker logged in", q)
		}
		if sawToken(attacker, lv.Resume) {
			t.Fatalf("%s: the attacker was sent the victim's resume token", q)
		}
		code, reason := attacker.t.closeCode()
		errs := attacker.t.notes("error")
		if code != websocket.StatusDoNotReconnect || !strings.Contains(reason, "taken") || len(errs) != 1 {
			t.Fatalf("%s: attacker closed %d %q with %d error notifications, want 4000 \"...taken\"", q, code, reason, len(errs))
		}
		var note errorNotice
		_ = json.Unmarshal(errs[0].Data, &note)
		if note.ErrorCode != protoo.CodeConflict {
			t.Fatalf("%s: error notification %+v, want 409", q, note)
		}
		attacker.Closed(websocket.StatusDoNotReconnect)
		if code, _ := victim.t.closeCode(); code != 0 {
			t.Fatalf("%s: the victim was closed with %d", q, code)
		}
	}
	// The victim still gets what is addressed to it.
	other := open(h, "")
	other.ok(t, "login", map[string]string{"name": "other"}, nil)
	other.ok(t, "join", map[string]any{"room": "r"}, nil)
	other.ok(t, "signal", map[string]any{"room": "r", "to": "victim", "data": "sdp"}, nil)
	other.ok(t, "send", map[string]any{"to": "victim", "data": 1}, nil)
	if len(victim.t.notes("signal")) != 1 || len(victim.t.notes("message")) != 1 {
		t.Fatal("the victim lost its signals or messages")
	}
	// Its own token still resumes it, also through a URL.
	again := open(h, "roomId=r&peerId=victim&resume="+lv.Resume)
	if res := loginNote(t, again); res == nil || !res.Resumed || res.Key != lv.Key {
		t.Fatalf("resume through the URL with the token = %+v", res)
	}
}

// TestURLFailedJoinLeavesSessionAlone: a URL whose room join fails (a full
// room) touches no existing session, neither one that login created nor
// one that a URL created.
func TestURLFailedJoinLeavesSessionAlone(t *testing.T) {
	h := NewHub(Config{MaxRoomMembers: 1})
	defer h.Close()
	open(h, "roomId=full&peerId=occupant")
	byLogin := open(h, "")
	byLogin.ok(t, "login", map[string]string{"name": "bylogin"}, nil)
	byURL := open(h, "roomId=mine&peerId=byurl")
	if !byURL.LoggedIn() {
		t.Fatal("URL login failed")
	}
	for _, q := range []string{"roomId=full&peerId=bylogin", "roomId=full&peerId=byurl", "roomId=full&peerId=fresh"} {
		a := open(h, q)
		if code, _ := a.t.closeCode(); code != websocket.StatusDoNotReconnect {
			t.Fatalf("%s: not refused", q)
		}
		a.Closed(websocket.StatusDoNotReconnect)
	}
	for _, v := range []*conn{byLogin, byURL} {
		if code, _ := v.t.closeCode(); code != 0 {
			t.Fatalf("%s was closed with %d", v.Session().Name(), code)
		}
		if v.Session().isEnded() || v.Session().attached() != v.Client {
			t.Fatalf("%s lost its session", v.Session().Name())
		}
	}
	if got := h.RoomMembers("mine"); len(got) != 1 || got[0] != "byurl" {
		t.Fatalf("room mine = %v", got)
	}
	if h.Sessions() != 3 { // occupant, bylogin, byurl; not fresh
		t.Fatalf("%d sessions, want 3", h.Sessions())
	}
}

// TestURLTakeoverOfURLSession: a newer URL connection still takes over a
// session a URL created (mediasoup's "new wins"), without a pause in its
// room, and gets a new resume token: the old one no longer resumes.
func TestURLTakeoverOfURLSession(t *testing.T) {
	h := NewHub(Config{})
	defer h.Close()
	watcher := open(h, "roomId=r&peerId=w")
	first := open(h, "roomId=r&peerId=p")
	l1 := loginNote(t, first)
	second := open(h, "roomId=r&peerId=p")
	l2 := loginNote(t, second)
	if l2 == nil || !l2.Resumed || l2.Key != l1.Key {
		t.Fatalf("takeover login = %+v", l2)
	}
	if l2.Resume == l1.Resume || sawToken(second, l1.Resume) {
		t.Fatal("the takeover was handed the old resume token")
	}
	if code, reason := first.t.closeCode(); code != websocket.StatusDoNotReconnect || reason != "replaced" {
		t.Fatalf("old connection closed %d %q", code, reason)
	}
	first.Closed(websocket.StatusDoNotReconnect)
	if len(watcher.t.notes("peerLeft")) != 0 {
		t.Fatal("the room saw the peer leave during the takeover")
	}
	stale := open(h, "")
	stale.fails(t, protoo.CodeConflict, "login", map[string]string{"name": "p", "resume": l1.Resume})
	fresh := open(h, "")
	fresh.ok(t, "login", map[string]string{"name": "p", "resume": l2.Resume}, nil)
}

// TestLoginDeadlineRace fires the login deadline at the worst moment, in
// the middle of a login that has begun: the login wins and the connection
// stays open. A deadline that fired first refuses the login instead.
func TestLoginDeadlineRace(t *testing.T) {
	h := NewHub(Config{})
	defer h.Close()
	c := open(h, "")
	testHookLogin = func(cl *Client) { cl.loginTimeout() } // the timer fires now
	defer func() { testHookLogin = nil }()
	c.ok(t, "login", map[string]string{"name": "quick"}, nil)
	testHookLogin = nil
	if code, reason := c.t.closeCode(); code != 0 {
		t.Fatalf("a login that had begun was closed by the deadline: %d %q", code, reason)
	}
	if h.Counters().LoginLimit.Load() != 0 || len(c.t.notes("error")) != 0 {
		t.Fatal("the deadline counted or notified a login that won")
	}

	late := open(h, "")
	late.loginTimeout() // the timer fired before the login
	late.fails(t, protoo.CodeUnauthorized, "login", map[string]string{"name": "late"})
	if code, _ := late.t.closeCode(); code != websocket.StatusDoNotReconnect || late.LoggedIn() || h.Sessions() != 1 {
		t.Fatalf("late login: closed %d, logged in %v, %d sessions", code, late.LoggedIn(), h.Sessions())
	}
}

// TestLoginDeadlineAfterFailedLogin: a failed login gives the deadline
// back, so a client cannot stay unauthenticated by failing logins.
func TestLoginDeadlineAfterFailedLogin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHub(Config{LoginTimeout: 300 * time.Millisecond})
		defer h.Close()
		taker := open(h, "")
		taker.ok(t, "login", map[string]string{"name": "taken"}, nil)
		c := open(h, "")
		c.fails(t, protoo.CodeConflict, "login", map[string]string{"name": "taken"})
		time.Sleep(300 * time.Millisecond)
		synctest.Wait()
		if code, reason := c.t.closeCode(); code != websocket.StatusDoNotReconnect || reason != "login timeout" {
			t.Fatalf("closed %d %q", code, reason)
		}
	})
}
