// Command roomecho joins a Switchboard video room as a WebRTC peer built
// with Pion and echoes every data-channel message it receives.
//
//	go run ./examples/roomecho --url ws://localhost:8888/ws --room lobby --name echo
//
// Open the web app (http://localhost:8888/), log in, join the same room in
// the Video room tab and type in its message box: each message comes back
// from "echo". The program speaks the room protocol of docs/messaging.md
// through the Go client (package client): join, then signal {room, to,
// data} with data {description} or {candidate}, the same payloads the web
// app's perfect negotiation sends. It never makes an offer: it answers the
// offers of the others (a browser offers as soon as it has a track or a
// data channel), and both sides open the negotiated data channel "chat"
// (id 0). Received audio and video are read and discarded.
package main
