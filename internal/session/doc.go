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
// unsubscribe, publish. A login creates a Session (key, name, resume token,
// subscriptions) in the hub's registry; a Session outlives its connection
// for a resume grace period, and a new login presenting its resume token
// takes it over, closing the old connection with 4000 "replaced". A
// connection that does not log in within the login deadline is closed with
// 4000. Channels live in a broker.Broker; a Session is its Subscriber and
// sends publications as droppable frames, so a slow reader loses the oldest
// ones (counted) and recovers them by offset.
//
// Start with NewHub, then Hub.Open per connection, Client.OnMessage per
// message and Client.Closed when the connection ends.
package session
