// Package frontdoor owns Switchboard's TCP listener. For every accepted
// connection it reads the request head with the lenient parser in
// internal/httphead, asks [Server.Route] where the request goes, and either
// hands the connection to a [ConnHandler] (WebSocket upgrades, the
// peerconnection long-poll protocol) or to an internal net/http.Server
// (the web app, /healthz, /stats, /config.json) through an in-memory listener
// that replays the bytes already read.
//
// Start with [Server]: fill in Route and HTTP, call [Server.Serve] with a
// listener, and [Server.Shutdown] to stop. Malformed, oversized and slow
// request heads are answered by the front door itself ([WriteError]: 400,
// 431, 408, 503 at the connection cap or the per-address cap) and counted
// in [Stats]. net/http reads a request body within Config.BodyReadTimeout;
// ConnHandlers set their own deadlines, so a parked long poll is never cut.
//
// Every goroutine the package starts (accept loops, head readers, handlers,
// the net/http server) is tracked and joined by Shutdown.
package frontdoor
