package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/switchboard/switchboard/protoo"
	"github.com/switchboard/switchboard/websocket"
)

// Publication is one message of a channel, as the server numbered it.
type Publication struct {
	Channel string          `json:"channel"`
	Offset  uint64          `json:"offset"`
	Data    json.RawMessage `json:"data"`
	From    string          `json:"from"` // the publisher's name, "" for the server
}

// position is where a subscription is in its channel.
type position struct {
	Epoch  string `json:"epoch"`
	Offset uint64 `json:"offset"`
}

type subscribeRequest struct {
	Channel string    `json:"channel"`
	Since   *position `json:"since,omitempty"`
}

type subscribeReply struct {
	Channel      string        `json:"channel"`
	Epoch        string        `json:"epoch"`
	Offset       uint64        `json:"offset"`
	Recovered    bool          `json:"recovered"`
	Publications []Publication `json:"publications"`
	More         bool          `json:"more"`
}

// next returns where a replay continues when r is one page of several:
// the server sets more, or (a server that predates it) the replay stops
// short of the channel's offset.
func (r *subscribeReply) next() (position, bool) {
	if r == nil || !r.Recovered || len(r.Publications) == 0 {
		return position{}, false
	}
	last := r.Publications[len(r.Publications)-1].Offset
	if !r.More && last >= r.Offset {
		return position{}, false
	}
	return position{Epoch: r.Epoch, Offset: last}, true
}

// maxBuffered bounds the publications a recovering subscription holds
// back; past it the oldest go, and the offsets show the gap again.
const maxBuffered = 4096

// Subscription is a channel subscription. Its handler receives each
// publication once, in offset order, across gaps and reconnects as far as
// the channel's history allows (an EventLost says when it did not).
type Subscription struct {
	c       *Client
	channel string
	handler func(Publication)

	mu     sync.Mutex // guards epoch and offset for readers
	epoch  string
	offset uint64

	// Owned by the handler goroutine.
	recovering bool
	buffer     []Publication
	missed     int // replayed so far in this recovery
	ended      bool
}

// Channel returns the channel's name.
func (s *Subscription) Channel() string { return s.channel }

// Position returns the channel's epoch and the offset of the last
// publication handled (or of the channel when subscribed).
func (s *Subscription) Position() (epoch string, offset uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.epoch, s.offset
}

func (s *Subscription) position() position {
	e, o := s.Position()
	return position{Epoch: e, Offset: o}
}

// Subscribe subscribes to a channel; f receives its publications on the
// client's handler goroutine. The client resubscribes by itself after a
// reconnect and after a gap in the offsets, with since {epoch, offset}, so
// that the missed publications are replayed.
func (c *Client) Subscribe(ctx context.Context, channel string, f func(Publication)) (*Subscription, error) {
	if f == nil {
		f = func(Publication) {}
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.opts.requestTimeout)
		defer cancel()
	}
	s := &Subscription{c: c, channel: channel, handler: f, recovering: true}
	c.mu.Lock()
	if _, ok := c.subs[channel]; ok {
		c.mu.Unlock()
		return nil, fmt.Errorf("client: already subscribed to %q", channel)
	}
	c.subs[channel] = s
	c.mu.Unlock()
	for {
		conn, err := c.waitReady(ctx)
		if err == nil {
			_, err = c.subscribeOn(ctx, conn, s, nil)
		}
		if errors.Is(err, ErrDisconnected) && ctx.Err() == nil {
			continue // the reconnect resubscribes; wait for it
		}
		if err != nil {
			c.removeSub(s)
			return nil, err
		}
		c.barrier() // the reply has been applied: Position is set
		return s, nil
	}
}

func (c *Client) removeSub(s *Subscription) {
	c.mu.Lock()
	if c.subs[s.channel] == s {
		delete(c.subs, s.channel)
	}
	c.mu.Unlock()
	c.q.push(func() { s.ended = true; s.buffer = nil })
}

// subscribeOn sends a subscribe for s on conn. The reply is applied on the
// handler goroutine in its place among the publications.
func (c *Client) subscribeOn(ctx context.Context, wc *websocket.Conn, s *Subscription, since *position) (*subscribeReply, error) {
	var reply *subscribeReply
	var decodeErr error
	req := subscribeRequest{Channel: s.channel}
	if since != nil && since.Epoch != "" {
		req.Since = since
	}
	_, err := c.requestOn(ctx, wc, "subscribe", req, func(m message) {
		if m.err != nil {
			c.q.push(func() { s.failed(m.err, req.Since != nil) })
			return
		}
		var r subscribeReply
		if decodeErr = json.Unmarshal(m.data, &r); decodeErr != nil {
			c.q.push(func() { s.failed(decodeErr, req.Since != nil) })
			return
		}
		reply = &r
		c.q.push(func() { s.apply(r, req.Since) })
	})
	if err == nil && decodeErr != nil {
		err = fmt.Errorf("client: subscribe %s: bad reply: %w", s.channel, decodeErr)
	}
	return reply, err
}

// onPublication runs on the reader for every publication notification.
func (c *Client) onPublication(data json.RawMessage) {
	var p Publication
	if err := json.Unmarshal(data, &p); err != nil {
		c.opts.logger.Warn("client: bad publication", "err", err)
		return
	}
	c.mu.Lock()
	s := c.subs[p.Channel]
	c.mu.Unlock()
	if s != nil {
		c.q.push(func() { s.receive(p) })
	}
}

// The methods below run on the handler goroutine.

// receive handles a live publication: duplicates are dropped, a gap starts
// a recovery, and publications wait while one runs.
func (s *Subscription) receive(p Publication) {
	if s.ended {
		return
	}
	if s.recovering {
		if len(s.buffer) == maxBuffered {
			s.buffer = s.buffer[1:]
		}
		s.buffer = append(s.buffer, p)
		return
	}
	epoch, last := s.Position()
	if p.Offset <= last {
		return
	}
	if p.Offset > last+1 && epoch != "" {
		s.startRecovery()
		s.buffer = append(s.buffer, p)
		go s.c.recover(s, position{Epoch: epoch, Offset: last})
		return
	}
	s.deliver(p)
}

func (s *Subscription) deliver(p Publication) {
	s.mu.Lock()
	s.offset = p.Offset
	s.mu.Unlock()
	s.handler(p)
}

// startRecovery holds publications back until a subscribe reply.
func (s *Subscription) startRecovery() {
	s.recovering = true
}

// apply applies a subscribe reply: the replayed publications, the new
// position, then the publications held back meanwhile. When the reply is
// one page of a longer replay (subscribeReply.next), the subscription
// stays in recovery and the caller of subscribeOn asks for the next page;
// a replay that stops short of the channel's offset otherwise is a loss,
// reported with EventLost.
func (s *Subscription) apply(r subscribeReply, since *position) {
	if s.ended {
		return
	}
	s.mu.Lock()
	epoch, last := s.epoch, s.offset
	s.mu.Unlock()
	switch {
	case since == nil:
		last = max(r.Offset, last)
	case r.Recovered && r.Epoch == epoch:
		held := make(map[uint64]bool, len(s.buffer))
		for _, p := range s.buffer {
			held[p.Offset] = true
		}
		for _, p := range r.Publications {
			if p.Offset > last {
				s.deliver(p)
				last = p.Offset
				if !held[p.Offset] {
					s.missed++
				}
			}
		}
		if _, more := r.next(); more {
			return // still recovering: the next page follows
		}
		if last < r.Offset {
			s.c.emitNow(Event{Kind: EventLost, Channel: s.channel})
			last = r.Offset
		} else {
			s.c.emitNow(Event{Kind: EventRecovered, Channel: s.channel, Missed: s.missed})
		}
	default:
		s.c.emitNow(Event{Kind: EventLost, Channel: s.channel})
		last = r.Offset // start over at the channel's offset
	}
	s.missed = 0
	s.mu.Lock()
	s.epoch = r.Epoch
	s.offset = last
	s.mu.Unlock()
	s.release()
}

// failed handles an error reply to a subscribe.
func (s *Subscription) failed(err error, resubscribe bool) {
	if resubscribe && !s.ended {
		s.c.emitNow(Event{Kind: EventLost, Channel: s.channel, Err: err})
		s.release()
	}
}

// release delivers the publications held back during a recovery. A gap
// left before them after the recovery is accepted, not recovered again,
// so that a server that cannot fill it does not make the client loop.
func (s *Subscription) release() {
	s.recovering = false
	held := s.buffer
	s.buffer = nil
	if len(held) > 0 {
		s.mu.Lock()
		if first := held[0].Offset; first > s.offset+1 {
			s.offset = first - 1
		}
		s.mu.Unlock()
	}
	for _, p := range held {
		s.receive(p)
	}
}

// recover resubscribes after a gap, on the current connection. If the
// connection drops first, the reconnect recovers the subscription.
func (c *Client) recover(s *Subscription, since position) {
	c.mu.Lock()
	conn := c.ready
	c.mu.Unlock()
	if conn == nil {
		return
	}
	err := c.replay(conn, s, since)
	if err == nil {
		return
	}
	c.opts.logger.Debug("client: recovery failed", "channel", s.channel, "err", err)
	var pe *protoo.Error
	if !errors.As(err, &pe) && !errors.Is(err, ErrDisconnected) && c.ctx.Err() == nil {
		// No reply came in time: give up this recovery, as after an
		// error reply, rather than hold publications back for good.
		c.q.push(func() { s.failed(err, true) })
	}
}

// replay subscribes s on conn from since and then asks for the following
// pages of the replay until the server says there are no more. Each
// request has the client's request timeout.
func (c *Client) replay(conn *websocket.Conn, s *Subscription, since position) error {
	for {
		ctx, cancel := context.WithTimeout(c.ctx, c.opts.requestTimeout)
		r, err := c.subscribeOn(ctx, conn, s, &since)
		cancel()
		if err != nil {
			return err
		}
		next, more := r.next()
		if !more {
			return nil
		}
		if next.Offset <= since.Offset {
			// A page that does not advance would be asked for again and
			// again: end the recovery as a loss instead.
			err := fmt.Errorf("client: subscribe %s: the replay did not advance past offset %d", s.channel, since.Offset)
			c.q.push(func() { s.failed(err, true) })
			return nil
		}
		since = next
	}
}

// Unsubscribe ends the subscription: its handler gets nothing more.
func (s *Subscription) Unsubscribe(ctx context.Context) error {
	s.c.removeSub(s)
	_, err := s.c.Request(ctx, "unsubscribe", map[string]string{"channel": s.channel})
	return err
}
