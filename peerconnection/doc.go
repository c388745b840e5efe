// Package peerconnection is a client of WebRTC's peerconnection signaling
// protocol (HTTP long-poll), as served by WebRTC's peerconnection_server
// and by Switchboard on its main port.
//
// Start with [SignIn], then loop on [Client.Wait] (the "hanging GET"),
// which returns each presence change and each message from another member,
// [Client.Send] a message to a member id, and [Client.SignOut].
//
// The client sends exactly the bytes WebRTC's native peerconnection_client
// sends (HTTP/1.0, one request per connection, no Host header) and reads
// responses with its literal header matching; the functions of wire.go
// ([SignInRequest], [ParseResponse], ...) expose that format for tests and
// other tools. Message bodies are opaque: the native client sends JSON
// session descriptions ({"type","sdp"}), ICE candidates
// ({"candidate","sdpMid","sdpMLineIndex"}) and "BYE".
package peerconnection
