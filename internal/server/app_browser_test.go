package server_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	sbclient "github.com/switchboard/switchboard/client"
	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/internal/testutil/browser"
)

// appTimeout bounds one wait for the page; it only catches hangs.
const appTimeout = 30 * time.Second

// appPage is one tab of the browser showing the web app.
type appPage struct {
	t    *testing.T
	name string
	ctx  context.Context
}

// do runs actions on the page, bounded by appTimeout.
func (p *appPage) do(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, appTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v (page state: %s)", p.name, err, p.state())
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](p *appPage, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, appTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.t.Fatalf("%s: evaluate %s: %v", p.name, expr, err)
	}
	return v
}

// waitFor polls a JavaScript condition in the page until it holds.
func (p *appPage) waitFor(what, cond string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, appTimeout)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(appTimeout))); err != nil {
		p.t.Fatalf("%s: waiting for %s: %v (page state: %s)", p.name, what, err, p.state())
	}
}

// state is the page's connection state and errors, for failure messages.
func (p *appPage) state() string {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`['state','login-info','login-error','echo-error','routed-error','group-error','stream-error','group-state','stream-state']
		.map(id => id + '=' + JSON.stringify(document.getElementById(id)?.textContent)).join(' ')`))
	if err != nil {
		return err.Error()
	}
	return s
}

// clear empties an input.
func (p *appPage) clear(id string) {
	p.t.Helper()
	eval[bool](p, fmt.Sprintf(`(document.getElementById(%q).value = '', true)`, id))
}

// text returns the text of the first element matching a CSS selector, or "".
func (p *appPage) text(sel string) string {
	p.t.Helper()
	return eval[string](p, fmt.Sprintf(`document.querySelector(%q)?.textContent ?? ''`, sel))
}

// logHas is a condition: a line of the log list has these parts.
func logHas(list, from, text string) string {
	return fmt.Sprintf(`[...document.querySelectorAll('#%s li')].some(li =>
		(%q === '' || li.querySelector('.from')?.textContent === %q) && li.querySelector('.text')?.textContent === %q)`,
		list, from, from, text)
}

func openApp(t *testing.T, ctx context.Context, url, name string) *appPage {
	t.Helper()
	p := &appPage{t: t, name: name, ctx: ctx}
	p.do(chromedp.Navigate(url), chromedp.WaitVisible(chromedp.ID("name")))
	// Log in from the keyboard: the name, then Enter submits the form.
	p.do(chromedp.SendKeys(chromedp.ID("name"), name+"\n"))
	p.waitFor("online", `document.getElementById('state').dataset.state === 'online'`)
	if got := p.text("#state"); got != "online as "+name {
		t.Fatalf("%s: state %q", name, got)
	}
	return p
}

// TestAppBrowser logs two headless-Chromium pages into the web app as
// alice and bob and passes a message through each of the four tabs,
// reading the results from the pages; then it drops alice's connection
// and checks that she resumes and recovers the group messages she missed.
func TestAppBrowser(t *testing.T) {
	sv := testutil.Serve(t, server.New(server.Config{}))
	url := "http://" + sv.Addr + "/"
	actx := browser.New(t, browser.WithFlags("window-size=1100,900"))
	// A second page in its own window, so that both are visible and focused.
	bctx, cancel := chromedp.NewContext(actx, chromedp.WithNewWindow(true))
	defer cancel()
	// The first action on a tab's context creates the tab, which lives as
	// long as that action's context: it must have no timeout of its own.
	created := make(chan error, 1)
	go func() { created <- chromedp.Do(bctx) }()
	select {
	case err := <-created:
		if err != nil {
			t.Fatalf("second page: %v", err)
		}
	case <-time.After(appTimeout):
		t.Fatalf("no second page within %v", appTimeout)
	}
	alice := openApp(t, actx, url, "alice")
	bob := openApp(t, bctx, url, "bob")

	t.Run("keyboard-tabs", func(t *testing.T) {
		alice.t = t
		selected := `document.querySelector('[role=tab][aria-selected=true]').id + ' ' +
			[...document.querySelectorAll('[role=tabpanel]')].filter(p => !p.hidden).map(p => p.id).join()`
		alice.do(chromedp.Focus(chromedp.ID("tab-echo")))
		for _, step := range []struct{ key, want string }{
			{kb.ArrowRight, "tab-routed panel-routed"},
			{kb.End, "tab-video panel-video"},
			{kb.ArrowRight, "tab-echo panel-echo"}, // wraps around
			{kb.ArrowLeft, "tab-video panel-video"},
			{kb.Home, "tab-echo panel-echo"},
		} {
			alice.do(chromedp.KeyEvent(step.key))
			if got := eval[string](alice, selected); got != step.want {
				t.Fatalf("after key %q: %q, want %q", step.key, got, step.want)
			}
			if got := eval[string](alice, `document.activeElement.id`); got != strings.Fields(step.want)[0] {
				t.Errorf("focus on %q after key %q, want the selected tab", got, step.key)
			}
		}
	})

	t.Run("echo", func(t *testing.T) {
		alice.t = t
		alice.do(chromedp.SendKeys(chromedp.ID("echo-input"), "hello switchboard\n"))
		alice.waitFor("the echo", logHas("echo-log", "", "hello switchboard"))
		alice.do(chromedp.SendKeys(chromedp.ID("echo-input"), `{"x": 1}`+"\n"))
		alice.waitFor("the JSON echo", logHas("echo-log", "", `{"x":1}`))
	})

	t.Run("routed", func(t *testing.T) {
		alice.t, bob.t = t, t
		alice.do(chromedp.Click(chromedp.ID("tab-routed")))
		alice.waitFor("bob in the online list", `!!document.querySelector('#online-list button[data-name="bob"]')`)
		alice.do(chromedp.Click(chromedp.CSS(`#online-list button[data-name="bob"]`)))
		alice.do(chromedp.SendKeys(chromedp.ID("routed-input"), "hi bob\n"))
		alice.waitFor("the sent message in the conversation", logHas("routed-log", "alice", "hi bob"))

		bob.do(chromedp.Click(chromedp.ID("tab-routed")))
		bob.waitFor("alice's message", logHas("routed-log", "alice", "hi bob"))
		if got := bob.text("#routed-title"); got != "Conversation with alice" {
			t.Errorf("bob's conversation title %q", got)
		}
		bob.do(chromedp.SendKeys(chromedp.ID("routed-input"), "hi alice\n"))
		alice.waitFor("bob's answer", logHas("routed-log", "bob", "hi alice"))

		// An unknown recipient is an error shown on the page.
		alice.clear("routed-to")
		alice.do(chromedp.SendKeys(chromedp.ID("routed-to"), "nobody"), chromedp.SendKeys(chromedp.ID("routed-input"), "anyone?\n"))
		alice.waitFor("the 404 error", `document.getElementById('routed-error').textContent.includes('404')`)
		if got := alice.text("#routed-error"); got != `Cannot send to nobody: 404 no client named "nobody" is online` {
			t.Errorf("routed error %q", got)
		}
	})

	t.Run("group", func(t *testing.T) {
		alice.t, bob.t = t, t
		for _, p := range []*appPage{alice, bob} {
			p.do(chromedp.Click(chromedp.ID("tab-group")), chromedp.Click(chromedp.ID("group-sub")))
			p.waitFor("the subscription", `document.getElementById('group-state').textContent.startsWith('subscribed')`)
		}
		alice.do(chromedp.SendKeys(chromedp.ID("group-input"), "hello group\n"))
		for _, p := range []*appPage{alice, bob} {
			p.waitFor("the group message", logHas("group-log", "alice", "hello group"))
			if tm := p.text("#group-log li .time"); len(tm) < 5 {
				t.Errorf("%s: message time %q", p.name, tm)
			}
		}
	})

	// On a phone-sized screen the app fits the width.
	t.Run("responsive", func(t *testing.T) {
		bob.t = t
		bob.do(chromedp.EmulateViewport(phoneWidth, phoneHeight, chromedp.EmulateMobile))
		defer bob.do(chromedp.ResetViewport())
		bob.waitFor("the narrow layout", fmt.Sprintf(`window.innerWidth === %d`, phoneWidth))
		if bad := eval[string](bob, layoutProblems); bad != "" {
			t.Errorf("at %d px: %s", phoneWidth, bad)
		}
		browser.Screenshot(t, bob.ctx, "bob-group-phone")
	})

	t.Run("streamed", func(t *testing.T) {
		bob.t = t
		bob.do(chromedp.Click(chromedp.ID("tab-streamed")), chromedp.Click(chromedp.ID("stream-sub")))
		bob.waitFor("two stream updates", `Number(document.getElementById('fig-count').textContent) >= 2`)
		if n, err := strconv.Atoi(bob.text("#fig-connections")); err != nil || n < 2 {
			t.Errorf("connections figure %q, want at least 2", bob.text("#fig-connections"))
		}
		// The chart has drawn lines in its two colours.
		drawn := eval[bool](bob, `(() => {
			const c = document.getElementById('stream-chart');
			const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
			for (let i = 0; i < d.length; i += 4) if (d[i+3] > 0 && d[i+2] > 200 && d[i] < 80) return true;
			return false; })()`)
		if !drawn {
			t.Error("the stream chart has no line")
		}
		browser.Screenshot(t, bob.ctx, "bob-streamed")
		bob.do(chromedp.Click(chromedp.ID("stream-sub")))
		bob.waitFor("the unsubscribe", `document.getElementById('stream-state').textContent === 'not subscribed'`)
	})

	t.Run("reconnect-recover", func(t *testing.T) {
		alice.t, bob.t = t, t
		// Keep alice away: her next connections go to a closed port. (And
		// let the gap test below lose one publication on the way in.)
		eval[bool](alice, `(() => {
			const Orig = WebSocket;
			window.WebSocket = class extends Orig {
				constructor(u, p) { super(window.blockWS ? u.replace(location.host, '127.0.0.1:1') : u, p); }
				get onmessage() { return super.onmessage; }
				set onmessage(f) {
					super.onmessage = (e) => {
						const m = JSON.parse(e.data);
						if (window.dropText && m.notification && m.method === 'publication' && m.data.data === window.dropText) {
							window.dropText = '';
							return;
						}
						f(e);
					};
				}
			};
			window.blockWS = true;
			switchboardApp.client.connection.close(3001, 'test drop');
			return true; })()`)
		alice.waitFor("reconnecting", `document.getElementById('state').dataset.state === 'reconnecting'`)
		bob.do(chromedp.Click(chromedp.ID("tab-group")), chromedp.SendKeys(chromedp.ID("group-input"), "while you were away\n"))
		bob.waitFor("bob's own copy", logHas("group-log", "bob", "while you were away"))
		bob.do(chromedp.SendKeys(chromedp.ID("group-input"), "and this\n"))
		bob.waitFor("bob's own copy", logHas("group-log", "bob", "and this"))

		eval[bool](alice, `window.blockWS = false, true`)
		alice.waitFor("online again", `document.getElementById('state').dataset.state === 'online'`)
		alice.waitFor("the recovered state", `document.getElementById('group-state').dataset.recovered === 'true'`)
		alice.waitFor("the missed messages", logHas("group-log", "bob", "while you were away")+" && "+logHas("group-log", "bob", "and this"))
		if got, want := alice.text("#group-state"), "subscribed: caught up on 2 missed messages"; got != want {
			t.Errorf("group state %q, want %q", got, want)
		}
		// A separator line above what she missed.
		lines := eval[string](alice, `[...document.querySelectorAll('#group-log li')].slice(-3).map(li => li.classList.contains('separator') ? '--' : li.querySelector('.text').textContent).join('|')`)
		if lines != "--|while you were away|and this" {
			t.Errorf("group log ends %q, want a separator above the missed messages", lines)
		}
		if got := alice.text("#state"); got != "online as alice" {
			t.Errorf("state %q after the resume", got)
		}
		// Still alice to the others: bob's message reaches her.
		bob.do(chromedp.Click(chromedp.ID("tab-routed")))
		bob.clear("routed-to")
		bob.do(chromedp.SendKeys(chromedp.ID("routed-to"), "alice"), chromedp.SendKeys(chromedp.ID("routed-input"), "welcome back\n"))
		bob.waitFor("the sent message", logHas("routed-log", "bob", "welcome back"))
		alice.do(chromedp.Click(chromedp.ID("tab-routed")), chromedp.Click(chromedp.CSS(`#online-list button[data-name="bob"]`)))
		alice.waitFor("bob's message after the resume", logHas("routed-log", "bob", "welcome back"))
		alice.do(chromedp.Click(chromedp.ID("tab-group")))
		browser.Screenshot(t, alice.ctx, "alice-group")
	})

	// A publication lost on the way in (as the server drops them for a slow
	// client): the next one's offset jumps, and the page recovers the lost
	// one with subscribe since.
	t.Run("gap", func(t *testing.T) {
		alice.t, bob.t = t, t
		eval[bool](alice, `(window.dropText = 'lost on the way', true)`)
		bob.do(chromedp.Click(chromedp.ID("tab-group")), chromedp.SendKeys(chromedp.ID("group-input"), "lost on the way\n"))
		bob.waitFor("bob's own copy", logHas("group-log", "bob", "lost on the way"))
		if !eval[bool](alice, `window.dropText === ''`) {
			t.Fatal("the publication was not dropped")
		}
		bob.do(chromedp.SendKeys(chromedp.ID("group-input"), "after the gap\n"))
		alice.waitFor("both messages", logHas("group-log", "bob", "lost on the way")+" && "+logHas("group-log", "bob", "after the gap"))
		if got, want := alice.text("#group-state"), "subscribed: caught up on 1 missed message"; got != want {
			t.Errorf("group state %q, want %q", got, want)
		}
		// In order, newest last.
		order := eval[string](alice, `[...document.querySelectorAll('#group-log li .text')].slice(-2).map(e => e.textContent).join('|')`)
		if order != "lost on the way|after the gap" {
			t.Errorf("group log ends %q", order)
		}
	})

	t.Run("disconnect", func(t *testing.T) {
		alice.t = t
		alice.do(chromedp.Click(chromedp.ID("disconnect")))
		alice.waitFor("disconnected", `document.getElementById('state').dataset.state === 'disconnected' && !document.getElementById('connect').disabled`)
	})

	// A login elsewhere with alice's resume token replaces her session: the
	// page is closed with 4000 and must not reconnect.
	t.Run("replaced", func(t *testing.T) {
		alice.t = t
		alice.do(chromedp.Click(chromedp.ID("connect")))
		alice.waitFor("online", `document.getElementById('state').dataset.state === 'online'`)
		token := eval[string](alice, `switchboardApp.client.resumeToken`)
		ctx, cancel := context.WithTimeout(context.Background(), appTimeout)
		defer cancel()
		c, err := sbclient.Dial(ctx, "ws://"+sv.Addr+"/ws")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Request(ctx, "login", map[string]string{"name": "alice", "resume": token}); err != nil {
			t.Fatalf("takeover: %v", err)
		}
		alice.waitFor("closed, not reconnecting", `document.getElementById('state').dataset.state === 'closed'`)
		if got := alice.text("#login-error"); !strings.Contains(got, "replaced") {
			t.Errorf("login error %q, want the close reason", got)
		}
	})
}
