package server_test

import (
	"testing"

	"github.com/switchboard/switchboard/internal/testutil/nodetest"
)

// TestWebClientBounds runs the web app's client.js in Node against a
// scripted server (test/node/webclient-bounds.mjs): a recovering
// subscription holds back at most 4096 live publications (the newest, in
// order), and a reconnect whose resume fails is abandoned with close code
// 4002, a code of Switchboard's own range (docs/protoo.md).
func TestWebClientBounds(t *testing.T) {
	const count = 5000
	var res struct {
		OK            bool   `json:"ok"`
		Delivered     int    `json:"delivered"`
		First         int    `json:"first"`
		Last          int    `json:"last"`
		RestoreCode   int    `json:"restoreCode"`
		RestoreReason string `json:"restoreReason"`
	}
	nodetest.RunJSON(t, &res, "webclient-bounds.mjs", "--count", "5000")
	// Offsets 3 .. count+2 arrived during the recovery; the newest 4096 stay.
	if res.Delivered != 4096 || res.Last != count+2 || res.First != count+2-4095 {
		t.Errorf("held publications: delivered %d (offsets %d..%d), want 4096 (%d..%d)", res.Delivered, res.First, res.Last, count+2-4095, count+2)
	}
	if res.RestoreCode != 4002 || res.RestoreReason != "restore failed" {
		t.Errorf("abandoned reconnect closed with %d %q, want 4002 \"restore failed\"", res.RestoreCode, res.RestoreReason)
	}
}
