package session_test

import (
	"testing"

	"github.com/switchboard/switchboard/internal/session"
	"github.com/switchboard/switchboard/internal/session/sessiontest"
)

func TestMemoryDirectory(t *testing.T) {
	sessiontest.RunDirectory(t, func(*testing.T) session.Directory { return session.NewMemoryDirectory() })
}

func TestMemoryRouter(t *testing.T) {
	sessiontest.RunRouter(t, func(*testing.T) session.Router { return session.NewMemoryRouter() })
}

func TestMemoryRooms(t *testing.T) {
	sessiontest.RunRooms(t, func(_ *testing.T, r session.Router, lim session.RoomLimits) session.Rooms {
		return session.NewMemoryRooms(r, lim)
	})
}
