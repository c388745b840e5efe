// Package conformance is a raw-socket conformance suite for Switchboard's
// WebSocket server, modelled after the Autobahn TestSuite and organised by
// the sections of RFC 6455 and RFC 7692. It holds no production code: the
// suite lives in the package's tests.
//
// Each test starts a real server (internal/server) on a loopback port and
// drives its /echo endpoint over plain net.Conn with the suite's own frame
// codec, handshake and permessage-deflate helpers, none of which come from
// the websocket package: an implementation checked against itself proves
// little. Every case is a row in a table: a name that starts with the RFC
// section it checks ("5.3/masking/unmasked-text"; RFC 7692 sections read
// "7692-6.1"), the rule it checks, the request to open with, the bytes to
// send (one TCP write per element) and the outcome expected: echoed
// messages, pongs, or a close frame with its code followed by the server
// closing TCP. After each case a fresh connection must still echo, so a
// case that upsets the server shows up even when its own connection looks
// fine. Waits have deadlines; nothing sleeps.
//
// Where to start: the tables are cases_*_test.go, one Test per Autobahn
// group (TestFraming, TestUTF8, TestCompression, ...); the runner, the
// server configurations and the case counts are in harness_test.go; the
// steps a case is made of in steps_test.go; the client in
// raw_client_test.go and pmd_client_test.go; the codec, checked against the
// RFC's own examples, in frame_test.go; abusive clients in
// robustness_test.go. A failing case prints what it sent, what came back
// and the rule it checks. TestCaseCounts logs how many cases each group and
// each RFC section holds:
//
//	go test -race -run TestCaseCounts -v ./internal/conformance/
package conformance
