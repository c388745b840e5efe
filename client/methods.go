package client

import (
	"context"
	"encoding/json"
	"fmt"
)

type loginRequest struct {
	Name   string `json:"name"`
	Token  string `json:"token,omitempty"`
	Resume string `json:"resume,omitempty"`
}

// LoginReply is the server's answer to a login.
type LoginReply struct {
	Key     string `json:"key"`     // the session's id
	Name    string `json:"name"`    // the name logged in
	Welcome string `json:"welcome"` // "Welcome <name>"
	Resume  string `json:"resume"`  // the secret token that resumes the session
	Resumed bool   `json:"resumed"` // the login took an existing session over
}

// Login logs in with a name, which must be unique among the clients
// online (else a *protoo.Error with protoo.CodeConflict). The client keeps the name
// and the resume token: after a reconnect it logs in again with them and
// takes its session back.
func (c *Client) Login(ctx context.Context, name string) (*LoginReply, error) {
	data, err := c.Request(ctx, "login", loginRequest{Name: name})
	if err != nil {
		return nil, err
	}
	var r LoginReply
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("client: login: bad reply: %w", err)
	}
	c.mu.Lock()
	c.name, c.resume = r.Name, r.Resume
	if c.name == "" {
		c.name = name
	}
	c.mu.Unlock()
	return &r, nil
}

// Name returns the name logged in with, or "".
func (c *Client) Name() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.name
}

// Echo sends data and returns what the server echoed: the same JSON.
func (c *Client) Echo(ctx context.Context, data any) (json.RawMessage, error) {
	return c.Request(ctx, "echo", data)
}

// Send sends data to the client logged in as to, which receives a
// "message" notification (see OnMessage). An unknown or offline recipient
// is a *protoo.Error with protoo.CodeNotFound.
func (c *Client) Send(ctx context.Context, to string, data any) error {
	_, err := c.Request(ctx, "send", struct {
		To   string `json:"to"`
		Data any    `json:"data"`
	}{to, orEmpty(data)})
	return err
}

// Message is a routed message: the data of a "message" notification.
type Message struct {
	From string          `json:"from"`
	Data json.RawMessage `json:"data"`
}

// OnMessage sets the handler of routed messages sent to this client.
func (c *Client) OnMessage(f func(Message)) {
	if f == nil {
		c.OnNotification("message", nil)
		return
	}
	c.OnNotification("message", func(data json.RawMessage) {
		var m Message
		if err := json.Unmarshal(data, &m); err != nil {
			c.opts.logger.Warn("client: bad message notification", "err", err)
			return
		}
		f(m)
	})
}

// Online returns the names of the clients online, sorted. The server
// answers in pages (more:true while names follow); Online asks for them
// all, so it makes one request per page.
func (c *Client) Online(ctx context.Context) ([]string, error) {
	var names []string
	req := struct {
		After string `json:"after,omitempty"`
	}{}
	for {
		data, err := c.Request(ctx, "online", req)
		if err != nil {
			return nil, err
		}
		var r struct {
			Names []string `json:"names"`
			More  bool     `json:"more"`
		}
		if err := json.Unmarshal(data, &r); err != nil {
			return nil, fmt.Errorf("client: online: bad reply: %w", err)
		}
		names = append(names, r.Names...)
		if !r.More || len(r.Names) == 0 || r.Names[len(r.Names)-1] <= req.After {
			return names, nil
		}
		req.After = r.Names[len(r.Names)-1]
	}
}

// Publish publishes data on a channel and returns its offset. A channel
// fed by the server refuses with a *protoo.Error with protoo.CodeForbidden.
func (c *Client) Publish(ctx context.Context, channel string, data any) (uint64, error) {
	reply, err := c.Request(ctx, "publish", struct {
		Channel string `json:"channel"`
		Data    any    `json:"data"`
	}{channel, orEmpty(data)})
	if err != nil {
		return 0, err
	}
	var r struct {
		Offset uint64 `json:"offset"`
	}
	if err := json.Unmarshal(reply, &r); err != nil {
		return 0, fmt.Errorf("client: publish: bad reply: %w", err)
	}
	return r.Offset, nil
}

// orEmpty turns nil into {}: protoo's data is never null.
func orEmpty(data any) any {
	if data == nil {
		return struct{}{}
	}
	return data
}
