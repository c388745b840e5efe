package peerconnection_test

import "time"

// waitFor bounds every wait in these tests; it only catches hangs.
const waitFor = 10 * time.Second
