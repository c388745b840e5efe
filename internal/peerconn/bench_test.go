package peerconn

import (
	"testing"
	"time"
)

// BenchmarkDispatchRelay measures the pure layer: one message POSTed to a
// member and taken from its queue by a /wait.
func BenchmarkDispatchRelay(b *testing.B) {
	ch := NewChannel(Config{})
	now := time.Now()
	ch.Dispatch(Request{Method: "GET", Target: "/sign_in?alice"}, now)
	ch.Dispatch(Request{Method: "GET", Target: "/sign_in?bob"}, now)
	ch.Dispatch(Request{Method: "GET", Target: "/wait?peer_id=1"}, now) // bob,2,1
	msg := Request{Method: "POST", Target: "/message?peer_id=2&to=1", ContentType: "text/plain", Body: make([]byte, 2048)}
	wait := Request{Method: "GET", Target: "/wait?peer_id=1"}
	b.ReportAllocs()
	for b.Loop() {
		ch.Dispatch(msg, now)
		if out := ch.Dispatch(wait, now); out.Response == nil {
			b.Fatal("parked")
		}
	}
}

// BenchmarkRelayTCP measures a message through the front door as the
// native client sends it: a /wait on one connection, a POST on another,
// each connection closed by the client.
func BenchmarkRelayTCP(b *testing.B) {
	s := startServer(b, Config{}, frontdoorConfig())
	s.do(b, signIn("alice"))
	s.do(b, signIn("bob"))
	s.do(b, "GET /wait?peer_id=1 HTTP/1.0\r\n\r\n") // bob,2,1
	msg := post(2, 1, "text/plain", string(make([]byte, 2048)))
	b.ReportAllocs()
	for b.Loop() {
		w := s.wait(b, 1) // parked, or served from the queue if the POST is first
		s.do(b, msg)
		readResponse(b, w)
		w.Close()
	}
}
