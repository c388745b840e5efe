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

// MemoryRooms are the Rooms of one node, members by session key, their
// notifications delivered through a Router.
//
// Notifications (peerJoined, peerLeft, signal) are decided under mu, in
// the order of the changes they report, and queued in out; they are
// encoded before or after (never under) mu and sent after it is unlocked,
// by flush, which sends the queue in that order under sendMu. So joins,
// leaves and signals do not wait for each other's sends, and every member
// still sees a peer's peerJoined before its peerLeft, and one sender's
// signals in the order they were sent. sendMu is one per node, not per
// room: a session's leaving of all its rooms, and the signals of one
// sender to several rooms, are then ordered too.
type MemoryRooms struct {
	router     Router
	maxMembers int
	maxPerSess int
	maxInfo    int // info bytes per session, over all its rooms

	mu     sync.Mutex
	byName map[string]*room
	byKey  map[string][]string // the rooms each session is in, in join order
	out    []notice            // decided, not sent yet, in order

	sendMu sync.Mutex
	spare  []notice // out's previous backing array, for reuse; guarded by sendMu
}

var _ Rooms = (*MemoryRooms)(nil)

// RoomLimits are the limits of MemoryRooms; zero fields take the
// defaults (DefaultMaxRoomMembers, DefaultMaxRoomsPerSession,
// DefaultMaxRoomInfoBytes).
type RoomLimits struct {
	MaxMembers       int // members of one room; a join past it is 429
	MaxPerSession    int // rooms of one session; a join past it is 429
	MaxInfoPerMember int // info bytes of one session over all its rooms; past it 413
}

// notice is a notification to send: frame to one session or several (by
// key), or, when frame is nil, peerLeft of id in room, encoded when sent.
type notice struct {
	frame    *websocket.PreparedMessage
	room, id string
	to       string
	many     []string
	reply    func() // a joiner's reply, sent before the others hear of it
}

// room is one signaling room.
type room struct {
	name    string
	members map[string]*member // by session name
	order   []string           // join order, for the roster
}

type member struct {
	key  string
	info json.RawMessage
}

// Peer is one member of a room as the roster shows it.
type Peer struct {
	ID   string          `json:"id"`
	Info json.RawMessage `json:"info"`
}

// JoinResult is the reply to join (and the data of notification joined
// after a URL roomId join).
type JoinResult struct {
	Room  string `json:"room"`
	Peers []Peer `json:"peers"`
}

// NewMemoryRooms returns rooms that send their notifications through
// router.
func NewMemoryRooms(router Router, lim RoomLimits) *MemoryRooms {
	if lim.MaxMembers <= 0 {
		lim.MaxMembers = DefaultMaxRoomMembers
	}
	if lim.MaxPerSession <= 0 {
		lim.MaxPerSession = DefaultMaxRoomsPerSession
	}
	if lim.MaxInfoPerMember <= 0 {
		lim.MaxInfoPerMember = DefaultMaxRoomInfoBytes
	}
	return &MemoryRooms{router: router, maxMembers: lim.MaxMembers, maxPerSess: lim.MaxPerSession, maxInfo: lim.MaxInfoPerMember,
		byName: make(map[string]*room), byKey: make(map[string][]string)}
}

// flush sends the notices decided so far, in order, outside mu. Whoever
// queues notices calls it after unlocking mu; when it returns, they have
// been handed to the recipients' connections, by this caller or by one
// that held sendMu before it.
func (rs *MemoryRooms) flush() {
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
		if n.to != "" {
			_ = rs.router.Notify(n.to, n.frame)
		}
		for _, k := range n.many {
			_ = rs.router.Notify(k, n.frame)
		}
	}
	clear(batch)
	rs.spare = batch[:0]
}

// validRoom checks a room name: 1 to 128 characters under the naming
// rule of package names.
func validRoom(name string) error { return validNamed("room name", name, MaxRoomName) }

// Join implements Rooms. j.Reply runs in the order of the rooms'
// notices, possibly on another caller's flush, but before Join returns:
// a joiner gets its reply (and the roster) before any member who heard
// of it can signal it.
func (rs *MemoryRooms) Join(j Join) (*JoinResult, error) {
	if err := validRoom(j.Room); err != nil {
		return nil, err
	}
	info := j.Info
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
	}{j.Room, j.Name, info})
	if err != nil {
		return nil, err
	}
	res, err := rs.add(j, info, joined)
	rs.flush()
	return res, err
}

// add is Join under rs.mu: it queues joined, the peerJoined frame, for
// the other members.
func (rs *MemoryRooms) add(j Join, info json.RawMessage, joined *websocket.PreparedMessage) (*JoinResult, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	name, key := j.Room, j.Key
	if j.Ended != nil && j.Ended() {
		return nil, protoo.Errorf(protoo.CodeBadRequest, "session ended")
	}
	if total := rs.infoBytes(j.Member, name) + len(info); total > rs.maxInfo {
		return nil, protoo.Errorf(protoo.CodeTooLarge, "room infos would total %d bytes, at most %d allowed per session", total, rs.maxInfo)
	}
	r := rs.byName[name]
	if r != nil {
		if m, ok := r.members[j.Name]; ok {
			if m.key == key {
				m.info = info
				return &JoinResult{Room: name, Peers: r.roster(j.Name)}, nil
			}
			// An ended session of the same name that has not left yet:
			// it leaves now (which may close the room).
			rs.remove(Member{Key: m.key, Name: j.Name}, r)
			r = rs.byName[name]
		}
	}
	if r != nil {
		if len(r.members) >= rs.maxMembers {
			return nil, protoo.Errorf(protoo.CodeTooMany, "room %q is full: %d members at most", name, rs.maxMembers)
		}
	}
	if n := len(rs.byKey[key]); n >= rs.maxPerSess {
		return nil, protoo.Errorf(protoo.CodeTooMany, "already in %d rooms, at most %d allowed", n, rs.maxPerSess)
	}
	if r == nil {
		r = &room{name: name, members: make(map[string]*member)}
		rs.byName[name] = r
	}
	res := &JoinResult{Room: name, Peers: r.roster(j.Name)}
	if others := r.keys(""); len(others) > 0 {
		if reply := j.Reply; reply != nil {
			rs.out = append(rs.out, notice{reply: func() { reply(res) }})
		}
		rs.out = append(rs.out, notice{frame: joined, many: others})
	}
	r.members[j.Name] = &member{key: key, info: info}
	r.order = append(r.order, j.Name)
	rs.byKey[key] = append(rs.byKey[key], name)
	return res, nil
}

// infoBytes is the info m holds in its rooms other than the one called
// but. The caller holds rs.mu.
func (rs *MemoryRooms) infoBytes(m Member, but string) int {
	n := 0
	for _, name := range rs.byKey[m.Key] {
		if name == but {
			continue
		}
		if r := rs.byName[name]; r != nil {
			if mm := r.members[m.Name]; mm != nil && mm.key == m.Key {
				n += len(mm.info)
			}
		}
	}
	return n
}

// isMember reports whether m is a member of r. The caller holds rs.mu.
func (r *room) isMember(m Member) bool {
	mm := r.members[m.Name]
	return mm != nil && mm.key == m.Key
}

// Leave implements Rooms.
func (rs *MemoryRooms) Leave(m Member, name string) error {
	rs.mu.Lock()
	r := rs.byName[name]
	if r == nil || !r.isMember(m) {
		rs.mu.Unlock()
		return protoo.Errorf(protoo.CodeNotFound, "not a member of room %q", name)
	}
	rs.remove(m, r)
	rs.mu.Unlock()
	rs.flush()
	return nil
}

// LeaveAll implements Rooms.
func (rs *MemoryRooms) LeaveAll(m Member) {
	rs.mu.Lock()
	for _, name := range slices.Clone(rs.byKey[m.Key]) {
		if r := rs.byName[name]; r != nil {
			rs.remove(m, r)
		}
	}
	delete(rs.byKey, m.Key)
	rs.mu.Unlock()
	rs.flush()
}

// remove takes m out of r, queues peerLeft for the others and drops an
// empty room. The caller holds rs.mu and flushes after unlocking it.
func (rs *MemoryRooms) remove(m Member, r *room) {
	if left := slices.DeleteFunc(rs.byKey[m.Key], func(n string) bool { return n == r.name }); len(left) > 0 {
		rs.byKey[m.Key] = left
	} else {
		delete(rs.byKey, m.Key)
	}
	if !r.isMember(m) {
		return // replaced by a newer session of the same name
	}
	delete(r.members, m.Name)
	r.order = slices.DeleteFunc(r.order, func(n string) bool { return n == m.Name })
	if len(r.members) == 0 {
		delete(rs.byName, r.name)
		return
	}
	rs.out = append(rs.out, notice{room: r.name, id: m.Name, many: r.keys("")})
}

// Signal implements Rooms.
func (rs *MemoryRooms) Signal(from Member, name, to string, data json.RawMessage) error {
	frame, err := notification("signal", struct {
		Room string          `json:"room"`
		From string          `json:"from"`
		Data json.RawMessage `json:"data"`
	}{name, from.Name, data})
	if err != nil {
		return err
	}
	rs.mu.Lock()
	r := rs.byName[name]
	if r == nil || !r.isMember(from) {
		rs.mu.Unlock()
		return protoo.Errorf(protoo.CodeForbidden, "not a member of room %q: join it first", name)
	}
	m := r.members[to]
	if m == nil {
		rs.mu.Unlock()
		return protoo.Errorf(protoo.CodeNotFound, "no member %q in room %q", to, name)
	}
	switch rs.router.CanTake(m.key, len(data)) {
	case ErrOffline:
		rs.mu.Unlock()
		return protoo.Errorf(protoo.CodeNotFound, "member %q of room %q is offline", to, name)
	case ErrBusy:
		rs.mu.Unlock()
		return errSignalBusy(to)
	}
	rs.out = append(rs.out, notice{frame: frame, to: m.key})
	rs.mu.Unlock()
	rs.flush()
	return nil
}

func errSignalBusy(to string) error {
	return protoo.Errorf(protoo.CodeTooMany, "member %q is not keeping up: its queue is half full, try again later", to)
}

// Names implements Rooms.
func (rs *MemoryRooms) Names() []string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return slices.Sorted(maps.Keys(rs.byName))
}

// Members implements Rooms.
func (rs *MemoryRooms) Members(name string) []string {
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

// keys returns the members' session keys but the one called but, in
// join order.
func (r *room) keys(but string) []string {
	out := make([]string, 0, len(r.members))
	for _, n := range r.order {
		if n != but {
			out = append(out, r.members[n].key)
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
func (h *Hub) Rooms() []string { return h.rooms.Names() }

// RoomMembers returns the members of a room in join order, nil when there
// is no such room.
func (h *Hub) RoomMembers(room string) []string { return h.rooms.Members(room) }
