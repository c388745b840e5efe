// Package broker moves channel publications between sessions.
//
// Broker is the seam; Memory is the in-memory implementation for one node
// (a NATS-backed one can sit behind the same interface). A channel is
// created on first use with the Options its name's longest matching Rule
// gives (who may publish, history size and age), and charged to the Quota
// of the session that created it. Every publication gets the next offset
// of its channel (from 1); a channel has a random epoch that changes when
// its history is lost, so a client that remembers {epoch, offset} can
// subscribe again and get what it missed, one page at a time
// (SubscribeResult.More), or learn that the window no longer holds it.
//
// Publish encodes the protoo notification `publication` once, as a
// *websocket.PreparedMessage, and hands the same message to every
// subscriber. Subscribe registers the subscriber under the channel's lock
// and hands the result to its ready callback after unlocking; what is
// published meanwhile is held and delivered after the result.
//
// Memory bounds what it keeps: the channels alive (MaxChannels, and
// MaxChannelsPerQuota per creator), each history (HistorySize,
// MaxHistoryBytes, a maximum age) and all histories together
// (HistoryBytes, the oldest publications of any channel go first; see
// budget.go). Sweep (sweep.go) removes idle channels. Start with NewMemory
// and Rules.
package broker
