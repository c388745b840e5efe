package peerconnection_test

import (
	"context"
	"fmt"
	"log"

	"github.com/switchboard/switchboard/peerconnection"
)

// A member signs in, prints who is there, and prints what arrives.
func Example() {
	ctx := context.Background()
	c, peers, err := peerconnection.SignIn(ctx, "http://localhost:8888", "alice")
	if err != nil {
		log.Fatal(err)
	}
	defer c.SignOut(ctx)
	fmt.Println("my id:", c.ID())
	for _, p := range peers {
		fmt.Println("peer", p.ID, p.Name)
	}
	for {
		ev, err := c.Wait(ctx)
		if err != nil {
			log.Fatal(err)
		}
		switch {
		case ev.Presence != nil:
			fmt.Println("presence:", ev.Presence.Name, ev.Presence.Connected)
		case string(ev.Body) == "BYE":
			fmt.Println(ev.From, "hung up")
		default:
			fmt.Printf("message from %d: %s\n", ev.From, ev.Body)
		}
	}
}
