// Package sessiontest holds the behaviour suites of the session seams
// (session.Directory, session.Router, session.Rooms). Every
// implementation runs them from its tests, the in-memory ones of package
// session included:
//
//	func TestDirectory(t *testing.T) {
//		sessiontest.RunDirectory(t, func(*testing.T) session.Directory { return mine() })
//	}
//
// Start with RunDirectory, RunRouter and RunRooms; Recorder is a fake
// session.Recipient that records what it is sent, for tests of other
// implementations too.
package sessiontest
