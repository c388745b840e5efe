package websocket_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/switchboard/switchboard/websocket"
)

// An echo server on net/http, and a client that dials it.
func Example() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Upgrade(w, r, nil)
		if err != nil {
			return // Upgrade has answered with the HTTP status
		}
		_ = c.Run(context.Background(), websocket.HandlerFunc(func(c *websocket.Conn, op websocket.Opcode, data []byte) {
			_ = c.SendMessage(op, data)
		}))
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/echo", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	got := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- c.Run(ctx, websocket.HandlerFunc(func(_ *websocket.Conn, _ websocket.Opcode, data []byte) {
			got <- string(data)
		}))
	}()
	_ = c.SendMessage(websocket.OpText, []byte("hello"))
	fmt.Println(<-got)
	c.Close(websocket.StatusNormalClosure, "bye")
	fmt.Println(websocket.CloseStatus(<-done))
	// Output:
	// hello
	// normal closure
}
