package broker

import (
	"encoding/json"
	"testing"

	"github.com/switchboard/switchboard/protoo"
)

// TestSubscribeResultJSON: a result without replayed publications (nil,
// as another broker may leave it) is encoded with "publications":[].
func TestSubscribeResultJSON(t *testing.T) {
	got, err := json.Marshal(SubscribeResult{Channel: "c", Epoch: "e", Offset: 3})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"channel":"c","epoch":"e","offset":3,"recovered":false,"publications":[]}`; string(got) != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	pub := NewPublication("c", 4, Message{From: "a", Data: json.RawMessage(`{"x":1}`)})
	got, _ = json.Marshal(SubscribeResult{Channel: "c", Epoch: "e", Offset: 4, Recovered: true, Publications: []Publication{pub}, More: true})
	if want := `{"channel":"c","epoch":"e","offset":4,"recovered":true,"publications":[{"channel":"c","offset":4,"data":{"x":1},"from":"a"}],"more":true}`; string(got) != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

// TestPublicationFrame: the frame is the protoo notification publication
// whose data is the encoded publication, and Size is its length.
func TestPublicationFrame(t *testing.T) {
	pub := NewPublication("c", 7, Message{Data: json.RawMessage(`"x"`)})
	want := `{"channel":"c","offset":7,"data":"x","from":""}`
	if b, _ := pub.MarshalJSON(); string(b) != want || pub.Size() != len(want) {
		t.Fatalf("publication %s (size %d), want %s", b, pub.Size(), want)
	}
	m, err := protoo.Parse(pub.Frame().Payload())
	if err != nil {
		t.Fatal(err)
	}
	n, ok := m.(*protoo.Notification)
	if !ok || n.Method != "publication" || string(n.Data) != want {
		t.Fatalf("frame = %#v", m)
	}
}

// TestQuotaTake: Take charges up to the limit, Release gives back, a
// limit <= 0 does not cap and a nil Quota always may.
func TestQuotaTake(t *testing.T) {
	q := &Quota{}
	if !q.Take(2) || !q.Take(2) || q.Take(2) || q.Channels() != 2 {
		t.Fatalf("took %d channels of 2", q.Channels())
	}
	q.Release()
	if !q.Take(2) || !q.Take(0) || !q.Take(-1) || q.Channels() != 4 {
		t.Fatalf("quota counts %d, want 4", q.Channels())
	}
	var none *Quota
	if !none.Take(1) {
		t.Fatal("a nil quota refused")
	}
	none.Release()
}
