package session

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/internal/broker"
	"github.com/switchboard/switchboard/internal/names"
	"github.com/switchboard/switchboard/protoo"
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

	nextKey atomic.Uint64
	stats   Counters
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
}

// NewHub returns a hub with the built-in methods registered.
func NewHub(cfg Config) *Hub {
	if cfg.LoginTimeout <= 0 {
		cfg.LoginTimeout = 30 * time.Second
	}
	if cfg.ResumeGrace == 0 {
		cfg.ResumeGrace = 30 * time.Second
	}
	if cfg.Broker == nil {
		cfg.Broker = broker.NewMemory(broker.MemoryConfig{})
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Hub{cfg: cfg, log: cfg.Logger, broker: cfg.Broker, byName: make(map[string]*Session),
		rooms: newRooms(cfg.MaxRoomMembers, cfg.MaxRoomsPerSession)}
	h.mux = NewMux()
	registerMethods(h.mux)
	registerRoomMethods(h.mux)
	return h
}

// Broker returns the hub's broker.
func (h *Hub) Broker() broker.Broker { return h.broker }

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
		h.end(s, true)
	}
}

// Open starts serving a connection. query is the upgrade URL's query:
// with peerId the connection logs in under that name at once (resume from
// the query's resume parameter), else its first request must be login
// within the login deadline. With roomId as well (a mediasoup-style URL,
// specs/protoo.md §1.2) the connection also joins that room, and a peerId
// already in use is taken over: the newer connection wins and the old one
// is closed with 4000 "replaced" (§3.3), the session and its rooms going
// on without a pause.
func (h *Hub) Open(t Transport, query url.Values) *Client {
	c := &Client{hub: h, t: t}
	if query.Has("peerId") || query.Has("roomId") {
		onOwnStack(func() { h.openURL(c, query) }) // a login: see onOwnStack
		return c
	}
	c.mu.Lock()
	c.deadline = time.AfterFunc(h.cfg.LoginTimeout, c.loginTimeout)
	c.mu.Unlock()
	return c
}

// openURL logs c in from its URL's peerId and joins its roomId.
func (h *Hub) openURL(c *Client, query url.Values) {
	refuse := func(err error) {
		// A final refusal: accept, explain, close with 4000
		// (specs/protoo.md §1.3).
		c.notifyError(protoo.CodeOf(err), "refused: "+reasonOf(err))
		c.t.Close(websocket.StatusDoNotReconnect, "refused: "+reasonOf(err))
	}
	name, roomID := query.Get("peerId"), query.Get("roomId")
	withRoom := query.Has("roomId")
	if !query.Has("peerId") {
		refuse(protoo.Errorf(protoo.CodeBadRequest, "roomId needs a peerId"))
		return
	}
	if withRoom {
		if err := validRoom(roomID); err != nil {
			refuse(err)
			return
		}
	}
	res, err := h.login(c, name, query.Get("resume"), withRoom)
	if err != nil {
		refuse(err)
		return
	}
	c.notify("login", res)
	if !withRoom {
		return
	}
	var info json.RawMessage
	if dn := query.Get("displayName"); dn != "" {
		info, _ = json.Marshal(struct {
			DisplayName string `json:"displayName"`
		}{dn})
	}
	c.urlRoom = roomID
	jr, err := h.rooms.join(c.Session(), roomID, info)
	if err != nil {
		refuse(err)
		h.end(c.Session(), true)
		return
	}
	c.notify("joined", jr)
}

// validName checks a login name: 1 to 64 characters under the naming
// rule of package names.
func validName(name string) error { return validNamed("name", name, MaxNameLength) }

// validNamed checks s, a what, under the naming rule of package names
// (at most max characters), and says what is wrong in a 400 otherwise.
func validNamed(what, s string, max int) error {
	if err := names.Check(s, max); err != nil {
		return protoo.Errorf(protoo.CodeBadRequest, "%s %s", what, err)
	}
	return nil
}

// loginResult is the reply to login (and the data of the login
// notification after a URL peerId login).
type loginResult struct {
	Key     string `json:"key"`
	Name    string `json:"name"`
	Welcome string `json:"welcome"`
	Resume  string `json:"resume"`
	Resumed bool   `json:"resumed"`
}

// login attaches c to the session called name: a new one, or the one
// whose resume token it presents (taking it over from its connection). With
// takeover, no token is needed: the newer connection wins.
func (h *Hub) login(c *Client, name, resume string, takeover bool) (*loginResult, error) {
	if err := validName(name); err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.sess != nil {
		c.mu.Unlock()
		return nil, protoo.Errorf(protoo.CodeBadRequest, "already logged in as %q", c.sess.name)
	}
	if c.closed {
		c.mu.Unlock()
		return nil, protoo.Errorf(protoo.CodeBadRequest, "connection closed")
	}
	c.mu.Unlock()

	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, protoo.Errorf(protoo.CodeInternal, "server shutting down")
	}
	s, taken := h.byName[name]
	var old *Client
	resumed := false
	if taken {
		if !takeover && (resume == "" || subtle.ConstantTimeCompare([]byte(resume), []byte(s.resume)) != 1) {
			h.mu.Unlock()
			return nil, protoo.Errorf(protoo.CodeConflict, "name %q is taken", name)
		}
		old = s.attach(c)
		resumed = true
	} else {
		s = &Session{
			hub:    h,
			key:    strconv.FormatUint(h.nextKey.Add(1), 10),
			name:   name,
			resume: newToken(),
			subs:   make(map[string]struct{}),
		}
		s.attach(c)
		h.byName[name] = s
	}
	h.mu.Unlock()

	c.mu.Lock()
	c.sess = s
	if c.deadline != nil {
		c.deadline.Stop()
	}
	c.mu.Unlock()
	h.stats.Logins.Add(1)
	if old != nil {
		h.stats.Takeovers.Add(1)
		old.t.Close(websocket.StatusDoNotReconnect, "replaced")
	}
	if !resumed {
		h.presence("join", name)
	}
	h.log.Debug("session: login", "name", name, "key", s.key, "resumed", resumed)
	return &loginResult{Key: s.key, Name: name, Welcome: "Welcome " + name, Resume: s.resume, Resumed: resumed}, nil
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

// detached is called when s lost its connection: the session ends now
// (clean close, no grace) or when the grace period passes without a
// resume.
func (h *Hub) detached(s *Session, clean bool) {
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if clean || closed || h.cfg.ResumeGrace < 0 {
		h.end(s, false)
		return
	}
	s.mu.Lock()
	if s.client == nil && !s.ended {
		if s.grace != nil {
			s.grace.Stop()
		}
		s.grace = time.AfterFunc(h.cfg.ResumeGrace, func() {
			if h.end(s, false) {
				h.stats.Expired.Add(1)
			}
		})
	}
	s.mu.Unlock()
}

// end removes a session that has no connection (or any, with force),
// unsubscribes it and publishes its leave. It reports whether it ended s.
func (h *Hub) end(s *Session, force bool) bool {
	h.mu.Lock()
	s.mu.Lock()
	if s.ended || (s.client != nil && !force) {
		s.mu.Unlock()
		h.mu.Unlock()
		return false
	}
	s.ended = true
	if s.grace != nil {
		s.grace.Stop()
	}
	subs := make([]string, 0, len(s.subs))
	for ch := range s.subs {
		subs = append(subs, ch)
	}
	clear(s.subs)
	s.mu.Unlock()
	if h.byName[s.name] == s {
		delete(h.byName, s.name)
	}
	h.mu.Unlock()
	for _, ch := range subs {
		h.broker.Unsubscribe(ch, s)
	}
	h.rooms.leaveAll(s)
	h.presence("leave", s.name)
	h.log.Debug("session: ended", "name", s.name, "key", s.key)
	return true
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
	resume string

	mu     sync.Mutex
	client *Client // the connection, nil while detached
	subs   map[string]struct{}
	grace  *time.Timer
	ended  bool
}

var _ broker.Subscriber = (*Session)(nil)

// Key returns the session id.
func (s *Session) Key() string { return s.key }

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

// Subscriptions returns the session's channels, sorted.
func (s *Session) Subscriptions() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.subs))
}
