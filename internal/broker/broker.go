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

// Subscriber receives the publications of the channels it subscribed to.
// Deliver is called with the channel's lock held and must not block: it
// queues the message (a session sends it with websocket SendDroppable).
// It is the per-delivery hot path: it must not allocate.
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
// {channel, offset, data, from}, encoded once when it was published.
type Publication struct {
	Offset uint64
	json   []byte
}

// MarshalJSON returns the encoded publication.
func (p Publication) MarshalJSON() ([]byte, error) { return p.json, nil }

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

// Broker moves publications between subscribers.
type Broker interface {
	// Publish appends a publication to channel and delivers it to every
	// subscriber; it returns the publication's offset. A client message
	// on a server-fed channel is ErrForbidden.
	Publish(channel string, m Message) (uint64, error)
	// Subscribe adds sub to channel. With opts.Since, the publications
	// after it are looked up in the history (one page of them, see
	// SubscribeResult.More). ready is called with the result, outside
	// the channel's lock, before any publication after it is delivered
	// to sub, so a reply queued by ready precedes them. Subscribing
	// again is harmless. Creating a channel past opts.Quota is a
	// *QuotaError.
	Subscribe(channel string, sub Subscriber, opts SubscribeOptions, ready func(SubscribeResult)) error
	// Unsubscribe removes sub from channel; unknown ones are ignored.
	Unsubscribe(channel string, sub Subscriber)
	// Stats returns the counters.
	Stats() Stats
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

// publicationFrame is the notification every subscriber gets.
func publicationFrame(pub []byte) *websocket.PreparedMessage {
	return websocket.NewPreparedMessage(websocket.OpText, protoo.AppendNotification(nil, "publication", pub))
}
