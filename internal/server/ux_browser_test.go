package server_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	sbclient "github.com/switchboard/switchboard/client"
	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/internal/testutil/browser"
)

// The tests in this file check what a user sees in the web app: errors,
// wording, message order, the icon, the layout on a phone. Each saves
// screenshots of the states it checks at 1280 px and at 390 px (a phone)
// with browser.Screenshot, into testdata/artifacts or $SWITCHBOARD_ARTIFACTS.

// Viewport sizes of the screenshots.
const (
	desktopWidth, desktopHeight = 1280, 900
	phoneWidth, phoneHeight     = 390, 844
)

// layoutProblems is a JavaScript expression listing what is wrong with the
// page's layout at the current width: anything wider than the screen,
// tabs that scroll or are cut off, a Disconnect button off the header row
// (it is hidden while there is nothing to disconnect).
const layoutProblems = `(() => {
	const out = [];
	const de = document.documentElement;
	if (de.scrollWidth > window.innerWidth) out.push('page ' + de.scrollWidth + ' px wide on a ' + window.innerWidth + ' px screen');
	const tabs = document.getElementById('tabs');
	if (tabs.scrollWidth > tabs.clientWidth) out.push('tabs scroll: ' + tabs.scrollWidth + ' > ' + tabs.clientWidth);
	const tr = tabs.getBoundingClientRect();
	for (const t of tabs.children) {
		const r = t.getBoundingClientRect();
		if (r.left < tr.left - 0.5 || r.right > tr.right + 0.5 || r.right > window.innerWidth) out.push(t.textContent + ' tab cut off');
	}
	const h = document.querySelector('.top h1').getBoundingClientRect();
	const button = document.getElementById('disconnect');
	if (!button.disabled) {
		const d = button.getBoundingClientRect();
		const mid = (d.top + d.bottom) / 2;
		if (mid < h.top || mid > h.bottom) out.push('Disconnect is not on the header row');
		if (d.right > window.innerWidth) out.push('Disconnect cut off');
	}
	return out.join('; ');
})()`

// shots saves screenshots of the page at desktop and phone widths, and
// checks the layout at both.
func shots(p *appPage, name string) {
	p.t.Helper()
	defer p.do(chromedp.ResetViewport())
	for _, size := range []struct {
		w, h   int64
		mobile bool
	}{{desktopWidth, desktopHeight, false}, {phoneWidth, phoneHeight, true}} {
		var opts []chromedp.EmulateViewportOption
		if size.mobile {
			// A phone: its scrollbars overlay the page and take no width.
			opts = append(opts, chromedp.EmulateMobile)
		}
		p.do(chromedp.EmulateViewport(size.w, size.h, opts...))
		p.waitFor(fmt.Sprintf("a %d px viewport", size.w), fmt.Sprintf(`window.innerWidth === %d`, size.w))
		if bad := eval[string](p, layoutProblems); bad != "" {
			p.t.Errorf("%s at %d px: %s", p.name, size.w, bad)
		}
		browser.Screenshot(p.t, p.ctx, fmt.Sprintf("%s-%d", name, size.w))
	}
}

// evalAwait evaluates a JavaScript expression that yields a promise in the
// page and returns what the promise resolves to.
func evalAwait[T any](p *appPage, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, appTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("%s: evaluate %s: %v", p.name, expr, err)
	}
	return v
}

// badResponses records the responses of 400 or more a tab received.
type badResponses struct {
	mu   sync.Mutex
	urls []string
}

func listenBadResponses(t *testing.T, ctx context.Context) *badResponses {
	t.Helper()
	b := &badResponses{}
	err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventResponseReceived); ok && e.Response != nil && e.Response.Status >= 400 {
			b.mu.Lock()
			b.urls = append(b.urls, fmt.Sprintf("%d %s", e.Response.Status, e.Response.URL))
			b.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (b *badResponses) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.urls, ", ")
}

// sameErrorStyle is a JavaScript condition: the element with this id is
// styled as an error, exactly like every other error of the page.
func sameErrorStyle(id string) string {
	return fmt.Sprintf(`(() => {
		const el = document.getElementById(%q);
		const probe = document.getElementById('echo-error');
		const a = getComputedStyle(el), b = getComputedStyle(probe);
		return el.classList.contains('error') && a.color === b.color && a.borderLeftColor === b.borderLeftColor && a.color !== getComputedStyle(document.body).color;
	})()`, id)
}

// TestAppUXBrowser goes through the web app as a new user would and
// checks what the page shows: the icon, a login refused in the error
// style, errors that go when their cause goes, newest messages last, own
// messages under the user's name, words instead of offsets, exact chart
// labels and a chart window from the server's stream interval, and a
// layout that fits a phone.
func TestAppUXBrowser(t *testing.T) {
	// A stream interval other than 1 s: the chart must not assume it.
	sv := testutil.Serve(t, server.New(server.Config{Messaging: server.MessagingConfig{StreamInterval: 250 * time.Millisecond}}))
	url := "http://" + sv.Addr + "/"
	actx := browser.New(t, browser.WithFlags(fmt.Sprintf("window-size=%d,%d", desktopWidth, desktopHeight)))
	bad := listenBadResponses(t, actx)
	alice := openApp(t, actx, url, "alice")
	bctx := newWindow(t, actx)

	t.Run("favicon", func(t *testing.T) {
		alice.t = t
		// The page names an icon that loads, so the browser asks for no
		// /favicon.ico; and that answers too.
		ok := evalAwait[bool](alice, `(async () => {
			const link = document.querySelector('link[rel~=icon]');
			if (!link) return false;
			const img = new Image();
			img.src = link.href;
			await img.decode();
			const ico = await fetch('/favicon.ico');
			return img.naturalWidth > 0 && ico.ok;
		})().catch(() => false)`)
		if !ok {
			t.Error("no icon that loads: want <link rel=icon> to an image and /favicon.ico answered")
		}
		if b := bad.String(); b != "" {
			t.Errorf("loading the page got error responses: %s", b)
		}
	})

	bob := &appPage{t: t, name: "bob", ctx: bctx}
	t.Run("login-refused", func(t *testing.T) {
		bob.t = t
		bob.do(chromedp.Navigate(url), chromedp.WaitVisible(chromedp.ID("name")))
		bob.do(chromedp.SendKeys(chromedp.ID("name"), "alice\n"))
		bob.waitFor("the 409", `document.getElementById('login-error').textContent.includes('409')`)
		if !eval[bool](bob, sameErrorStyle("login-error")) {
			t.Errorf("the refused login %q is not in the error style", bob.text("#login-error"))
		}
		shots(bob, "login-refused")
		// Editing the name clears the error.
		bob.clear("name")
		bob.do(chromedp.SendKeys(chromedp.ID("name"), "bob"))
		bob.waitFor("the error cleared", `document.getElementById('login-error').textContent === ''`)
		bob.do(chromedp.SendKeys(chromedp.ID("name"), "\n"))
		bob.waitFor("online", `document.getElementById('state').dataset.state === 'online'`)
		if got := bob.text("#state"); got != "online as bob" {
			t.Errorf("state %q", got)
		}
	})

	t.Run("echo-newest-last", func(t *testing.T) {
		alice.t = t
		for _, s := range []string{"first", "second", "third"} {
			alice.do(chromedp.SendKeys(chromedp.ID("echo-input"), s+"\n"))
			alice.waitFor("the echo", logHas("echo-log", "", s))
		}
		if got := eval[string](alice, `[...document.querySelectorAll('#echo-log li .text')].map(e => e.textContent).join()`); got != "first,second,third" {
			t.Errorf("echo log %q, want the newest last", got)
		}
		shots(alice, "echo")
	})

	t.Run("routed-stale-error", func(t *testing.T) {
		alice.t = t
		alice.do(chromedp.Click(chromedp.ID("tab-routed")))
		alice.clear("routed-to")
		alice.do(chromedp.SendKeys(chromedp.ID("routed-to"), "carol"), chromedp.SendKeys(chromedp.ID("routed-input"), "are you there?\n"))
		alice.waitFor("the 404", `document.getElementById('routed-error').textContent.includes('404')`)
		if !eval[bool](alice, sameErrorStyle("routed-error")) {
			t.Errorf("the routed error %q is not in the error style", alice.text("#routed-error"))
		}
		shots(alice, "routed-error")

		// carol comes online: the error is stale and goes.
		ctx, cancel := context.WithTimeout(context.Background(), appTimeout)
		defer cancel()
		carol, err := sbclient.Dial(ctx, "ws://"+sv.Addr+"/ws")
		if err != nil {
			t.Fatal(err)
		}
		defer carol.Close()
		if _, err := carol.Request(ctx, "login", map[string]string{"name": "carol"}); err != nil {
			t.Fatal(err)
		}
		alice.waitFor("the error cleared once carol is online", `document.getElementById('routed-error').textContent === ''`)

		// Own lines carry the user's name, as in the group and the video chat.
		alice.clear("routed-input")
		alice.do(chromedp.SendKeys(chromedp.ID("routed-input"), "hi carol\n"))
		alice.waitFor("the sent line", logHas("routed-log", "alice", "hi carol"))
		if !eval[bool](alice, `document.querySelector('#routed-log li:last-child').classList.contains('own')`) {
			t.Error("alice's own line is not marked as hers")
		}
		shots(alice, "routed")
	})

	t.Run("group-words", func(t *testing.T) {
		alice.t, bob.t = t, t
		for _, p := range []*appPage{alice, bob} {
			p.do(chromedp.Click(chromedp.ID("tab-group")), chromedp.Click(chromedp.ID("group-sub")))
			p.waitFor("the subscription", `document.getElementById('group-state').textContent.startsWith('subscribed')`)
			if got := p.text("#group-state"); strings.Contains(got, "offset") {
				t.Errorf("%s: group state %q speaks of offsets", p.name, got)
			}
		}
		bob.do(chromedp.SendKeys(chromedp.ID("group-input"), "hello from bob\n"))
		alice.waitFor("bob's message", logHas("group-log", "bob", "hello from bob"))
		alice.do(chromedp.SendKeys(chromedp.ID("group-input"), "hello from alice\n"))
		alice.waitFor("her own message", logHas("group-log", "alice", "hello from alice"))
		if got := eval[string](alice, `[...document.querySelectorAll('#group-log li .text')].map(e => e.textContent).join()`); got != "hello from bob,hello from alice" {
			t.Errorf("group log %q, want the newest last", got)
		}
		shots(alice, "group")
	})

	t.Run("streamed-chart", func(t *testing.T) {
		alice.t = t
		alice.do(chromedp.Click(chromedp.ID("tab-streamed")), chromedp.Click(chromedp.ID("stream-sub")))
		alice.waitFor("two stream updates", `Number(document.getElementById('fig-count').textContent) >= 2`)
		// 60 points of 250 ms.
		if got := eval[string](alice, `switchboardApp.chart.windowLabel()`); got != "last 15 s" {
			t.Errorf("chart window %q, want last 15 s", got)
		}
		if got := eval[string](alice, `document.getElementById('stream-chart').getAttribute('aria-label')`); !strings.HasSuffix(got, "over the last 15 s") {
			t.Errorf("chart label %q", got)
		}
		// Grid labels are exact: 0.25 is not "0.3".
		labels := evalAwait[string](alice, `(async () => {
			const m = await import('/chart.js');
			const out = [];
			for (const max of [0.5, 1, 3, 8, 9, 1100, 2400000]) {
				const { step } = m.gridScale(max);
				out.push([4, 3, 2, 1, 0].map((i) => m.formatNumber(step * i)).join(' '));
			}
			return out.join(' | ');
		})()`)
		want := "1 0.75 0.5 0.25 0 | 1 0.75 0.5 0.25 0 | 4 3 2 1 0 | 8 6 4 2 0 | 10 7.5 5 2.5 0 | 2k 1.5k 1k 500 0 | 4M 3M 2M 1M 0"
		if labels != want {
			t.Errorf("grid labels\n got %s\nwant %s", labels, want)
		}
		shots(alice, "streamed")
	})
}

// TestAppServerRestartBrowser restarts the server under a subscribed page:
// the page reconnects, and its group list says, with a separator line,
// that the server restarted and the numbering starts again.
func TestAppServerRestartBrowser(t *testing.T) {
	first := server.New(server.Config{})
	sv := testutil.Serve(t, first)
	url := "http://" + sv.Addr + "/"
	alice := openApp(t, browser.New(t, browser.WithFlags(fmt.Sprintf("window-size=%d,%d", desktopWidth, desktopHeight))), url, "alice")
	alice.do(chromedp.Click(chromedp.ID("tab-group")), chromedp.Click(chromedp.ID("group-sub")))
	alice.waitFor("the subscription", `document.getElementById('group-state').textContent.startsWith('subscribed')`)
	for _, s := range []string{"before one", "before two"} {
		alice.do(chromedp.SendKeys(chromedp.ID("group-input"), s+"\n"))
		alice.waitFor("the message", logHas("group-log", "alice", s))
	}

	ctx, cancel := context.WithTimeout(context.Background(), testutil.ShutdownTimeout)
	defer cancel()
	if err := first.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	sv.WaitServed(t)
	serveOn(t, server.New(server.Config{}), sv.Addr)

	alice.waitFor("online again", `document.getElementById('state').dataset.state === 'online'`)
	alice.waitFor("the restart in the group state", `document.getElementById('group-state').textContent.includes('server restart')`)
	alice.do(chromedp.SendKeys(chromedp.ID("group-input"), "after\n"))
	alice.waitFor("the message", logHas("group-log", "alice", "after"))
	got := eval[string](alice, `[...document.querySelectorAll('#group-log li')].map(li =>
		li.classList.contains('separator') ? '--' : li.querySelector('.text').textContent + ' ' + li.querySelector('.meta').textContent).join(' | ')`)
	if want := "before one #1 | before two #2 | -- | after #1"; got != want {
		t.Errorf("group log\n got %s\nwant %s", got, want)
	}
	if sep := alice.text("#group-log li.separator"); !strings.Contains(sep, "restarted") {
		t.Errorf("separator %q, want it to say the server restarted", sep)
	}
	shots(alice, "group-after-restart")
}

// serveOn runs s on addr (a port a server of the test just left) until the
// test ends.
func serveOn(t *testing.T, s *server.Server, addr string) {
	t.Helper()
	var ln net.Listener
	testutil.WaitFor(t, testutil.ShutdownTimeout, "the port to be free again", func() bool {
		var err error
		ln, err = net.Listen("tcp", addr)
		return err == nil
	})
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testutil.ShutdownTimeout)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
}
