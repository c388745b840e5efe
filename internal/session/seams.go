package session

import (
	"encoding/json"
	"errors"

	"github.com/switchboard/switchboard/websocket"
)

// The state a node shares with other nodes sits behind three seams, each
// with an in-memory implementation that is the single-node server
// (NewMemoryDirectory, NewMemoryRouter, NewMemoryRooms) and each checked
// by a behaviour suite in package sessiontest that any implementation
// runs:
//
//   - Directory: which session holds a name, on which node, whether it
//     has a connection, and its resume token (stored hashed).
//   - Router: delivery of direct messages (send, signal, room notices) to
//     a session by its key, wherever it lives.
//   - Rooms: room members by session key, and the room notifications.
//
// What stays node-local, in the Hub: the *Session values of this node's
// sessions (a connection lives on one node), the login deadlines, the
// resume grace timers and the caps on detached sessions (detached.go).
// Session keys are node-qualified, Config.Node + "-" + a counter, so keys
// from two nodes never collide and a key names the node that holds it.

// Errors of the seams.
var (
	// ErrNameTaken: the name is held by another session (Directory.Claim)
	// and the login may not take it over (Directory.Authorize).
	ErrNameTaken = errors.New("session: name is taken")
	// ErrNoSession: no session of that name and key (it ended).
	ErrNoSession = errors.New("session: no such session")
	// ErrOffline: the recipient has no connection (a direct message is
	// answered 404).
	ErrOffline = errors.New("session: offline")
	// ErrBusy: the recipient's outbound queue is half full (429).
	ErrBusy = errors.New("session: recipient's queue is half full")
)

// Entry describes one session in a Directory, by value, so that a
// directory can hold entries of sessions on other nodes.
type Entry struct {
	Name   string // the login name
	Key    string // the session key, unique across nodes
	Node   string // the node that holds the session and its connection
	ViaURL bool   // created by a URL peerId login, which a newer URL login may take over
	Online bool   // the session has a connection (it is not in its grace period)
}

// Directory maps login names to sessions. A name is held by at most one
// session at a time. Every method is safe for concurrent use.
type Directory interface {
	// Claim records e under e.Name with resume as its resume token and
	// Online set; ErrNameTaken when the name is held already.
	Claim(e Entry, resume string) error
	// Lookup returns the entry called name.
	Lookup(name string) (Entry, bool)
	// Authorize decides whether a login of name may take the session
	// over: by its resume token (byToken), or, without it, when both the
	// session and the login came by URL (viaURL). It changes nothing;
	// ErrNameTaken refuses, ErrNoSession says there is no such name.
	Authorize(name, resume string, viaURL bool) (e Entry, byToken bool, err error)
	// SetOnline marks the session called name, if its key is key, as
	// having a connection or not; with a non-empty resume it also
	// replaces the resume token (a takeover without the token). It
	// returns ErrNoSession when the name is no longer key's.
	SetOnline(name, key string, online bool, resume string) error
	// Release removes the entry called name if its key is key and
	// reports whether it did.
	Release(name, key string) bool
	// Online returns up to limit names of sessions with a connection,
	// sorted, that sort after after, and whether more follow.
	Online(after string, limit int) (names []string, more bool)
}

// Recipient is a session of this node as a Router delivers to it; *Session
// implements it.
type Recipient interface {
	// SendFrom queues a direct message of n bytes from another client:
	// ErrOffline without a connection, ErrBusy when it would take the
	// queue past half full (see Session.SendFrom).
	SendFrom(m *websocket.PreparedMessage, n int) error
	// Notify queues a server notification (a room notice): no busy rule.
	Notify(m *websocket.PreparedMessage) error
	// CanTake reports whether SendFrom of n bytes would succeed now.
	CanTake(n int) error
}

// Router delivers direct messages to sessions by key. The sessions of
// this node are added when they start and removed when they end; a
// cluster router sends a message for a key of another node to that node,
// which delivers it to its Recipient. Every method is safe for concurrent
// use; Send and Notify keep the order of the calls for one key.
type Router interface {
	// Add makes r the recipient of key, a session of this node.
	Add(key string, r Recipient)
	// Remove forgets key: its session ended.
	Remove(key string)
	// Send delivers a direct message of n bytes (Recipient.SendFrom);
	// ErrOffline for an unknown key.
	Send(key string, m *websocket.PreparedMessage, n int) error
	// Notify delivers a notification (Recipient.Notify); ErrOffline for
	// an unknown key.
	Notify(key string, m *websocket.PreparedMessage) error
	// CanTake is Recipient.CanTake of key; ErrOffline for an unknown key.
	CanTake(key string, n int) error
}

// Member is a session as a member of rooms.
type Member struct {
	Key  string // the session key
	Name string // the login name: the member's id in its rooms
}

// Join is a request to join a room.
type Join struct {
	Member
	Room string
	Info json.RawMessage // the member's info; empty or null: {}
	// Reply, when set, is called with the result before the other
	// members are told peerJoined, in the order of the room notices.
	Reply func(*JoinResult)
	// Ended, when set, is checked under the rooms' lock: a join of a
	// session that ended is refused, so that a join racing the end of its
	// session leaves no member behind.
	Ended func() bool
}

// Rooms are the signaling rooms. Members are sessions (by key), not
// connections. Every method is safe for concurrent use and sends its
// notifications (peerJoined, peerLeft, signal) through a Router before it
// returns. Every member sees a peer's peerJoined before its peerLeft, a
// joiner gets its reply before the others' peerJoined, and one sender's
// signals arrive in the order they were made. Errors are protoo errors
// with the codes of docs/messaging.md (400, 403, 404, 413, 429).
type Rooms interface {
	// Join adds the member to the room, creating it, and returns the
	// other members. Joining a room again replaces the info and tells
	// nobody.
	Join(j Join) (*JoinResult, error)
	// Leave removes the member from a room and tells the others.
	Leave(m Member, room string) error
	// LeaveAll removes the session from every room it is in: it ended.
	LeaveAll(m Member)
	// Signal relays data from the member to the member called to of the
	// room.
	Signal(from Member, room, to string, data json.RawMessage) error
	// Members returns the member names of a room in join order, or nil.
	Members(room string) []string
	// Names returns the names of the open rooms, sorted.
	Names() []string
}
