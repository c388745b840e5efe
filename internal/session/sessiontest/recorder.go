package sessiontest

import (
	"encoding/json"
	"sync"
	"sync/atomic"

	"github.com/switchboard/switchboard/internal/session"
	"github.com/switchboard/switchboard/protoo"
	"github.com/switchboard/switchboard/websocket"
)

// Event is one message a Recorder was sent, in the order of a Log.
type Event struct {
	To     string          // the recorder's name
	Method string          // the notification's method, or "" for a frame that is not one
	Data   json.RawMessage // the notification's data
	Seq    int             // the event's place in its Log
}

// Log orders the events of several recorders (and of join replies), so
// that a suite can check the order in which different sessions were told
// things.
type Log struct {
	mu     sync.Mutex
	events []Event
}

// Add appends an event.
func (l *Log) Add(e Event) {
	l.mu.Lock()
	e.Seq = len(l.events)
	l.events = append(l.events, e)
	l.mu.Unlock()
}

// Events returns the events so far.
func (l *Log) Events() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Event(nil), l.events...)
}

// Recorder is a session.Recipient that records what it is sent in a Log.
// Offline and Busy make it refuse with session.ErrOffline and
// session.ErrBusy.
type Recorder struct {
	Name    string
	Log     *Log
	Offline atomic.Bool
	Busy    atomic.Bool
}

var _ session.Recipient = (*Recorder)(nil)

// NewRecorder returns a recorder called name that records in log.
func NewRecorder(name string, log *Log) *Recorder { return &Recorder{Name: name, Log: log} }

func (r *Recorder) record(m *websocket.PreparedMessage) {
	e := Event{To: r.Name}
	if msg, err := protoo.Parse(m.Payload()); err == nil {
		if n, ok := msg.(*protoo.Notification); ok {
			e.Method, e.Data = n.Method, append(json.RawMessage(nil), n.Data...)
		}
	}
	r.Log.Add(e)
}

// SendFrom implements session.Recipient.
func (r *Recorder) SendFrom(m *websocket.PreparedMessage, n int) error {
	if err := r.CanTake(n); err != nil {
		return err
	}
	r.record(m)
	return nil
}

// Notify implements session.Recipient.
func (r *Recorder) Notify(m *websocket.PreparedMessage) error {
	if r.Offline.Load() {
		return session.ErrOffline
	}
	r.record(m)
	return nil
}

// CanTake implements session.Recipient.
func (r *Recorder) CanTake(int) error {
	switch {
	case r.Offline.Load():
		return session.ErrOffline
	case r.Busy.Load():
		return session.ErrBusy
	}
	return nil
}

// Of returns the events of the recorder called to, with method if
// method is not "".
func Of(events []Event, to, method string) []Event {
	var out []Event
	for _, e := range events {
		if e.To == to && (method == "" || e.Method == method) {
			out = append(out, e)
		}
	}
	return out
}
