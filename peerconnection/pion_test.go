package peerconnection_test

import (
	"context"
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard/switchboard/internal/peerconn"
	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testutil/servertest"
	"github.com/switchboard/switchboard/peerconnection"
)

// sessionDescription and candidate are the message bodies of WebRTC's
// native client (docs/peerconnection.md, "The native client's expectations").
type sessionDescription struct {
	SDP  string `json:"sdp"`
	Type string `json:"type"`
}

type candidate struct {
	Candidate     string `json:"candidate"`
	SDPMid        string `json:"sdpMid"`
	SDPMLineIndex uint16 `json:"sdpMLineIndex"`
}

// pionPeer is one side of the call: a signaling client and a Pion
// PeerConnection restricted to the loopback interface.
type pionPeer struct {
	t      *testing.T
	name   string
	sig    *peerconnection.Client
	pc     *webrtc.PeerConnection
	out    chan []byte // messages to the partner, sent in order
	events chan string // what the wait loop saw: "bye from N", "offline N"
	dc     chan *webrtc.DataChannel
	got    chan string // data channel messages received
	// offered is closed once the local offer is set (the offering side).
	offered chan struct{}
}

func newPionPeer(t *testing.T, ctx context.Context, url, name string) *pionPeer {
	t.Helper()
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(iface string) bool { return iface == "lo" })
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	api := webrtc.NewAPI(webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	sig, _, err := peerconnection.SignIn(ctx, url, name)
	if err != nil {
		t.Fatal(err)
	}
	return &pionPeer{t: t, name: name, sig: sig, pc: pc, out: make(chan []byte, 64), offered: make(chan struct{}),
		events: make(chan string, 16), dc: make(chan *webrtc.DataChannel, 1), got: make(chan string, 4)}
}

// run starts the sender (to partner) and the wait loop; both end with ctx.
func (p *pionPeer) run(ctx context.Context, wg *sync.WaitGroup, partner int) {
	p.pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		init := c.ToJSON()
		b, _ := json.MarshalIndent(candidate{Candidate: init.Candidate, SDPMid: *init.SDPMid, SDPMLineIndex: *init.SDPMLineIndex}, "", "\t")
		p.out <- b
	})
	p.pc.OnDataChannel(func(dc *webrtc.DataChannel) { p.watch(dc) })
	wg.Go(func() {
		for {
			select {
			case b := <-p.out:
				if err := p.sig.Send(ctx, partner, b); err != nil {
					if ctx.Err() == nil {
						p.t.Errorf("%s: send: %v", p.name, err)
					}
					return
				}
			case <-ctx.Done():
				return
			}
		}
	})
	wg.Go(func() {
		for {
			ev, err := p.sig.Wait(ctx)
			if err != nil {
				if ctx.Err() == nil {
					p.t.Errorf("%s: wait: %v", p.name, err)
				}
				return
			}
			p.handle(ev)
		}
	})
}

func (p *pionPeer) handle(ev peerconnection.Event) {
	switch {
	case ev.Presence != nil:
		if !ev.Presence.Connected {
			p.events <- "offline " + ev.Presence.Name
		}
	case string(ev.Body) == "BYE":
		p.events <- "bye from " + itoa(ev.From)
	case strings.Contains(string(ev.Body), `"candidate"`):
		var c webrtc.ICECandidateInit
		if err := json.Unmarshal(ev.Body, &c); err != nil {
			p.t.Errorf("%s: candidate %q: %v", p.name, ev.Body, err)
			return
		}
		if err := p.pc.AddICECandidate(c); err != nil {
			p.t.Errorf("%s: AddICECandidate: %v", p.name, err)
		}
	default:
		var sd sessionDescription
		if err := json.Unmarshal(ev.Body, &sd); err != nil {
			p.t.Errorf("%s: message %q: %v", p.name, ev.Body, err)
			return
		}
		desc := webrtc.SessionDescription{Type: webrtc.NewSDPType(sd.Type), SDP: sd.SDP}
		if desc.Type == webrtc.SDPTypeAnswer {
			// The answer can overtake our own SetLocalDescription of
			// the offer it answers (the offer went out first).
			select {
			case <-p.offered:
			case <-time.After(10 * time.Second):
				p.t.Errorf("%s: an answer, but no offer of ours was set", p.name)
				return
			}
		}
		if err := p.pc.SetRemoteDescription(desc); err != nil {
			p.t.Errorf("%s: SetRemoteDescription: %v", p.name, err)
			return
		}
		if desc.Type == webrtc.SDPTypeOffer {
			answer, err := p.pc.CreateAnswer(nil)
			if err != nil {
				p.t.Errorf("%s: CreateAnswer: %v", p.name, err)
				return
			}
			p.sendDescription(answer) // before SetLocalDescription starts the candidates
			if err := p.pc.SetLocalDescription(answer); err != nil {
				p.t.Errorf("%s: SetLocalDescription: %v", p.name, err)
			}
		}
	}
}

func (p *pionPeer) sendDescription(d webrtc.SessionDescription) {
	b, _ := json.MarshalIndent(sessionDescription{SDP: d.SDP, Type: d.Type.String()}, "", "\t")
	p.out <- b
}

// watch records dc's messages and, once open, sends a greeting on it.
func (p *pionPeer) watch(dc *webrtc.DataChannel) {
	dc.OnOpen(func() {
		if err := dc.SendText("hello from " + p.name); err != nil {
			p.t.Errorf("%s: SendText: %v", p.name, err)
		}
	})
	dc.OnMessage(func(m webrtc.DataChannelMessage) { p.got <- string(m.Data) })
	p.dc <- dc
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestPionCallThroughServer makes a real WebRTC call between two Pion
// peers signaling through Switchboard: offer and answer as the native
// client's JSON, trickled candidates, a data channel on loopback carrying a
// message each way, then BYE and sign-out seen by the other side. The
// server gives random ids (peerconn.Config.RandomIDs), which the whole
// call carries as 32-bit integers.
func TestPionCallThroughServer(t *testing.T) {
	srv := servertest.Start(t, server.Config{PeerConn: peerconn.Config{RandomIDs: true}})
	url := srv.URL("http", "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	alice := newPionPeer(t, ctx, url, "alice")
	bob := newPionPeer(t, ctx, url, "bob")
	var wg sync.WaitGroup
	defer wg.Wait()
	aliceCtx, stopAlice := context.WithCancel(ctx)
	defer stopAlice()
	bobCtx, stopBob := context.WithCancel(ctx)
	defer stopBob()
	alice.run(aliceCtx, &wg, bob.sig.ID())
	bob.run(bobCtx, &wg, alice.sig.ID())

	dc, err := bob.pc.CreateDataChannel("chat", nil)
	if err != nil {
		t.Fatal(err)
	}
	bob.watch(dc)
	offer, err := bob.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	bob.sendDescription(offer) // before SetLocalDescription starts the candidates
	if err := bob.pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	close(bob.offered)

	for _, side := range []*pionPeer{alice, bob} {
		other := "bob"
		if side == bob {
			other = "alice"
		}
		select {
		case m := <-side.got:
			if m != "hello from "+other {
				t.Errorf("%s got %q", side.name, m)
			}
		case <-ctx.Done():
			t.Fatalf("%s: no data channel message: ICE %s", side.name, side.pc.ICEConnectionState())
		}
	}
	t.Logf("data channel open and used both ways %v after sign-in", time.Since(start).Round(time.Millisecond))
	pair, err := alice.pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil || !net.ParseIP(pair.Local.Address).IsLoopback() || !net.ParseIP(pair.Remote.Address).IsLoopback() {
		t.Errorf("selected pair %v (%v), want loopback", pair, err)
	}
	if st := srv.Stats(); st.PeerConnMessages < 4 {
		t.Errorf("only %d messages relayed", st.PeerConnMessages)
	}

	// Hang up: BYE, then bob signs out; alice sees both.
	if err := bob.sig.Send(ctx, alice.sig.ID(), []byte("BYE")); err != nil {
		t.Fatal(err)
	}
	if err := bob.pc.Close(); err != nil {
		t.Error(err)
	}
	for _, want := range []string{"bye from " + strconv.Itoa(bob.sig.ID()), "offline bob"} {
		if want == "offline bob" {
			// Like the native client: close the hanging GET, then sign out.
			stopBob()
			if err := bob.sig.SignOut(ctx); err != nil {
				t.Fatal(err)
			}
		}
		select {
		case ev := <-alice.events:
			if ev != want {
				t.Errorf("alice saw %q, want %q", ev, want)
			}
		case <-ctx.Done():
			t.Fatalf("alice did not see %q", want)
		}
	}
	stopAlice()
	wg.Wait()
	_ = alice.sig.SignOut(ctx)
}
