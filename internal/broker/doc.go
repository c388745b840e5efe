// Package broker moves channel publications between sessions.
//
// Broker is the seam, with its contract written on it; Memory is the
// in-memory implementation for one node, and a second one (NATS, say) can
// live in another package: it builds each publication once with
// NewPublication, its frame once with Publication.Frame, charges new
// channels to a Quota with Take and Release, and runs the behaviour suite
// of package brokertest, as Memory does. A Broker that must be swept
// periodically is also a Sweeper; the server holds a Broker only.
//
// A channel is created on first use with the Options its name's longest
// matching Rule gives (who may publish, history size and age), and
// charged to the Quota of the session that created it. Every publication
// gets the next offset of its channel (from 1); a channel has an epoch
// that changes when its offsets start again, so a client that remembers
// {epoch, offset} can subscribe again and get what it missed, one page at
// a time (SubscribeResult.More), or learn that the window no longer holds
// it.
//
// The contract lets a publication reach a subscriber before its
// subscribe result, or twice around it: subscribers de-duplicate by
// offset. Memory gives more: it registers the subscriber as pending under
// the channel's lock, hands the result to ready after unlocking, and
// delivers what was published meanwhile after it (memory.go).
//
// Memory bounds what it keeps: the channels alive (MaxChannels, and
// MaxChannelsPerQuota per creator), each history (HistorySize,
// MaxHistoryBytes, a maximum age) and all histories together
// (HistoryBytes, the oldest publications of any channel go first; see
// budget.go). Sweep (sweep.go) removes idle channels. Start with NewMemory
// and Rules.
package broker
