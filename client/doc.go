// Package client is the Go client of Switchboard's messaging protocol: protoo
// JSON messages (request, response, notification) over one WebSocket to a
// Switchboard server's /ws endpoint.
//
// Start with Dial, which connects and returns a *Client. Then:
//
//   - Login(ctx, name) logs in (the server wants it first); Echo, Send,
//     Online and Publish call the built-in methods, and Request calls any
//     method and returns the reply's raw data, or a *protoo.Error carrying
//     the server's errorCode and errorReason.
//   - OnNotification(method, f) receives notifications such as "message"
//     (a routed message: {from, data}).
//   - Subscribe(ctx, channel, f) receives a channel's publications in
//     offset order. The subscription remembers the channel's epoch and last
//     offset; when offsets jump (the server dropped publications for a slow
//     client) it subscribes again with since {epoch, offset} and receives
//     the missed ones, page after page while the server says more follow,
//     so a long replay never needs a message past the client's limit.
//   - Join(ctx, room, info) joins a WebRTC signaling room and returns the
//     other members; OnPeerJoined and OnPeerLeft follow the membership,
//     Signal(ctx, room, to, data) relays an SDP or ICE candidate (any JSON)
//     to one member, in order, and OnSignal receives them. Leave leaves.
//     examples/roomecho is a Pion peer built on these.
//
// A URL that logs in by itself (/?peerId=NAME, as protoo-client apps use)
// needs no Login: the client takes the name and resume token from the
// server's "login" notification. With &roomId=R as well it joins R at once
// (OnJoined gets the roster), and a connection with the peerId of a
// session that such a URL created takes that session over: the older
// connection is closed with 4000. The name of a session created by Login
// is refused (409) unless the URL carries its resume token.
//
// When the connection drops, the client reconnects by itself with
// exponential backoff (WithReconnect), logs in again with the resume token
// the server gave (keeping its name and server-side session), and recovers
// every subscription from its last offset. Requests made while it is away
// wait for the new connection, up to their context. A close with code 4000
// (a newer login replaced this one, or a missed login deadline) ends the
// client for good. WithEventHandler reports these steps.
//
// Handlers (notifications, publications, events) run one at a time, in the
// order the messages arrived, on a goroutine of the client's that is not
// the connection's reader, so they may call the client's methods.
//
// The package imports no server code: only the public websocket and protoo
// packages.
package client
