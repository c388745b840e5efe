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

	mu       sync.Mutex
	sess     *Session
	deadline *time.Timer // login deadline, until login
	closed   bool
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
	c.hub.detached(s, clean)
}

// loginTimeout closes a connection that did not log in in time.
func (c *Client) loginTimeout() {
	c.mu.Lock()
	late := c.sess == nil && !c.closed
	c.mu.Unlock()
	if !late {
		return
	}
	c.hub.stats.LoginLimit.Add(1)
	c.notifyError(protoo.CodeUnauthorized, "login timeout")
	c.t.Close(websocket.StatusDoNotReconnect, "login timeout")
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
