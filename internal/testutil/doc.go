// Package testutil holds the small helpers that Switchboard's tests share:
// a [SyncBuffer] for logs and command output written while a test reads,
// deadline polls ([Poll], [WaitFor]), goroutine-leak checks
// ([CheckGoroutines], [WaitGoroutines]) and [Serve], which runs any server
// with Serve and Shutdown on a loopback port until the test ends.
//
// Start with [CheckGoroutines] and [Serve]:
//
//	testutil.CheckGoroutines(t, 5*time.Second) // first: its cleanup runs last
//	s := testutil.Serve(t, &frontdoor.Server{Config: cfg})
//	c, err := net.Dial("tcp", s.Addr)
//
// To run the whole Switchboard server, use package servertest instead.
//
// It imports only the standard library, so that the tests of every package,
// internal ones included, can use it. It is a test helper: import it only
// from _test.go files.
package testutil
