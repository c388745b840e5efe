package session

import (
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/websocket"
)

// infoLogs returns a hub config logging at info into a buffer.
func infoLogs() (Config, *testutil.SyncBuffer) {
	buf := new(testutil.SyncBuffer)
	return Config{Logger: slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelInfo}))}, buf
}

// TestRefusalsLogged: refusals a client may not be able to explain are
// logged at info with the remote address and the reason.
func TestRefusalsLogged(t *testing.T) {
	cfg, logs := infoLogs()
	cfg.MaxRoomMembers = 1
	h := NewHub(cfg)
	defer h.Close()
	from := func(c *conn, ip string) *conn {
		c.t.addr = &net.TCPAddr{IP: net.ParseIP(ip), Port: 5000}
		return c
	}
	a := from(open(h, ""), "192.0.2.1")
	a.ok(t, "login", map[string]string{"name": "a"}, nil)
	a.ok(t, "join", map[string]any{"room": "r"}, nil)
	b := from(open(h, ""), "192.0.2.2")
	b.fails(t, 409, "login", map[string]string{"name": "a"})
	b.ok(t, "login", map[string]string{"name": "b"}, nil)
	b.fails(t, 429, "join", map[string]any{"room": "r"})
	b.Closed(websocket.StatusTryAgainLater) // a slow consumer
	for _, want := range []string{
		`remote=192.0.2.2:5000 what=login code=409 reason="name \"a\" is taken"`,
		`remote=192.0.2.2:5000 what=join name=b code=429 reason="room \"r\" is full: 1 members at most"`,
		`remote=192.0.2.2:5000 what=connection name=b code=429 reason="closed with 1013: slow consumer`,
	} {
		if !strings.Contains(logs.String(), "level=INFO msg=\"session: refused\" "+want) {
			t.Errorf("no info line with %s in:\n%s", want, logs.String())
		}
	}
}

// TestRefusalLogRateLimited: a flood of refusals logs a burst, then about
// refusalRate lines a second, each saying how many were suppressed.
func TestRefusalLogRateLimited(t *testing.T) {
	cfg, logs := infoLogs()
	h := NewHub(cfg)
	defer h.Close()
	now := time.Unix(1_000_000, 0)
	h.refusals.now = func() time.Time { return now }
	c := open(h, "")
	const flood = 200
	for range flood {
		c.fails(t, 400, "login", map[string]string{"name": " "})
	}
	lines := strings.Count(logs.String(), "session: refused")
	if lines != refusalBurst {
		t.Fatalf("%d lines for %d refusals, want the burst of %d", lines, flood, refusalBurst)
	}
	now = now.Add(time.Second)
	c.fails(t, 400, "login", map[string]string{"name": " "})
	last := logs.String()[strings.LastIndex(logs.String(), "session: refused"):]
	if want := "suppressed=" + strconv.Itoa(flood-refusalBurst); !strings.Contains(last, want) {
		t.Fatalf("line after the flood %q does not say %s", last, want)
	}
	if got := h.Counters().Refused.Load(); got != flood+1 {
		t.Fatalf("Refused = %d, want %d", got, flood+1)
	}
}
