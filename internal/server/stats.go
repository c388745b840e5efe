package server

import (
	"encoding/json"
	"math"
	"net/http"
	"time"
)

// Stats is the JSON object served at GET /stats: the server's counters
// (totals since start-up) and gauges (values now). Its keys are camelCase,
// like the stream channel's [StreamFigures]; a quantity both carry has the
// same key in both (connections, sessions).
//
// The server:
//
//   - uptimeSeconds: seconds since the server started, to the millisecond.
//
// WebSocket connections, on every endpoint (/ws, /echo, protoo upgrades):
//
//   - connections: connections open now.
//   - connectionsOpened: connections opened since start-up.
//   - messagesIn, messagesOut: messages received and sent.
//   - writes: socket writes (one writev can carry many messages).
//   - blockedWrites: times a full socket made writes wait for a slow reader.
//   - slowConsumers: connections closed with 1013 because their outbound
//     queue was full.
//   - dropped: droppable messages (channel publications) evicted from full
//     queues; a subscriber recovers them by offset.
//   - writeTimeouts: connections dropped because a write missed its deadline.
//   - deadPeers: connections dropped because they did not answer pings.
//   - protocolErrors: connections failed with 1002, 1007 or 1009.
//
// Messaging on /ws (login, echo, send, channels, rooms):
//
//   - sessions: logged-in sessions now, including detached ones waiting for
//     a resume.
//   - channels: channels that exist now; subscriptions: subscriptions now.
//   - published: publications accepted; delivered: publications handed to
//     subscribers.
//   - requests: protoo requests served.
//   - historyBytes: the history all channels hold now, as stored
//     (decompressed), bounded by --history-bytes.
//   - historyEvicted: publications dropped from history to keep
//     historyBytes within --history-bytes.
//   - channelsRemoved: idle channels (no subscribers, no history left)
//     swept away.
//   - rooms: rooms with at least one member now.
//   - sessionsDetached: sessions in their resume grace period now (their
//     connection dropped; counted in sessions too).
//   - sessionsEvicted: detached sessions ended early by --max-detached or
//     --max-detached-per-ip.
//   - sendsRefusedBusy: sends and signals refused with 429 because the
//     recipient's outbound queue was half full.
//   - refusals: refusals logged (or suppressed by the log's rate limit).
//   - stream: the latest publication on the stream channel (see
//     [StreamFigures]); absent before the first one or when the stream is
//     off.
//
// WebRTC peerconnection signaling (/sign_in, /wait, ...):
//
//   - peerconnMembers: peers signed in now.
//   - peerconnParkedWaits: hanging /wait requests now.
//   - peerconnQueued: messages queued for peers now.
//   - peerconnMessages: messages accepted for another peer.
//   - peerconnRefused: requests answered 503 (queue full, member cap).
//
// The front door, which answers some connections itself and closes them:
//
//   - refusedOverCapacity: 503, --max-connections were open.
//   - refusedOverIPCap: 503, --max-connections-per-ip were open from the
//     client's address.
//   - refusedBadHeads: 400 or 431, a malformed or too large request head.
//   - refusedHeadTimeouts: 408, no complete request head within
//     --head-timeout.
type Stats struct {
	UptimeSeconds     float64 `json:"uptimeSeconds"`
	Connections       int64   `json:"connections"`
	ConnectionsOpened int64   `json:"connectionsOpened"`
	MessagesIn        int64   `json:"messagesIn"`
	MessagesOut       int64   `json:"messagesOut"`
	Writes            int64   `json:"writes"`
	BlockedWrites     int64   `json:"blockedWrites"`
	SlowConsumers     int64   `json:"slowConsumers"`
	Dropped           int64   `json:"dropped"`
	WriteTimeouts     int64   `json:"writeTimeouts"`
	DeadPeers         int64   `json:"deadPeers"`
	ProtocolErrors    int64   `json:"protocolErrors"`

	Sessions      int            `json:"sessions"`
	Channels      int            `json:"channels"`
	Subscriptions int            `json:"subscriptions"`
	Published     int64          `json:"published"`
	Delivered     int64          `json:"delivered"`
	HistoryBytes  int64          `json:"historyBytes"`
	Evicted       int64          `json:"historyEvicted"`
	IdleRemoved   int64          `json:"channelsRemoved"`
	Requests      int64          `json:"requests"`
	Rooms         int            `json:"rooms"`
	Stream        *StreamFigures `json:"stream,omitempty"`

	Detached        int   `json:"sessionsDetached"`
	DetachedEvicted int64 `json:"sessionsEvicted"`
	BusyRefused     int64 `json:"sendsRefusedBusy"`
	Refusals        int64 `json:"refusals"`

	PeerConnMembers  int   `json:"peerconnMembers"`
	PeerConnParked   int   `json:"peerconnParkedWaits"`
	PeerConnQueued   int   `json:"peerconnQueued"`
	PeerConnMessages int64 `json:"peerconnMessages"`
	PeerConnRefused  int64 `json:"peerconnRefused"`

	RefusedOverCapacity int64 `json:"refusedOverCapacity"`
	RefusedOverIPCap    int64 `json:"refusedOverIPCap"`
	RefusedBadHeads     int64 `json:"refusedBadHeads"`
	RefusedHeadTimeouts int64 `json:"refusedHeadTimeouts"`
}

// Stats returns the current counters.
func (s *Server) Stats() Stats {
	m := &s.metrics
	pc := s.pc.Channel().Stats()
	bs := s.msg.broker.Stats()
	fd := s.fd.Stats().Rejected
	return Stats{
		RefusedOverCapacity: fd.OverCapacity,
		RefusedOverIPCap:    fd.OverIPCap,
		RefusedBadHeads:     fd.BadRequest + fd.TooLarge,
		RefusedHeadTimeouts: fd.Timeout,
		UptimeSeconds:       roundTo(time.Since(s.started).Seconds(), 3),
		Connections:         m.Open.Load(),
		ConnectionsOpened:   m.Opened.Load(),
		MessagesIn:          m.MessagesIn.Load(),
		MessagesOut:         m.MessagesOut.Load(),
		Writes:              m.Writes.Load(),
		BlockedWrites:       m.BlockedWrites.Load(),
		SlowConsumers:       m.SlowConsumers.Load(),
		Dropped:             m.Dropped.Load(),
		WriteTimeouts:       m.WriteTimeouts.Load(),
		DeadPeers:           m.DeadPeers.Load(),
		ProtocolErrors:      m.ProtocolErrors.Load(),
		Sessions:            s.msg.hub.Sessions(),
		Channels:            bs.Channels,
		Subscriptions:       bs.Subscriptions,
		Published:           bs.Published,
		Delivered:           bs.Delivered,
		HistoryBytes:        bs.HistoryBytes,
		Evicted:             bs.Evicted,
		IdleRemoved:         bs.Removed,
		Requests:            s.msg.hub.Counters().Requests.Load(),
		Rooms:               len(s.msg.hub.Rooms()),
		Stream:              s.msg.figures.Load(),
		Detached:            s.msg.hub.Detached(),
		DetachedEvicted:     s.msg.hub.Counters().Evicted.Load(),
		BusyRefused:         s.msg.hub.Counters().Busy.Load(),
		Refusals:            s.msg.hub.Counters().Refused.Load(),
		PeerConnMembers:     pc.Members,
		PeerConnParked:      pc.Parked,
		PeerConnQueued:      pc.Queued,
		PeerConnMessages:    pc.Messages,
		PeerConnRefused:     pc.Refused,
	}
}

func (s *Server) handleStats(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(s.Stats())
}

// StreamFigures are the live statistics the server publishes on the stream
// channel every stream interval (Config.Messaging.StreamInterval, the
// --stream-interval flag), as the data of each publication. Rates are
// rounded to two decimals.
//
//   - connections: WebSocket connections open now (as in /stats).
//   - sessions: logged-in sessions now (as in /stats).
//   - messagesInPerSec, messagesOutPerSec: WebSocket messages received and
//     sent per second since the previous publication.
//   - heapBytes: bytes of live and unswept Go heap objects.
//   - goroutines: goroutines running now.
//   - intervalSeconds: the stream interval, so that a chart of the last N
//     publications knows the time it spans.
//   - time: when the figures were taken, RFC 3339 in UTC.
type StreamFigures struct {
	Connections       int64   `json:"connections"`
	Sessions          int     `json:"sessions"`
	MessagesInPerSec  float64 `json:"messagesInPerSec"`
	MessagesOutPerSec float64 `json:"messagesOutPerSec"`
	HeapBytes         uint64  `json:"heapBytes"`
	Goroutines        uint64  `json:"goroutines"`
	IntervalSeconds   float64 `json:"intervalSeconds"`
	Time              string  `json:"time"`
}

// perSecond is n events over d as a rate rounded to two decimals: the
// ticker's jitter makes the raw quotient 1.0000010850011771 for one event
// a second, which is noise to every reader.
func perSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return roundTo(float64(n)/d.Seconds(), 2)
}

// roundTo rounds v to the given number of decimals.
func roundTo(v float64, decimals int) float64 {
	p := math.Pow10(decimals)
	return math.Round(v*p) / p
}
