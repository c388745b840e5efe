package session

import (
	"encoding/json"
	"errors"
	"net/url"

	"github.com/switchboard/switchboard/internal/names"
	"github.com/switchboard/switchboard/protoo"
	"github.com/switchboard/switchboard/websocket"
)

// loginResult is the reply to login (and the data of the login
// notification after a URL peerId login).
type loginResult struct {
	Key     string `json:"key"`
	Name    string `json:"name"`
	Welcome string `json:"welcome"`
	Resume  string `json:"resume"`
	Resumed bool   `json:"resumed"`
}

// openURL logs c in from its URL's peerId and joins its roomId.
//
// A peerId in use is refused (error notification 409, close 4000 "refused:
// name ... is taken") unless the URL presents the session's resume token
// or, with a roomId, the session was itself created by a URL: then the
// newer connection wins (docs/protoo.md), the old one is closed with
// 4000 "replaced" and the session, its rooms and subscriptions go on with
// a new resume token. A session created by login is never taken over
// without its token. The room is joined before the session is taken over,
// so a join that fails (a full room, too many rooms) leaves the session
// and its connection as they were.
func (h *Hub) openURL(c *Client, query url.Values) {
	refuse := func(err error) {
		// A final refusal: accept, explain, close with 4000
		// (docs/protoo.md).
		h.refused(c, "url", err)
		c.notifyError(protoo.CodeOf(err), "refused: "+reasonOf(err))
		c.t.Close(websocket.StatusDoNotReconnect, "refused: "+reasonOf(err))
	}
	name, roomID := query.Get("peerId"), query.Get("roomId")
	withRoom := query.Has("roomId")
	if !query.Has("peerId") {
		refuse(protoo.Errorf(protoo.CodeBadRequest, "roomId needs a peerId"))
		return
	}
	if withRoom {
		if err := validRoom(roomID); err != nil {
			refuse(err)
			return
		}
	}
	var info json.RawMessage
	if dn := query.Get("displayName"); dn != "" {
		info, _ = json.Marshal(struct {
			DisplayName string `json:"displayName"`
		}{dn})
	}
	c.urlRoom = roomID
	var jr *JoinResult
	var prepare func(s *Session) error
	if withRoom {
		// Join on the session before taking it over.
		prepare = func(s *Session) (err error) {
			jr, err = h.join(s, roomID, info, nil)
			return err
		}
	}
	res, err := h.login(c, name, query.Get("resume"), withRoom, prepare)
	if err != nil {
		refuse(err)
		return
	}
	c.notify("login", res)
	if !withRoom {
		return
	}
	if jr == nil { // a new session: it joins now
		s := c.Session()
		if jr, err = h.join(s, roomID, info, nil); err != nil {
			refuse(err)
			h.end(s, c)
			return
		}
	}
	c.notify("joined", jr)
}

// login attaches c to the session called name: a new one, or the one
// whose resume token it presents (taking it over from its connection).
// With viaURL, a session that a URL login created may be taken over
// without the token: the newer connection wins, and the session gets a
// new token, so the old connection's token no longer resumes it. prepare,
// when set, runs on an existing session before c takes it over; its error
// refuses the login and leaves the session alone.
//
// The login deadline is settled under c.mu: login claims it first (see
// Client.beginLogin), and a deadline that fired first refuses the login.
func (h *Hub) login(c *Client, name, resume string, viaURL bool, prepare func(*Session) error) (*loginResult, error) {
	if err := validName(name); err != nil {
		return nil, err
	}
	if err := c.beginLogin(); err != nil {
		return nil, err
	}
	if testHookLogin != nil {
		testHookLogin(c)
	}
	res, err := h.claim(c, name, resume, viaURL, prepare)
	if err != nil {
		c.loginFailed()
		return nil, err
	}
	return res, nil
}

// testHookLogin, when set by a test, runs in login after the login
// deadline is claimed and before the session is.
var testHookLogin func(c *Client)

// claim finds or creates the session for login and attaches c to it:
// it claims the name in the Directory, and when the name is held, asks
// the Directory whether this login may take the session over.
func (h *Hub) claim(c *Client, name, resume string, viaURL bool, prepare func(*Session) error) (*loginResult, error) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, protoo.Errorf(protoo.CodeInternal, "server shutting down")
	}
	s := &Session{hub: h, key: h.newKey(), name: name, viaURL: viaURL, subs: make(map[string]struct{})}
	token := newToken()
	switch err := h.dir.Claim(Entry{Name: name, Key: s.key, Node: h.cfg.Node, ViaURL: viaURL}, token); {
	case err == nil:
		if !c.adopt(s) {
			h.dir.Release(name, s.key)
			h.mu.Unlock()
			return nil, errConnClosed
		}
		s.attach(c)
		h.local[s.key] = s
		h.router.Add(s.key, s)
		res := s.result(false, token)
		h.mu.Unlock()
		h.stats.Logins.Add(1)
		h.presence("join", name)
		h.log.Debug("session: login", "name", name, "key", s.key)
		return res, nil
	case !errors.Is(err, ErrNameTaken):
		h.mu.Unlock()
		return nil, err
	}
	e, byToken, err := h.dir.Authorize(name, resume, viaURL)
	if err == nil {
		if s = h.local[e.Key]; s == nil {
			err = ErrNameTaken // held by a session of another node
		}
	}
	h.mu.Unlock()
	switch {
	case errors.Is(err, ErrNoSession):
		return nil, errEndedMeanwhile(name)
	case err != nil:
		return nil, protoo.Errorf(protoo.CodeConflict, "name %q is taken", name)
	}
	if prepare != nil {
		if err := prepare(s); err != nil {
			return nil, err
		}
	}
	h.mu.Lock()
	if h.local[s.key] != s { // ended meanwhile
		h.mu.Unlock()
		return nil, errEndedMeanwhile(name)
	}
	if !c.adopt(s) {
		h.mu.Unlock()
		return nil, errConnClosed
	}
	rotate := ""
	if byToken {
		token = resume
	} else {
		rotate = token // the old connection's token dies with it
	}
	if err := h.dir.SetOnline(name, s.key, true, rotate); err != nil {
		h.log.Warn("session: directory lost a session of this node", "name", name, "key", s.key, "err", err)
	}
	h.unpark(s)
	old := s.attach(c)
	res := s.result(true, token)
	h.mu.Unlock()
	h.stats.Logins.Add(1)
	if old != nil {
		h.stats.Takeovers.Add(1)
		old.t.Close(websocket.StatusDoNotReconnect, "replaced")
	}
	h.log.Debug("session: login", "name", name, "key", s.key, "resumed", true, "byToken", byToken)
	return res, nil
}

func errEndedMeanwhile(name string) error {
	return protoo.Errorf(protoo.CodeConflict, "the session called %q ended while logging in: log in again", name)
}

var errConnClosed = protoo.Errorf(protoo.CodeBadRequest, "connection closed")

// result is the login reply for s with its resume token.
func (s *Session) result(resumed bool, resume string) *loginResult {
	return &loginResult{Key: s.key, Name: s.name, Welcome: "Welcome " + s.name, Resume: resume, Resumed: resumed}
}

// validName checks a login name: 1 to 64 characters under the naming
// rule of package names.
func validName(name string) error { return validNamed("name", name, MaxNameLength) }

// validNamed checks s, a what, under the naming rule of package names
// (at most max characters), and says what is wrong in a 400 otherwise.
func validNamed(what, s string, max int) error {
	if err := names.Check(s, max); err != nil {
		return protoo.Errorf(protoo.CodeBadRequest, "%s %s", what, err)
	}
	return nil
}
