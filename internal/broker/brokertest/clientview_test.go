package brokertest

import (
	"fmt"
	"testing"

	"github.com/switchboard/switchboard/internal/broker"
)

// TestClientView checks the suite's model of a de-duplicating client: it
// accepts what the relaxed contract allows (a publication before the
// result, a replayed one delivered live too) and reports a gap, live
// publications out of order and a replay that stops short.
func TestClientView(t *testing.T) {
	pub := func(off uint64) broker.Publication { return broker.NewPublication("c", off, broker.Message{}) }
	result := func(offset uint64, recovered, more bool, pubs ...uint64) event {
		r := &broker.SubscribeResult{Channel: "c", Epoch: "e", Offset: offset, Recovered: recovered, More: more}
		for _, o := range pubs {
			r.Publications = append(r.Publications, pub(o))
		}
		return event{result: r}
	}
	live := func(off uint64) event { return event{offset: off} }
	for _, tc := range []struct {
		name   string
		events []event
		want   string
		fails  bool
	}{
		{"result first", []event{result(2, false, false), live(3), live(4)}, "[3 4]", false},
		{"publication before the result", []event{live(3), result(2, false, false), live(4)}, "[3 4]", false},
		{"publication in the result and live", []event{live(2), live(3), result(3, true, false, 1, 2, 3), live(4)}, "[1 2 3 4]", false},
		{"pages", []event{result(5, true, true, 1, 2), live(6), result(6, true, false, 3, 4, 5, 6)}, "[1 2 3 4 5 6]", false},
		{"gap", []event{result(2, false, false), live(4)}, "", true},
		{"live out of order", []event{result(0, false, false), live(2), live(1)}, "", true},
		{"live repeated", []event{result(0, false, false), live(1), live(1)}, "", true},
		{"replay short", []event{result(5, true, false, 1, 2)}, "", true},
		{"not a publication", []event{result(0, false, false), live(0)}, "", true},
	} {
		got, err := clientView(tc.events)
		if (err != nil) != tc.fails || (!tc.fails && fmt.Sprint(got) != tc.want) {
			t.Errorf("%s: %v, %v; want %s (fails %v)", tc.name, got, err, tc.want, tc.fails)
		}
	}
}
