package session

import (
	"container/list"
	"sync"
	"time"

	"github.com/switchboard/switchboard/internal/broker"
	"github.com/switchboard/switchboard/websocket"
)

// Session is one logged-in client of this node: it outlives a connection
// for the resume grace period. It is the broker subscriber for its
// channels and the Router's Recipient for its key; the Directory holds
// its Entry (name, key, node, resume token).
type Session struct {
	hub    *Hub
	key    string // node-qualified: Config.Node + "-" + a counter
	name   string
	viaURL bool // created by a URL peerId login, which a newer URL login may take over

	// Guarded by hub.mu: the session's place among the detached ones.
	ip     string        // the address block of the connection it lost
	parked *list.Element // in Hub.parked, while detached

	mu     sync.Mutex
	client *Client // the connection, nil while detached
	subs   map[string]struct{}
	grace  *time.Timer
	ended  bool

	quota broker.Quota // the channels this session created
}

var (
	_ broker.Subscriber = (*Session)(nil)
	_ Recipient         = (*Session)(nil)
)

// Name returns the login name.
func (s *Session) Name() string { return s.name }

// member is the session as a member of rooms.
func (s *Session) member() Member { return Member{Key: s.key, Name: s.name} }

// attach makes c the session's connection and returns the one it
// replaces, if any.
func (s *Session) attach(c *Client) *Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.client
	s.client = c
	if s.grace != nil {
		s.grace.Stop()
		s.grace = nil
	}
	return old
}

// attached returns the session's connection, or nil.
func (s *Session) attached() *Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.client
}

// Deliver queues a publication on the session's connection as a
// droppable frame; a detached session recovers it by offset on resume.
func (s *Session) Deliver(m *websocket.PreparedMessage) {
	s.mu.Lock()
	c := s.client
	if c != nil {
		_ = c.t.SendDroppable(m)
	}
	s.mu.Unlock()
}

// Notify queues a notification on the session's connection (Recipient):
// ErrOffline when it has none.
func (s *Session) Notify(m *websocket.PreparedMessage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client == nil {
		return ErrOffline
	}
	return s.client.t.Send(m)
}

// SendFrom queues a direct message from another client (a send, a
// signal) of n bytes (Recipient). It refuses it with ErrBusy when it
// would take the connection's outbound queue past half of either limit,
// unless the queue is empty: the other half stays for replies, room
// notices and the server, so that one sender's flood is refused (429)
// before the slow-consumer rule closes the receiver.
func (s *Session) SendFrom(m *websocket.PreparedMessage, n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client == nil {
		return ErrOffline
	}
	if busy(s.client.t, n) {
		return ErrBusy
	}
	if s.client.t.Send(m) != nil {
		return ErrOffline
	}
	return nil
}

// CanTake reports whether the session could take a direct message of n
// bytes now: nil, ErrOffline or ErrBusy (see SendFrom).
func (s *Session) CanTake(n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.client == nil:
		return ErrOffline
	case busy(s.client.t, n):
		return ErrBusy
	}
	return nil
}

// busy reports whether n more bytes would take t's queue past half of
// either limit (see SendFrom).
func busy(t Transport, n int) bool {
	q, ok := t.(queueReporter)
	if !ok {
		return false
	}
	st := q.Queued()
	if st.Messages == 0 {
		return false // one message always fits an empty queue
	}
	return 2*(st.Messages+1) > st.MaxMessages || 2*(st.Bytes+n) > st.MaxBytes
}

// queueReporter is implemented by transports that tell how full their
// outbound queue is (websocket.Conn).
type queueReporter interface {
	Queued() websocket.QueueState
}

var _ queueReporter = (*websocket.Conn)(nil)

// subscribed records a subscription; it reports false when the session
// has ended (the caller then unsubscribes again).
func (s *Session) subscribed(channel string, on bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return false
	}
	if on {
		s.subs[channel] = struct{}{}
	} else {
		delete(s.subs, channel)
	}
	return true
}

// isEnded reports whether the session has ended.
func (s *Session) isEnded() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ended
}
