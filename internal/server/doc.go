// Package server assembles Switchboard: the front door on one listener,
// the WebSocket endpoints (the raw echo at /echo) and the HTTP handlers
// (/healthz, /stats as Stats documents it, /config.json, the web app).
// Start with New and Server.Serve.
package server
