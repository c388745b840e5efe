package websocket

import (
	"bytes"
	"sync"
	"testing"
	"time"
)

// deadlineConn is a scriptConn that records its read deadlines and runs
// onSet, once, inside the first SetReadDeadline call: the moment between
// a deadline decision and the deadline being set.
type deadlineConn struct {
	scriptConn
	mu    sync.Mutex
	set   []time.Time
	onSet func()
}

func (d *deadlineConn) SetReadDeadline(t time.Time) error {
	d.mu.Lock()
	hook := d.onSet
	d.onSet = nil
	d.mu.Unlock()
	if hook != nil {
		hook()
	}
	d.mu.Lock()
	d.set = append(d.set, t)
	d.mu.Unlock()
	return nil
}

func (d *deadlineConn) last() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.set) == 0 {
		return time.Time{}
	}
	return d.set[len(d.set)-1]
}

// TestCloseDeadlineSurvivesExtend starts the close timer from another
// goroutine (as the slow-consumer rule does) at the worst moment for the
// reader: after extendDeadline decided there was no close deadline and
// before it set the keepalive one. The close deadline must be the one left
// in force, not the keepalive window (PingInterval+PingTimeout, 35 s by
// default) after it.
func TestCloseDeadlineSurvivesExtend(t *testing.T) {
	nc := &deadlineConn{scriptConn: scriptConn{r: bytes.NewReader(nil)}}
	c := newConn(nc, nil, true, Config{PingInterval: 25 * time.Second, PingTimeout: 10 * time.Second, CloseTimeout: 5 * time.Second})
	closed := make(chan struct{})
	nc.onSet = func() {
		go func() {
			defer close(closed)
			c.startCloseTimer()
		}()
		// Give the close timer the chance to overtake. With the decision
		// and the setting under one lock it cannot, and waits for us;
		// without, it is done long before this runs out.
		select {
		case <-closed:
		case <-time.After(200 * time.Millisecond):
		}
	}
	c.extendDeadline(time.Now())
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("startCloseTimer did not return")
	}
	if c.closeDeadline.Load() == 0 {
		t.Fatal("the close timer set no close deadline")
	}
	want := time.Unix(0, c.closeDeadline.Load())
	if got := nc.last(); !got.Equal(want) {
		t.Errorf("read deadline left at %v from now, want the close deadline %v from now",
			time.Until(got).Round(time.Second), time.Until(want).Round(time.Second))
	}
}
