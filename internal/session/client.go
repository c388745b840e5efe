package session

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/switchboard/switchboard/protoo"
	"github.com/switchboard/switchboard/websocket"
)

// Client is one connection of the messaging protocol. Its messages arrive
// one at a time on OnMessage; Closed ends it.
type Client struct {
	hub     *Hub
	t       Transport
	urlRoom string // the URL's roomId, set before the first message

	mu        sync.Mutex
	sess      *Session
	deadline  *time.Timer // login deadline, until login
	loginBy   time.Time   // when the login deadline passes
	loggingIn bool        // a login has claimed the deadline
	timedOut  bool        // the login deadline passed first
	closed    bool
}

// Session returns the client's session, or nil before login.
func (c *Client) Session() *Session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess
}

// LoggedIn reports whether the client has logged in.
func (c *Client) LoggedIn() bool { return c.Session() != nil }

// OnMessage implements Handler: it parses one frame and serves it. A frame
// that is not a protoo message cannot be answered (it has no id): the
// client gets notification error {errorCode: 400, errorReason} and the
// connection stays open. Responses and notifications from the client are
// ignored: the server sends no requests and defines no client
// notifications.
func (c *Client) OnMessage(_ Transport, op websocket.Opcode, data []byte) {
	if op != websocket.OpText {
		c.hub.stats.Invalid.Add(1)
		onOwnStack(func() {
			c.notifyError(protoo.CodeBadRequest, "binary frames are not supported: send protoo JSON as text")
		})
		return
	}
	m, err := protoo.Parse(data)
	if err != nil {
		c.hub.stats.Invalid.Add(1)
		onOwnStack(func() { c.notifyError(protoo.CodeBadRequest, strings.TrimPrefix(err.Error(), "protoo: ")) })
		return
	}
	if req, ok := m.(*protoo.Request); ok {
		c.hub.stats.Requests.Add(1)
		c.hub.mux.serve(c, req)
	}
}

// Closed ends the client after its connection closed with code. A clean
// close ends the session; any other keeps it for the resume grace period.
func (c *Client) Closed(code websocket.StatusCode) {
	c.mu.Lock()
	c.closed = true
	if c.deadline != nil {
		c.deadline.Stop()
	}
	s := c.sess
	c.mu.Unlock()
	if code == websocket.StatusTryAgainLater || code == websocket.StatusMessageTooBig || code == websocket.StatusPolicyViolation {
		// The connection failed it: the client may not know why.
		c.hub.refused(c, "connection", closedBy(code))
	}
	if s == nil {
		return
	}
	s.mu.Lock()
	mine := s.client == c
	if mine {
		s.client = nil
	}
	s.mu.Unlock()
	if !mine {
		return // taken over by a newer connection
	}
	clean := code == websocket.StatusNormalClosure || code == websocket.StatusGoingAway || code == websocket.StatusNoStatusRcvd
	c.hub.detached(s, clean, c.t.RemoteAddr())
}

// loginTimeout closes a connection that did not log in in time. It and
// beginLogin decide under c.mu: a login that claimed the deadline first is
// never closed by it, and a deadline that fired first refuses the login.
func (c *Client) loginTimeout() {
	c.mu.Lock()
	late := c.sess == nil && !c.closed && !c.loggingIn && !c.timedOut
	if late {
		c.timedOut = true
	}
	c.mu.Unlock()
	if !late {
		return
	}
	c.hub.stats.LoginLimit.Add(1)
	c.hub.refused(c, "login", errLoginTimeout)
	c.notifyError(protoo.CodeUnauthorized, "login timeout")
	c.t.Close(websocket.StatusDoNotReconnect, "login timeout")
}

var errLoginTimeout = protoo.Errorf(protoo.CodeUnauthorized, "login timeout")

// beginLogin claims the login deadline for a login: it stops the timer,
// or refuses the login when the timer has fired already.
func (c *Client) beginLogin() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.sess != nil:
		return protoo.Errorf(protoo.CodeBadRequest, "already logged in as %q", c.sess.name)
	case c.closed:
		return errConnClosed
	case c.loggingIn:
		return protoo.Errorf(protoo.CodeBadRequest, "a login is in progress")
	case c.timedOut:
		return errLoginTimeout
	}
	if c.deadline != nil && !c.deadline.Stop() {
		// The timer fired and its loginTimeout waits for c.mu: it closes
		// the connection.
		return errLoginTimeout
	}
	c.deadline = nil
	c.loggingIn = true
	return nil
}

// loginFailed gives the login deadline back after a failed login, with
// the time that is left of it.
func (c *Client) loginFailed() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.loggingIn = false
	if c.sess == nil && !c.closed && !c.loginBy.IsZero() {
		c.deadline = time.AfterFunc(max(0, time.Until(c.loginBy)), c.loginTimeout)
	}
}

// adopt makes s the client's session at the end of a login; it reports
// false when the connection closed meanwhile. The caller holds h.mu.
func (c *Client) adopt(s *Session) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.loggingIn = false
	if c.closed {
		return false
	}
	c.sess = s
	return true
}

// reply answers request id with v, or with err as an error response.
func (c *Client) reply(id json.RawMessage, v any, err error) {
	var b []byte
	if err == nil {
		data, merr := protoo.Marshal(v)
		if merr != nil {
			c.hub.log.Error("session: encoding a reply", "err", merr)
			err = protoo.Errorf(protoo.CodeInternal, "encoding the reply failed")
		} else {
			b = protoo.AppendResponse(nil, id, data)
		}
	}
	if err != nil {
		c.hub.stats.Errors.Add(1)
		b = protoo.AppendError(nil, id, protoo.CodeOf(err), reasonOf(err))
	}
	_ = c.t.SendMessage(websocket.OpText, b)
}

// notify sends a notification.
func (c *Client) notify(method string, v any) {
	data, err := protoo.Marshal(v)
	if err != nil {
		return
	}
	_ = c.t.SendMessage(websocket.OpText, protoo.AppendNotification(nil, method, data))
}

// errorNotice is the data of notification error.
type errorNotice struct {
	ErrorCode   protoo.ErrorCode `json:"errorCode"`
	ErrorReason string           `json:"errorReason"`
}

func (c *Client) notifyError(code protoo.ErrorCode, reason string) {
	c.notify("error", errorNotice{ErrorCode: code, ErrorReason: reason})
}

// reasonOf is the errorReason for err.
func reasonOf(err error) string {
	var pe *protoo.Error
	if errors.As(err, &pe) {
		return pe.Reason
	}
	return "internal error"
}
