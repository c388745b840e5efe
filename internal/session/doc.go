// Package session is the session core: what a service sees of a connection
// (the Transport interface it writes to and the Handler it implements) and
// the messaging hub built on it.
//
// Neither side knows the socket or the I/O engine behind a Transport; the
// goroutine-per-connection engine (websocket.Conn) implements it today, and
// an epoll engine can implement it later without any service changing.
//
// Hub serves Switchboard's native protocol (protoo JSON, DESIGN.md and
// docs/messaging.md). Hub.Open gives each connection a Client, which
// parses frames with package protoo and routes requests through a Mux of
// methods registered at start-up: login, echo, send, online, subscribe,
// unsubscribe, publish, join, leave, signal (methods.go, roommethods.go).
// A login (login.go) creates a Session (key, name, subscriptions) and
// claims its name in the Directory; a Session outlives its connection
// for a resume grace period, and a new login presenting its resume token
// takes it over, closing the old connection with 4000 "replaced". A
// connection that does not log in within the login deadline is closed with
// 4000. Sessions in their grace period are capped in all and per address,
// the oldest ending first (detached.go). Names of sessions, rooms and
// channels follow the one rule of package names. Channels live in a
// broker.Broker; a Session is its Subscriber and sends publications as
// droppable frames, so a slow reader loses the oldest ones (counted) and
// recovers them by offset. A Session's broker.Quota counts the channels
// its publishes and subscribes created; online answers in pages (after,
// limit, more). A send or signal to a connection whose queue is
// half full is refused with 429, so that one sender cannot get another
// closed as a slow consumer.
//
// Rooms (rooms.go, roommethods.go) are WebRTC signaling rooms whose
// members are sessions (by key), not connections: join {room, info}
// returns the other members and tells them peerJoined, signal {room, to,
// data} relays a payload to one member in order, and leave, or the end of
// the session (a clean close, or the end of the resume grace period),
// gives peerLeft. These notifications are decided under the rooms lock
// and sent, in that order, after it is released (under one send lock per
// node, not per room). Because a takeover or a resume only swaps
// the Session's connection, a room never looks empty in the middle of it
// (the "zombie room" of the reference protoo server). A URL with roomId
// and peerId (mediasoup style) logs in, takes over a session with that
// name only if a URL created it (or with its resume token), and joins.
// The mediasoup methods that need an SFU are answered with 501.
//
// The state a cluster would share sits behind three seams (seams.go),
// each with today's single-node code as its in-memory implementation and
// a behaviour suite in package sessiontest: a Directory of names (which
// session and node holds a name, online or detached, its resume token
// hashed; directory.go), a Router that delivers send, signal and room
// notices by session key (router.go), and Rooms keyed by session key
// (rooms.go). Config.Directory, Config.Router and Config.Rooms replace
// them. The Hub keeps what is node-local: this node's Sessions by key,
// login deadlines, grace timers and detached caps. Session keys are
// node-qualified, Config.Node + "-" + a counter.
//
// Refusals a client may not be able to explain are logged at info,
// rate-limited (refusals.go).
//
// Start with NewHub, then Hub.Open per connection, Client.OnMessage per
// message and Client.Closed when the connection ends.
package session
