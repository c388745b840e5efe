package peerconn

// maxID is the largest member id: ids must fit the native client's int
// (spec §5.1), which it parses with atoi.
const maxID = 1<<31 - 1

// idSource hands out member ids: 1, 2, 3, ... as the reference server does
// (never reused).
type idSource struct {
	last int // the last id
}

func newIDSource() idSource { return idSource{} }

// next returns a new id, or false when none is left.
func (s *idSource) next(live map[int]*member) (int, bool) {
	if s.last >= maxID {
		return 0, false
	}
	s.last++
	return s.last, true
}
