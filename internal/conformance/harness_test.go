package conformance

import (
	"fmt"
	"maps"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/internal/testutil/servertest"
	"github.com/switchboard/switchboard/websocket"
)

// tcase is one row of a conformance table.
type tcase struct {
	// name is "<RFC section>/<topic>/<case>"; RFC 7692 sections are
	// written "7692-<section>".
	name string
	// rfc is the rule checked, quoted when the case fails.
	rfc    string
	server serverKind
	req    request
	// status is the handshake status expected; 0 means 101. altStatus,
	// when set, is another status that conforms as well.
	status, altStatus int
	// checkResp checks the handshake reply further.
	checkResp func(*http.Response) error
	steps     []step
	// serial runs the case alone rather than in parallel with the rest
	// of its table: a case that holds tens of MB at once.
	serial bool
}

// group is one part of the suite, named like the Autobahn TestSuite's.
type group struct {
	name  string
	cases func() []tcase
}

// groups lists the suite's tables in Autobahn order.
func groups() []group {
	return []group{
		{"1 framing", framingCases},
		{"2 pings/pongs", pingCases},
		{"3 reserved bits", reservedBitCases},
		{"4 opcodes", opcodeCases},
		{"5 fragmentation", fragmentationCases},
		{"6 utf-8", utf8Cases},
		{"7 close handling", closeCases},
		{"8 limits", limitCases},
		{"9.1/9.2 large messages", largeCases},
		{"9 handshake", handshakeCases},
		{"12/13 compression", compressionCases},
	}
}

// sectionOf is the RFC section a case checks: its name up to the first "/".
func sectionOf(tc tcase) string {
	s, _, _ := strings.Cut(tc.name, "/")
	return s
}

// countBySection counts cases by RFC section, so that one can say "N cases
// in section X".
func countBySection(cases []tcase) map[string]int {
	n := map[string]int{}
	for _, tc := range cases {
		n[sectionOf(tc)]++
	}
	return n
}

// caseCounts counts the whole suite's cases by group and by RFC section.
func caseCounts() (byGroup, bySection map[string]int, total int) {
	byGroup = map[string]int{}
	var all []tcase
	for _, g := range groups() {
		cases := g.cases()
		byGroup[g.name] = len(cases)
		all = append(all, cases...)
	}
	return byGroup, countBySection(all), len(all)
}

// TestCaseCounts checks the tables' names and logs how many cases each
// group and each RFC section holds.
func TestCaseCounts(t *testing.T) {
	seen := map[string]bool{}
	for _, g := range groups() {
		for _, tc := range g.cases() {
			if seen[tc.name] {
				t.Errorf("duplicate case name %q", tc.name)
			}
			seen[tc.name] = true
			if parts := strings.Split(tc.name, "/"); len(parts) < 3 || slices.Contains(parts, "") {
				t.Errorf("case name %q is not <section>/<topic>/<case>", tc.name)
			}
			if tc.rfc == "" {
				t.Errorf("case %q does not say which rule it checks", tc.name)
			}
			if len(tc.steps) == 0 && tc.status == 0 && tc.checkResp == nil {
				t.Errorf("case %q asserts nothing", tc.name)
			}
		}
	}
	byGroup, bySection, total := caseCounts()
	for _, g := range groups() {
		t.Logf("group %-18s %4d cases", g.name, byGroup[g.name])
	}
	sections := slices.SortedFunc(maps.Keys(bySection), compareSections)
	for _, s := range sections {
		t.Logf("section %-10s %4d cases", s, bySection[s])
	}
	t.Logf("total %d cases", total)
}

// compareSections orders "5.10" after "5.9" and RFC 7692 after RFC 6455.
func compareSections(a, b string) int {
	key := func(s string) []int {
		var k []int
		if rest, ok := strings.CutPrefix(s, "7692-"); ok {
			k, s = append(k, 1), rest
		} else {
			k = append(k, 0)
		}
		for _, p := range strings.Split(s, ".") {
			var n int
			fmt.Sscan(p, &n)
			k = append(k, n)
		}
		return k
	}
	return slices.Compare(key(a), key(b))
}

// serverKind names a server configuration the cases run against.
type serverKind int

const (
	srvDefault   serverKind = iota // defaults: 1 MiB messages, deflate when offered
	srvSmall                       // MaxMessageBytes 4096
	srvNoDeflate                   // Deflate.Disabled
	srvTakeover                    // Deflate.ContextTakeover
	srvOrigins                     // AllowedOrigins set
	srvLarge                       // MaxMessageBytes largeLimit, the default queue limit
)

// smallLimit is srvSmall's MaxMessageBytes.
const smallLimit = 4096

// allowedOrigin is an origin srvOrigins allows besides its own.
const allowedOrigin = "https://app.example.com"

func (k serverKind) config() server.Config {
	// Keepalive pings are off, so that every frame the server sends is one
	// a case expects.
	cfg := server.Config{PingInterval: -1}
	switch k {
	case srvSmall:
		cfg.MaxMessageBytes = smallLimit
	case srvNoDeflate:
		cfg.Deflate = websocket.DeflateConfig{Disabled: true}
	case srvTakeover:
		cfg.Deflate = websocket.DeflateConfig{ContextTakeover: true}
	case srvOrigins:
		cfg.AllowedOrigins = []string{allowedOrigin, "*.trusted.example"}
	case srvLarge:
		cfg.MaxMessageBytes = largeLimit
	}
	return cfg
}

// runCases runs each case as a parallel subtest, against one server per
// kind the cases need.
func runCases(t *testing.T, cases []tcase) {
	t.Helper()
	addrs := map[serverKind]string{}
	for _, tc := range cases {
		if _, ok := addrs[tc.server]; !ok {
			addrs[tc.server] = servertest.Start(t, tc.server.config()).Addr
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.serial {
				t.Parallel()
			}
			runCase(t, addrs[tc.server], tc)
		})
	}
}

// runCase runs one case, then checks that the server still echoes on a
// fresh connection.
func runCase(t *testing.T, addr string, tc tcase) {
	tr := &transcript{}
	fail := func(format string, args ...any) {
		t.Errorf("%s\n%s\nrule: %s\ntranscript (→ sent by the suite, ← from the server):\n%s",
			tc.name, fmt.Sprintf(format, args...), tc.rfc, tr)
	}
	defer func() {
		if err := stillServes(addr); err != nil {
			t.Errorf("%s: afterwards a fresh connection does not echo: %v", tc.name, err)
		}
	}()
	c, resp, err := dial(addr, tc.req, tr)
	if c != nil {
		defer c.close()
	}
	if err != nil {
		fail("handshake: %v", err)
		return
	}
	want := tc.status
	if want == 0 {
		want = http.StatusSwitchingProtocols
	}
	if resp.StatusCode != want && (tc.altStatus == 0 || resp.StatusCode != tc.altStatus) {
		fail("handshake status %d, want %d", resp.StatusCode, want)
		return
	}
	if tc.checkResp != nil {
		if err := tc.checkResp(resp); err != nil {
			fail("handshake reply: %v", err)
			return
		}
	}
	for i, s := range tc.steps {
		if err := s.run(c); err != nil {
			fail("step %d (%s): %v", i+1, s.what, err)
			return
		}
	}
}

// stillServes opens a fresh connection, checks an echo and closes cleanly.
func stillServes(addr string) error {
	tr := &transcript{}
	c, resp, err := dial(addr, request{}, tr)
	if c != nil {
		defer c.close()
	}
	if err == nil && resp.StatusCode != http.StatusSwitchingProtocols {
		err = fmt.Errorf("status %d", resp.StatusCode)
	}
	for _, s := range []step{send(textFrame("still serving")), expectText("still serving"), send(closeFrame(1000, "")), expectClosed(1000)} {
		if err != nil {
			break
		}
		err = s.run(c)
	}
	if err != nil {
		return fmt.Errorf("%w\n%s", err, tr)
	}
	return nil
}

// TestMain fails the run when goroutines outlive the tests: every server
// is shut down by then and every client connection closed.
func TestMain(m *testing.M) {
	before := runtime.NumGoroutine()
	code := m.Run()
	if code == 0 {
		if err := testutil.WaitGoroutines(before, 10*time.Second); err != nil {
			fmt.Fprintln(os.Stderr, "conformance: after the tests:", err)
			code = 1
		}
	}
	os.Exit(code)
}
