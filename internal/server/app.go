package server

import (
	"embed"
	"io/fs"
	"net/http"
)

// webFiles is the web app: plain HTML, CSS and JavaScript modules, served
// as they are (no build step). index.html is the page at /.
//
//go:embed web
var webFiles embed.FS

// appCSP keeps the page to its own files: scripts, styles and WebSockets
// from this origin only, nothing from a CDN.
const appCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// appHandler serves the web app's files under /. Everything it does, it
// does through the protoo WebSocket at /ws.
func appHandler() http.Handler {
	sub, err := fs.Sub(webFiles, "web")
	if err != nil {
		panic(err) // the embedded tree always has web/
	}
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", appCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		// The files are small and change with the binary: revalidate.
		h.Set("Cache-Control", "no-cache")
		if r.URL.Path == "/favicon.ico" {
			// Browsers ask for it when a page names no icon (ours names
			// favicon.svg): the same icon, never a 404.
			r = r.Clone(r.Context())
			r.URL.Path = "/favicon.svg"
		}
		files.ServeHTTP(w, r)
	})
}
