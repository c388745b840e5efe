// Package servertest runs the whole Switchboard server (server.New) on a
// loopback port for a test. Start with [Start]:
//
//	ts := servertest.Start(t, server.Config{})
//	c, err := websocket.Dial(ctx, ts.URL("ws", "/echo"), nil)
//
// The server is shut down when the test ends, and the test fails unless
// Shutdown succeeds and Serve returns frontdoor.ErrServerClosed. Tests of
// package server itself cannot import it (an import cycle); they use
// testutil.Serve.
//
// It is a test helper: import it only from _test.go files.
package servertest
