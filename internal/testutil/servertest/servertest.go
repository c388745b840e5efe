package servertest

import (
	"testing"

	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testutil"
)

// Server is a Switchboard server running on a 127.0.0.1 listener. Addr is
// its host:port; WaitServed waits for Serve to return after a Shutdown the
// test made itself.
type Server struct {
	*server.Server
	*testutil.Serving
}

// Start runs server.New(cfg) on 127.0.0.1:0 until the test ends; see
// [testutil.Serve] for what its cleanup checks.
func Start(t testing.TB, cfg server.Config) *Server {
	t.Helper()
	s := server.New(cfg)
	return &Server{Server: s, Serving: testutil.Serve(t, s)}
}

// URL returns scheme://Addr followed by path, e.g. URL("ws", "/echo").
func (s *Server) URL(scheme, path string) string {
	return scheme + "://" + s.Addr + path
}
