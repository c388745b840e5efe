package broker

import (
	"encoding/json"
	"errors"
	"strconv"

	"github.com/switchboard/switchboard/internal/names"
	"github.com/switchboard/switchboard/protoo"
	"github.com/switchboard/switchboard/websocket"
)

// Sentinel errors; services map them to protoo error codes.
var (
	ErrForbidden       = errors.New("broker: only the server publishes on this channel")
	ErrInvalidChannel  = errors.New("broker: invalid channel name")
	ErrTooManyChannels = errors.New("broker: too many channels")
	// ErrChannelQuota: creating the channel would pass the creator's
	// Quota (the error is a *QuotaError).
	ErrChannelQuota = errors.New("broker: channel quota")
)

// MaxChannelName is the longest channel name in bytes.
const MaxChannelName = 200

// Subscriber receives the publications of the channels it subscribed to,
// as the frame Publication.Frame built once for all subscribers. Deliver
// may be called with a broker's lock held and must not block: it queues
// the message (a session sends it with websocket SendDroppable). It is
// the per-delivery hot path: it must not allocate.
type Subscriber interface {
	Deliver(m *websocket.PreparedMessage)
}

// Position is a place in a channel's stream: the epoch and the offset of
// the last publication seen.
type Position struct {
	Epoch  string `json:"epoch"`
	Offset uint64 `json:"offset"`
}

// Message is what a publisher sends.
type Message struct {
	From   string          // the publisher's name; "" for the server
	Data   json.RawMessage // any JSON value
	Server bool            // published by the server itself, not a client
	// Quota pays for the channel if this publish creates it; nil (the
	// server's publishes) pays nothing.
	Quota *Quota
}

// SubscribeOptions are a subscribe's optional parts.
type SubscribeOptions struct {
	// Since asks for the publications after this position.
	Since *Position
	// Quota pays for the channel if this subscribe creates it.
	Quota *Quota
}

// Publication is one message in a channel. It marshals to the wire object
// {channel, offset, data, from}, encoded once by NewPublication; the zero
// value is not a publication.
type Publication struct {
	Offset uint64
	json   []byte
}

// NewPublication encodes the publication of m at offset in channel. A
// broker calls it once per publication (per node) and keeps the result
// for history and replay.
func NewPublication(channel string, offset uint64, m Message) Publication {
	return Publication{Offset: offset, json: encodePublication(channel, offset, m)}
}

// MarshalJSON returns the encoded publication; the caller must not
// modify it.
func (p Publication) MarshalJSON() ([]byte, error) { return p.json, nil }

// Size is the length of the encoded publication, what it costs in a
// history.
func (p Publication) Size() int { return len(p.json) }

// Frame returns the protoo notification `publication` that subscribers
// get, as a prepared WebSocket message. It encodes (and allocates) on
// every call: a broker calls it once per publication and hands the same
// frame to every Subscriber.
func (p Publication) Frame() *websocket.PreparedMessage {
	return websocket.NewPreparedMessage(websocket.OpText, protoo.AppendNotification(nil, "publication", p.json))
}

// SubscribeResult is the reply to a subscribe.
type SubscribeResult struct {
	Channel string `json:"channel"`
	Epoch   string `json:"epoch"`
	// Offset is the channel's latest offset when the subscription began.
	Offset uint64 `json:"offset"`
	// Recovered says that Publications are exactly those after the
	// requested position; false when no position was given or the
	// history no longer holds them.
	Recovered bool `json:"recovered"`
	// Publications are the replayed ones, oldest first: one page of at
	// most MemoryConfig.ReplayBytes and ReplayCount.
	Publications []Publication `json:"publications"`
	// More says that the replay stopped before Offset: subscribe again
	// with since at the last of Publications for the next page. Left out
	// of the JSON when false.
	More bool `json:"more,omitempty"`
}

// MarshalJSON encodes the reply; nil Publications are encoded as [], so
// a broker need not allocate an empty slice.
func (r SubscribeResult) MarshalJSON() ([]byte, error) {
	type plain SubscribeResult
	if r.Publications == nil {
		r.Publications = []Publication{}
	}
	return json.Marshal(plain(r))
}

// Stats are a broker's counters.
type Stats struct {
	Channels      int
	Subscriptions int
	Published     int64 // publications accepted
	Delivered     int64 // publications handed to subscribers
	HistoryBytes  int64 // encoded bytes in all channels' history
	Evicted       int64 // publications dropped for the history budget
	Removed       int64 // idle channels removed
}

// Broker moves publications between subscribers. Memory is the one-node
// implementation; package brokertest holds the behaviour suite every
// implementation passes. The contract, for one channel:
//
//   - Offsets. A channel numbers its publications 1, 2, 3, ... with no
//     gap and no reuse within an epoch. The epoch (a non-empty opaque
//     string) changes only when the channel's offsets start again, and
//     never while sub is subscribed: a broker that loses history of a
//     channel in use keeps its epoch and offsets and answers
//     Recovered:false for the positions it no longer holds.
//   - The result. ready is called once, synchronously, before a nil
//     Subscribe returns (never on an error), and not under a lock that
//     Publish needs: it may publish. Every publication with an offset
//     after SubscribeResult.Offset reaches sub by Deliver: a broker
//     registers sub before it reads the offset.
//   - Live delivery. Deliver is called for sub's publications of channel
//     one at a time, in increasing offset order, until Unsubscribe
//     returns. A broker may leave some out to bound its memory, as a
//     slow subscriber's queue does: the next offset shows the gap and the
//     subscriber recovers it with Since.
//   - Duplicates and order around the result (the relaxed part). A
//     publication may reach Deliver before ready runs or while it runs,
//     and one with an offset up to SubscribeResult.Offset may be
//     delivered live as well as replayed. Subscribers de-duplicate by
//     offset: they hold publications back until the reply is applied and
//     drop offsets already seen. Both clients do: client/subscription.go
//     (Subscription.receive, apply, release) and internal/server/web/
//     client.js (#receive, #apply, #release).
//
// Memory keeps a stronger order, which docs/messaging.md promises clients
// of one node: the reply precedes every live publication after its
// offset, and none is delivered twice.
type Broker interface {
	// Publish appends a publication to channel and delivers it to every
	// subscriber (Memory before it returns, a remote broker possibly
	// after); it returns the publication's offset. A client message
	// on a server-fed channel is ErrForbidden; an invalid name is
	// ErrInvalidChannel; creating a channel past the broker's cap is
	// ErrTooManyChannels and past m.Quota a *QuotaError.
	Publish(channel string, m Message) (uint64, error)
	// Subscribe adds sub to channel and calls ready with the result (see
	// the contract above). With opts.Since, the publications after it
	// are looked up in the history (one page of them, see
	// SubscribeResult.More). Subscribing again is harmless: sub gets
	// each publication once still. Creating a channel fails as for
	// Publish, charged to opts.Quota. ready may be nil.
	Subscribe(channel string, sub Subscriber, opts SubscribeOptions, ready func(SubscribeResult)) error
	// Unsubscribe removes sub from channel; unknown ones are ignored.
	// No Deliver of channel's publications to sub follows its return.
	Unsubscribe(channel string, sub Subscriber)
	// Stats returns the counters.
	Stats() Stats
}

// Sweeper is a Broker that must be told to expire history and remove
// idle channels; the server calls Sweep every 30 s when its broker is
// one. It is optional, not part of Broker, because a remote broker
// expires history where it stores it (for example a stream's maximum
// age) and has nothing to sweep on a node. Sweep returns how many
// channels it removed.
type Sweeper interface {
	Sweep() int
}

// ValidChannel reports whether name may name a channel: at most
// MaxChannelName bytes, under the naming rule of package names (the one
// for login and room names too).
func ValidChannel(name string) bool {
	return len(name) <= MaxChannelName && names.Check(name, MaxChannelName) == nil
}

// encodePublication encodes the wire object of a publication.
func encodePublication(channel string, offset uint64, m Message) []byte {
	ch, _ := json.Marshal(channel)
	from, _ := json.Marshal(m.From)
	b := make([]byte, 0, 48+len(ch)+len(from)+len(m.Data))
	b = append(b, `{"channel":`...)
	b = append(b, ch...)
	b = append(b, `,"offset":`...)
	b = strconv.AppendUint(b, offset, 10)
	b = append(b, `,"data":`...)
	if len(m.Data) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, m.Data...)
	}
	b = append(b, `,"from":`...)
	b = append(b, from...)
	return append(b, '}')
}
