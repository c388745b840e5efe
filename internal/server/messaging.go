package server

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/internal/broker"
	"github.com/switchboard/switchboard/internal/httphead"
	"github.com/switchboard/switchboard/internal/session"
	"github.com/switchboard/switchboard/websocket"
)

// MessagingConfig configures the native messaging protocol on /ws (and on
// every upgrade that offers the protoo subprotocol). The zero value works.
type MessagingConfig struct {
	// LoginTimeout closes a connection that has not logged in with 4000
	// "login timeout". Default 30 s.
	LoginTimeout time.Duration
	// ResumeGrace keeps a session after an abnormal disconnect for a
	// reconnect with its resume token. Default 30 s; negative: none.
	ResumeGrace time.Duration
	// Channels are channel rules by name prefix; they override the
	// built-in ones (group, stream, presence) for equal prefixes.
	Channels broker.Rules
	// MaxRoomMembers caps the members of one room (default 32) and
	// MaxRoomsPerSession the rooms one session is in (default 16); a join
	// past either is error 429.
	MaxRoomMembers     int
	MaxRoomsPerSession int
	// MaxDetached caps the sessions in their resume grace period (default
	// 4096) and MaxDetachedPerIP those of one client address (an IPv4
	// address or an IPv6 /64, default 64); a detach past either ends the
	// oldest such session early. Negative: no cap.
	MaxDetached      int
	MaxDetachedPerIP int
	// MaxRoomInfoBytes caps the room info one session holds over all its
	// rooms; a join past it is error 413. Default 64 KiB.
	MaxRoomInfoBytes int
	// ICEServers are the STUN/TURN URLs (stun:host:port, turn:...) the
	// web app's video room hands to RTCPeerConnection, served at
	// /config.json. Default none: enough on a LAN or loopback.
	ICEServers []string
	// StreamInterval is how often the server publishes its statistics on
	// the stream channel. Default 1 s; negative disables.
	StreamInterval time.Duration
	// HistoryBytes caps the history of all channels together, counted
	// decompressed as stored; past it the oldest publications of any
	// channel are dropped. Default 256 MiB; negative: no cap.
	HistoryBytes int64
	// HistoryMaxAge is the history max age of channels whose rule sets
	// none. Default 1 h; negative: none.
	HistoryMaxAge time.Duration
	// ChannelsPerSession caps the channels one session has created (by
	// publish or subscribe) that are still in use; one more is error
	// 429. Default 100; negative: no cap.
	ChannelsPerSession int
	// Broker carries the channels. Default nil: a broker.Memory built
	// from Channels, HistoryBytes, HistoryMaxAge and ChannelsPerSession,
	// which another broker must apply by itself. One that is a
	// broker.Sweeper is swept every 30 s.
	Broker broker.Broker
	// Directory, Router and Rooms are the session seams (session.Config):
	// names, delivery by session key, and rooms. nil: the in-memory
	// implementations of one node.
	Directory session.Directory
	Router    session.Router
	Rooms     session.Rooms
}

// sweepInterval is how often idle channels are removed.
const sweepInterval = 30 * time.Second

// messaging is the server's messaging service: the hub, its broker and the
// stream feeder.
type messaging struct {
	hub    *session.Hub
	broker broker.Broker

	startOnce sync.Once
	stopOnce  sync.Once
	stop      chan struct{}
	wg        sync.WaitGroup
	figures   atomic.Pointer[StreamFigures]
}

func newMessaging(s *Server) *messaging {
	cfg := s.cfg.Messaging
	b := cfg.Broker
	if b == nil {
		rules := append(broker.DefaultRules(), cfg.Channels...)
		b = broker.NewMemory(broker.MemoryConfig{Rules: rules, HistoryBytes: cfg.HistoryBytes,
			HistoryMaxAge: cfg.HistoryMaxAge, MaxChannelsPerQuota: cfg.ChannelsPerSession})
	}
	return &messaging{
		hub: session.NewHub(session.Config{
			LoginTimeout:       cfg.LoginTimeout,
			ResumeGrace:        cfg.ResumeGrace,
			MaxRoomMembers:     cfg.MaxRoomMembers,
			MaxRoomsPerSession: cfg.MaxRoomsPerSession,
			MaxDetached:        cfg.MaxDetached,
			MaxDetachedPerIP:   cfg.MaxDetachedPerIP,
			MaxRoomInfoBytes:   cfg.MaxRoomInfoBytes,
			Broker:             b,
			Directory:          cfg.Directory,
			Router:             cfg.Router,
			Rooms:              cfg.Rooms,
			Logger:             s.log,
		}),
		broker: b,
		stop:   make(chan struct{}),
	}
}

// isMessaging reports whether an upgrade to path p speaks the messaging
// protocol: /ws always, any other path when it offers protoo.
func isMessaging(p string, req *httphead.Request) bool {
	return p == "/ws" || websocket.OffersSubprotocol(req.Header, "protoo")
}

// serveMessaging runs one messaging connection.
func (s *Server) serveMessaging(ctx context.Context, nc net.Conn, req *httphead.Request, buffered []byte) {
	c := s.accept(nc, req, buffered, s.acceptOptions())
	if c == nil {
		return
	}
	var query url.Values
	if u, err := url.ParseRequestURI(req.Target); err == nil {
		query = u.Query()
	}
	cl := s.msg.hub.Open(c, query)
	_ = c.Run(ctx, websocket.HandlerFunc(func(c *websocket.Conn, op websocket.Opcode, data []byte) {
		cl.OnMessage(c, op, data)
	}))
	ce := c.CloseStatus()
	cl.Closed(ce.Code)
	s.log.Debug("messaging connection closed", "remote", nc.RemoteAddr().String(), "code", uint16(ce.Code), "reason", ce.Reason)
}

// streamInterval is how often the stream channel gets a publication; 0
// when it is off.
func (c MessagingConfig) streamInterval() time.Duration {
	switch {
	case c.StreamInterval < 0:
		return 0
	case c.StreamInterval == 0:
		return time.Second
	}
	return c.StreamInterval
}

// start starts the channel sweeper (when the broker is a Sweeper) and,
// unless the stream is off, the stream feeder, once.
func (m *messaging) start(s *Server) {
	interval := s.cfg.Messaging.streamInterval()
	m.startOnce.Do(func() {
		if sw, ok := m.broker.(broker.Sweeper); ok {
			m.wg.Add(1)
			go m.sweep(sw)
		}
		if interval > 0 {
			m.wg.Add(1)
			go m.feed(s, interval)
		}
	})
}

// sweep removes idle channels and expired history every sweepInterval.
func (m *messaging) sweep(sw broker.Sweeper) {
	defer m.wg.Done()
	t := time.NewTicker(sweepInterval)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			sw.Sweep()
		}
	}
}

// close stops the feeder, the sweeper and the hub's timers.
func (m *messaging) close() {
	m.stopOnce.Do(func() {
		close(m.stop)
		m.startOnce.Do(func() {}) // a feeder not started yet never starts
	})
	m.wg.Wait()
	m.hub.Close()
}

// feed publishes StreamFigures on the stream channel every interval.
func (m *messaging) feed(s *Server, interval time.Duration) {
	defer m.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	samples := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/sched/goroutines:goroutines"},
	}
	last := time.Now()
	lastIn, lastOut := s.metrics.MessagesIn.Load(), s.metrics.MessagesOut.Load()
	for {
		select {
		case <-m.stop:
			return
		case now := <-t.C:
			in, out := s.metrics.MessagesIn.Load(), s.metrics.MessagesOut.Load()
			elapsed := now.Sub(last)
			metrics.Read(samples)
			f := &StreamFigures{
				Connections:       s.metrics.Open.Load(),
				Sessions:          m.hub.Sessions(),
				MessagesInPerSec:  perSecond(in-lastIn, elapsed),
				MessagesOutPerSec: perSecond(out-lastOut, elapsed),
				IntervalSeconds:   interval.Seconds(),
				Time:              now.UTC().Format(time.RFC3339Nano),
			}
			if samples[0].Value.Kind() == metrics.KindUint64 {
				f.HeapBytes = samples[0].Value.Uint64()
			}
			if samples[1].Value.Kind() == metrics.KindUint64 {
				f.Goroutines = samples[1].Value.Uint64()
			}
			last, lastIn, lastOut = now, in, out
			m.figures.Store(f)
			data, _ := json.Marshal(f)
			if _, err := m.broker.Publish(broker.ChannelStream, broker.Message{Data: data, Server: true}); err != nil {
				s.log.Warn("stream publish failed", "err", err)
			}
		}
	}
}

// Hub returns the messaging hub.
func (s *Server) Hub() *session.Hub { return s.msg.hub }

// ClientConfig is the JSON served at /config.json for the web app.
type ClientConfig struct {
	ICEServers []ICEServer `json:"iceServers"`
	// StreamIntervalSeconds is how often the stream channel gets a
	// publication (--stream-interval); 0 when the stream is off.
	StreamIntervalSeconds float64 `json:"streamIntervalSeconds"`
}

// ICEServer is one entry of RTCConfiguration.iceServers.
type ICEServer struct {
	URLs []string `json:"urls"`
}

func (s *Server) handleClientConfig(w http.ResponseWriter, _ *http.Request) {
	cc := ClientConfig{ICEServers: []ICEServer{}, StreamIntervalSeconds: s.cfg.Messaging.streamInterval().Seconds()}
	for _, u := range s.cfg.Messaging.ICEServers {
		cc.ICEServers = append(cc.ICEServers, ICEServer{URLs: []string{u}})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(cc)
}
