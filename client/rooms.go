package client

import (
	"context"
	"encoding/json"
	"fmt"
)

// Peer is a member of a room: its login name and the info it joined with.
type Peer struct {
	ID   string          `json:"id"`
	Info json.RawMessage `json:"info"`
}

// Joined is the reply to Join (and the data of notification "joined",
// which a URL with ?roomId=R&peerId=P gets): the room and its other
// members, in join order.
type Joined struct {
	Room  string `json:"room"`
	Peers []Peer `json:"peers"`
}

// PeerEvent is a member joining (Info set) or leaving a room.
type PeerEvent struct {
	Room string          `json:"room"`
	ID   string          `json:"id"`
	Info json.RawMessage `json:"info,omitempty"`
}

// Signal is a payload relayed by a member of a room (an SDP, an ICE
// candidate, anything): the data of notification "signal".
type Signal struct {
	Room string          `json:"room"`
	From string          `json:"from"`
	Data json.RawMessage `json:"data"`
}

// Join joins a room with info (any JSON value, nil for {}) and returns
// the other members. The others get a peer-joined event; joining again
// replaces the info and tells nobody. A full room or too many rooms is a
// *protoo.Error with protoo.CodeTooMany.
func (c *Client) Join(ctx context.Context, room string, info any) (*Joined, error) {
	data, err := c.Request(ctx, "join", struct {
		Room string `json:"room"`
		Info any    `json:"info"`
	}{room, orEmpty(info)})
	if err != nil {
		return nil, err
	}
	var j Joined
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, fmt.Errorf("client: join: bad reply: %w", err)
	}
	return &j, nil
}

// Leave leaves a room; the others get a peer-left event.
func (c *Client) Leave(ctx context.Context, room string) error {
	_, err := c.Request(ctx, "leave", struct {
		Room string `json:"room"`
	}{room})
	return err
}

// Signal relays data to the member to of room, which gets it, in order,
// through OnSignal. A recipient that is not a member is a *protoo.Error with
// protoo.CodeNotFound.
func (c *Client) Signal(ctx context.Context, room, to string, data any) error {
	_, err := c.Request(ctx, "signal", struct {
		Room string `json:"room"`
		To   string `json:"to"`
		Data any    `json:"data"`
	}{room, to, orEmpty(data)})
	return err
}

// OnSignal sets the handler of signals relayed to this client.
func (c *Client) OnSignal(f func(Signal)) { onNote(c, "signal", f) }

// OnPeerJoined sets the handler of members joining a room this client is in.
func (c *Client) OnPeerJoined(f func(PeerEvent)) { onNote(c, "peerJoined", f) }

// OnPeerLeft sets the handler of members leaving a room this client is in
// (leave, a clean close, or the end of a dropped member's grace period).
func (c *Client) OnPeerLeft(f func(PeerEvent)) { onNote(c, "peerLeft", f) }

// OnJoined sets the handler of the room joined by a URL with
// ?roomId=R&peerId=P, on every connection.
func (c *Client) OnJoined(f func(Joined)) { onNote(c, "joined", f) }

// onNote sets the handler of notification method, decoded into a T.
func onNote[T any](c *Client, method string, f func(T)) {
	if f == nil {
		c.OnNotification(method, nil)
		return
	}
	c.OnNotification(method, func(data json.RawMessage) {
		var v T
		if err := json.Unmarshal(data, &v); err != nil {
			c.opts.logger.Warn("client: bad notification", "method", method, "err", err)
			return
		}
		f(v)
	})
}
