package client

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// EventKind says what happened to the client's connection.
type EventKind int

// The kinds of Event.
const (
	EventUnknown      EventKind = iota
	EventDisconnected           // the connection dropped; Err says how
	EventReconnected            // a new connection is up, logged in again and subscriptions recovered
	EventRecovered              // a channel's missed publications were replayed (Channel, Missed)
	EventLost                   // a channel's missed publications could not be recovered (Channel)
	EventLoginFailed            // logging in again after a reconnect failed (Err)
	EventClosed                 // the client ended for good; Err says why (nil after Close)
)

// String returns the kind's name.
func (k EventKind) String() string {
	switch k {
	case EventDisconnected:
		return "disconnected"
	case EventReconnected:
		return "reconnected"
	case EventRecovered:
		return "recovered"
	case EventLost:
		return "lost"
	case EventLoginFailed:
		return "login failed"
	case EventClosed:
		return "closed"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is a change in the client's connection or a subscription's
// recovery, given to the WithEventHandler function.
type Event struct {
	Kind    EventKind
	Channel string // EventRecovered, EventLost
	Missed  int    // EventRecovered: replayed publications that had not arrived
	Err     error
}

func (e Event) String() string {
	s := e.Kind.String()
	if e.Channel != "" {
		s += " " + e.Channel
	}
	if e.Kind == EventRecovered {
		s += fmt.Sprintf(" (%d missed)", e.Missed)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// queue runs functions one at a time, in order, on its own goroutine. Push
// never blocks: the reader must never wait for a handler.
type queue struct {
	mu      sync.Mutex
	fns     []func()
	wake    chan struct{}
	stopped bool
	done    chan struct{}
	// inHandler is set while a function runs, so that Close called from
	// a handler does not wait for itself.
	inHandler atomic.Bool
}

func newQueue() *queue {
	q := &queue{wake: make(chan struct{}, 1), done: make(chan struct{})}
	go q.run()
	return q
}

func (q *queue) push(f func()) {
	q.mu.Lock()
	if q.stopped {
		q.mu.Unlock()
		return
	}
	q.fns = append(q.fns, f)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// stop runs what is queued, then ends the goroutine; wait for done.
func (q *queue) stop() {
	q.mu.Lock()
	q.stopped = true
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *queue) run() {
	defer close(q.done)
	for {
		q.mu.Lock()
		fns, stopped := q.fns, q.stopped
		q.fns = nil
		q.mu.Unlock()
		for _, f := range fns {
			q.inHandler.Store(true)
			f()
			q.inHandler.Store(false)
		}
		if len(fns) > 0 {
			continue
		}
		if stopped {
			return
		}
		<-q.wake
	}
}
