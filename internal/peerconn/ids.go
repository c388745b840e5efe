package peerconn

import (
	"crypto/rand"
	"encoding/binary"
)

// maxID is the largest member id: ids must fit the native client's int
// (docs/peerconnection.md, "Members, queues and expiry"), which it parses with
// atoi.
const maxID = 1<<31 - 1

// randomIDTries is how many random ids a sign-in draws before it gives up.
// With at most 10000 of 2^31-1 ids taken, one draw collides with
// probability 5e-6, so 64 never all do.
const randomIDTries = 64

// idSource hands out member ids: 1, 2, 3, ... as the reference server does
// (never reused), or, with Config.RandomIDs, random ids in 1..2^31-1 that
// are unique among the members signed in. A random id may come back after
// its member left, with the chance of any other id (about 1 in 2^31).
type idSource struct {
	last int           // the last sequential id
	draw func() uint32 // random bits; nil for sequential ids
}

func newIDSource(random bool) idSource {
	if !random {
		return idSource{}
	}
	return idSource{draw: func() uint32 {
		var b [4]byte
		_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error
		return binary.BigEndian.Uint32(b[:])
	}}
}

// next returns a new id, or false when none is left.
func (s *idSource) next(live map[int]*member) (int, bool) {
	if s.draw == nil {
		if s.last >= maxID {
			return 0, false
		}
		s.last++
		return s.last, true
	}
	for range randomIDTries {
		id := int(s.draw() & maxID)
		if id != 0 && live[id] == nil {
			return id, true
		}
	}
	return 0, false
}
