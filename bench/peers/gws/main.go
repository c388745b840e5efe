// Command gws is the gws comparison server of `make bench`; see package
// peers for its protocol.
package main

import (
	_ "expvar"
	"flag"
	"log"
	"net/http"
	"sync"

	"github.com/lxzan/gws"
)

// echo sends every message back.
type echo struct{ gws.BuiltinEventHandler }

func (echo) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	_ = c.WriteMessage(m.Opcode, m.Bytes())
}

// hub holds the /sub connections; a /pub message goes to all of them
// through one gws.Broadcaster (encoded once, queued on each connection's
// asynchronous writer).
type hub struct {
	mu   sync.RWMutex
	subs map[*gws.Conn]struct{}
}

type subscriber struct {
	gws.BuiltinEventHandler
	h *hub
}

func (s subscriber) OnOpen(c *gws.Conn) {
	s.h.mu.Lock()
	s.h.subs[c] = struct{}{}
	s.h.mu.Unlock()
}

func (s subscriber) OnClose(c *gws.Conn, _ error) {
	s.h.mu.Lock()
	delete(s.h.subs, c)
	s.h.mu.Unlock()
}

type publisher struct {
	gws.BuiltinEventHandler
	h *hub
}

func (p publisher) OnMessage(_ *gws.Conn, m *gws.Message) {
	defer m.Close()
	b := gws.NewBroadcaster(m.Opcode, append([]byte(nil), m.Bytes()...))
	p.h.mu.RLock()
	for c := range p.h.subs {
		_ = b.Broadcast(c)
	}
	p.h.mu.RUnlock()
	_ = b.Close()
}

func serve(up *gws.Upgrader) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r)
		if err != nil {
			return
		}
		go c.ReadLoop()
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:9001", "listen `address`")
	flag.Parse()
	h := &hub{subs: make(map[*gws.Conn]struct{})}
	http.Handle("/echo", serve(gws.NewUpgrader(echo{}, nil)))
	http.Handle("/sub", serve(gws.NewUpgrader(subscriber{h: h}, nil)))
	http.Handle("/pub", serve(gws.NewUpgrader(publisher{h: h}, nil)))
	log.Fatal(http.ListenAndServe(*addr, nil))
}
