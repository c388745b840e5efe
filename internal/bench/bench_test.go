package bench

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testutil/servertest"
)

func TestStampRoundTrip(t *testing.T) {
	p := []byte(`"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"`)
	now := time.Unix(0, 1763740000123456789)
	stampPayload(p[1:], now)
	got, ok := payloadStamp([]byte(`{"data":` + string(p) + `}`))
	if !ok || !got.Equal(now) {
		t.Fatalf("payloadStamp = %v, %v; want %v", got, ok, now)
	}
	if _, ok := payloadStamp([]byte("@t12x")); ok {
		t.Fatal("a truncated stamp was accepted")
	}
}

func TestCheckConnections(t *testing.T) {
	if err := CheckConnections(10000, 20000); err != nil {
		t.Fatal(err)
	}
	err := CheckConnections(19900, 20000)
	if err == nil || !strings.Contains(err.Error(), "at most 19800") {
		t.Fatalf("CheckConnections(19900, 20000) = %v, want a refusal naming the most that fits", err)
	}
}

// TestWriteReport writes a report from made-up results: the Markdown has
// every scenario with its ratio to gws, and the charts exist.
func TestWriteReport(t *testing.T) {
	res := &SuiteResult{
		Started: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC), BatchDelay: "5ms",
		Echo:     []EchoResult{{Server: "switchboard", PerSecond: 200}, {Server: "gws", PerSecond: 100}},
		Fanout:   []FanoutResult{{Server: "switchboard", PerSecond: 500}, {Server: "gws", PerSecond: 100}},
		Idle:     []IdleResult{{Server: "switchboard", RSSMeasured: true, RSSPerConn: 10}, {Server: "gws", RSSMeasured: true, RSSPerConn: 20}},
		LongPoll: []LongPollResult{{Server: "switchboard", PerSecond: 50}},
	}
	dir := t.TempDir()
	if err := WriteReport(res, dir, "results"); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, "BENCHMARKS.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Echo", "| switchboard | 200 | 2.00x", "## Fanout", "| 5.00x", "## Idle memory", "| 0.50x | not measured |", "## Long-poll", "results/echo.svg", "results/bench.json"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("BENCHMARKS.md lacks %q", want)
		}
	}
	for _, f := range []string{"echo.svg", "fanout.svg", "idle.svg", "longpoll.svg", "bench.json"} {
		b, err := os.ReadFile(filepath.Join(dir, "results", f))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(f, ".svg") && !strings.HasPrefix(string(b), "<svg") {
			t.Errorf("%s is not an SVG", f)
		}
	}
}

// TestLoadsAgainstSwitchboard runs small loads against an in-process
// Switchboard server: they complete and count what they did. No timing is
// asserted: benchmarks are not tests.
func TestLoadsAgainstSwitchboard(t *testing.T) {
	srv := servertest.Start(t, server.Config{DebugVars: true})
	ctx := context.Background()
	tgt := Target{Name: "test", Addr: srv.Addr, Protocol: ProtocolSwitchboard}
	e, err := Echo(ctx, tgt, EchoConfig{Connections: 4, Payload: 64, Duration: 200 * time.Millisecond, Warmup: -1})
	if err != nil {
		t.Fatal(err)
	}
	if e.Messages == 0 || e.Latency.Samples == 0 || e.Errors != 0 {
		t.Fatalf("echo: %+v", e)
	}
	i, err := Idle(ctx, tgt, IdleConfig{Connections: 5, Settle: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// No PID: the resident memory is not measured, and says so.
	if i.Connections != 5 || i.After.HeapBytes == 0 || !i.HeapMeasured || i.RSSMeasured || !strings.Contains(i.String(), "RSS "+RSSNotMeasured) {
		t.Fatalf("idle: %+v", i)
	}
	f, err := Fanout(ctx, tgt, FanoutConfig{Subscribers: 5, Rate: 50, Duration: 300 * time.Millisecond, Warmup: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if f.Published == 0 || f.Delivered == 0 || f.Errors != 0 || f.Offered != f.Published*5 || f.OfferedPerSecond != 250 {
		t.Fatalf("fanout: %+v", f)
	}
	l, err := LongPoll(ctx, tgt, LongPollConfig{Pairs: 2, Duration: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if l.Relayed == 0 || l.Errors != 0 {
		t.Fatalf("longpoll: %+v", l)
	}
}

// TestMedianRounds picks each server's median round, keeping the servers'
// order, with rounds where a server failed (missing) allowed.
func TestMedianRounds(t *testing.T) {
	r := func(s string, v float64) EchoResult { return EchoResult{Server: s, PerSecond: v} }
	rounds := [][]EchoResult{
		{r("switchboard", 300), r("gws", 100)},
		{r("switchboard", 100), r("gws", 300)},
		{r("switchboard", 200), r("gws", 200), r("gorilla", 50)},
		{r("gorilla", 70)},
	}
	got := medianRounds(rounds)
	want := []EchoResult{r("switchboard", 200), r("gws", 200), r("gorilla", 50)}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i].Server != want[i].Server || got[i].PerSecond != want[i].PerSecond {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if s := echoRoundList(rounds); s != "switchboard 300, 100, 200; gws 100, 300, 200; gorilla 50, 70" {
		t.Fatalf("echoRoundList = %q", s)
	}
}
