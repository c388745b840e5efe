// Package broker moves channel publications between sessions.
//
// Broker is the seam; Memory is the in-memory implementation for one node
// (a NATS-backed one can sit behind the same interface). A channel is
// created on first use with the Options its name's longest matching Rule
// gives (who may publish, history size and age). Every publication gets the
// next offset of its channel (from 1); a channel has a random epoch that
// changes when its history is lost, so a client that remembers {epoch,
// offset} can subscribe again and get exactly what it missed, or learn that
// the window no longer holds it.
//
// Publish encodes the protoo notification `publication` once, as a
// *websocket.PreparedMessage, and hands the same message to every
// subscriber. Start with NewMemory and Rules.
package broker
