package peerconn_test

import (
	"errors"
	"testing"

	"github.com/switchboard/switchboard/internal/peerconn"
	"github.com/switchboard/switchboard/internal/peerconn/peerconntest"
)

// The in-memory roster passes the roster behaviour suite, with either
// id allocator.
func TestMemoryRoster(t *testing.T) {
	t.Run("sequential ids", func(t *testing.T) {
		peerconntest.RunRoster(t, func(_ *testing.T, maxMembers int) peerconn.Roster {
			return peerconn.NewMemoryRoster(peerconn.NewSequentialIDs(), maxMembers)
		})
	})
	t.Run("random ids", func(t *testing.T) {
		peerconntest.RunRoster(t, func(_ *testing.T, maxMembers int) peerconn.Roster {
			return peerconn.NewMemoryRoster(peerconn.NewRandomIDs(), maxMembers)
		})
	})
}

// noIDs is an IDs with none left.
type noIDs struct{}

func (noIDs) Next(func(int) bool) (int, bool) { return 0, false }

// A roster whose IDs have none left refuses a sign-in with ErrIDsExhausted
// and changes nothing.
func TestMemoryRosterIDsExhausted(t *testing.T) {
	r := peerconn.NewMemoryRoster(noIDs{}, 0)
	if m, err := r.SignIn(func(int) string { return "x" }); !errors.Is(err, peerconn.ErrIDsExhausted) {
		t.Fatalf("SignIn = %v, %v; want ErrIDsExhausted", m, err)
	}
	if r.Len() != 0 {
		t.Errorf("Len = %d after a refused sign-in", r.Len())
	}
}
