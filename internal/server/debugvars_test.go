package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testutil/servertest"
)

// TestDebugVarsOnlyWhenEnabled: runtime statistics are not served to
// every client of the port unless the operator asks for them.
func TestDebugVarsOnlyWhenEnabled(t *testing.T) {
	for _, on := range []bool{false, true} {
		s := servertest.Start(t, server.Config{DebugVars: on})
		resp, err := http.Get(s.URL("http", "/debug/vars"))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := resp.StatusCode == http.StatusOK && strings.Contains(string(body), `"memstats"`); got != on {
			t.Errorf("DebugVars=%v: status %d, memstats served %v", on, resp.StatusCode, got)
		}
	}
}
