package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard/switchboard/client"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "roomecho:", err)
		os.Exit(1)
	}
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// run joins the room and serves until ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("roomecho", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "ws://localhost:8888/ws", "Switchboard messaging `URL`")
	room := fs.String("room", "lobby", "`room` to join")
	name := fs.String("name", "echo", "login `name`")
	loopback := fs.Bool("loopback", false, "use loopback ICE candidates only (tests, one machine)")
	var iceServers stringList
	fs.Var(&iceServers, "ice-server", "STUN or TURN `url`; repeatable")
	if err := fs.Parse(args); err != nil {
		return err
	}

	api, err := newAPI(*loopback)
	if err != nil {
		return err
	}
	e := &echoer{api: api, room: *room, out: stdout, peers: make(map[string]*peer)}
	for _, u := range iceServers {
		e.config.ICEServers = append(e.config.ICEServers, webrtc.ICEServer{URLs: []string{u}})
	}
	c, err := client.Dial(ctx, *url, client.WithReconnect(client.ExponentialBackoff(250*time.Millisecond, 5*time.Second)))
	if err != nil {
		return err
	}
	defer c.Close()
	e.c = c
	c.OnPeerJoined(func(ev client.PeerEvent) {
		if ev.Room == e.room {
			e.drop(ev.ID) // a member that joins afresh starts over
			fmt.Fprintf(stdout, "%s joined\n", ev.ID)
		}
	})
	c.OnPeerLeft(func(ev client.PeerEvent) {
		if ev.Room == e.room {
			e.drop(ev.ID)
			fmt.Fprintf(stdout, "%s left\n", ev.ID)
		}
	})
	c.OnSignal(func(s client.Signal) {
		if s.Room == e.room {
			e.onSignal(ctx, s)
		}
	})
	if _, err := c.Login(ctx, *name); err != nil {
		return fmt.Errorf("login %s: %w", *name, err) // e.g. login echo: 409 name "echo" is taken
	}
	j, err := c.Join(ctx, *room, map[string]string{"displayName": *name + " (Pion echo)"})
	if err != nil {
		return fmt.Errorf("join %s: %w", *room, err)
	}
	fmt.Fprintf(stdout, "joined room %s as %s with %d others\n", j.Room, c.Name(), len(j.Peers))
	select {
	case <-ctx.Done():
	case <-c.Done():
		return c.Err()
	}
	e.closeAll()
	return ctx.Err()
}

// newAPI returns a Pion API with the default codecs; loopback limits ICE to
// 127.0.0.1 without mDNS.
func newAPI(loopback bool) (*webrtc.API, error) {
	var m webrtc.MediaEngine
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	var se webrtc.SettingEngine
	if loopback {
		se.SetIncludeLoopbackCandidate(true)
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
		se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(&m), webrtc.WithSettingEngine(se)), nil
}

// echoer holds one peer connection per member that sent an offer.
type echoer struct {
	api    *webrtc.API
	config webrtc.Configuration
	c      *client.Client
	room   string
	out    io.Writer

	mu    sync.Mutex
	peers map[string]*peer
}

// signalData is the data of a signal: the web app's perfect-negotiation
// messages.
type signalData struct {
	Description *webrtc.SessionDescription `json:"description,omitempty"`
	Candidate   *webrtc.ICECandidateInit   `json:"candidate,omitempty"`
}

// peer is the connection to one member. Signals to it go out in order
// through a queue; local candidates wait until the answer is queued.
type peer struct {
	id  string
	pc  *webrtc.PeerConnection
	out chan signalData

	mu       sync.Mutex
	answered bool
	pending  []signalData
	closed   bool
}

func (e *echoer) onSignal(ctx context.Context, s client.Signal) {
	var d signalData
	if err := json.Unmarshal(s.Data, &d); err != nil {
		fmt.Fprintf(e.out, "bad signal from %s: %v\n", s.From, err)
		return
	}
	p, err := e.peer(ctx, s.From)
	if err != nil {
		fmt.Fprintf(e.out, "peer connection for %s: %v\n", s.From, err)
		return
	}
	switch {
	case d.Description != nil && d.Description.Type == webrtc.SDPTypeOffer:
		if err := p.answer(*d.Description); err != nil {
			fmt.Fprintf(e.out, "answering %s: %v\n", s.From, err)
		}
	case d.Description != nil:
		// We never offer, so an answer is unexpected: ignore it.
	case d.Candidate != nil:
		if err := p.pc.AddICECandidate(*d.Candidate); err != nil {
			fmt.Fprintf(e.out, "candidate from %s: %v\n", s.From, err)
		}
	}
}

// peer returns the connection to member id, creating it.
func (e *echoer) peer(ctx context.Context, id string) (*peer, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if p := e.peers[id]; p != nil {
		return p, nil
	}
	pc, err := e.api.NewPeerConnection(e.config)
	if err != nil {
		return nil, err
	}
	p := &peer{id: id, pc: pc, out: make(chan signalData, 256)}
	negotiated, chanID := true, uint16(0)
	dc, err := pc.CreateDataChannel("chat", &webrtc.DataChannelInit{Negotiated: &negotiated, ID: &chanID})
	if err != nil {
		_ = pc.Close()
		return nil, err
	}
	dc.OnOpen(func() { fmt.Fprintf(e.out, "data channel with %s open\n", id) })
	dc.OnMessage(func(m webrtc.DataChannelMessage) {
		var err error
		if m.IsString {
			err = dc.SendText(string(m.Data))
		} else {
			err = dc.Send(m.Data)
		}
		if err == nil {
			fmt.Fprintf(e.out, "echoed %d bytes to %s\n", len(m.Data), id)
		}
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		buf := make([]byte, 1500)
		for {
			if _, _, err := tr.Read(buf); err != nil {
				return
			}
		}
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		fmt.Fprintf(e.out, "connection with %s %s\n", id, s)
	})
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			init := c.ToJSON()
			p.send(signalData{Candidate: &init})
		}
	})
	go func() {
		for d := range p.out {
			if err := e.c.Signal(ctx, e.room, id, d); err != nil {
				fmt.Fprintf(e.out, "signal to %s: %v\n", id, err)
			}
		}
	}()
	e.peers[id] = p
	return p, nil
}

// answer applies an offer and queues the answer, then the candidates
// gathered meanwhile.
func (p *peer) answer(offer webrtc.SessionDescription) error {
	if err := p.pc.SetRemoteDescription(offer); err != nil {
		return err
	}
	ans, err := p.pc.CreateAnswer(nil)
	if err != nil {
		return err
	}
	if err := p.pc.SetLocalDescription(ans); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.out <- signalData{Description: p.pc.LocalDescription()}
	for _, d := range p.pending {
		p.out <- d
	}
	p.pending = nil
	p.answered = true
	return nil
}

// send queues a signal, or keeps it until the answer is queued.
func (p *peer) send(d signalData) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.closed:
	case !p.answered:
		p.pending = append(p.pending, d)
	default:
		select {
		case p.out <- d:
		default: // a member that does not keep up loses candidates
		}
	}
}

func (p *peer) close() {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.out)
	}
	p.mu.Unlock()
	_ = p.pc.Close()
}

func (e *echoer) drop(id string) {
	e.mu.Lock()
	p := e.peers[id]
	delete(e.peers, id)
	e.mu.Unlock()
	if p != nil {
		p.close()
	}
}

func (e *echoer) closeAll() {
	e.mu.Lock()
	peers := e.peers
	e.peers = make(map[string]*peer)
	e.mu.Unlock()
	for _, p := range peers {
		p.close()
	}
}
