package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"

	"github.com/switchboard/switchboard/client"
	"github.com/switchboard/switchboard/internal/frontdoor"
	"github.com/switchboard/switchboard/internal/httphead"
	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/protoo"
	"github.com/switchboard/switchboard/websocket"
)

// fakeServer speaks the messaging protocol's login, echo, publish and
// subscribe (with since) just enough to test the client's recovery
// deterministically: the test decides which publications a subscriber
// misses and when connections drop.
type fakeServer struct {
	addr string

	mu          sync.Mutex
	conns       map[*websocket.Conn]bool
	accepted    int // connections ever accepted
	subs        map[*websocket.Conn]map[string]bool
	history     map[string][]client.Publication
	tokens      map[string]string // name -> resume token
	logins      []map[string]string
	skip        map[uint64]bool // offsets live subscribers do not get
	onlineCalls int
	page        int // publications per replay page; 0: all
	subscribes  int // subscribe requests
	epoch       string
}

func startFake(t *testing.T) *fakeServer {
	t.Helper()
	f := &fakeServer{
		conns:   map[*websocket.Conn]bool{},
		subs:    map[*websocket.Conn]map[string]bool{},
		history: map[string][]client.Publication{},
		tokens:  map[string]string{},
		skip:    map[uint64]bool{},
		epoch:   "e1",
	}
	fd := &frontdoor.Server{Route: func(*httphead.Request) frontdoor.ConnHandler {
		return frontdoor.ConnHandlerFunc(f.serve)
	}}
	f.addr = testutil.Serve(t, fd).Addr
	return f
}

func (f *fakeServer) url() string { return "ws://" + f.addr + "/ws" }

func (f *fakeServer) serve(ctx context.Context, nc net.Conn, req *httphead.Request, buffered []byte) {
	wreq := &websocket.Request{Method: req.Method, ProtoMajor: req.Major, ProtoMinor: req.Minor, Header: req.Header}
	c, err := websocket.Accept(nc, wreq, buffered, &websocket.AcceptOptions{Subprotocols: []string{"protoo"}})
	if err != nil {
		nc.Close()
		return
	}
	f.mu.Lock()
	f.conns[c] = true
	f.accepted++
	f.subs[c] = map[string]bool{}
	f.mu.Unlock()
	_ = c.Run(ctx, websocket.HandlerFunc(f.onMessage))
	f.mu.Lock()
	delete(f.conns, c)
	delete(f.subs, c)
	f.mu.Unlock()
}

// closeAll closes every connection with code.
func (f *fakeServer) closeAll(code websocket.StatusCode, reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.conns {
		c.Close(code, reason)
	}
}

func (f *fakeServer) acceptedCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.accepted
}

func (f *fakeServer) connCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.conns)
}

// publish adds a publication to channel and sends it to the subscribers,
// unless its offset is in skip.
func (f *fakeServer) publish(channel, from string, data any) uint64 {
	raw, _ := json.Marshal(data)
	f.mu.Lock()
	defer f.mu.Unlock()
	p := client.Publication{Channel: channel, Offset: uint64(len(f.history[channel]) + 1), Data: raw, From: from}
	f.history[channel] = append(f.history[channel], p)
	if f.skip[p.Offset] {
		return p.Offset
	}
	b, _ := json.Marshal(p)
	msg := protoo.AppendNotification(nil, "publication", b)
	for c, chans := range f.subs {
		if chans[channel] {
			_ = c.SendMessage(websocket.OpText, msg)
		}
	}
	return p.Offset
}

func (f *fakeServer) onMessage(c *websocket.Conn, _ websocket.Opcode, b []byte) {
	m, err := protoo.Parse(b)
	if err != nil {
		return
	}
	req, ok := m.(*protoo.Request)
	if !ok {
		return
	}
	reply := func(v any) {
		raw, _ := protoo.Marshal(v)
		_ = c.SendMessage(websocket.OpText, protoo.AppendResponse(nil, req.ID, raw))
	}
	fail := func(code protoo.ErrorCode, reason string) {
		_ = c.SendMessage(websocket.OpText, protoo.AppendError(nil, req.ID, code, reason))
	}
	switch req.Method {
	case "echo":
		reply(req.Data)
	case "login":
		var d map[string]string
		_ = json.Unmarshal(req.Data, &d)
		f.mu.Lock()
		f.logins = append(f.logins, d)
		tok, known := f.tokens[d["name"]]
		if !known || d["resume"] != tok {
			tok = fmt.Sprintf("tok-%s-%d", d["name"], len(f.logins))
			f.tokens[d["name"]] = tok
		}
		f.mu.Unlock()
		reply(map[string]string{"key": "k", "name": d["name"], "welcome": "Welcome " + d["name"], "resume": tok})
	case "publish":
		var d struct {
			Channel string          `json:"channel"`
			Data    json.RawMessage `json:"data"`
		}
		_ = json.Unmarshal(req.Data, &d)
		reply(map[string]uint64{"offset": f.publish(d.Channel, "someone", d.Data)})
	case "subscribe":
		var d struct {
			Channel string `json:"channel"`
			Since   *struct {
				Epoch  string `json:"epoch"`
				Offset uint64 `json:"offset"`
			} `json:"since"`
		}
		_ = json.Unmarshal(req.Data, &d)
		f.mu.Lock()
		f.subs[c][d.Channel] = true
		h := f.history[d.Channel]
		r := map[string]any{"channel": d.Channel, "epoch": f.epoch, "offset": len(h), "recovered": false, "publications": []client.Publication{}}
		if d.Since != nil && d.Since.Epoch == f.epoch && d.Since.Offset <= uint64(len(h)) {
			r["recovered"] = true
			pubs := h[d.Since.Offset:]
			if f.page > 0 && len(pubs) > f.page {
				pubs, r["more"] = pubs[:f.page], true
			}
			r["publications"] = pubs
		}
		f.subscribes++
		f.mu.Unlock()
		reply(r)
	case "online":
		// Pages of 2 names after `after`.
		var d struct{ After string }
		_ = json.Unmarshal(req.Data, &d)
		f.mu.Lock()
		f.onlineCalls++
		f.mu.Unlock()
		names := []string{"ann", "bea", "cid", "dan", "eve"}
		i, _ := slices.BinarySearch(names, d.After)
		if i < len(names) && names[i] == d.After {
			i++
		}
		page := names[i:min(i+2, len(names))]
		reply(map[string]any{"names": page, "more": i+2 < len(names)})
	case "unsubscribe":
		var d struct{ Channel string }
		_ = json.Unmarshal(req.Data, &d)
		f.mu.Lock()
		delete(f.subs[c], d.Channel)
		f.mu.Unlock()
		reply(nil)
	default:
		fail(protoo.CodeUnknownMethod, "unknown method "+req.Method)
	}
}
