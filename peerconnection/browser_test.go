package peerconnection_test

import (
	"context"
	_ "embed"
	"net/http"
	"net/http/httptest"
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
// loopback (see browser.InLoopbackNetns): Chromium binds WebRTC sockets to every
// interface it finds and would otherwise pair the machine's other addresses
// with the loopback candidates.
func TestChromiumCallThroughServer(t *testing.T) {
	if !browser.InLoopbackNetns(t) {
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
		// getStats may report the nominated pair a moment after the data
		// channel opened on it: poll until it names one.
		var pair string
		var err error
		testutil.Poll(waitFor, func() bool {
			pair, err = chromedp.Run(ctx, chromedp.Evaluate[string](`selectedPair()`, chromedp.EvalAwaitPromise))
			return err != nil || pair != "none"
		})
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

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
