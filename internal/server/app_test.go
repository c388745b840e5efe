package server_test

import (
	"io"
	"io/fs"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testutil"
)

// TestAppFiles checks that / serves the web app from the binary with its
// modules, types and security headers.
func TestAppFiles(t *testing.T) {
	sv := testutil.Serve(t, server.New(server.Config{}))
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := http.Get("http://" + sv.Addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := get("/")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET / = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{"<h1>Switchboard</h1>", `<script type="module" src="app.js">`, `role="tablist"`, `id="login-form"`} {
		if !strings.Contains(body, want) {
			t.Errorf("GET / has no %s", want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	for path, ctype := range map[string]string{
		"/app.js": "text/javascript", "/client.js": "text/javascript", "/protoo.js": "text/javascript",
		"/chart.js": "text/javascript", "/room.js": "text/javascript", "/app.css": "text/css",
	} {
		resp, body := get(path)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), ctype) || len(body) == 0 {
			t.Errorf("GET %s = %d %q, want 200 %s", path, resp.StatusCode, resp.Header.Get("Content-Type"), ctype)
		}
	}
	// The icon: the page names it, and /favicon.ico (which browsers ask
	// for when a page names none) is the same picture, never a 404.
	if !strings.Contains(body, `<link rel="icon" href="favicon.svg" type="image/svg+xml">`) {
		t.Error("GET / names no icon")
	}
	for _, path := range []string{"/favicon.svg", "/favicon.ico"} {
		resp, body := get(path)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(body, "<svg") {
			t.Errorf("GET %s = %d %q, want 200 image/svg+xml", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
	if resp, _ := get("/nope.js"); resp.StatusCode != 404 {
		t.Errorf("GET /nope.js = %d, want 404", resp.StatusCode)
	}
}

// TestAppNoExternalResources: the app loads nothing from another origin
// (no CDN): no absolute URLs in src, href, import or url().
func TestAppNoExternalResources(t *testing.T) {
	external := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//|from\s+["'](https?:)?//|import\s*\(\s*["'](https?:)?//|url\(\s*["']?(https?:)?//|@import`)
	err := fs.WalkDir(os.DirFS("web"), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile("web/" + path)
		if err != nil {
			return err
		}
		if m := external.Find(b); m != nil {
			t.Errorf("web/%s loads an external resource: %q", path, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
