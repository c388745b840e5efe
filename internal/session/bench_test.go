package session

import (
	"encoding/json"
	"net"
	"net/url"
	"strconv"
	"testing"

	"github.com/switchboard/switchboard/internal/broker"
	"github.com/switchboard/switchboard/protoo"
	"github.com/switchboard/switchboard/websocket"
)

// nopTransport discards what the hub sends, like a connection whose
// queue takes every frame.
type nopTransport struct{}

func (nopTransport) Send(*websocket.PreparedMessage) error          { return nil }
func (nopTransport) SendMessage(websocket.Opcode, []byte) error     { return nil }
func (nopTransport) SendDroppable(*websocket.PreparedMessage) error { return nil }
func (nopTransport) Close(websocket.StatusCode, string)             {}
func (nopTransport) RemoteAddr() net.Addr                           { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
func (nopTransport) Subprotocol() string                            { return "protoo" }

// benchClient logs a client called name in on a nopTransport.
func benchClient(b *testing.B, h *Hub, name string) *Client {
	b.Helper()
	c := h.Open(nopTransport{}, url.Values{})
	if _, err := h.login(c, name, "", false, nil); err != nil {
		b.Fatal(err)
	}
	return c
}

// benchRequest runs method with data on c b.N times.
func benchRequest(b *testing.B, c *Client, method string, data any) {
	raw, _ := json.Marshal(data)
	frame := protoo.AppendRequest(nil, json.RawMessage("1"), method, raw)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		c.OnMessage(nopTransport{}, websocket.OpText, frame)
	}
}

func BenchmarkEcho(b *testing.B) {
	h := NewHub(Config{})
	defer h.Close()
	benchRequest(b, benchClient(b, h, "a"), "echo", map[string]string{"text": "hello, world"})
}

func BenchmarkSend(b *testing.B) {
	h := NewHub(Config{})
	defer h.Close()
	a := benchClient(b, h, "a")
	benchClient(b, h, "b")
	benchRequest(b, a, "send", map[string]any{"to": "b", "data": map[string]string{"text": "hello, world"}})
}

func BenchmarkSignal(b *testing.B) {
	h := NewHub(Config{})
	defer h.Close()
	a := benchClient(b, h, "a")
	bc := benchClient(b, h, "b")
	for _, c := range []*Client{a, bc} {
		if _, err := h.join(c.Session(), "r", nil, nil); err != nil {
			b.Fatal(err)
		}
	}
	benchRequest(b, a, "signal", map[string]any{"room": "r", "to": "b", "data": map[string]string{"sdp": "v=0"}})
}

// BenchmarkPublish publishes to 100 subscribers: the broker's fan-out
// through Session.Deliver.
func BenchmarkPublish(b *testing.B) {
	h := NewHub(Config{})
	defer h.Close()
	a := benchClient(b, h, "a")
	for i := range 100 {
		s := benchClient(b, h, "s"+strconv.Itoa(i)).Session()
		if err := h.broker.Subscribe("group", s, broker.SubscribeOptions{}, func(broker.SubscribeResult) {}); err != nil {
			b.Fatal(err)
		}
	}
	benchRequest(b, a, "publish", map[string]any{"channel": "group", "data": map[string]string{"text": "hello, world"}})
}
