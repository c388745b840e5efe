package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/internal/testutil/browser"
	"github.com/switchboard/switchboard/internal/testutil/servertest"
	"github.com/switchboard/switchboard/websocket"
)

// browserTimeout bounds one page action: navigating, or a whole echo run
// with messages of up to 1 MiB.
const browserTimeout = 90 * time.Second

// browserJS defines the functions the tests call in the page. It is
// evaluated after each navigation, so that it also runs in pages the test
// does not serve (Switchboard's own /).
const browserJS = `
(() => {
  const out = () => {
    let pre = document.getElementById('results');
    if (!pre) {
      pre = document.createElement('pre');
      pre.id = 'results';
      document.body.appendChild(pre);
    }
    return pre;
  };
  const log = (line) => { out().textContent += line + '\n'; };

  // utf8Text returns a string of exactly n UTF-8 bytes mixing 1- to 4-byte
  // characters.
  const utf8Text = (n) => {
    const chars = ['a', 'é', '€', '😀', 'Z', 'ß', '中', '𝄞'];
    const enc = new TextEncoder();
    let s = '', left = n;
    for (let i = 0; left > 0; i++) {
      const c = chars[i % chars.length], k = enc.encode(c).length;
      if (k <= left) { s += c; left -= k; } else { s += 'a'.repeat(left); left = 0; }
    }
    return s;
  };
  const randomBytes = (n) => {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i += 65536) crypto.getRandomValues(b.subarray(i, Math.min(n, i + 65536)));
    return b;
  };
  const sameBytes = (a, b) => {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  };

  // echoTest round-trips a text and a binary message of every size through
  // url and resolves with what happened; it never rejects.
  window.echoTest = async (url, sizes) => {
    log('echo test against ' + url);
    const result = { extensions: '', results: [], closeCode: 0, error: '' };
    let ws;
    try {
      ws = new WebSocket(url);
      ws.binaryType = 'arraybuffer';
      const inbox = [];
      let waiter = null, ended = null;
      ws.onmessage = (e) => { if (waiter) { const w = waiter; waiter = null; w.resolve(e.data); } else inbox.push(e.data); };
      const closed = new Promise((resolve) => {
        ws.onclose = (e) => {
          ended = e;
          if (waiter) waiter.reject(new Error('closed with ' + e.code + ' ' + e.reason));
          resolve(e);
        };
      });
      await new Promise((resolve, reject) => {
        ws.onopen = resolve;
        ws.onerror = () => reject(new Error('error event before open'));
        closed.then((e) => reject(new Error('closed before open: ' + e.code)));
      });
      result.extensions = ws.extensions;
      log('open, extensions: "' + ws.extensions + '"');
      const next = () => new Promise((resolve, reject) => {
        if (inbox.length) resolve(inbox.shift());
        else if (ended) reject(new Error('closed with ' + ended.code));
        else waiter = { resolve, reject };
      });
      for (const size of sizes) {
        for (const type of ['text', 'binary']) {
          const start = performance.now();
          let ok;
          if (type === 'text') {
            const s = utf8Text(size);
            ws.send(s);
            const got = await next();
            ok = typeof got === 'string' && got === s;
          } else {
            const b = randomBytes(size);
            ws.send(b.buffer);
            const got = await next();
            ok = got instanceof ArrayBuffer && sameBytes(new Uint8Array(got), b);
          }
          const ms = Math.round(performance.now() - start);
          result.results.push({ type, size, ok, ms });
          log(type + ' ' + size + ' bytes: ' + (ok ? 'ok' : 'DIFFERENT') + ' in ' + ms + ' ms');
        }
      }
      ws.close(1000, 'done');
      result.closeCode = (await closed).code;
      log('closed with ' + result.closeCode);
    } catch (e) {
      result.error = String(e);
      log('error: ' + result.error);
      if (ws) ws.close();
    }
    return result;
  };

  // tryConnect opens a WebSocket and resolves with how it ended.
  window.tryConnect = (url) => new Promise((resolve) => {
    const ws = new WebSocket(url);
    let errorEvent = false;
    ws.onerror = () => { errorEvent = true; };
    ws.onopen = () => { log('connected to ' + url); ws.close(1000); resolve({ opened: true, error: errorEvent, code: 0 }); };
    ws.onclose = (e) => { log('closed ' + e.code + ' (error event: ' + errorEvent + ')'); resolve({ opened: false, error: errorEvent, code: e.code }); };
  });
  return true;
})()
`

type browserEcho struct {
	Extensions string `json:"extensions"`
	Results    []struct {
		Type string `json:"type"`
		Size int    `json:"size"`
		OK   bool   `json:"ok"`
		MS   int    `json:"ms"`
	} `json:"results"`
	CloseCode int    `json:"closeCode"`
	Error     string `json:"error"`
}

type browserConnect struct {
	Opened bool `json:"opened"`
	Error  bool `json:"error"`
	Code   int  `json:"code"`
}

// testPage serves a small page on 127.0.0.1 and returns its origin.
func testPage(t *testing.T) string {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><html><head><meta charset="utf-8"><title>Switchboard browser test</title></head>
<body style="font-family: sans-serif"><h1>Switchboard browser test</h1></body></html>`)
	}))
	t.Cleanup(hs.Close)
	if !strings.HasPrefix(hs.URL, "http://127.0.0.1:") {
		t.Fatalf("test page on %s, want 127.0.0.1", hs.URL)
	}
	return hs.URL
}

// openPage navigates the tab to pageURL and defines browserJS in it.
func openPage(t *testing.T, ctx context.Context, pageURL string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, browserTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(pageURL)); err != nil {
		t.Fatalf("navigate to %s: %v", pageURL, err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](browserJS)); err != nil {
		t.Fatalf("define test functions: %v", err)
	}
}

// runBrowserEcho runs echoTest in the page against wsURL and checks that
// every message came back, with permessage-deflate negotiated exactly when
// wantDeflate.
func runBrowserEcho(t *testing.T, ctx context.Context, wsURL string, wantDeflate bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, browserTimeout)
	defer cancel()
	expr := fmt.Sprintf(`echoTest(%q, %s)`, wsURL, jsInts(sizes))
	res, err := chromedp.Run(ctx, chromedp.Evaluate[browserEcho](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("echoTest: %v", err)
	}
	if res.Error != "" {
		t.Fatalf("echoTest: %s (results so far: %+v)", res.Error, res.Results)
	}
	if len(res.Results) != 2*len(sizes) {
		t.Fatalf("echoTest round-tripped %d messages, want %d", len(res.Results), 2*len(sizes))
	}
	for _, r := range res.Results {
		if !r.OK {
			t.Errorf("%s message of %d bytes came back different", r.Type, r.Size)
		}
	}
	if got := strings.Contains(res.Extensions, "permessage-deflate"); got != wantDeflate {
		t.Errorf("ws.extensions = %q, want permessage-deflate: %v", res.Extensions, wantDeflate)
	}
	if res.CloseCode != 1000 {
		t.Errorf("close code %d after ws.close(1000), want 1000", res.CloseCode)
	}
	t.Logf("ws.extensions = %q, %d messages", res.Extensions, len(res.Results))
}

func jsInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = fmt.Sprint(n)
	}
	return "[" + strings.Join(s, ",") + "]"
}

// TestBrowserEcho round-trips messages between headless Chromium and
// Switchboard's /echo, with and without compression, and checks that a
// page from a foreign origin is refused.
func TestBrowserEcho(t *testing.T) {
	page := testPage(t)
	ctx := browser.New(t)

	// A page from another origin, allowed explicitly; compression on.
	t.Run("allowed-origin-deflate", func(t *testing.T) {
		ts := servertest.Start(t, server.Config{AllowedOrigins: []string{page}})
		openPage(t, ctx, page)
		runBrowserEcho(t, ctx, ts.URL("ws", "/echo"), true)
		browser.Screenshot(t, ctx, "echo")
		if n := ts.Metrics().ProtocolErrors.Load(); n != 0 {
			t.Errorf("server counted %d protocol errors", n)
		}
	})

	// Switchboard's own page: same origin, allowed without AllowedOrigins;
	// compression off.
	t.Run("same-origin-no-deflate", func(t *testing.T) {
		ts := servertest.Start(t, server.Config{Deflate: websocket.DeflateConfig{Disabled: true}})
		openPage(t, ctx, ts.URL("http", "/"))
		runBrowserEcho(t, ctx, ts.URL("ws", "/echo"), false)
		browser.Screenshot(t, ctx, "echo")
	})

	t.Run("disallowed-origin", func(t *testing.T) {
		logger, logs := captureLogs(t)
		ts := servertest.Start(t, server.Config{Logger: logger})
		openPage(t, ctx, page)
		actx, cancel := context.WithTimeout(ctx, browserTimeout)
		defer cancel()
		res, err := chromedp.Run(actx, chromedp.Evaluate[browserConnect](
			fmt.Sprintf(`tryConnect(%q)`, ts.URL("ws", "/echo")), chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("tryConnect: %v", err)
		}
		if res.Opened || !res.Error || res.Code != 1006 {
			t.Fatalf("tryConnect from %s = %+v, want an error event and close code 1006", page, res)
		}
		testutil.WaitFor(t, waitTimeout, "the server to log the refusal", func() bool {
			l := logs.String()
			return strings.Contains(l, "websocket handshake refused") && strings.Contains(l, "status=403")
		})
		if n := ts.Metrics().Opened.Load(); n != 0 {
			t.Errorf("server opened %d WebSockets, want none", n)
		}
		browser.Screenshot(t, ctx, "refused")
	})
}
