package peerconnection_test

import (
	"context"
	_ "embed"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/internal/testutil/browser"
	"github.com/switchboard/switchboard/internal/testutil/servertest"
)

//go:embed testdata/call.html
var callPage string

// TestChromiumCallThroughServer opens two headless Chromium pages served
// from another loopback origin than the server's; they sign in
// cross-origin, read their ids and tell notices from messages by Pragma,
// and set up a WebRTC data channel that carries a message each way. Then
// one hangs up and the other sees BYE and the sign-out.
//
// The test runs in a network namespace of its own whose only interface is
// loopback (see inLoopbackNetns): Chromium binds WebRTC sockets to every
// interface it finds and would otherwise pair the machine's other addresses
// with the loopback candidates.
func TestChromiumCallThroughServer(t *testing.T) {
	if !inLoopbackNetns(t) {
		return
	}
	srv := servertest.Start(t, server.Config{})
	serverURL := srv.URL("http", "")
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(callPage))
	}))
	t.Cleanup(page.Close)
	if page.URL == serverURL || !strings.HasPrefix(page.URL, "http://127.0.0.1:") {
		t.Fatalf("page on %s, server on %s: want two loopback origins", page.URL, serverURL)
	}

	// Chromium gathers no loopback candidates by default and hides host
	// addresses behind mDNS names; the page signals 127.0.0.1 ones only.
	start := time.Now()
	tabA := browser.New(t, browser.WithFakeMedia(), browser.WithFlags("allow-loopback-in-peer-connection", "disable-features=WebRtcHideLocalIpsWithMdns"))
	tabB, cancelB := chromedp.NewContext(tabA)
	defer cancelB()
	ctxA, cancelA := context.WithTimeout(tabA, 60*time.Second)
	defer cancelA()
	ctxB, cancelBT := context.WithTimeout(tabB, 60*time.Second)
	defer cancelBT()
	for _, ctx := range []context.Context{ctxA, ctxB} {
		if err := chromedp.Do(ctx, chromedp.Navigate(page.URL)); err != nil {
			t.Fatalf("navigate: %v", err)
		}
	}
	eval := func(ctx context.Context, js string) float64 {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[float64](js, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return v
	}
	logs := func(ctx context.Context) []string {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.logs`))
		if err != nil {
			t.Fatalf("logs: %v", err)
		}
		return v
	}
	waitLog := func(ctx context.Context, name, want string) {
		t.Helper()
		if !testutil.Poll(waitFor, func() bool { return slices.Contains(logs(ctx), want) }) {
			t.Fatalf("%s did not log %q; alice logged:\n%s\nbob logged:\n%s", name, want,
				strings.Join(logs(ctxA), "\n"), strings.Join(logs(ctxB), "\n"))
		}
	}

	if id := eval(ctxA, `start(`+jsString(serverURL)+`, "alice")`); id != 1 {
		t.Fatalf("alice's id %v", id)
	}
	if id := eval(ctxB, `start(`+jsString(serverURL)+`, "bob")`); id != 2 {
		t.Fatalf("bob's id %v", id)
	}
	waitLog(ctxA, "alice", "My id: 1, first entry: alice,1,1")
	waitLog(ctxB, "bob", "My id: 2, first entry: bob,2,1")
	waitLog(ctxB, "bob", "Peer: alice,1,1")
	waitLog(ctxA, "alice", "Server notification: bob,2,1")

	eval(ctxB, `call(1).then(() => 0)`)
	waitLog(ctxA, "alice", "data channel: hello from 2")
	waitLog(ctxB, "bob", "data channel: hello from 1")
	t.Logf("data channel between the two pages open and used both ways %v after the browser started", time.Since(start).Round(time.Millisecond))
	waitLog(ctxA, "alice", "Message from 2")
	for _, ctx := range []context.Context{ctxA, ctxB} {
		pair, err := chromedp.Run(ctx, chromedp.Evaluate[string](`selectedPair()`, chromedp.EvalAwaitPromise))
		if err != nil || pair != "127.0.0.1 -> 127.0.0.1" {
			t.Errorf("selected candidate pair %q (%v), want loopback", pair, err)
		}
	}

	if status := eval(ctxB, `hangUp()`); status != 200 {
		t.Fatalf("sign-out status %v", status)
	}
	waitLog(ctxA, "alice", "BYE from 2")
	waitLog(ctxA, "alice", "Server notification: bob,2,0")
	testutil.WaitFor(t, waitFor, "one member left", func() bool { return srv.PeerConn().Channel().Stats().Members == 1 })
	for _, ctx := range []context.Context{ctxA, ctxB} {
		for _, l := range logs(ctx) {
			if strings.Contains(l, "failed") || strings.Contains(l, "error") {
				t.Errorf("page logged %q", l)
			}
		}
	}
	browser.Screenshot(t, ctxA, "alice")
}

// netnsEnv is set in the environment of a test re-run by inLoopbackNetns.
const netnsEnv = "SWITCHBOARD_TEST_LOOPBACK_NETNS"

// inLoopbackNetns reports whether the test runs in a network namespace of
// its own. If not, it re-runs the test there, in this test binary, under
// `unshare --net` with only the loopback interface up, reports the
// outcome and returns false. Everything the test starts (servers,
// Chromium) then lives in that namespace and can reach nothing but
// 127.0.0.1 and ::1.
func inLoopbackNetns(t *testing.T) bool {
	t.Helper()
	if os.Getenv(netnsEnv) != "" {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "--net", "--", "sh", "-c", `ip link set lo up && exec "$@"`, "sh",
		os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1", "-test.timeout=150s")
	cmd.Env = append(os.Environ(), netnsEnv+"=1")
	out, err := cmd.CombinedOutput()
	t.Logf("in a loopback-only network namespace:\n%s", out)
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("the test failed in its network namespace (%v); running it needs root (unshare --net) and iproute2", err)
	}
	return false
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
