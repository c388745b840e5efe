package main

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/internal/testutil/browser"
	"github.com/switchboard/switchboard/internal/testutil/servertest"
)

const waitTimeout = 60 * time.Second

// TestPionEchoWithChromium runs this example as a Pion peer in room
// "echo", and the web app in headless Chromium (fake camera and
// microphone) joins the same room: the page offers, the example answers,
// and messages the page sends on the data channel come back from the
// example. It runs in a loopback-only network namespace.
func TestPionEchoWithChromium(t *testing.T) {
	if !browser.InLoopbackNetns(t) {
		return
	}
	ts := servertest.Start(t, server.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	out := new(testutil.SyncBuffer)
	var wg sync.WaitGroup
	var runErr error
	wg.Go(func() {
		runErr = run(ctx, []string{"--url", ts.URL("ws", "/ws"), "--room", "echo", "--name", "pion", "--loopback"}, out, out)
	})
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		if runErr != context.Canceled {
			t.Errorf("run returned %v, want context.Canceled", runErr)
		}
		t.Logf("example output:\n%s", out.String())
	})
	testutil.WaitFor(t, waitTimeout, "the example in the room", func() bool { return strings.Contains(out.String(), "joined room echo as pion with 0 others") })

	page := browser.New(t, browser.WithFakeMedia(), browser.WithFlags("allow-loopback-in-peer-connection", "disable-features=WebRtcHideLocalIpsWithMdns"))
	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		actx, cancel := context.WithTimeout(page, waitTimeout)
		defer cancel()
		if err := chromedp.Do(actx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	poll := func(what, cond string) {
		t.Helper()
		actx, cancel := context.WithTimeout(page, waitTimeout)
		defer cancel()
		if _, err := chromedp.Run(actx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(waitTimeout))); err != nil {
			t.Fatalf("waiting for %s: %v\nexample output:\n%s", what, err, out.String())
		}
	}
	start := time.Now()
	do("log in", chromedp.Navigate(ts.URL("http", "/")), chromedp.WaitVisible(chromedp.ID("name")), chromedp.SendKeys(chromedp.ID("name"), "web\n"))
	poll("online", `document.getElementById('state').dataset.state === 'online'`)
	do("join", chromedp.Click(chromedp.ID("tab-video")), chromedp.SetValue(chromedp.ID("video-room"), "echo"), chromedp.Click(chromedp.ID("video-join")))
	poll("the data channel to pion open", `window.switchboardApp.room.peers.get('pion')?.dc.readyState === 'open'`)
	open := time.Since(start)
	for _, msg := range []string{"hello pion", "second message", strings.Repeat("x", 10000)} {
		actx, cancel := context.WithTimeout(page, waitTimeout)
		n, err := chromedp.Run(actx, chromedp.Evaluate[int](`window.switchboardApp.room.send(`+jsQuote(msg)+`, 'pion')`))
		cancel()
		if err != nil || n != 1 {
			t.Fatalf("send on the data channel: %d channels, %v", n, err)
		}
		poll("the echo of "+msg[:min(len(msg), 20)], `window.switchboardApp.room.messages.some(m => m.from === 'pion' && m.text === `+jsQuote(msg)+`)`)
	}
	t.Logf("data channel between Chromium and the Pion example open %v after the page loaded; 3 messages echoed", open.Round(time.Millisecond))
	if got := strings.Count(out.String(), "echoed "); got != 3 {
		t.Errorf("the example echoed %d messages, want 3", got)
	}
	if !strings.Contains(out.String(), "connection with web connected") {
		t.Errorf("the example never saw its connection with web connected")
	}
	// The page leaves: the example drops its connection.
	do("leave", chromedp.Click(chromedp.ID("video-leave")))
	testutil.WaitFor(t, waitTimeout, "the example sees web leave", func() bool { return strings.Contains(out.String(), "web left") })
}

func jsQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
