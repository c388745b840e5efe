package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"time"

	"github.com/switchboard/switchboard/client"
	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/protoo"
)

// exampleServer runs a Switchboard server on a loopback port for an
// example and returns its messaging URL and a stop function. A program
// would dial its real server instead, e.g. ws://localhost:8888/ws.
func exampleServer() (url string, stop func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	s := server.New(server.Config{})
	go func() { _ = s.Serve(ln) }()
	return "ws://" + ln.Addr().String() + "/ws", func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	}
}

// Dial a server, log in, and call a method.
func Example() {
	url, stop := exampleServer()
	defer stop()
	ctx := context.Background()

	c, err := client.Dial(ctx, url)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	r, err := c.Login(ctx, "alice")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Welcome)
	data, err := c.Echo(ctx, map[string]int{"x": 1})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(data))
	// Output:
	// Welcome alice
	// {"x":1}
}

// Send a routed message to another client by name.
func ExampleClient_Send() {
	url, stop := exampleServer()
	defer stop()
	ctx := context.Background()

	alice, _ := client.Dial(ctx, url)
	defer alice.Close()
	bob, _ := client.Dial(ctx, url)
	defer bob.Close()
	got := make(chan client.Message, 1)
	bob.OnMessage(func(m client.Message) { got <- m })
	_, _ = alice.Login(ctx, "alice")
	_, _ = bob.Login(ctx, "bob")

	if err := alice.Send(ctx, "bob", "hello bob"); err != nil {
		log.Fatal(err)
	}
	m := <-got
	fmt.Printf("bob got %s from %s\n", m.Data, m.From)

	// An unknown recipient is an error, never a silent drop.
	err := alice.Send(ctx, "carol", "hello?")
	var pe *protoo.Error
	if errors.As(err, &pe) {
		fmt.Println("carol:", int(pe.Code), pe.Code)
	}
	// Output:
	// bob got "hello bob" from alice
	// carol: 404 not found
}

// Subscribe to a channel and receive its publications in offset order.
func ExampleClient_Subscribe() {
	url, stop := exampleServer()
	defer stop()
	ctx := context.Background()

	c, _ := client.Dial(ctx, url)
	defer c.Close()
	_, _ = c.Login(ctx, "alice")
	got := make(chan client.Publication, 1)
	sub, err := c.Subscribe(ctx, "group", func(p client.Publication) { got <- p })
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Publish(ctx, "group", "hi all"); err != nil {
		log.Fatal(err)
	}
	p := <-got
	fmt.Printf("%s #%d from %s: %s\n", p.Channel, p.Offset, p.From, p.Data)
	_ = sub.Unsubscribe(ctx)
	// Output:
	// group #1 from alice: "hi all"
}

// Receive the server's notifications by method, as raw JSON.
func ExampleClient_OnNotification() {
	url, stop := exampleServer()
	defer stop()
	ctx := context.Background()

	alice, _ := client.Dial(ctx, url)
	defer alice.Close()
	bob, _ := client.Dial(ctx, url)
	defer bob.Close()
	got := make(chan json.RawMessage, 1)
	bob.OnNotification("message", func(data json.RawMessage) { got <- data })
	_, _ = alice.Login(ctx, "alice")
	_, _ = bob.Login(ctx, "bob")
	_ = alice.Send(ctx, "bob", map[string]int{"n": 1})
	fmt.Println(string(<-got))
	// Output:
	// {"from":"alice","data":{"n":1}}
}

// Call any method with Request; an error response is a *protoo.Error.
func ExampleClient_Request() {
	url, stop := exampleServer()
	defer stop()
	ctx := context.Background()

	c, _ := client.Dial(ctx, url)
	defer c.Close()
	_, _ = c.Login(ctx, "alice")
	data, err := c.Request(ctx, "online", nil)
	fmt.Println(string(data), err)
	_, err = c.Request(ctx, "frobnicate", nil)
	fmt.Println(protoo.CodeOf(err))
	// Output:
	// {"names":["alice"]} <nil>
	// unknown method
}

// Configure reconnecting, logging and connection events. (Compile-only:
// it needs a server at localhost:8888.)
func ExampleWithReconnect() {
	ctx := context.Background()
	c, err := client.Dial(ctx, "ws://localhost:8888/ws",
		client.WithReconnect(client.ExponentialBackoff(500*time.Millisecond, 30*time.Second)),
		client.WithLogger(slog.Default()),
		client.WithEventHandler(func(e client.Event) { log.Println("switchboard:", e) }),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	// After a drop the client dials again, logs in with its resume token
	// and recovers its subscriptions; requests wait for it.
	_, _ = c.Login(ctx, "alice")
	_, _ = c.Subscribe(ctx, "stream", func(p client.Publication) { fmt.Println(string(p.Data)) })
	<-c.Done()
}

// Join a room, watch its members and relay a signal (an SDP offer, an ICE
// candidate: any JSON) to one of them.
func ExampleClient_Join() {
	url, stop := exampleServer()
	defer stop()
	ctx := context.Background()

	alice, err := client.Dial(ctx, url)
	if err != nil {
		log.Fatal(err)
	}
	defer alice.Close()
	joined := make(chan client.PeerEvent, 1)
	alice.OnPeerJoined(func(e client.PeerEvent) { joined <- e })
	if _, err := alice.Login(ctx, "alice"); err != nil {
		log.Fatal(err)
	}
	if _, err := alice.Join(ctx, "lobby", map[string]string{"displayName": "Alice"}); err != nil {
		log.Fatal(err)
	}

	bob, err := client.Dial(ctx, url)
	if err != nil {
		log.Fatal(err)
	}
	defer bob.Close()
	signals := make(chan client.Signal, 1)
	bob.OnSignal(func(s client.Signal) { signals <- s })
	if _, err := bob.Login(ctx, "bob"); err != nil {
		log.Fatal(err)
	}
	j, err := bob.Join(ctx, "lobby", nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("bob sees %s with %s\n", j.Peers[0].ID, j.Peers[0].Info)

	e := <-joined
	fmt.Printf("alice sees %s join %s\n", e.ID, e.Room)
	if err := alice.Signal(ctx, "lobby", e.ID, map[string]any{"description": map[string]string{"type": "offer", "sdp": "v=0..."}}); err != nil {
		log.Fatal(err)
	}
	s := <-signals
	fmt.Printf("bob got from %s: %s\n", s.From, s.Data)
	// Output:
	// bob sees alice with {"displayName":"Alice"}
	// alice sees bob join lobby
	// bob got from alice: {"description":{"sdp":"v=0...","type":"offer"}}
}
