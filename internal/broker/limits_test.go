package broker

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestMemorySweepFreesQuota: channels a quota created by publishing are
// given back to it when a sweep removes them, once their history has
// expired (the quota itself is in the suite, package brokertest).
func TestMemorySweepFreesQuota(t *testing.T) {
	clk := &clock{now: time.Unix(1000, 0)}
	b := NewMemory(MemoryConfig{MaxChannelsPerQuota: 2, Now: clk.Now,
		Rules: Rules{{Prefix: "", Options: Options{HistorySize: 10, HistoryMaxAge: time.Minute}}}})
	q := &Quota{}
	msg := Message{From: "q", Data: json.RawMessage(`1`), Quota: q}
	for i := range 2 {
		if _, err := b.Publish(fmt.Sprint("p", i), msg); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Publish("p9", msg); !errors.Is(err, ErrChannelQuota) {
		t.Fatalf("3rd channel = %v", err)
	}
	if n := b.Sweep(); n != 0 {
		t.Fatalf("sweep removed %d channels with history", n)
	}
	clk.now = clk.now.Add(2 * time.Minute)
	if n := b.Sweep(); n != 2 {
		t.Fatalf("sweep removed %d channels, want 2", n)
	}
	if q.Channels() != 0 {
		t.Fatalf("after the sweep the quota counts %d", q.Channels())
	}
	if _, err := b.Publish("p9", msg); err != nil {
		t.Fatalf("a new channel after the sweep = %v", err)
	}
}

// TestMemoryFullTableFreesItself fills the table with one-off publishes:
// new channels are refused until the publications age out, then a
// create sweeps the idle channels away. Channels without history are
// removed by a sweep at once.
func TestMemoryFullTableFreesItself(t *testing.T) {
	clk := &clock{now: time.Unix(1000, 0)}
	b := NewMemory(MemoryConfig{MaxChannels: 20, MaxChannelsPerQuota: -1, HistoryMaxAge: time.Minute, Now: clk.Now,
		Rules: Rules{{Prefix: "", Options: Options{HistorySize: 10}}, {Prefix: "nohist:", Options: Options{}}}})
	for i := range 20 {
		if _, err := b.Publish(fmt.Sprint("one-off:", i), Message{Data: json.RawMessage(`1`)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Publish("new", Message{Data: json.RawMessage(`1`)}); !errors.Is(err, ErrTooManyChannels) {
		t.Fatalf("a channel past a full table = %v", err)
	}
	// The default maximum age (the rule sets none) expires them.
	clk.now = clk.now.Add(61 * time.Second)
	if _, err := b.Publish("new", Message{Data: json.RawMessage(`1`)}); err != nil {
		t.Fatalf("a new channel once the others expired = %v", err)
	}
	if st := b.Stats(); st.Channels != 1 || st.Removed != 20 || st.HistoryBytes == 0 {
		t.Fatalf("stats after the sweep %+v", st)
	}
	for i := range 5 {
		if _, err := b.Publish(fmt.Sprint("nohist:", i), Message{Data: json.RawMessage(`1`)}); err != nil {
			t.Fatal(err)
		}
	}
	if n := b.Sweep(); n != 5 {
		t.Fatalf("sweep removed %d channels without history, want 5", n)
	}
}

// TestMemoryHistoryBudget publishes 1 KB publications to three channels
// under a 10 KB budget for all histories: the oldest of any channel go
// first, the total stays within the budget, and recovery tells a
// position the budget evicted (recovered:false) from one it kept.
func TestMemoryHistoryBudget(t *testing.T) {
	b := NewMemory(MemoryConfig{HistoryBytes: 10_000, Rules: Rules{{Prefix: "", Options: Options{HistorySize: 100}}}})
	data := json.RawMessage(`"` + strings.Repeat("x", 950) + `"`)
	epochs := map[string]string{}
	for _, ch := range []string{"a", "b", "c"} {
		epochs[ch] = subscribe(t, b, ch, &recorder{}, nil).Epoch
	}
	pub := func(ch string, n int) {
		for range n {
			if _, err := b.Publish(ch, Message{Data: data}); err != nil {
				t.Fatal(err)
			}
			if st := b.Stats(); st.HistoryBytes > 10_000 {
				t.Fatalf("histories hold %d bytes, budget 10000", st.HistoryBytes)
			}
		}
	}
	pub("a", 5)
	pub("b", 5)
	pub("c", 3) // 13 publications of 995 bytes: the 3 oldest (a 1-3) go
	if st := b.Stats(); st.Evicted != 3 {
		t.Fatalf("evicted %d publications, want 3", st.Evicted)
	}
	for _, tc := range []struct {
		ch        string
		since     uint64
		recovered bool
		want      string
	}{
		{"a", 0, false, "[]"},
		{"a", 2, false, "[]"},
		{"a", 3, true, "[4 5]"},
		{"b", 0, true, "[1 2 3 4 5]"},
		{"c", 1, true, "[2 3]"},
	} {
		res := subscribe(t, b, tc.ch, &recorder{}, &Position{Epoch: epochs[tc.ch], Offset: tc.since})
		if res.Recovered != tc.recovered || fmt.Sprint(offsets(res.Publications)) != tc.want {
			t.Errorf("%s since %d = recovered %v %v, want %v %s", tc.ch, tc.since, res.Recovered, offsets(res.Publications), tc.recovered, tc.want)
		}
	}
	// A channel's own limit leaves stale entries in the budget's queue;
	// they are skipped, and what is evicted next is still the oldest.
	pub("b", 100)
	res := subscribe(t, b, "b", &recorder{}, &Position{Epoch: epochs["b"], Offset: 104})
	if !res.Recovered || fmt.Sprint(offsets(res.Publications)) != "[105]" {
		t.Fatalf("b after 100 more = %+v", res)
	}
	if res := subscribe(t, b, "c", &recorder{}, &Position{Epoch: epochs["c"]}); res.Recovered {
		t.Fatalf("c kept its history under b's flood: %+v", res)
	}
}

// TestMemoryBudgetQueueBounded: publications a channel drops by itself
// (HistorySize) leave stale references in the budget's queue; the queue
// compacts them, so it stays near the number of live publications.
func TestMemoryBudgetQueueBounded(t *testing.T) {
	b := NewMemory(MemoryConfig{Rules: Rules{{Prefix: "", Options: Options{HistorySize: 10}}}})
	for i := range 5000 {
		if _, err := b.Publish(fmt.Sprint("c", i%3), Message{Data: json.RawMessage(`1`)}); err != nil {
			t.Fatal(err)
		}
	}
	b.hist.mu.Lock()
	queued := len(b.hist.refs) - b.hist.head
	b.hist.mu.Unlock()
	if live := b.hist.live.Load(); live != 30 || queued > 2*int(live)+1024 {
		t.Fatalf("%d references queued for %d live publications", queued, live)
	}
}
