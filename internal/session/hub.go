package session

import (
	"container/list"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"math"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/internal/broker"
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
	// Node names this node in session keys: a session's key is Node +
	// "-" + a counter of the node, so keys of different nodes never
	// collide, and the node of a key is the key up to its last "-".
	// Default a random 8-character id, new with every process.
	Node string
	// Directory maps login names to sessions (seams.go). Default
	// NewMemoryDirectory.
	Directory Directory
	// Router delivers direct messages and room notices by session key.
	// Default NewMemoryRouter.
	Router Router
	// Rooms are the signaling rooms. Default NewMemoryRooms over Router
	// with MaxRoomMembers, MaxRoomsPerSession and MaxRoomInfoBytes
	// (which a Rooms given here enforces by itself).
	Rooms Rooms
	// Logger receives session events; nil discards them.
	Logger *slog.Logger
}

// MaxNameLength is the longest login name, in characters.
const MaxNameLength = 64

// Hub is the messaging service: the method mux every connection's
// requests go through, and this node's sessions. Names, delivery and
// rooms are behind the seams of Config (Directory, Router, Rooms); the
// hub keeps what is node-local: the *Session values by key, the login
// deadlines, the grace timers and the detached caps.
type Hub struct {
	cfg    Config
	log    *slog.Logger
	broker broker.Broker
	mux    *Mux
	dir    Directory
	router Router
	rooms  Rooms

	mu     sync.Mutex
	local  map[string]*Session // this node's sessions by key
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
	if cfg.Node == "" {
		cfg.Node = newNodeID()
	}
	if cfg.Directory == nil {
		cfg.Directory = NewMemoryDirectory()
	}
	if cfg.Router == nil {
		cfg.Router = NewMemoryRouter()
	}
	if cfg.Rooms == nil {
		cfg.Rooms = NewMemoryRooms(cfg.Router, RoomLimits{MaxMembers: cfg.MaxRoomMembers,
			MaxPerSession: cfg.MaxRoomsPerSession, MaxInfoPerMember: cfg.MaxRoomInfoBytes})
	}
	h := &Hub{cfg: cfg, log: cfg.Logger, broker: cfg.Broker, dir: cfg.Directory, router: cfg.Router,
		rooms: cfg.Rooms, local: make(map[string]*Session),
		perIP: make(map[string]int), refusals: newRefusalLog(cfg.Logger)}
	h.mux = NewMux()
	registerMethods(h.mux)
	registerRoomMethods(h.mux)
	return h
}

// Counters returns the hub's counters.
func (h *Hub) Counters() *Counters { return &h.stats }

// Node returns the node's name, the prefix of its session keys.
func (h *Hub) Node() string { return h.cfg.Node }

// Sessions returns the number of this node's sessions, attached or in
// their grace period.
func (h *Hub) Sessions() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.local)
}

// Online returns the sorted names of the sessions with a connection, as
// the Directory lists them.
func (h *Hub) Online() []string {
	names, _ := h.dir.Online("", math.MaxInt)
	return names
}

// Close stops the grace timers and ends the sessions still waiting for a
// reconnect. Connections are closed by their owner.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	var waiting []*Session
	for _, s := range h.local {
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

func newToken() string {
	var b [18]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// newNodeID is a random node name of 8 base32 characters.
func newNodeID() string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return strings.ToLower(base32.StdEncoding.EncodeToString(b[:]))
}

// newKey returns a new session key of this node.
func (h *Hub) newKey() string {
	return h.cfg.Node + "-" + strconv.FormatUint(h.nextKey.Add(1), 10)
}
