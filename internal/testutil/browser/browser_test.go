package browser_test

import (
	"bytes"
	"context"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/internal/testutil/browser"
)

const page = `<!doctype html>
<html><head><meta charset="utf-8"><title>loading</title></head>
<body><h1 id="greeting">Switchboard browser harness</h1>
<script>document.title = "switchboard-ok-" + (6 * 7);</script>
</body></html>`

func serve(t *testing.T, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("test server on %s, want 127.0.0.1", srv.URL)
	}
	return srv.URL
}

func TestNewRunsScripts(t *testing.T) {
	url := serve(t, page)
	start := time.Now()
	ctx := browser.New(t)
	t.Logf("browser started in %v", time.Since(start).Round(time.Millisecond))

	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("navigate: %v", err)
	}
	title, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.title`))
	if err != nil {
		t.Fatalf("evaluate: %v", err)
	}
	if title != "switchboard-ok-42" {
		t.Fatalf("document.title = %q, want %q", title, "switchboard-ok-42")
	}

	path := browser.Screenshot(t, ctx, "harness page")
	dir, err := filepath.Abs(filepath.Join("testdata", "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("SWITCHBOARD_ARTIFACTS") == "" && filepath.Dir(path) != dir {
		t.Errorf("screenshot in %s, want it in %s", filepath.Dir(path), dir)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if r := img.Bounds(); r.Dx() < 100 || r.Dy() < 100 {
		t.Errorf("screenshot is %v, want a page-sized image", r)
	}
}

func TestWithFakeMedia(t *testing.T) {
	url := serve(t, page)
	ctx := browser.New(t, browser.WithFakeMedia())
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("navigate: %v", err)
	}
	// Without the fake devices, getUserMedia has no device and no one to
	// grant it, and rejects.
	kinds, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`
		navigator.mediaDevices.getUserMedia({audio: true, video: true})
			.then(s => s.getTracks().map(t => t.kind).sort())`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("getUserMedia: %v", err)
	}
	if strings.Join(kinds, ",") != "audio,video" {
		t.Fatalf("track kinds = %q, want audio and video", kinds)
	}
}
