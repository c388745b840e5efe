package peerconn

import (
	"crypto/rand"
	"encoding/binary"
)

// MaxID is the largest member id: ids must fit the native client's int
// (docs/peerconnection.md, "Members, queues and expiry"), which it parses with
// atoi.
const MaxID = 1<<31 - 1

// randomIDTries is how many random ids a sign-in draws before it gives up.
// With at most 10000 of 2^31-1 ids taken, one draw collides with
// probability 5e-6, so 64 never all do.
const randomIDTries = 64

// IDs allocates member ids for a [Roster]. The roster calls Next once per
// sign-in, one call at a time. An implementation shared by several nodes
// must hand out ids unique across all of them.
type IDs interface {
	// Next returns a new id in 1..MaxID for which taken, the roster's
	// "is this id signed in now", is false, or false when none is left.
	Next(taken func(id int) bool) (int, bool)
}

// NewSequentialIDs returns the reference server's ids: 1, 2, 3, ... up to
// MaxID, never reused (also not for a returning name).
func NewSequentialIDs() IDs { return &sequentialIDs{} }

// NewRandomIDs returns random ids in 1..MaxID from crypto/rand, unique among
// the members signed in (Config.RandomIDs). A random id may come back after
// its member left, with the chance of any other id (about 1 in 2^31).
func NewRandomIDs() IDs {
	return &randomIDs{draw: func() uint32 {
		var b [4]byte
		_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error
		return binary.BigEndian.Uint32(b[:])
	}}
}

// sequentialIDs counts from 1.
type sequentialIDs struct {
	last int // the last id handed out
}

func (s *sequentialIDs) Next(func(int) bool) (int, bool) {
	if s.last >= MaxID {
		return 0, false
	}
	s.last++
	return s.last, true
}

// randomIDs draws ids until one is free.
type randomIDs struct {
	draw func() uint32 // random bits
}

func (s *randomIDs) Next(taken func(int) bool) (int, bool) {
	for range randomIDTries {
		id := int(s.draw() & MaxID)
		if id != 0 && !taken(id) {
			return id, true
		}
	}
	return 0, false
}
