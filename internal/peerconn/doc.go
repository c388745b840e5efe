// Package peerconn implements the server side of WebRTC's peerconnection
// signaling protocol (HTTP long-poll), as a drop-in replacement for the C++
// peerconnection_server: see docs/peerconnection.md.
//
// Start with [Service]: it is a frontdoor.ConnHandler, so the front door
// reads each request head with the lenient parser of internal/httphead and
// hands the connection over. Underneath, the package has two pure layers
// with no I/O, table-tested byte for byte:
//
//   - [AppendResponse] encodes responses in the reference server's exact
//     layout (status texts, header order, CORS block);
//   - [Channel] is the channel state, and [Channel.Dispatch] applies one
//     request in the reference dispatch order and returns the encoded
//     response or the parked [Wait].
//
// The channel joins two halves under one lock. The member list and id
// allocation are a [Roster] (roster.go): sign in, sign out, look up, list
// in join order, with ids from an [IDs] (ids.go). [MemoryRoster] is the
// one-node implementation and the default; Config.Roster injects another,
// such as one shared by the nodes of a cluster, and every implementation
// passes the behaviour suite peerconntest.RunRoster. The rest is the
// node-local mailbox (mailbox.go), which stays on the node that holds the
// connections: each member's FIFO of encoded responses, its parked wait,
// its last-seen time for expiry, and the requeue of a failed write. A
// presence notice is stored once, in a log every member reads from its own
// position (notices.go), so sign-ins that nobody reads cost O(members)
// memory, bounded by Config.MaxNoticeBytes, and removing or expiring a
// member costs O(1) plus the waits parked at that moment.
//
// [Service.ServeConn] adds the I/O: it checks and reads a POST body
// ([CheckPost]: 400, 413, Expect: 100-continue), writes with a deadline,
// keeps reading a parked /wait so a dead client is noticed at once, lingers
// after a response until the client closes, and answers parked waits with
// "Server shutting down" when the front door shuts down. A goroutine
// expires members that have no parked wait (30 s by default).
//
// Member ids are the reference server's 1, 2, 3, ... ([NewSequentialIDs])
// or, with Config.RandomIDs, random in 1..2^31-1 ([NewRandomIDs]). Either
// way the protocol has no authentication: an id is a bearer identifier, and
// whoever knows one can wait, send and sign out as that member.
package peerconn
