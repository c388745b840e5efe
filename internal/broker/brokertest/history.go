package brokertest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/broker"
)

// testHistoryAndRecovery: a subscribe from a position replays what
// follows it while the history (HistorySize, maximum age) holds it, and
// says recovered:false when it does not, for a wrong epoch or a future
// offset.
func testHistoryAndRecovery(t *testing.T, newBroker NewBroker) {
	clk := newClock()
	b := newBroker(t, Config{
		Rules: broker.Rules{{Prefix: "h", Options: broker.Options{HistorySize: 5, HistoryMaxAge: time.Minute}}},
		Now:   clk.Now,
	})
	r := &recorder{}
	first := subscribe(t, b, "h1", r, nil)
	if first.Offset != 0 || first.Recovered || len(first.Publications) != 0 || first.More {
		t.Fatalf("first subscribe = %+v", first)
	}
	publish(t, b, "h1", 3)
	pos := broker.Position{Epoch: first.Epoch, Offset: 1}
	res := subscribe(t, b, "h1", &recorder{}, &pos)
	if !res.Recovered || fmt.Sprint(offsets(res.Publications)) != "[2 3]" || res.Offset != 3 || res.Epoch != first.Epoch {
		t.Fatalf("recovery from 1 = %+v", res)
	}
	want := `{"channel":"h1","offset":2,"data":1,"from":"a"}`
	if got, _ := json.Marshal(res.Publications[0]); string(got) != want {
		t.Fatalf("publication = %s, want %s", got, want)
	}
	// Caught up: recovered, nothing to replay.
	pos.Offset = 3
	if res := subscribe(t, b, "h1", &recorder{}, &pos); !res.Recovered || len(res.Publications) != 0 {
		t.Fatalf("recovery at the head = %+v", res)
	}
	// The window holds 5: from offset 1 (missing 2..8) is lost.
	publish(t, b, "h1", 5)
	pos.Offset = 1
	if res := subscribe(t, b, "h1", &recorder{}, &pos); res.Recovered || len(res.Publications) != 0 || res.Offset != 8 {
		t.Fatalf("recovery past the window = %+v", res)
	}
	pos.Offset = 3
	if res := subscribe(t, b, "h1", &recorder{}, &pos); !res.Recovered || fmt.Sprint(offsets(res.Publications)) != "[4 5 6 7 8]" {
		t.Fatalf("recovery of the whole window = %+v", res)
	}
	// Age: after two minutes the history is gone, the epoch stays.
	clk.advance(2 * time.Minute)
	if res := subscribe(t, b, "h1", &recorder{}, &pos); res.Recovered || res.Epoch != first.Epoch || res.Offset != 8 {
		t.Fatalf("recovery of expired publications = %+v", res)
	}
	// Wrong epoch, future offset.
	for _, p := range []broker.Position{{Epoch: "other", Offset: 8}, {Epoch: first.Epoch, Offset: 99}} {
		if res := subscribe(t, b, "h1", &recorder{}, &p); res.Recovered || len(res.Publications) != 0 {
			t.Fatalf("recovery from %+v = %+v", p, res)
		}
	}
	r.waitLive(t, 8)
	if got := fmt.Sprint(r.live()); got != fmt.Sprint(seq(1, 8)) {
		t.Fatalf("live subscriber got %s", got)
	}
}

// testHistoryBytes: MaxHistoryBytes keeps the newest publications that
// fit in one channel's history.
func testHistoryBytes(t *testing.T, newBroker NewBroker) {
	b := newBroker(t, Config{Rules: broker.Rules{{Prefix: "", Options: broker.Options{HistorySize: 100}}}, MaxHistoryBytes: 1000})
	e := subscribe(t, b, "c", &recorder{}, nil).Epoch
	data := json.RawMessage(`"` + strings.Repeat("x", 290) + `"`) // about 335 bytes encoded
	for range 20 {
		if _, err := b.Publish("c", broker.Message{Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	if res := subscribe(t, b, "c", &recorder{}, &broker.Position{Epoch: e}); res.Recovered {
		t.Fatalf("recovered 20 publications of 335 bytes from a 1000-byte history: %v", offsets(res.Publications))
	}
	if res := subscribe(t, b, "c", &recorder{}, &broker.Position{Epoch: e, Offset: 18}); !res.Recovered || fmt.Sprint(offsets(res.Publications)) != "[19 20]" {
		t.Fatalf("recent recovery = %v %v", res.Recovered, offsets(res.Publications))
	}
	// One publication larger than the cap is kept alone.
	big := json.RawMessage(`"` + strings.Repeat("x", 2000) + `"`)
	if _, err := b.Publish("c", broker.Message{Data: big}); err != nil {
		t.Fatal(err)
	}
	if res := subscribe(t, b, "c", &recorder{}, &broker.Position{Epoch: e, Offset: 20}); !res.Recovered || fmt.Sprint(offsets(res.Publications)) != "[21]" {
		t.Fatalf("recovery of an oversized publication = %v %v", res.Recovered, offsets(res.Publications))
	}
}

// testReplayPages replays 20 publications of about 95 bytes in pages of
// at most 400 bytes (then 3 publications): every page but the last says
// More, and subscribing again from each page's last offset yields every
// offset once, in order. One publication larger than a page is replayed
// alone.
func testReplayPages(t *testing.T, newBroker NewBroker) {
	for _, tc := range []struct {
		name         string
		bytes, count int
		perPage      int
	}{
		{"bytes", 400, 1000, 4},
		{"count", 1 << 20, 3, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBroker(t, Config{Rules: broker.Rules{{Prefix: "", Options: broker.Options{HistorySize: 100}}},
				ReplayBytes: tc.bytes, ReplayCount: tc.count})
			epoch := subscribe(t, b, "c", &recorder{}, nil).Epoch
			data := json.RawMessage(`"` + strings.Repeat("x", 48) + `"`) // about 95 bytes encoded
			for range 20 {
				if _, err := b.Publish("c", broker.Message{From: "a", Data: data}); err != nil {
					t.Fatal(err)
				}
			}
			var got []uint64
			pos := broker.Position{Epoch: epoch}
			for pages := 1; ; pages++ {
				res := subscribe(t, b, "c", &recorder{}, &pos)
				if !res.Recovered || res.Offset != 20 {
					t.Fatalf("page %d = %+v", pages, res)
				}
				if n := len(res.Publications); n == 0 || n > tc.perPage {
					t.Fatalf("page %d has %d publications, want 1 to %d", pages, n, tc.perPage)
				}
				got = append(got, offsets(res.Publications)...)
				pos.Offset = got[len(got)-1]
				if res.More != (pos.Offset < 20) {
					t.Fatalf("page %d ends at %d with more=%v", pages, pos.Offset, res.More)
				}
				if !res.More {
					break
				}
				if pages > 20 {
					t.Fatal("paging does not end")
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(seq(1, 20)) {
				t.Fatalf("paged replay = %v", got)
			}
		})
	}
	b := newBroker(t, Config{ReplayBytes: 10, ReplayCount: 1000})
	epoch := subscribe(t, b, broker.ChannelGroup, &recorder{}, nil).Epoch
	publish(t, b, broker.ChannelGroup, 2)
	res := subscribe(t, b, broker.ChannelGroup, &recorder{}, &broker.Position{Epoch: epoch})
	if !res.More || fmt.Sprint(offsets(res.Publications)) != "[1]" {
		t.Fatalf("oversized publication: %+v", res)
	}
}
