// Package session is the session core's view of a connection: the small
// Transport interface a service writes to and the Handler it implements.
//
// Neither side knows the socket or the I/O engine behind a Transport; the
// goroutine-per-connection engine (websocket.Conn) implements it today, and
// an epoll engine can implement it later without any service changing.
package session
