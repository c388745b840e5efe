// Command gorilla is the gorilla/websocket comparison server of `make
// bench`; see package peers for its protocol. The broadcast side follows
// gorilla's chat example: a hub, and per connection a buffered channel
// drained by a writer goroutine (a full channel drops the message).
package main

import (
	_ "expvar"
	"flag"
	"log"
	"net/http"
	"sync"

	"github.com/gorilla/websocket"
)

var upgrader = websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 4096}

// serveMessages upgrades r and hands each message to handle until reading
// or handle fails.
func serveMessages(w http.ResponseWriter, r *http.Request, handle func(c *websocket.Conn, op int, data []byte) error) {
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer c.Close()
	for {
		op, data, err := c.ReadMessage()
		if err != nil {
			return
		}
		if err := handle(c, op, data); err != nil {
			return
		}
	}
}

func echo(w http.ResponseWriter, r *http.Request) {
	serveMessages(w, r, func(c *websocket.Conn, op int, data []byte) error { return c.WriteMessage(op, data) })
}

type hub struct {
	mu   sync.RWMutex
	subs map[chan *websocket.PreparedMessage]struct{}
}

func (h *hub) sub(w http.ResponseWriter, r *http.Request) {
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	send := make(chan *websocket.PreparedMessage, 1024)
	h.mu.Lock()
	h.subs[send] = struct{}{}
	h.mu.Unlock()
	done := make(chan struct{})
	go func() { // the reader only notices the close
		defer close(done)
		for {
			if _, _, err := c.NextReader(); err != nil {
				return
			}
		}
	}()
	defer func() {
		h.mu.Lock()
		delete(h.subs, send)
		h.mu.Unlock()
		c.Close()
	}()
	for {
		select {
		case m := <-send:
			if err := c.WritePreparedMessage(m); err != nil {
				return
			}
		case <-done:
			return
		}
	}
}

func (h *hub) pub(w http.ResponseWriter, r *http.Request) {
	serveMessages(w, r, func(_ *websocket.Conn, op int, data []byte) error {
		m, err := websocket.NewPreparedMessage(op, data)
		if err != nil {
			return err
		}
		h.mu.RLock()
		for s := range h.subs {
			select {
			case s <- m:
			default: // slow subscriber: drop
			}
		}
		h.mu.RUnlock()
		return nil
	})
}

func main() {
	addr := flag.String("addr", "127.0.0.1:9002", "listen `address`")
	flag.Parse()
	h := &hub{subs: make(map[chan *websocket.PreparedMessage]struct{})}
	http.HandleFunc("/echo", echo)
	http.HandleFunc("/sub", h.sub)
	http.HandleFunc("/pub", h.pub)
	log.Fatal(http.ListenAndServe(*addr, nil))
}
