package server_test

import (
	"slices"
	"testing"

	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/session"
	"github.com/switchboard/switchboard/internal/session/sessiontest"
	"github.com/switchboard/switchboard/internal/testutil"
)

// TestMessagingConfigSeams: the Directory, Router and Rooms of
// MessagingConfig are the ones the hub uses.
func TestMessagingConfigSeams(t *testing.T) {
	dir := session.NewMemoryDirectory()
	router := session.NewMemoryRouter()
	rooms := session.NewMemoryRooms(router, session.RoomLimits{})
	s := server.New(server.Config{Messaging: server.MessagingConfig{Directory: dir, Router: router, Rooms: rooms}})
	testutil.Serve(t, s)
	if err := dir.Claim(session.Entry{Name: "elsewhere", Key: "x-1", Node: "x"}, "t"); err != nil {
		t.Fatal(err)
	}
	router.Add("x-1", sessiontest.NewRecorder("elsewhere", &sessiontest.Log{}))
	if _, err := rooms.Join(session.Join{Member: session.Member{Key: "x-1", Name: "elsewhere"}, Room: "given"}); err != nil {
		t.Fatal(err)
	}
	if got := s.Hub().Online(); !slices.Equal(got, []string{"elsewhere"}) {
		t.Errorf("hub's online = %v: not the configured Directory", got)
	}
	if got := s.Hub().Rooms(); !slices.Equal(got, []string{"given"}) {
		t.Errorf("hub's rooms = %v: not the configured Rooms", got)
	}
}
