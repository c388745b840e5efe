// Package nodetest runs the Node.js scripts in test/node from Go tests.
//
// The scripts drive Switchboard with real npm clients (ws, protoo-client) and
// print one JSON line on stdout. Start with [RunJSON]:
//
//	var res struct{ OK bool `json:"ok"` }
//	nodetest.RunJSON(t, &res, "ws-echo.mjs", "--url", url)
//
// Node.js and test/node/node_modules must be installed (`make deps`); a test
// that needs them fails, never skips, when they are missing.
//
// It is a test helper: import it only from _test.go files.
package nodetest
