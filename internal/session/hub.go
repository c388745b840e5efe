package session

import (
	"container/list"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/internal/broker"
	"github.com/switchboard/switchboard/websocket"
)

// Config configures a Hub. The zero value works; every field documents its
// default.
type Config struct {
	// LoginTimeout is how long a connection may stay without a login
	// before it is closed with 4000 "login timeout". Default 30 s.
	LoginTimeout time.Duration
	// ResumeGrace is how long a session outlives a connection that ended
	// abnormally, so that a reconnect presenting its resume token keeps
	// its name and subscriptions. A clean close (1000, 1001, 1005) ends
	// the session at once. Default 30 s; negative: no grace.
	ResumeGrace time.Duration
	// MaxRoomMembers caps the members of one room; a join past it is
	// error 429. Default 32.
	MaxRoomMembers int
	// MaxRoomsPerSession caps the rooms one session is in; a join past it
	// is error 429. Default 16.
	MaxRoomsPerSession int
	// MaxDetached caps the sessions in their resume grace period, and
	// MaxDetachedPerIP those that lost connections from one address (an
	// IPv4 address, or an IPv6 /64). A detach past either cap ends the
	// oldest such session at once, counted in Counters.Evicted (see
	// detached.go). Defaults 4096 and 64; negative: no cap.
	MaxDetached      int
	MaxDetachedPerIP int
	// MaxRoomInfoBytes caps the room info one session holds, summed over
	// its rooms; a join past it is error 413. Default 64 KiB.
	MaxRoomInfoBytes int
	// Broker carries the channels. Default broker.NewMemory with the
	// built-in rules.
	Broker broker.Broker
	// Logger receives session events; nil discards them.
	Logger *slog.Logger
}

// MaxNameLength is the longest login name, in characters.
const MaxNameLength = 64

// Hub is the messaging service: the registry of sessions by name and the
// method mux every connection's requests go through.
type Hub struct {
	cfg    Config
	log    *slog.Logger
	broker broker.Broker
	mux    *Mux
	rooms  *rooms

	mu     sync.Mutex
	byName map[string]*Session
	closed bool
	parked list.List      // detached sessions, oldest first
	perIP  map[string]int // detached sessions per address block

	nextKey  atomic.Uint64
	stats    Counters
	refusals *refusalLog
}

// orUnlimited is n, or def for 0, or no limit for a negative n.
func orUnlimited(n, def int) int {
	switch {
	case n == 0:
		return def
	case n < 0:
		return math.MaxInt
	}
	return n
}

// Counters are the hub's event counts.
type Counters struct {
	Requests   atomic.Int64 // requests served
	Errors     atomic.Int64 // error responses sent
	Invalid    atomic.Int64 // frames that were not protoo messages
	Logins     atomic.Int64
	Takeovers  atomic.Int64 // sessions taken over by a new connection
	Expired    atomic.Int64 // sessions ended by the resume grace period
	LoginLimit atomic.Int64 // connections closed by the login deadline
	Evicted    atomic.Int64 // detached sessions ended early by MaxDetached or MaxDetachedPerIP
	Refused    atomic.Int64 // refusals logged or suppressed (see refusals.go)
	Busy       atomic.Int64 // sends and signals refused with 429: the recipient's queue was half full
}

// NewHub returns a hub with the built-in methods registered.
func NewHub(cfg Config) *Hub {
	if cfg.LoginTimeout <= 0 {
		cfg.LoginTimeout = 30 * time.Second
	}
	if cfg.ResumeGrace == 0 {
		cfg.ResumeGrace = 30 * time.Second
	}
	cfg.MaxDetached = orUnlimited(cfg.MaxDetached, DefaultMaxDetached)
	cfg.MaxDetachedPerIP = orUnlimited(cfg.MaxDetachedPerIP, DefaultMaxDetachedPerIP)
	if cfg.MaxRoomInfoBytes <= 0 {
		cfg.MaxRoomInfoBytes = DefaultMaxRoomInfoBytes
	}
	if cfg.Broker == nil {
		cfg.Broker = broker.NewMemory(broker.MemoryConfig{})
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Hub{cfg: cfg, log: cfg.Logger, broker: cfg.Broker, byName: make(map[string]*Session),
		perIP: make(map[string]int), refusals: newRefusalLog(cfg.Logger),
		rooms: newRooms(cfg.MaxRoomMembers, cfg.MaxRoomsPerSession, cfg.MaxRoomInfoBytes)}
	h.mux = NewMux()
	registerMethods(h.mux)
	registerRoomMethods(h.mux)
	return h
}

// Counters returns the hub's counters.
func (h *Hub) Counters() *Counters { return &h.stats }

// Sessions returns the number of sessions, attached or in their grace
// period.
func (h *Hub) Sessions() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.byName)
}

// Online returns the sorted names of the sessions with a connection.
func (h *Hub) Online() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	names := make([]string, 0, len(h.byName))
	for name, s := range h.byName {
		if s.attached() != nil {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// Close stops the grace timers and ends the sessions still waiting for a
// reconnect. Connections are closed by their owner.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	var waiting []*Session
	for _, s := range h.byName {
		s.mu.Lock()
		if s.grace != nil {
			s.grace.Stop()
		}
		if s.client == nil {
			waiting = append(waiting, s)
		}
		s.mu.Unlock()
	}
	h.mu.Unlock()
	for _, s := range waiting {
		h.end(s, nil)
	}
}

// Open starts serving a connection. query is the upgrade URL's query:
// with peerId the connection logs in under that name at once (resume from
// the query's resume parameter), else its first request must be login
// within the login deadline. With roomId as well (a mediasoup-style URL,
// docs/protoo.md) the connection also joins that room, and a peerId
// in use by another URL connection is taken over (see openURL).
func (h *Hub) Open(t Transport, query url.Values) *Client {
	c := &Client{hub: h, t: t}
	if query.Has("peerId") || query.Has("roomId") {
		onOwnStack(func() { h.openURL(c, query) }) // a login: see onOwnStack
		return c
	}
	c.mu.Lock()
	c.loginBy = time.Now().Add(h.cfg.LoginTimeout)
	c.deadline = time.AfterFunc(h.cfg.LoginTimeout, c.loginTimeout)
	c.mu.Unlock()
	return c
}

// presence publishes a join or leave on the presence channel.
func (h *Hub) presence(event, name string) {
	data, _ := json.Marshal(struct {
		Event string `json:"event"`
		Name  string `json:"name"`
	}{event, name})
	if _, err := h.broker.Publish(broker.ChannelPresence, broker.Message{Data: data, Server: true}); err != nil {
		h.log.Warn("session: presence publish failed", "err", err)
	}
}

// lookup returns the session called name while it has a connection.
func (h *Hub) lookup(name string) *Session {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.byName[name]
}

func newToken() string {
	var b [18]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Session is one logged-in client: it outlives a connection for the
// resume grace period. It is the broker subscriber for its channels.
type Session struct {
	hub    *Hub
	key    string
	name   string
	viaURL bool   // created by a URL peerId login, which a newer URL login may take over
	resume string // the resume token; guarded by hub.mu

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

var _ broker.Subscriber = (*Session)(nil)

// Name returns the login name.
func (s *Session) Name() string { return s.name }

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

// sendDirect queues a direct message on the session's connection; it
// reports false when the session has none.
func (s *Session) sendDirect(m *websocket.PreparedMessage) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client == nil {
		return false
	}
	return s.client.t.Send(m) == nil
}

// Direct-message errors of sendFrom.
var (
	errOffline = errors.New("session: offline")
	errBusy    = errors.New("session: recipient's queue is half full")
)

// sendFrom queues a direct message from another client (a send, a
// signal) of n bytes. It refuses it with errBusy when it would take the
// connection's outbound queue past half of either limit, unless the queue
// is empty: the other half stays for replies, room notices and the
// server, so that one sender's flood is refused (429) before the
// slow-consumer rule closes the receiver.
func (s *Session) sendFrom(m *websocket.PreparedMessage, n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client == nil {
		return errOffline
	}
	if busy(s.client.t, n) {
		return errBusy
	}
	if s.client.t.Send(m) != nil {
		return errOffline
	}
	return nil
}

// canTake reports whether the session could take a direct message of n
// bytes now: nil, errOffline or errBusy (see sendFrom).
func (s *Session) canTake(n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.client == nil:
		return errOffline
	case busy(s.client.t, n):
		return errBusy
	}
	return nil
}

// busy reports whether n more bytes would take t's queue past half of
// either limit (see sendFrom).
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
