// Package bench is `switchboard bench`: a load generator for WebSocket
// servers (echo, fanout, idle memory, peerconnection long-poll) and the
// suite behind `make bench`, which runs the same loads against Switchboard
// and the comparison servers in bench/peers and writes BENCHMARKS.md.
//
// Start at Echo, Fanout, Idle and LongPoll (one file each); Suite runs
// them against several servers and report.go writes the Markdown, JSON and
// SVG charts. The client side is deliberately lean (wsconn.go): one
// goroutine per connection reading frames from a small buffer, so the
// generator can hold the connections it is asked for.
package bench
