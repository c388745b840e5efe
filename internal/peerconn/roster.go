package peerconn

import (
	"errors"
	"iter"
)

// Errors of [Roster.SignIn]; the channel answers both with 503.
var (
	// ErrTooManyMembers: the roster holds its maximum of members.
	ErrTooManyMembers = errors.New("too many members")
	// ErrIDsExhausted: the roster's [IDs] has no id left.
	ErrIDsExhausted = errors.New("member ids exhausted")
)

// Member is one signed-in peer as the member list knows it.
type Member struct {
	ID   int
	Name string // as listed in entries: raw, ',' replaced, at most 512 bytes
}

// Roster is a channel's member list: who is signed in, under which id and
// name, in join order (docs/peerconnection.md, "Model"). It holds nothing
// node-local: no connections, no queues, no clocks; those stay in the
// channel's mailbox on the node that serves the member's /wait. The channel
// turns each SignIn and SignOut into the presence notice every other member
// receives.
//
// [MemoryRoster] is the one-node implementation; a cluster implementation
// shares the list between nodes, with ids from an [IDs] unique across them.
// The channel calls a Roster under its own lock, one call at a time and
// never re-entrantly, so Lookup, which every request makes, must answer from
// memory; an implementation that talks to other nodes keeps a local replica
// for it. Every implementation passes peerconntest.RunRoster.
type Roster interface {
	// SignIn adds a member with a new id and the name name(id) returns,
	// after every member already signed in, and returns it. It fails with
	// ErrTooManyMembers or ErrIDsExhausted and then changes nothing.
	SignIn(name func(id int) string) (Member, error)
	// SignOut removes the member with this id and reports whether there
	// was one. An id that left is never a member again unless the roster's
	// IDs hand it out anew.
	SignOut(id int) bool
	// Lookup returns the member with this id, if signed in.
	Lookup(id int) (Member, bool)
	// All yields the members in join order. The roster must not be changed
	// during the iteration.
	All() iter.Seq[Member]
	// Len is the number of members signed in.
	Len() int
}

// MemoryRoster is the in-memory [Roster] of one node: a map by id and a
// list in join order. It does no locking of its own (see [Roster]).
type MemoryRoster struct {
	ids         IDs
	max         int
	byID        map[int]*rosterEntry
	first, last *rosterEntry // join order
}

var _ Roster = (*MemoryRoster)(nil)

// rosterEntry is a member in the join order list.
type rosterEntry struct {
	Member
	prev, next *rosterEntry
}

// NewMemoryRoster returns an empty roster that takes ids from ids (nil means
// [NewSequentialIDs]) and holds at most maxMembers (0 or less means
// DefaultMaxMembers).
func NewMemoryRoster(ids IDs, maxMembers int) *MemoryRoster {
	if ids == nil {
		ids = NewSequentialIDs()
	}
	if maxMembers <= 0 {
		maxMembers = DefaultMaxMembers
	}
	return &MemoryRoster{ids: ids, max: maxMembers, byID: make(map[int]*rosterEntry)}
}

// SignIn implements [Roster].
func (r *MemoryRoster) SignIn(name func(id int) string) (Member, error) {
	if len(r.byID) >= r.max {
		return Member{}, ErrTooManyMembers
	}
	id, ok := r.ids.Next(r.taken)
	if !ok {
		return Member{}, ErrIDsExhausted
	}
	e := &rosterEntry{Member: Member{ID: id, Name: name(id)}, prev: r.last}
	if r.last != nil {
		r.last.next = e
	} else {
		r.first = e
	}
	r.last = e
	r.byID[id] = e
	return e.Member, nil
}

func (r *MemoryRoster) taken(id int) bool { return r.byID[id] != nil }

// SignOut implements [Roster].
func (r *MemoryRoster) SignOut(id int) bool {
	e := r.byID[id]
	if e == nil {
		return false
	}
	delete(r.byID, id)
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		r.first = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		r.last = e.prev
	}
	e.prev, e.next = nil, nil
	return true
}

// Lookup implements [Roster].
func (r *MemoryRoster) Lookup(id int) (Member, bool) {
	if e := r.byID[id]; e != nil {
		return e.Member, true
	}
	return Member{}, false
}

// All implements [Roster].
func (r *MemoryRoster) All() iter.Seq[Member] {
	return func(yield func(Member) bool) {
		for e := r.first; e != nil; e = e.next {
			if !yield(e.Member) {
				return
			}
		}
	}
}

// Len implements [Roster].
func (r *MemoryRoster) Len() int { return len(r.byID) }
