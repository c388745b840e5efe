// Package peers holds the comparison servers of `make bench`: the same
// small echo and broadcast server written on github.com/lxzan/gws (./gws)
// and on github.com/gorilla/websocket (./gorilla), each the way that
// library's own examples do it. It is a module of its own so that
// Switchboard does not depend on them.
//
// Protocol, the same for both:
//
//	/echo       every message is sent back as it came
//	/sub        the connection receives every broadcast
//	/pub        every message received is broadcast to all /sub connections
//	/debug/vars expvar (Go memory statistics)
package peers
