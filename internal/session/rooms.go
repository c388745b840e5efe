package session

import (
	"encoding/json"
	"maps"
	"slices"
	"sync"

	"github.com/switchboard/switchboard/protoo"
	"github.com/switchboard/switchboard/websocket"
)

// Room limits and their defaults (Config.MaxRoomMembers,
// Config.MaxRoomsPerSession).
const (
	DefaultMaxRoomMembers     = 32
	DefaultMaxRoomsPerSession = 16
	// MaxRoomName is the longest room name, in characters.
	MaxRoomName = 128
	// MaxInfoBytes is the largest info object a member may attach.
	MaxInfoBytes = 16 << 10
	// DefaultMaxRoomInfoBytes is the default of Config.MaxRoomInfoBytes,
	// the info one session may hold over all its rooms.
	DefaultMaxRoomInfoBytes = 64 << 10
)

// rooms is the hub's room registry: WebRTC signaling rooms whose members
// are sessions (not connections), so that a connection taken over or
// resumed keeps its rooms and nobody sees it leave.
//
// Notifications (peerJoined, peerLeft, signal) are decided under mu, in
// the order of the changes they report, and queued in out; they are
// encoded before or after (never under) mu and sent after it is unlocked,
// by flush, which sends the queue in that order under sendMu. So joins,
// leaves and signals do not wait for each other's sends, and every member
// still sees a peer's peerJoined before its peerLeft, and one sender's
// signals in the order they were sent.
type rooms struct {
	maxMembers int
	maxPerSess int
	maxInfo    int // info bytes per session, over all its rooms

	mu     sync.Mutex
	byName map[string]*room
	bySess map[*Session][]string // the rooms each session is in, in join order
	out    []notice              // decided, not sent yet, in order

	sendMu sync.Mutex
	spare  []notice // out's previous backing array, for reuse; guarded by sendMu
}

// notice is a notification to send: frame to one session or several, or,
// when frame is nil, peerLeft of id in room, encoded when sent.
type notice struct {
	frame    *websocket.PreparedMessage
	room, id string
	to       *Session
	many     []*Session
	reply    func() // a joiner's reply, sent before the others hear of it
}

// room is one signaling room.
type room struct {
	name    string
	members map[string]*member // by session name
	order   []string           // join order, for the roster
}

type member struct {
	sess *Session
	info json.RawMessage
}

// Peer is one member of a room as the roster shows it.
type Peer struct {
	ID   string          `json:"id"`
	Info json.RawMessage `json:"info"`
}

// joinResult is the reply to join (and the data of notification joined
// after a URL roomId join).
type joinResult struct {
	Room  string `json:"room"`
	Peers []Peer `json:"peers"`
}

func newRooms(maxMembers, maxPerSess, maxInfo int) *rooms {
	if maxMembers <= 0 {
		maxMembers = DefaultMaxRoomMembers
	}
	if maxPerSess <= 0 {
		maxPerSess = DefaultMaxRoomsPerSession
	}
	if maxInfo <= 0 {
		maxInfo = DefaultMaxRoomInfoBytes
	}
	return &rooms{maxMembers: maxMembers, maxPerSess: maxPerSess, maxInfo: maxInfo,
		byName: make(map[string]*room), bySess: make(map[*Session][]string)}
}

// flush sends the notices decided so far, in order, outside mu. Whoever
// queues notices calls it after unlocking mu; when it returns, they have
// been handed to the recipients' connections, by this caller or by one
// that held sendMu before it.
func (rs *rooms) flush() {
	rs.sendMu.Lock()
	defer rs.sendMu.Unlock()
	rs.mu.Lock()
	batch := rs.out
	rs.out = rs.spare
	rs.mu.Unlock()
	for i := range batch {
		n := &batch[i]
		if n.reply != nil {
			n.reply()
			continue
		}
		if n.frame == nil {
			f, err := notification("peerLeft", struct {
				Room string `json:"room"`
				ID   string `json:"id"`
			}{n.room, n.id})
			if err != nil {
				continue
			}
			n.frame = f
		}
		if n.to != nil {
			n.to.sendDirect(n.frame)
		}
		for _, s := range n.many {
			s.sendDirect(n.frame)
		}
	}
	clear(batch)
	rs.spare = batch[:0]
}

// validRoom checks a room name: 1 to 128 characters under the naming
// rule of package names.
func validRoom(name string) error { return validNamed("room name", name, MaxRoomName) }

// join adds s to the room called name with info, creating the room, and
// returns the other members. Joining a room s is already in replaces its
// info and tells nobody: a client that reconnected rebuilds its view.
func (rs *rooms) join(s *Session, name string, info json.RawMessage) (*joinResult, error) {
	return rs.joinReply(s, name, info, nil)
}

// joinReply is join, with reply, when set, called with the result before
// the others get peerJoined: a joiner gets its reply (and the roster)
// before any member who heard of it can signal it. reply runs in the
// order of the rooms' notices, possibly on another caller's flush, but
// before joinReply returns.
func (rs *rooms) joinReply(s *Session, name string, info json.RawMessage, reply func(*joinResult)) (*joinResult, error) {
	if err := validRoom(name); err != nil {
		return nil, err
	}
	if len(info) == 0 || string(info) == "null" {
		info = json.RawMessage(`{}`)
	}
	if len(info) > MaxInfoBytes {
		return nil, protoo.Errorf(protoo.CodeTooLarge, "info has %d bytes, at most %d allowed", len(info), MaxInfoBytes)
	}
	joined, err := notification("peerJoined", struct {
		Room string          `json:"room"`
		ID   string          `json:"id"`
		Info json.RawMessage `json:"info"`
	}{name, s.name, info})
	if err != nil {
		return nil, err
	}
	res, err := rs.add(s, name, info, joined, reply)
	rs.flush()
	return res, err
}

// add is join under rs.mu: it queues joined, the peerJoined frame, for the
// other members.
func (rs *rooms) add(s *Session, name string, info json.RawMessage, joined *websocket.PreparedMessage, reply func(*joinResult)) (*joinResult, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if s.isEnded() {
		return nil, protoo.Errorf(protoo.CodeBadRequest, "session ended")
	}
	if total := rs.infoBytes(s, name) + len(info); total > rs.maxInfo {
		return nil, protoo.Errorf(protoo.CodeTooLarge, "room infos would total %d bytes, at most %d allowed per session", total, rs.maxInfo)
	}
	r := rs.byName[name]
	if r != nil {
		if m, ok := r.members[s.name]; ok {
			if m.sess == s {
				m.info = info
				return &joinResult{Room: name, Peers: r.roster(s.name)}, nil
			}
			// An ended session of the same name that has not left yet:
			// it leaves now (which may close the room).
			rs.remove(m.sess, r)
			r = rs.byName[name]
		}
	}
	if r != nil {
		if len(r.members) >= rs.maxMembers {
			return nil, protoo.Errorf(protoo.CodeTooMany, "room %q is full: %d members at most", name, rs.maxMembers)
		}
	}
	if n := len(rs.bySess[s]); n >= rs.maxPerSess {
		return nil, protoo.Errorf(protoo.CodeTooMany, "already in %d rooms, at most %d allowed", n, rs.maxPerSess)
	}
	if r == nil {
		r = &room{name: name, members: make(map[string]*member)}
		rs.byName[name] = r
	}
	res := &joinResult{Room: name, Peers: r.roster(s.name)}
	if others := r.sessions(""); len(others) > 0 {
		if reply != nil {
			rs.out = append(rs.out, notice{reply: func() { reply(res) }})
		}
		rs.out = append(rs.out, notice{frame: joined, many: others})
	}
	r.members[s.name] = &member{sess: s, info: info}
	r.order = append(r.order, s.name)
	rs.bySess[s] = append(rs.bySess[s], name)
	return res, nil
}

// infoBytes is the info s holds in its rooms other than the one called
// but. The caller holds rs.mu.
func (rs *rooms) infoBytes(s *Session, but string) int {
	n := 0
	for _, name := range rs.bySess[s] {
		if name == but {
			continue
		}
		if r := rs.byName[name]; r != nil {
			if m := r.members[s.name]; m != nil && m.sess == s {
				n += len(m.info)
			}
		}
	}
	return n
}

// leave removes s from the room called name and tells the others.
func (rs *rooms) leave(s *Session, name string) error {
	rs.mu.Lock()
	r := rs.byName[name]
	if r == nil || r.members[s.name] == nil || r.members[s.name].sess != s {
		rs.mu.Unlock()
		return protoo.Errorf(protoo.CodeNotFound, "not a member of room %q", name)
	}
	rs.remove(s, r)
	rs.mu.Unlock()
	rs.flush()
	return nil
}

// leaveAll removes s from every room it is in: its session ended.
func (rs *rooms) leaveAll(s *Session) {
	rs.mu.Lock()
	for _, name := range slices.Clone(rs.bySess[s]) {
		if r := rs.byName[name]; r != nil {
			rs.remove(s, r)
		}
	}
	delete(rs.bySess, s)
	rs.mu.Unlock()
	rs.flush()
}

// remove takes s out of r, queues peerLeft for the others and drops an
// empty room. The caller holds rs.mu and flushes after unlocking it.
func (rs *rooms) remove(s *Session, r *room) {
	if left := slices.DeleteFunc(rs.bySess[s], func(n string) bool { return n == r.name }); len(left) > 0 {
		rs.bySess[s] = left
	} else {
		delete(rs.bySess, s)
	}
	if m := r.members[s.name]; m == nil || m.sess != s {
		return // replaced by a newer session of the same name
	}
	delete(r.members, s.name)
	r.order = slices.DeleteFunc(r.order, func(n string) bool { return n == s.name })
	if len(r.members) == 0 {
		delete(rs.byName, r.name)
		return
	}
	rs.out = append(rs.out, notice{room: r.name, id: s.name, many: r.sessions("")})
}

// signal relays data from s to the member to of the room called name.
func (rs *rooms) signal(s *Session, name, to string, data json.RawMessage) error {
	frame, err := notification("signal", struct {
		Room string          `json:"room"`
		From string          `json:"from"`
		Data json.RawMessage `json:"data"`
	}{name, s.name, data})
	if err != nil {
		return err
	}
	rs.mu.Lock()
	r := rs.byName[name]
	if r == nil || r.members[s.name] == nil || r.members[s.name].sess != s {
		rs.mu.Unlock()
		return protoo.Errorf(protoo.CodeForbidden, "not a member of room %q: join it first", name)
	}
	m := r.members[to]
	if m == nil {
		rs.mu.Unlock()
		return protoo.Errorf(protoo.CodeNotFound, "no member %q in room %q", to, name)
	}
	switch m.sess.canTake(len(data)) {
	case errOffline:
		rs.mu.Unlock()
		return protoo.Errorf(protoo.CodeNotFound, "member %q of room %q is offline", to, name)
	case errBusy:
		rs.mu.Unlock()
		return errSignalBusy(to)
	}
	rs.out = append(rs.out, notice{frame: frame, to: m.sess})
	rs.mu.Unlock()
	rs.flush()
	return nil
}

func errSignalBusy(to string) error {
	return protoo.Errorf(protoo.CodeTooMany, "member %q is not keeping up: its queue is half full, try again later", to)
}

// names returns the names of the rooms, sorted.
func (rs *rooms) names() []string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return slices.Sorted(maps.Keys(rs.byName))
}

// members returns the member names of a room in join order, or nil.
func (rs *rooms) members(name string) []string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if r := rs.byName[name]; r != nil {
		return slices.Clone(r.order)
	}
	return nil
}

// roster lists the members except the one called but, in join order.
func (r *room) roster(but string) []Peer {
	peers := make([]Peer, 0, len(r.members))
	for _, n := range r.order {
		if n != but {
			peers = append(peers, Peer{ID: n, Info: r.members[n].info})
		}
	}
	return peers
}

// sessions returns the members' sessions but the one called but, in join
// order.
func (r *room) sessions(but string) []*Session {
	out := make([]*Session, 0, len(r.members))
	for _, n := range r.order {
		if n != but {
			out = append(out, r.members[n].sess)
		}
	}
	return out
}

// notification encodes a notification frame once.
func notification(method string, v any) (*websocket.PreparedMessage, error) {
	data, err := protoo.Marshal(v)
	if err != nil {
		return nil, err
	}
	return websocket.NewPreparedMessage(websocket.OpText, protoo.AppendNotification(nil, method, data)), nil
}

// Rooms returns the names of the open rooms, sorted.
func (h *Hub) Rooms() []string { return h.rooms.names() }

// RoomMembers returns the members of a room in join order, nil when there
// is no such room.
func (h *Hub) RoomMembers(room string) []string { return h.rooms.members(room) }

// isEnded reports whether the session has ended.
func (s *Session) isEnded() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ended
}
